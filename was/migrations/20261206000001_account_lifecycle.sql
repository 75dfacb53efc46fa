-- Accounts their owners control: a verified e-mail address, a password that can be
-- changed or reset, and sessions that end when it is.
--
-- email_verified_at: when the owner proved they read mail at `email` (a link we sent);
--   admin rights are granted only to verified addresses.
-- session_generation: every session carries the generation it was made in; changing or
--   resetting the password, or "log out everywhere", moves it on and so ends every
--   other session at its next request.
ALTER TABLE users
    ADD COLUMN email_verified_at TIMESTAMPTZ,
    ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN password_changed_at TIMESTAMPTZ,
    ADD COLUMN last_login_at TIMESTAMPTZ;

-- Admins from before were chosen by an operator with the database at hand: their
-- addresses count as verified. Everyone else verifies from the link we send.
UPDATE users SET email_verified_at = created_at WHERE is_admin AND email IS NOT NULL;

-- Single-use links sent by e-mail. Only a SHA-256 of the token is stored: a copy of the
-- database does not open anyone's account. `email` is the address the link went to
-- (for `change_email`, the new address, which becomes the account's when used).
CREATE TABLE account_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CONSTRAINT account_tokens_purpose_check
               CHECK (purpose IN ('verify_email', 'change_email', 'reset_password')),
    email      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
