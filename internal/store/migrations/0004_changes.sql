-- The change log: every change that can alter a policy decision appends a
-- row in the transaction that makes it. Each server reads the log from its
-- own cursor to recompute and enforce, so servers sharing one store agree.
CREATE TABLE changes (
    id {{id}},
    kind {{text}} NOT NULL,
    model_type {{text}} NOT NULL,
    model_id {{text}} NOT NULL,
    created_at {{ts}} NOT NULL
);
