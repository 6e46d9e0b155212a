-- Each pixel's delivery circuit, shared by every worker and read by /readyz (worker/circuit.py).
-- A token error opens it (status 'open'); a passed probe closes it. Times are Unix seconds.
CREATE TABLE pixel_circuits (
    pixel_id      TEXT             PRIMARY KEY,
    status        TEXT             NOT NULL CHECK (status IN ('closed', 'open', 'half_open')),
    reason        TEXT             NOT NULL DEFAULT '',
    opened_at     DOUBLE PRECISION,
    next_probe_at DOUBLE PRECISION,
    failed_probes INTEGER          NOT NULL DEFAULT 0,
    updated_at    DOUBLE PRECISION NOT NULL
);
