-- Connections: one per connection key of the V2 data API. Secrets
-- (passwords, tokens, key files) are sealed with the server key in secret;
-- config holds the rest of the connection block.
CREATE TABLE connections (
    id {{id}},
    connection_key {{text}} NOT NULL UNIQUE,
    technology {{text}} NOT NULL,
    hostname {{text}},
    port {{bigint}},
    database_name {{text}},
    schema_name {{text}},
    connection_string {{text}},
    config {{json}} NOT NULL,
    secret {{text}},
    name_template {{json}},
    options {{json}},
    owners {{json}},
    sources {{json}},
    verified {{bool}} NOT NULL DEFAULT FALSE,
    last_error {{text}},
    schema_monitoring {{bool}} NOT NULL DEFAULT FALSE,
    last_monitored_at {{ts}},
    created_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);

-- Data sources: one per registered table, view or query.
CREATE TABLE data_sources (
    id {{id}},
    name {{text}} NOT NULL UNIQUE,
    connection_id {{bigint}} REFERENCES connections (id) ON DELETE SET NULL,
    technology {{text}} NOT NULL,
    remote_database {{text}},
    remote_schema {{text}},
    remote_table {{text}},
    remote_kind {{text}} NOT NULL DEFAULT 'table',
    query {{text}},
    sql_schema_name {{text}},
    sql_table_name {{text}},
    description {{text}},
    documentation {{text}},
    status {{text}} NOT NULL DEFAULT 'enabled',
    event_time_column {{text}},
    record_format {{text}},
    created_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    disabled_at {{ts}}
);
CREATE INDEX data_sources_connection ON data_sources (connection_id);
CREATE INDEX data_sources_remote ON data_sources (remote_schema, remote_table);

-- The dictionary: a data source's columns.
CREATE TABLE data_source_columns (
    data_source_id {{bigint}} NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    name {{text}} NOT NULL,
    position {{bigint}} NOT NULL,
    data_type {{text}} NOT NULL,
    remote_type {{text}},
    nullable {{bool}} NOT NULL DEFAULT TRUE,
    primary_key {{bool}} NOT NULL DEFAULT FALSE,
    description {{text}},
    is_new {{bool}} NOT NULL DEFAULT FALSE,
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    PRIMARY KEY (data_source_id, name)
);

-- Who has what relation to a data source: owners, experts, subscribers,
-- pending and denied requests. model_type is user or group. Expired
-- subscriptions grant nothing.
CREATE TABLE data_source_access (
    id {{id}},
    data_source_id {{bigint}} NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    model_type {{text}} NOT NULL,
    model_id {{bigint}} NOT NULL,
    state {{text}} NOT NULL,
    access_grant {{text}} NOT NULL DEFAULT 'READ',
    expiration {{ts}},
    reason {{text}},
    approved_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    UNIQUE (data_source_id, model_type, model_id)
);
CREATE INDEX data_source_access_model ON data_source_access (model_type, model_id);
