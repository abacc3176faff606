-- custos setup of database shop
\set ON_ERROR_STOP on
SET standard_conforming_strings = on;
BEGIN;
CREATE ROLE "custos_shop" NOLOGIN;
GRANT "custos_shop" TO "admin";
CREATE SCHEMA "custos" AUTHORIZATION "custos_shop";
REVOKE ALL ON SCHEMA "custos" FROM PUBLIC;
SET LOCAL ROLE "custos_shop";
CREATE TABLE "custos"."entitlements" (
    role_name name PRIMARY KEY,
    user_id bigint NOT NULL,
    username text NOT NULL,
    iam text NOT NULL,
    groups text[] NOT NULL,
    attributes jsonb NOT NULL,
    own_groups text[] NOT NULL,
    own_attributes jsonb NOT NULL,
    purposes text[] NOT NULL,
    acting text[] NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TABLE "custos"."secrets" (name text PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE "custos"."meta" (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE "custos"."views" (
    data_source_id bigint PRIMARY KEY,
    table_oid oid NOT NULL,
    view_oid oid NOT NULL,
    view_schema name NOT NULL,
    view_name name NOT NULL,
    rendered text NOT NULL,
    view_def text NOT NULL,
    filter_def text,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TABLE "custos"."tables" (
    table_oid oid PRIMARY KEY,
    rls_enabled boolean NOT NULL,
    public_acl text[] NOT NULL
);
CREATE TABLE "custos"."grants" (
    kind text NOT NULL,
    object_oid oid NOT NULL,
    grantee name NOT NULL,
    privilege text NOT NULL,
    PRIMARY KEY (kind, object_oid, grantee, privilege)
);
CREATE TABLE "custos"."domains" (
    data_source_id bigint NOT NULL,
    column_name name NOT NULL,
    vals text[] NOT NULL,
    lo double precision,
    hi double precision,
    refreshed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (data_source_id, column_name)
);
CREATE OR REPLACE VIEW "custos"."own_entitlements" WITH (security_barrier) AS
SELECT e.role_name, e.username, e.iam, e.groups, e.attributes, e.own_groups, e.own_attributes, e.purposes, e.acting
FROM "custos"."entitlements" AS e
WHERE pg_catalog.pg_has_role(SESSION_USER, e.role_name, 'MEMBER');
GRANT SELECT ON "custos"."own_entitlements" TO PUBLIC;
CREATE OR REPLACE FUNCTION "custos"."entitlement"(r name)
RETURNS TABLE (username text, iam text, groups text[], attributes jsonb, purposes text[], acting text[])
LANGUAGE sql STABLE PARALLEL SAFE SECURITY INVOKER
BEGIN ATOMIC
    SELECT COALESCE(e.username, ''), COALESCE(e.iam, ''), COALESCE(e.groups, '{}'),
           COALESCE(e.attributes, '{}'), COALESCE(e.purposes, '{}'), COALESCE(e.acting, '{}')
    FROM (SELECT 1) AS one
    LEFT JOIN "custos"."own_entitlements" AS e ON e.role_name = r;
END;
CREATE OR REPLACE FUNCTION "custos"."own_entitlement"(r name)
RETURNS TABLE (username text, iam text, groups text[], attributes jsonb, purposes text[], acting text[], limited boolean)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY INVOKER
BEGIN ATOMIC
    SELECT COALESCE(e.username, ''), COALESCE(e.iam, ''), COALESCE(e.own_groups, '{}'),
           COALESCE(e.own_attributes, '{}'), COALESCE(e.purposes, '{}'), COALESCE(e.acting, '{}'),
           COALESCE(e.own_groups IS DISTINCT FROM e.groups OR e.own_attributes IS DISTINCT FROM e.attributes, false)
    FROM (SELECT 1) AS one
    LEFT JOIN "custos"."own_entitlements" AS e ON e.role_name = r;
END;
CREATE OR REPLACE FUNCTION "custos"."mask_hash"(v text, salt bytea) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.encode(pg_catalog.sha256(salt || pg_catalog.convert_to(v, 'UTF8')), 'hex');
CREATE OR REPLACE FUNCTION "custos"."xor_bytes"(a bytea, b bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.string_agg(pg_catalog.set_byte('\x00'::bytea, 0, pg_catalog.get_byte(a, i) # pg_catalog.get_byte(b, i)), ''::bytea ORDER BY i), ''::bytea)
    FROM pg_catalog.generate_series(0, pg_catalog.length(a) - 1) AS i;
END;
CREATE OR REPLACE FUNCTION "custos"."keystream"(k bytea, nonce bytea, n integer) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT pg_catalog.substr(COALESCE(pg_catalog.string_agg(pg_catalog.sha256(k || nonce || pg_catalog.int4send(c)), ''::bytea ORDER BY c), ''::bytea), 1, n)
    FROM pg_catalog.generate_series(0, (n - 1) / 32) AS c;
END;
CREATE OR REPLACE FUNCTION "custos"."mask_reversible"(v text, k bytea) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT 'rev:' || pg_catalog.translate(pg_catalog.encode(x.nonce || "custos"."xor_bytes"(x.m, "custos"."keystream"(pg_catalog.substr(k, 33, 32), x.nonce, pg_catalog.length(x.m))), 'base64'), pg_catalog.chr(10), '')
    FROM (SELECT pg_catalog.convert_to(v, 'UTF8') AS m, pg_catalog.substr(pg_catalog.sha256(pg_catalog.substr(k, 1, 32) || pg_catalog.convert_to(v, 'UTF8')), 1, 16) AS nonce) AS x;
END;
CREATE OR REPLACE FUNCTION "custos"."unmask_reversible"(v text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.substr(pg_catalog.sha256(pg_catalog.substr(k.value, 1, 32) || d.m), 1, 16) = d.nonce
                THEN pg_catalog.convert_from(d.m, 'UTF8') END
    FROM "custos"."secrets" AS k,
         LATERAL (SELECT pg_catalog.decode(pg_catalog.substr(v, 5), 'base64') AS raw) AS r,
         LATERAL (SELECT pg_catalog.substr(r.raw, 1, 16) AS nonce,
                         "custos"."xor_bytes"(pg_catalog.substr(r.raw, 17), "custos"."keystream"(pg_catalog.substr(k.value, 33, 32), pg_catalog.substr(r.raw, 1, 16), pg_catalog.length(r.raw) - 16)) AS m) AS d
    WHERE k.name = 'reversible_key' AND pg_catalog.left(v, 4) = 'rev:';
END;
REVOKE ALL ON FUNCTION "custos"."unmask_reversible"(text) FROM PUBLIC;
CREATE OR REPLACE FUNCTION "custos"."mask_fpm"(v text, k bytea) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH ks AS (
        SELECT pg_catalog.string_agg(pg_catalog.sha256(k || pg_catalog.int4send(b) || pg_catalog.convert_to(v, 'UTF8')), ''::bytea ORDER BY b) AS s
        FROM pg_catalog.generate_series(0, (pg_catalog.length(v) - 1) / 32) AS b
    ), chars AS (
        SELECT i, pg_catalog.substr(v, i, 1) AS c, pg_catalog.ascii(pg_catalog.substr(v, i, 1)) AS a
        FROM pg_catalog.generate_series(1, pg_catalog.length(v)) AS i
    )
    SELECT CASE WHEN v IS NULL THEN NULL ELSE COALESCE(pg_catalog.string_agg(CASE
        WHEN chars.a BETWEEN 48 AND 57 THEN pg_catalog.chr(48 + pg_catalog.get_byte(ks.s, chars.i - 1) % 10)
        WHEN chars.a BETWEEN 97 AND 122 THEN pg_catalog.chr(97 + pg_catalog.get_byte(ks.s, chars.i - 1) % 26)
        WHEN chars.a BETWEEN 65 AND 90 THEN pg_catalog.chr(65 + pg_catalog.get_byte(ks.s, chars.i - 1) % 26)
        ELSE chars.c END, '' ORDER BY chars.i), v) END
    FROM ks, chars;
END;
CREATE OR REPLACE FUNCTION "custos"."unit_random"(seed bytea, tag text) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE
RETURN (('x' || pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(seed || pg_catalog.convert_to(tag, 'UTF8')), 1, 6), 'hex'))::bit(48)::bigint)::double precision / 281474976710656.0;
INSERT INTO "custos"."secrets" (name, value)
SELECT n, pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex')
FROM pg_catalog.unnest(ARRAY['hash_salt', 'reversible_key', 'fpm_key', 'random_seed']::pg_catalog.text[]) AS n;
INSERT INTO "custos"."meta" (key, value) VALUES ('version', '3');
RESET ROLE;
CREATE ROLE "custos_shop_audit" NOLOGIN;
ALTER DATABASE "shop" SET pgaudit.role = 'custos_shop_audit';
COMMIT;

-- cleanup
\set ON_ERROR_STOP on
SET standard_conforming_strings = on;
BEGIN;
DROP SCHEMA IF EXISTS "custos" CASCADE;
ALTER DATABASE "shop" RESET pgaudit.role;
DROP ROLE IF EXISTS "custos_shop_audit";
DROP ROLE IF EXISTS "custos_shop";
COMMIT;
