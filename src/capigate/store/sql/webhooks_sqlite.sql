-- Named queries of the payment webhooks (capigate.store.webhooks) for SQLite (:name
-- parameters); webhooks_postgres.sql defines the same names. Migration 0005_webhooks creates
-- the tables. A claim or release runs as one writer job inside BEGIN IMMEDIATE, so its reads
-- and writes see no other writer in between.

-- name: get_subscription
SELECT * FROM subscriptions WHERE user_key = :user_key

-- name: insert_subscription
-- A new user; no row comes back if another writer created it first (a conflict).
INSERT INTO subscriptions (
    user_key, status, plan, value, currency, started_at, last_charge_at, last_transaction_id,
    charges, canceled_at, version, updated_at)
VALUES (
    :user_key, :status, :plan, :value, :currency, :started_at, :last_charge_at,
    :last_transaction_id, :charges, :canceled_at, :version, :now)
ON CONFLICT (user_key) DO NOTHING
RETURNING version

-- name: update_subscription
-- Save over the version the caller read; no row comes back if someone saved in between.
UPDATE subscriptions SET
    status = :status, plan = :plan, value = :value, currency = :currency,
    started_at = :started_at, last_charge_at = :last_charge_at,
    last_transaction_id = :last_transaction_id, charges = :charges,
    canceled_at = :canceled_at, version = :version, updated_at = :now
WHERE user_key = :user_key AND version = :expected
RETURNING version

-- name: delete_subscription
-- Undo a user's first claim: the row goes only while it is the claimed version.
DELETE FROM subscriptions WHERE user_key = :user_key AND version = :expected
RETURNING version

-- name: get_payment
SELECT * FROM webhook_payments WHERE provider = :provider AND transaction_id = :transaction_id

-- name: insert_payment
-- A pending transaction; no row comes back if it is recorded already.
INSERT INTO webhook_payments (
    provider, transaction_id, user_key, action, outcome, plan_key, properties, done,
    created_at)
VALUES (
    :provider, :transaction_id, :user_key, :action, :outcome, :plan_key, :properties, 0,
    :created_at)
ON CONFLICT (provider, transaction_id) DO NOTHING
RETURNING provider

-- name: delete_pending_payment
DELETE FROM webhook_payments
WHERE provider = :provider AND transaction_id = :transaction_id AND done = 0

-- name: complete_payment
UPDATE webhook_payments SET done = 1, completed_at = :now
WHERE provider = :provider AND transaction_id = :transaction_id AND done = 0

-- name: remember_signature
-- Keep a signature until it expires; a row comes back only if it was not kept (or expired).
INSERT INTO webhook_signatures (key, expires_at) VALUES (:key, :expires_at)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
WHERE webhook_signatures.expires_at <= :now
RETURNING key

-- name: forget_signature
DELETE FROM webhook_signatures WHERE key = :key

-- name: purge_signatures
-- Forget up to :limit signatures that expired at or before :now.
DELETE FROM webhook_signatures
WHERE key IN (SELECT key FROM webhook_signatures WHERE expires_at <= :now LIMIT :limit)
