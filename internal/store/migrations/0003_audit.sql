-- Audit records. Common fields are columns for filtering; the rest of a
-- record lives in details.
CREATE TABLE audit_records (
    id {{text}} PRIMARY KEY,
    date_time {{ts}} NOT NULL,
    record_type {{text}} NOT NULL,
    action {{text}},
    success {{bool}} NOT NULL,
    failure_reason {{text}},
    profile_id {{bigint}},
    userid {{text}},
    iamid {{text}},
    impersonator_id {{bigint}},
    target_type {{text}},
    target_id {{text}},
    data_source_id {{bigint}},
    data_source_name {{text}},
    project_id {{bigint}},
    project_name {{text}},
    policy_id {{bigint}},
    policy_name {{text}},
    sql_user {{text}},
    request_id {{text}},
    method {{text}},
    path {{text}},
    remote_addr {{text}},
    details {{json}}
);
CREATE INDEX audit_records_time ON audit_records (date_time);
CREATE INDEX audit_records_type ON audit_records (record_type, date_time);
CREATE INDEX audit_records_profile ON audit_records (profile_id, date_time);
CREATE INDEX audit_records_data_source ON audit_records (data_source_id, date_time);
