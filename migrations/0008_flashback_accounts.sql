-- What the Flashback client reads of accounts (README, "Flashback compatibility").

-- A public id for each verification link (`verificationTokenId`): the client asks for
-- a new link by it (POST /user/resend-verification/{id}); the link's secret stays the
-- token, stored only as its hash.
ALTER TABLE email_verifications ADD COLUMN id TEXT;
CREATE UNIQUE INDEX email_verifications_id ON email_verifications (id) WHERE id IS NOT NULL;

-- Whether the user signed up as a business (the profile's `isBusiness`).
ALTER TABLE users ADD COLUMN is_business INTEGER NOT NULL DEFAULT 0
    CHECK (is_business IN (0, 1));
