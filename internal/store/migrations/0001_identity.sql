-- Users of the built-in identity manager ("bim"). A user's id doubles as the
-- id of their profile, which the API calls profileId.
CREATE TABLE users (
    id {{id}},
    iamid {{text}} NOT NULL,
    userid {{text}} NOT NULL,
    password_hash {{text}},
    disabled {{bool}} NOT NULL DEFAULT FALSE,
    system_generated {{bool}} NOT NULL DEFAULT FALSE,
    name {{text}} NOT NULL DEFAULT '',
    email {{text}} NOT NULL DEFAULT '',
    phone {{text}},
    about {{text}},
    location {{text}},
    organization {{text}},
    position {{text}},
    sql_user {{text}},
    external_user_ids {{json}},
    preferences {{json}},
    scim {{json}},
    current_project_id {{bigint}},
    last_login {{ts}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    UNIQUE (iamid, userid)
);
CREATE INDEX users_name ON users (name);
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE user_permissions (
    user_id {{bigint}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission {{text}} NOT NULL,
    PRIMARY KEY (user_id, permission)
);
CREATE INDEX user_permissions_permission ON user_permissions (permission);

CREATE TABLE groups (
    id {{id}},
    iamid {{text}} NOT NULL,
    name {{text}} NOT NULL,
    gid {{text}},
    email {{text}},
    description {{text}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    UNIQUE (iamid, name)
);

-- A membership has its own id: the API removes members by it.
CREATE TABLE group_members (
    id {{id}},
    group_id {{bigint}} NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id {{bigint}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    UNIQUE (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- Attributes ("authorizations") of users and groups: name -> values.
CREATE TABLE attributes (
    model_type {{text}} NOT NULL,
    model_id {{bigint}} NOT NULL,
    name {{text}} NOT NULL,
    value {{text}} NOT NULL,
    PRIMARY KEY (model_type, model_id, name, value)
);
CREATE INDEX attributes_name_value ON attributes (name, value);

-- API keys are stored as SHA-256 hashes of the key; the key itself is shown once.
CREATE TABLE api_keys (
    id {{id}},
    user_id {{bigint}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name {{text}},
    key_hash {{text}} NOT NULL UNIQUE,
    project_id {{bigint}},
    created_at {{ts}} NOT NULL,
    last_used {{ts}}
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Bearer tokens, hashed like keys. user_id owns the credential; acting_user_id
-- is the impersonated user when the token was issued by impersonation.
CREATE TABLE tokens (
    id {{id}},
    token_hash {{text}} NOT NULL UNIQUE,
    user_id {{bigint}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    acting_user_id {{bigint}} REFERENCES users (id) ON DELETE CASCADE,
    api_key_id {{bigint}} REFERENCES api_keys (id) ON DELETE CASCADE,
    project_id {{bigint}},
    scopes {{text}} NOT NULL DEFAULT '',
    created_at {{ts}} NOT NULL,
    last_used {{ts}},
    expires_at {{ts}} NOT NULL
);
CREATE INDEX tokens_expires ON tokens (expires_at);
CREATE INDEX tokens_api_key ON tokens (api_key_id);
