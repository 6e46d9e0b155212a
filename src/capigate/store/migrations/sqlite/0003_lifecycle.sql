-- Per-user lifecycle state for derived events (capigate.lifecycle), and the tick's lease.
-- Times are Unix seconds. No raw PII: onboarding name and phone are kept as SHA-256 only.
-- A flow (onboarding, checkout) is in progress when its session_id is not NULL.
-- version is the optimistic-concurrency counter: every save names the version it read.
CREATE TABLE lifecycle_users (
    user_key                TEXT    PRIMARY KEY,
    telegram_id             TEXT,
    user_id                 TEXT,
    pixel_id                TEXT,
    test_event_code         TEXT,
    registered_at           REAL,
    last_activity_at        REAL,
    entries_count           INTEGER NOT NULL DEFAULT 0,
    first_entry_at          REAL,
    return_7d_at            REAL,
    retention_done          TEXT    NOT NULL DEFAULT '[]',
    onboarding_values       TEXT    NOT NULL DEFAULT '{}',
    onboarding_session_id   TEXT,
    onboarding_started_at   REAL,
    onboarding_last_at      REAL,
    onboarding_step         TEXT,
    onboarding_completed_at REAL,
    checkout_session_id     TEXT,
    checkout_started_at     REAL,
    checkout_last_at        REAL,
    checkout_step           TEXT,
    next_due_at             REAL,
    version                 INTEGER NOT NULL,
    updated_at              REAL    NOT NULL
);

-- The tick finds due users (open flows past their timeout) without scanning everyone.
CREATE INDEX lifecycle_users_due ON lifecycle_users (next_due_at) WHERE next_due_at IS NOT NULL;

-- One scheduler at a time: the holder renews its lease on every tick; another worker takes
-- over once the lease has expired.
CREATE TABLE lifecycle_scheduler (
    name             TEXT PRIMARY KEY,
    owner            TEXT NOT NULL,
    lease_expires_at REAL NOT NULL
);
