-- When a user agreed to the terms of service and the privacy policy (sign-up asks for
-- both). Accounts from before, and Kakao accounts until they agree, have none.
ALTER TABLE users
    ADD COLUMN terms_agreed_at TIMESTAMPTZ,
    ADD COLUMN privacy_agreed_at TIMESTAMPTZ;
