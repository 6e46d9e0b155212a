-- Named queries of the landing sessions (capigate.store.identity), PostgreSQL dialect.

-- name: save_landing_session
-- Insert a session, or merge a later report into it (attribution.session.merged): newer values
-- win, missing ones do not erase, the UTMs move as one set. A linked session never changes.
INSERT INTO landing_sessions AS s (
    token, fbc, fbp, ip, user_agent, utm_source, utm_medium, utm_campaign, utm_content,
    utm_term, page_url, created_at, seen_at)
VALUES (
    %(token)s, %(fbc)s, %(fbp)s, %(ip)s, %(user_agent)s, %(utm_source)s, %(utm_medium)s,
    %(utm_campaign)s, %(utm_content)s, %(utm_term)s, %(page_url)s, %(created_at)s,
    %(seen_at)s)
ON CONFLICT (token) DO UPDATE SET
    fbc = coalesce(excluded.fbc, s.fbc),
    fbp = coalesce(excluded.fbp, s.fbp),
    ip = coalesce(excluded.ip, s.ip),
    user_agent = coalesce(excluded.user_agent, s.user_agent),
    utm_source = CASE WHEN %(has_utms)s THEN excluded.utm_source ELSE s.utm_source END,
    utm_medium = CASE WHEN %(has_utms)s THEN excluded.utm_medium ELSE s.utm_medium END,
    utm_campaign = CASE WHEN %(has_utms)s THEN excluded.utm_campaign ELSE s.utm_campaign END,
    utm_content = CASE WHEN %(has_utms)s THEN excluded.utm_content ELSE s.utm_content END,
    utm_term = CASE WHEN %(has_utms)s THEN excluded.utm_term ELSE s.utm_term END,
    page_url = coalesce(excluded.page_url, s.page_url),
    seen_at = greatest(excluded.seen_at, s.seen_at)
WHERE s.telegram_id IS NULL

-- name: get_landing_session
SELECT * FROM landing_sessions WHERE token = %(token)s

-- name: link_telegram
-- Link the session to a Telegram user unless another user holds it; a repeat keeps linked_at.
UPDATE landing_sessions
SET telegram_id = %(telegram_id)s, linked_at = coalesce(linked_at, %(now)s)
WHERE token = %(token)s AND (telegram_id IS NULL OR telegram_id = %(telegram_id)s)

-- name: linked_sessions
-- Every session linked to one of the users, oldest link first.
SELECT * FROM landing_sessions
WHERE telegram_id = ANY(%(telegram_ids)s::text[])
ORDER BY linked_at, token

-- name: purge_landing_sessions
-- Forget up to %(limit)s sessions last seen before %(before)s.
DELETE FROM landing_sessions
WHERE token IN (SELECT token FROM landing_sessions WHERE seen_at < %(before)s LIMIT %(limit)s)
