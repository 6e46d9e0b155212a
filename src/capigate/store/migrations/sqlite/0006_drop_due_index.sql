-- Leasing now walks marketing_events_group_due alone (first_due_group, next_due_group,
-- count_due, lease_group), so nothing reads the index on next_attempt_at any more, while every
-- lease and acknowledgement paid to keep it up to date.
DROP INDEX marketing_events_due;
