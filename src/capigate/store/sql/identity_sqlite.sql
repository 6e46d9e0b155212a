-- Named queries of the landing sessions (capigate.store.identity), SQLite dialect.

-- name: save_landing_session
-- Insert a session, or merge a later report into it (attribution.session.merged): newer values
-- win, missing ones do not erase, the UTMs move as one set. A linked session never changes.
INSERT INTO landing_sessions (
    token, fbc, fbp, ip, user_agent, utm_source, utm_medium, utm_campaign, utm_content,
    utm_term, page_url, created_at, seen_at)
VALUES (
    :token, :fbc, :fbp, :ip, :user_agent, :utm_source, :utm_medium, :utm_campaign,
    :utm_content, :utm_term, :page_url, :created_at, :seen_at)
ON CONFLICT (token) DO UPDATE SET
    fbc = coalesce(excluded.fbc, fbc),
    fbp = coalesce(excluded.fbp, fbp),
    ip = coalesce(excluded.ip, ip),
    user_agent = coalesce(excluded.user_agent, user_agent),
    utm_source = CASE WHEN :has_utms THEN excluded.utm_source ELSE utm_source END,
    utm_medium = CASE WHEN :has_utms THEN excluded.utm_medium ELSE utm_medium END,
    utm_campaign = CASE WHEN :has_utms THEN excluded.utm_campaign ELSE utm_campaign END,
    utm_content = CASE WHEN :has_utms THEN excluded.utm_content ELSE utm_content END,
    utm_term = CASE WHEN :has_utms THEN excluded.utm_term ELSE utm_term END,
    page_url = coalesce(excluded.page_url, page_url),
    seen_at = max(excluded.seen_at, seen_at)
WHERE telegram_id IS NULL

-- name: get_landing_session
SELECT * FROM landing_sessions WHERE token = :token

-- name: link_telegram
-- Link the session to a Telegram user unless another user holds it; a repeat keeps linked_at.
UPDATE landing_sessions
SET telegram_id = :telegram_id, linked_at = coalesce(linked_at, :now)
WHERE token = :token AND (telegram_id IS NULL OR telegram_id = :telegram_id)

-- name: linked_sessions
-- Every session linked to one of the users (a JSON array), oldest link first.
SELECT * FROM landing_sessions
WHERE telegram_id IN (SELECT value FROM json_each(:telegram_ids))
ORDER BY linked_at, token

-- name: purge_landing_sessions
-- Forget up to :limit sessions last seen before :before.
DELETE FROM landing_sessions
WHERE token IN (SELECT token FROM landing_sessions WHERE seen_at < :before LIMIT :limit)
