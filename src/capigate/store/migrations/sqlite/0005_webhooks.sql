-- Payment webhooks (capigate.webhooks): each user's subscription, each provider transaction
-- applied (idempotency), and the signatures seen within their tolerance (replay protection).
-- Times are Unix seconds. value is a decimal in major units, as text so it stays exact.
-- version is the optimistic-concurrency counter: every save names the version it read.
CREATE TABLE subscriptions (
    user_key            TEXT    PRIMARY KEY,
    status              TEXT    NOT NULL,
    plan                TEXT,
    value               TEXT,
    currency            TEXT,
    started_at          REAL,
    last_charge_at      REAL,
    last_transaction_id TEXT,
    charges             INTEGER NOT NULL DEFAULT 0,
    canceled_at         REAL,
    version             INTEGER NOT NULL,
    updated_at          REAL    NOT NULL
);

-- done = 0 while the events are not yet stored; properties is what was sent (no PII).
CREATE TABLE webhook_payments (
    provider       TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    user_key       TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    outcome        TEXT,
    plan_key       TEXT,
    properties     TEXT    NOT NULL DEFAULT '{}',
    done           INTEGER NOT NULL DEFAULT 0,
    created_at     REAL    NOT NULL,
    completed_at   REAL,
    PRIMARY KEY (provider, transaction_id)
);

CREATE TABLE webhook_signatures (
    key        TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);

-- The purge finds expired signatures without a scan.
CREATE INDEX webhook_signatures_expiry ON webhook_signatures (expires_at);
