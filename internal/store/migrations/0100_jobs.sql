-- Background jobs. A job is created in the transaction that asks for it, so
-- it is never lost; a worker claims it with a lease that it renews while it
-- runs, so a job whose server died is found and resumed or failed.
CREATE TABLE jobs (
    id {{text}} PRIMARY KEY,
    type {{text}} NOT NULL,
    state {{text}} NOT NULL,
    payload {{json}},
    output {{text}},
    progress_done {{bigint}} NOT NULL DEFAULT 0,
    progress_total {{bigint}} NOT NULL DEFAULT 0,
    progress_message {{text}},
    attempts {{bigint}} NOT NULL DEFAULT 0,
    created_by {{bigint}},
    target_type {{text}},
    target_id {{text}},
    lease_owner {{text}},
    lease_expires {{ts}},
    created_at {{ts}} NOT NULL,
    started_at {{ts}},
    finished_at {{ts}},
    updated_at {{ts}} NOT NULL
);
CREATE INDEX jobs_state ON jobs (state, created_at);
CREATE INDEX jobs_target ON jobs (target_type, target_id);
CREATE INDEX jobs_created_by ON jobs (created_by, created_at);
