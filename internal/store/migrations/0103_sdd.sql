-- Sensitive data discovery: identifiers (the API's classifiers) and
-- identification frameworks (the API's templates). The identifiers and the
-- default framework custos ships are rows with built_in set, kept in step
-- with the code at start-up; they cannot be changed through the API.
CREATE TABLE sdd_identifiers (
    id {{id}},
    name {{text}} NOT NULL UNIQUE,
    display_name {{text}} NOT NULL UNIQUE,
    description {{text}} NOT NULL,
    type {{text}} NOT NULL,
    config {{json}} NOT NULL,
    built_in {{bool}} NOT NULL DEFAULT FALSE,
    created_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);

-- classifiers is the JSON array [{name, overrides}]. Exactly one framework
-- is global: it applies to data sources that have none of their own.
CREATE TABLE sdd_frameworks (
    id {{id}},
    name {{text}} NOT NULL UNIQUE,
    display_name {{text}} NOT NULL UNIQUE,
    description {{text}} NOT NULL,
    classifiers {{json}} NOT NULL,
    built_in {{bool}} NOT NULL DEFAULT FALSE,
    is_global {{bool}} NOT NULL DEFAULT FALSE,
    created_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
