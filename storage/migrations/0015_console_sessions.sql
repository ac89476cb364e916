-- depends: 0014_api_keys
-- 0015_console_sessions: the browser console's sign-ins, each a server-side record of the API key
-- it was made with.
--
-- The cookie holds a random token; only its sha256 is stored. A session is live while it has not
-- ended (signed out), has not expired, and its key is not revoked: the lookup joins api_keys, so
-- revoking a key ends every console session made with it at once. `csrf_token` is the session's
-- token that every state-changing form carries (api/console/sessions.py).

-- Owner: commands/access/console_sessions.py
CREATE TABLE IF NOT EXISTS console_sessions (
    token_sha256 text PRIMARY KEY,
    api_key_id uuid NOT NULL REFERENCES api_keys(id),
    brand_id uuid NOT NULL REFERENCES brands(id),
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);

CREATE INDEX IF NOT EXISTS console_sessions_by_key ON console_sessions (api_key_id);
