-- Audit export configurations: where and how often new audit records are
-- exported. Secret fields of the destination are sealed with the server key
-- in secrets; endpoint holds the rest. The cursor (cursor_time, cursor_id)
-- is the last record exported, so that every record is exported once.
CREATE TABLE audit_export_configs (
    id {{text}} PRIMARY KEY,
    type {{text}} NOT NULL,
    export_interval {{text}} NOT NULL,
    enabled {{bool}} NOT NULL,
    endpoint {{json}} NOT NULL,
    secrets {{text}},
    created_at {{ts}} NOT NULL,
    created_by {{json}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    updated_by {{json}} NOT NULL,
    cursor_time {{ts}} NOT NULL,
    cursor_id {{text}} NOT NULL,
    next_run_at {{ts}} NOT NULL,
    last_run_at {{ts}},
    state {{text}} NOT NULL,
    message {{text}},
    exported_records {{bigint}} NOT NULL DEFAULT 0
);
CREATE INDEX audit_export_configs_due ON audit_export_configs (enabled, next_run_at);
