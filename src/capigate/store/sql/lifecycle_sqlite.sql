-- Named queries of the lifecycle state for SQLite (:name parameters); JSON columns are text.
-- lifecycle_postgres.sql defines the same names. Migration 0003_lifecycle creates the tables.

-- name: get_user_state
SELECT * FROM lifecycle_users WHERE user_key = :user_key

-- name: insert_user_state
-- A new user; no row comes back if another writer created it first (a conflict).
INSERT INTO lifecycle_users (
    user_key, telegram_id, user_id, pixel_id, test_event_code, registered_at, last_activity_at,
    entries_count, first_entry_at, return_7d_at, retention_done, onboarding_values,
    onboarding_session_id, onboarding_started_at, onboarding_last_at, onboarding_step,
    onboarding_completed_at, checkout_session_id, checkout_started_at, checkout_last_at,
    checkout_step, next_due_at, version, updated_at)
VALUES (
    :user_key, :telegram_id, :user_id, :pixel_id, :test_event_code, :registered_at,
    :last_activity_at, :entries_count, :first_entry_at, :return_7d_at, :retention_done,
    :onboarding_values, :onboarding_session_id, :onboarding_started_at, :onboarding_last_at,
    :onboarding_step, :onboarding_completed_at, :checkout_session_id, :checkout_started_at,
    :checkout_last_at, :checkout_step, :next_due_at, :version, :now)
ON CONFLICT (user_key) DO NOTHING
RETURNING version

-- name: update_user_state
-- Save over the version the caller read; no row comes back if someone saved in between.
UPDATE lifecycle_users SET
    telegram_id = :telegram_id, user_id = :user_id, pixel_id = :pixel_id,
    test_event_code = :test_event_code, registered_at = :registered_at,
    last_activity_at = :last_activity_at, entries_count = :entries_count,
    first_entry_at = :first_entry_at, return_7d_at = :return_7d_at,
    retention_done = :retention_done, onboarding_values = :onboarding_values,
    onboarding_session_id = :onboarding_session_id,
    onboarding_started_at = :onboarding_started_at, onboarding_last_at = :onboarding_last_at,
    onboarding_step = :onboarding_step, onboarding_completed_at = :onboarding_completed_at,
    checkout_session_id = :checkout_session_id, checkout_started_at = :checkout_started_at,
    checkout_last_at = :checkout_last_at, checkout_step = :checkout_step,
    next_due_at = :next_due_at, version = :version, updated_at = :now
WHERE user_key = :user_key AND version = :expected
RETURNING version

-- name: due_user_states
-- Users whose next timeout has come, the longest-due first (index lifecycle_users_due).
SELECT * FROM lifecycle_users INDEXED BY lifecycle_users_due
WHERE next_due_at <= :now
ORDER BY next_due_at, user_key
LIMIT :limit

-- name: acquire_scheduler
-- Take or renew the lease; a row comes back only if the caller holds it now.
INSERT INTO lifecycle_scheduler (name, owner, lease_expires_at)
VALUES (:name, :owner, :lease_expires_at)
ON CONFLICT (name) DO UPDATE SET
    owner = excluded.owner, lease_expires_at = excluded.lease_expires_at
WHERE lifecycle_scheduler.owner = excluded.owner OR lifecycle_scheduler.lease_expires_at <= :now
RETURNING owner

-- name: release_scheduler
DELETE FROM lifecycle_scheduler WHERE name = :name AND owner = :owner

-- name: insert_derived_event
-- One derived event into the outbox, in the save's transaction (the same rows as enqueue
-- makes); no row comes back when its dedup key is active (a source sent it already). Its
-- payload goes into marketing_event_payloads under the id returned (migration 0008).
INSERT INTO marketing_events (
    pixel_id, event_name, event_id, event_time, action_source, source, plan_key,
    test_event_code, match_score, warnings, status, next_attempt_at,
    created_at, updated_at)
VALUES (
    :pixel_id, :event_name, :event_id, :event_time, :action_source,
    :source, :plan_key, :test_event_code, :match_score,
    :warnings, 'queued', :now, :now, :now)
ON CONFLICT DO NOTHING
RETURNING id

-- name: find_derived_original
-- The event that holds an active dedup key.
SELECT id FROM marketing_events
WHERE pixel_id = :pixel_id AND event_name = :event_name AND event_id = :event_id
  AND dedup_active
