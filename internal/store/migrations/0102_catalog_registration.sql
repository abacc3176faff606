-- What the catalog keeps beside 0101's tables to register, monitor and
-- discover data sources.

-- origin says which API registered the connection: v2 (a connection key of
-- /api/v2/data) or v1 (a technology handler endpoint). excluded lists the
-- tables ("schema.table", JSON array) whose data sources were deleted by
-- hand, so schema monitoring does not register them again.
ALTER TABLE connections ADD COLUMN origin {{text}} NOT NULL DEFAULT 'v2';
ALTER TABLE connections ADD COLUMN excluded {{json}};

-- schema_project: the schema project name from the name template.
-- handler_metadata: the technology handler's metadata without secrets.
-- columns_fixed: the payload lists the columns, so monitoring leaves them.
-- row_estimate: the remote row count estimate at the last introspection.
-- disabled_reason: "removed" (the remote table disappeared) or "user".
-- sdd_framework_id: the identification framework applied to the data
-- source; NULL uses the global framework.
ALTER TABLE data_sources ADD COLUMN schema_project {{text}};
ALTER TABLE data_sources ADD COLUMN handler_metadata {{json}};
ALTER TABLE data_sources ADD COLUMN columns_fixed {{bool}} NOT NULL DEFAULT FALSE;
ALTER TABLE data_sources ADD COLUMN row_estimate {{bigint}};
ALTER TABLE data_sources ADD COLUMN disabled_reason {{text}};
ALTER TABLE data_sources ADD COLUMN sdd_framework_id {{bigint}};

CREATE UNIQUE INDEX data_sources_sql_table_name ON data_sources (sql_table_name);
CREATE INDEX data_source_columns_name ON data_source_columns (name);
CREATE INDEX model_tags_model ON model_tags (model_type, model_id);
