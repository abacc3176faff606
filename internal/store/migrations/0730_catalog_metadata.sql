-- What an external data catalog keeps about a data source (its
-- catalogMetadata: the provider and its identifier there), stored as sent.
CREATE TABLE data_source_catalog_metadata (
    data_source_id {{bigint}} PRIMARY KEY REFERENCES data_sources (id) ON DELETE CASCADE,
    metadata {{json}} NOT NULL
);
