-- Landing-page sessions under their link token (capigate.attribution), and the Telegram user
-- a /start linked each one to. Only keys Meta takes unhashed (fbc, fbp, IP address, user
-- agent), UTMs and the page address without its query string: no PII, raw or hashed.
-- Times are Unix seconds: created_at is the first report, seen_at the latest.
CREATE TABLE landing_sessions (
    token        TEXT PRIMARY KEY,
    fbc          TEXT,
    fbp          TEXT,
    ip           TEXT,
    user_agent   TEXT,
    utm_source   TEXT,
    utm_medium   TEXT,
    utm_campaign TEXT,
    utm_content  TEXT,
    utm_term     TEXT,
    page_url     TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    seen_at      DOUBLE PRECISION NOT NULL,
    telegram_id  TEXT,
    linked_at    DOUBLE PRECISION
);

-- A user's later events look up their latest linked session.
CREATE INDEX landing_sessions_telegram ON landing_sessions (telegram_id, linked_at)
    WHERE telegram_id IS NOT NULL;

-- Purging sessions past their usefulness scans by age.
CREATE INDEX landing_sessions_seen ON landing_sessions (seen_at);
