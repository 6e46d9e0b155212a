-- The outbox and event log: every accepted event, from ingest to delivered, dead or expired.
-- Times are Unix seconds. test_event_code '' means none (NOT NULL keeps the group index simple).
-- dedup_active turns 0 when the dedup key is older than the window (purge); the row stays.
CREATE TABLE marketing_events (
    id               INTEGER PRIMARY KEY,
    pixel_id         TEXT    NOT NULL,
    event_name       TEXT    NOT NULL,
    event_id         TEXT    NOT NULL,
    event_time       INTEGER NOT NULL,
    action_source    TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    plan_key         TEXT,
    test_event_code  TEXT    NOT NULL DEFAULT '',
    payload          TEXT    NOT NULL,
    match_score      INTEGER NOT NULL,
    warnings         TEXT    NOT NULL DEFAULT '[]',
    status           TEXT    NOT NULL
        CHECK (status IN ('queued', 'leased', 'delivered', 'retry', 'dead', 'expired')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL,
    lease_owner      TEXT,
    lease_expires_at REAL,
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL,
    delivered_at     REAL,
    last_error       TEXT,
    last_response    TEXT,
    reason           TEXT,
    dedup_active     INTEGER NOT NULL DEFAULT 1
);

-- The dedup decision: INSERT ... ON CONFLICT DO NOTHING against this index.
CREATE UNIQUE INDEX marketing_events_dedup
    ON marketing_events (pixel_id, event_name, event_id) WHERE dedup_active;
CREATE INDEX marketing_events_dedup_age
    ON marketing_events (created_at) WHERE dedup_active;
-- Leasing: the longest-due event overall, then the due events of its group.
CREATE INDEX marketing_events_due
    ON marketing_events (next_attempt_at) WHERE status IN ('queued', 'retry', 'leased');
CREATE INDEX marketing_events_group_due
    ON marketing_events (pixel_id, test_event_code, next_attempt_at)
    WHERE status IN ('queued', 'retry', 'leased');
-- Replay and dashboard listings of the (few) events that did not make it, newest first.
CREATE INDEX marketing_events_dead_ends
    ON marketing_events (status, id) WHERE status IN ('dead', 'expired');
