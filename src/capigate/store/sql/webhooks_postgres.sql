-- Named queries of the payment webhooks (capigate.store.webhooks) for PostgreSQL (%(name)s
-- parameters); webhooks_sqlite.sql defines the same names. Migration 0005_webhooks creates
-- the tables. A claim inserts the payment first: a concurrent claim of the same transaction
-- waits for that row, then finds it taken.

-- name: get_subscription
SELECT * FROM subscriptions WHERE user_key = %(user_key)s

-- name: insert_subscription
-- A new user; no row comes back if another writer created it first (a conflict).
INSERT INTO subscriptions (
    user_key, status, plan, value, currency, started_at, last_charge_at, last_transaction_id,
    charges, canceled_at, version, updated_at)
VALUES (
    %(user_key)s, %(status)s, %(plan)s, %(value)s, %(currency)s, %(started_at)s,
    %(last_charge_at)s, %(last_transaction_id)s, %(charges)s, %(canceled_at)s, %(version)s,
    %(now)s)
ON CONFLICT (user_key) DO NOTHING
RETURNING version

-- name: update_subscription
-- Save over the version the caller read; no row comes back if someone saved in between.
UPDATE subscriptions SET
    status = %(status)s, plan = %(plan)s, value = %(value)s, currency = %(currency)s,
    started_at = %(started_at)s, last_charge_at = %(last_charge_at)s,
    last_transaction_id = %(last_transaction_id)s, charges = %(charges)s,
    canceled_at = %(canceled_at)s, version = %(version)s, updated_at = %(now)s
WHERE user_key = %(user_key)s AND version = %(expected)s
RETURNING version

-- name: delete_subscription
-- Undo a user's first claim: the row goes only while it is the claimed version.
DELETE FROM subscriptions WHERE user_key = %(user_key)s AND version = %(expected)s
RETURNING version

-- name: get_payment
SELECT * FROM webhook_payments
WHERE provider = %(provider)s AND transaction_id = %(transaction_id)s

-- name: insert_payment
-- A pending transaction; no row comes back if it is recorded already.
INSERT INTO webhook_payments (
    provider, transaction_id, user_key, action, outcome, plan_key, properties, done,
    created_at)
VALUES (
    %(provider)s, %(transaction_id)s, %(user_key)s, %(action)s, %(outcome)s, %(plan_key)s,
    %(properties)s, FALSE, %(created_at)s)
ON CONFLICT (provider, transaction_id) DO NOTHING
RETURNING provider

-- name: delete_pending_payment
DELETE FROM webhook_payments
WHERE provider = %(provider)s AND transaction_id = %(transaction_id)s AND NOT done

-- name: complete_payment
UPDATE webhook_payments SET done = TRUE, completed_at = %(now)s
WHERE provider = %(provider)s AND transaction_id = %(transaction_id)s AND NOT done

-- name: remember_signature
-- Keep a signature until it expires; a row comes back only if it was not kept (or expired).
INSERT INTO webhook_signatures (key, expires_at) VALUES (%(key)s, %(expires_at)s)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
WHERE webhook_signatures.expires_at <= %(now)s
RETURNING key

-- name: forget_signature
DELETE FROM webhook_signatures WHERE key = %(key)s

-- name: purge_signatures
-- Forget up to %(limit)s signatures that expired at or before %(now)s.
DELETE FROM webhook_signatures
WHERE key IN (
    SELECT key FROM webhook_signatures WHERE expires_at <= %(now)s LIMIT %(limit)s)
