-- Projects: people working with data sources toward purposes. A disabled
-- project (deleted = TRUE) is kept until it is deleted for good.
-- subscription_policy is who may join, in the V2 form (null: manual);
-- equalization, while equalized, is the entitlements members are limited
-- to ({"groups": [...], "attributes": {"name": [values]}}).
CREATE TABLE projects (
    id {{id}},
    project_key {{text}} NOT NULL UNIQUE,
    name {{text}} NOT NULL,
    status {{text}} NOT NULL DEFAULT 'open',
    description {{text}},
    documentation {{text}},
    allow_masked_joins {{bool}} NOT NULL DEFAULT FALSE,
    subscription_policy {{json}},
    equalized {{bool}} NOT NULL DEFAULT FALSE,
    equalization {{json}},
    equalized_at {{ts}},
    deleted {{bool}} NOT NULL DEFAULT FALSE,
    created_by {{bigint}},
    updated_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
CREATE INDEX projects_name ON projects (name);

-- The purposes a project works under; staged ones wait for approval and
-- give nothing.
CREATE TABLE project_purposes (
    project_id {{bigint}} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    purpose_id {{bigint}} NOT NULL REFERENCES purposes (id),
    staged {{bool}} NOT NULL DEFAULT FALSE,
    added_by {{bigint}},
    created_at {{ts}} NOT NULL,
    PRIMARY KEY (project_id, purpose_id)
);
CREATE INDEX project_purposes_purpose ON project_purposes (purpose_id);

-- Members (a user, or a group standing for its members) and requests to
-- join. The id is the subscription id of the API. approvals are the
-- approvals a pending request needs, with who gave them.
CREATE TABLE project_members (
    id {{id}},
    project_id {{bigint}} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    model_type {{text}} NOT NULL,
    model_id {{bigint}} NOT NULL,
    state {{text}} NOT NULL,
    expiration {{ts}},
    expiry_announced {{bool}} NOT NULL DEFAULT FALSE,
    reason {{text}},
    approved_by {{bigint}},
    approvals {{json}},
    metadata {{json}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    UNIQUE (project_id, model_type, model_id)
);
CREATE INDEX project_members_model ON project_members (model_type, model_id);
CREATE INDEX project_members_expiration ON project_members (expiration);

-- What each user acknowledged of a project's purposes, and at which
-- version of the purpose's statement.
CREATE TABLE project_acknowledgements (
    project_id {{bigint}} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id {{bigint}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose_id {{bigint}} NOT NULL REFERENCES purposes (id),
    version {{bigint}} NOT NULL,
    acknowledged_at {{ts}} NOT NULL,
    PRIMARY KEY (project_id, user_id, purpose_id)
);
CREATE INDEX project_acknowledgements_user ON project_acknowledgements (user_id);

CREATE TABLE project_data_sources (
    project_id {{bigint}} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    data_source_id {{bigint}} NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    added_by {{bigint}},
    reason {{text}},
    created_at {{ts}} NOT NULL,
    PRIMARY KEY (project_id, data_source_id)
);
CREATE INDEX project_data_sources_data_source ON project_data_sources (data_source_id);

CREATE INDEX users_current_project ON users (current_project_id);

-- The activity feed: one row per thing that happened, delivered to each
-- recipient by a receipt that remembers whether they read it.
CREATE TABLE activities (
    id {{id}},
    model_type {{text}} NOT NULL,
    model_id {{text}} NOT NULL,
    notification_type {{text}} NOT NULL,
    metadata {{json}},
    action_by {{bigint}},
    target_user {{bigint}},
    target_group {{bigint}},
    created_at {{ts}} NOT NULL
);
CREATE INDEX activities_model ON activities (model_type, model_id, id);

CREATE TABLE activity_receipts (
    activity_id {{bigint}} NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    user_id {{bigint}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_read {{bool}} NOT NULL DEFAULT FALSE,
    updated_at {{ts}} NOT NULL,
    PRIMARY KEY (user_id, activity_id)
);

-- What a requester said with a request to subscribe to a data source.
ALTER TABLE data_source_access ADD COLUMN metadata {{json}};
CREATE INDEX data_source_access_state ON data_source_access (state);
