-- The status predicates of marketing_events as OR-chains, not IN lists: SQLite builds a
-- temporary table for an IN list every time it evaluates one, so the CHECK constraint and the
-- partial indexes made every insert and status change pay for three (a one-row insert went
-- from ~161k to ~95k instructions). The queries in sql/sqlite.sql repeat the index predicates
-- word for word, which is how SQLite knows a partial index covers them.
-- A CHECK constraint cannot be altered: the table is rebuilt (new table, copy every row, drop,
-- rename) and its indexes made again, all inside the migration's transaction.
CREATE TABLE marketing_events_0007 (
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
        CHECK (status = 'queued' OR status = 'leased' OR status = 'delivered'
               OR status = 'retry' OR status = 'dead' OR status = 'expired'),
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

INSERT INTO marketing_events_0007 (
    id, pixel_id, event_name, event_id, event_time, action_source, source, plan_key,
    test_event_code, payload, match_score, warnings, status, attempts, next_attempt_at,
    lease_owner, lease_expires_at, created_at, updated_at, delivered_at, last_error,
    last_response, reason, dedup_active)
SELECT
    id, pixel_id, event_name, event_id, event_time, action_source, source, plan_key,
    test_event_code, payload, match_score, warnings, status, attempts, next_attempt_at,
    lease_owner, lease_expires_at, created_at, updated_at, delivered_at, last_error,
    last_response, reason, dedup_active
FROM marketing_events
ORDER BY id;

DROP TABLE marketing_events;

ALTER TABLE marketing_events_0007 RENAME TO marketing_events;

CREATE UNIQUE INDEX marketing_events_dedup
    ON marketing_events (pixel_id, event_name, event_id) WHERE dedup_active;
CREATE INDEX marketing_events_dedup_age
    ON marketing_events (created_at) WHERE dedup_active;
CREATE INDEX marketing_events_group_due
    ON marketing_events (pixel_id, test_event_code, next_attempt_at)
    WHERE (status = 'queued' OR status = 'retry' OR status = 'leased');
CREATE INDEX marketing_events_dead_ends
    ON marketing_events (status, id) WHERE (status = 'dead' OR status = 'expired');
