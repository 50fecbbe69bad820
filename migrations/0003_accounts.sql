-- People, their organizations, trials, email verification and refresh sessions.

-- The company domain an organization stands for (NULL for personal organizations and
-- for ones whose founder's email was not at that domain). One organization per domain.
ALTER TABLE organizations ADD COLUMN domain TEXT;
CREATE UNIQUE INDEX organizations_domain ON organizations (domain) WHERE domain IS NOT NULL;

CREATE TABLE users (
    id                   TEXT    NOT NULL PRIMARY KEY,
    -- Stored lowercase; the unique index makes "same address, other case" a conflict.
    email                TEXT    NOT NULL,
    password_hash        TEXT    NOT NULL,
    first_name           TEXT    NOT NULL,
    last_name            TEXT    NOT NULL,
    image_url            TEXT,
    email_verified_at_ms INTEGER,
    created_at_ms        INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE org_members (
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    user_id       TEXT    NOT NULL REFERENCES users (id),
    role          TEXT    NOT NULL CHECK (role IN ('OWNER', 'ADMINISTRATOR', 'MEMBER')),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_by_user ON org_members (user_id);

CREATE TABLE subscriptions (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    plan          TEXT    NOT NULL CHECK (plan IN ('FREE_TRIAL')),
    starts_at_ms  INTEGER NOT NULL,
    ends_at_ms    INTEGER NOT NULL
);
CREATE INDEX subscriptions_by_org ON subscriptions (org_id);

-- Verification links: only the SHA-256 of the token is kept. Single use.
CREATE TABLE email_verifications (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);
CREATE INDEX email_verifications_by_user ON email_verifications (user_id, created_at_ms);

-- One row per refresh token (id = its jti). Rotation revokes the old row and links
-- the new one; presenting a revoked token revokes its whole family.
CREATE TABLE refresh_sessions (
    id            TEXT    NOT NULL PRIMARY KEY,
    family_id     TEXT    NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    token_hash    TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER,
    replaced_by   TEXT
);
CREATE INDEX refresh_sessions_family ON refresh_sessions (family_id);
