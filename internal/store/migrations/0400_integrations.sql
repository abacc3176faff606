-- Integrations: the platforms custos enforces policies in (Integrations
-- API). config holds the configuration without secrets; secret holds the
-- secret fields, sealed with the server key. target identifies the platform
-- (host:port/database for PostgreSQL) so that one integration governs it.
CREATE TABLE integrations (
    id {{id}},
    type {{text}} NOT NULL,
    status {{text}} NOT NULL,
    auto_bootstrap {{bool}} NOT NULL,
    target {{text}} NOT NULL,
    config {{json}} NOT NULL,
    secret {{text}},
    validation {{json}},
    message {{text}},
    unmapped {{json}},
    created_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    synced_at {{ts}}
);
CREATE INDEX integrations_target ON integrations (type, target);

-- How each data source is enforced by an integration.
CREATE TABLE integration_sources (
    integration_id {{bigint}} NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    data_source_id {{bigint}} NOT NULL,
    view_name {{text}},
    state {{text}} NOT NULL,
    message {{text}},
    warnings {{json}},
    synced_at {{ts}},
    PRIMARY KEY (integration_id, data_source_id)
);

-- Work waiting for the enforcement job: data sources or users whose
-- decisions may have changed, or everything (model_id 0).
CREATE TABLE integration_pending (
    integration_id {{bigint}} NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    kind {{text}} NOT NULL,
    model_id {{bigint}} NOT NULL,
    created_at {{ts}} NOT NULL,
    PRIMARY KEY (integration_id, kind, model_id)
);

-- Where query-audit ingestion stopped in a database server's log.
CREATE TABLE integration_audit_cursors (
    integration_id {{bigint}} PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    source {{text}} NOT NULL,
    position {{bigint}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
