-- Global policies. document is the policy in the V2 payload shape, as the
-- engine encodes it; the columns beside it are what listings filter and
-- sort on. A policy's id orders policies: on a conflict the older wins.
CREATE TABLE policies (
    id {{id}},
    policy_key {{text}} NOT NULL UNIQUE,
    name {{text}} NOT NULL,
    type {{text}} NOT NULL,
    document {{json}} NOT NULL,
    staged {{bool}} NOT NULL DEFAULT FALSE,
    template {{bool}} NOT NULL DEFAULT FALSE,
    owner_applied {{bool}} NOT NULL DEFAULT FALSE,
    system_generated {{bool}} NOT NULL DEFAULT FALSE,
    cloned_from {{bigint}},
    recertify_required_at {{ts}},
    created_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
CREATE INDEX policies_name ON policies (name);

-- Policies with "circumstances: null" that data owners applied to their
-- data sources.
CREATE TABLE policy_applications (
    policy_id {{bigint}} NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    data_source_id {{bigint}} NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    merged {{bool}} NOT NULL DEFAULT FALSE,
    applied_by {{bigint}},
    created_at {{ts}} NOT NULL,
    PRIMARY KEY (policy_id, data_source_id)
);
CREATE INDEX policy_applications_data_source ON policy_applications (data_source_id);

-- A data source's own policy (its policy handler). Every save is a new
-- version, so that versions can be compared; the newest one is in force.
CREATE TABLE policy_handlers (
    id {{id}},
    data_source_id {{bigint}} NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    json_policies {{json}} NOT NULL,
    created_by {{bigint}},
    created_at {{ts}} NOT NULL
);
CREATE INDEX policy_handlers_data_source ON policy_handlers (data_source_id, id);

-- Purposes: dotted hierarchies (Parent.Child). A child's acknowledgement,
-- when null, is its nearest ancestor's. acknowledgement_version grows when
-- the statement in force changes; required_acknowledgement_version is the
-- version project members must have acknowledged.
CREATE TABLE purposes (
    id {{id}},
    name {{text}} NOT NULL UNIQUE,
    description {{text}},
    acknowledgement {{text}},
    display_acknowledgement {{bool}} NOT NULL DEFAULT TRUE,
    acknowledgement_version {{bigint}} NOT NULL DEFAULT 1,
    required_acknowledgement_version {{bigint}} NOT NULL DEFAULT 1,
    k_anon_noise_reduction {{text}},
    policy_metadata {{json}},
    staged {{bool}} NOT NULL DEFAULT FALSE,
    system_generated {{bool}} NOT NULL DEFAULT FALSE,
    deleted {{bool}} NOT NULL DEFAULT FALSE,
    added_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);

-- Subscriptions: an override is a grant an owner or governor made by hand,
-- which stands whatever the subscription policy says; other subscriptions
-- last only while the user still meets the policy.
ALTER TABLE data_source_access ADD COLUMN override {{bool}} NOT NULL DEFAULT FALSE;
ALTER TABLE data_source_access ADD COLUMN approvals {{json}};
CREATE INDEX data_source_access_expiration ON data_source_access (expiration);
