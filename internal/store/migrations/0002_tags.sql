-- The tag vocabulary. Names are dotted hierarchies; every prefix of a name is
-- a tag of its own, so parents always exist.
CREATE TABLE tags (
    id {{id}},
    name {{text}} NOT NULL UNIQUE,
    source {{text}} NOT NULL DEFAULT 'curated',
    description {{text}},
    color {{text}},
    deleted {{bool}} NOT NULL DEFAULT FALSE,
    system_created {{bool}} NOT NULL DEFAULT FALSE,
    protected {{bool}} NOT NULL DEFAULT FALSE,
    created_by {{bigint}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);

-- Tags attached to models: datasource, column ("<dataSourceId>_<column>"),
-- project, user, group.
CREATE TABLE model_tags (
    id {{id}},
    model_type {{text}} NOT NULL,
    model_id {{text}} NOT NULL,
    tag_id {{bigint}} NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    source {{text}} NOT NULL DEFAULT 'curated',
    context {{text}} NOT NULL DEFAULT 'manual',
    added_by {{bigint}},
    created_at {{ts}} NOT NULL,
    UNIQUE (model_type, model_id, tag_id)
);
CREATE INDEX model_tags_tag ON model_tags (tag_id);
