CREATE VIEW "shop_governed"."customers" AS
SELECT src."customer_id" AS "customer_id",
       NULL::pg_catalog.text AS "email",
       CASE WHEN ((SELECT NOT ('HR' = ANY (e.groups)) FROM "custos"."entitlement"(CURRENT_USER) AS e) OR (SELECT NOT ('HR' = ANY (e.groups)) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)) IS NOT FALSE THEN "custos"."mask_hash"(src."ssn"::pg_catalog.text, (SELECT k.value FROM "custos"."secrets" AS k WHERE k.name = 'hash_salt')) ELSE src."ssn"::pg_catalog.text END AS "ssn",
       pg_catalog.regexp_replace(src."credit_card"::pg_catalog.text, '^.*(\d{4})$', 'XXXX-\1', '') AS "credit_card",
       CASE WHEN (SELECT NOT ('Fraud' = ANY (e.acting)) FROM "custos"."entitlement"(CURRENT_USER) AS e) IS NOT FALSE THEN "custos"."mask_fpm"(src."phone"::pg_catalog.text, (SELECT k.value FROM "custos"."secrets" AS k WHERE k.name = 'fpm_key')) ELSE src."phone"::pg_catalog.text END AS "phone",
       CASE WHEN ((SELECT NOT (COALESCE((e.attributes -> 'Department') ? 'Finance', false)) FROM "custos"."entitlement"(CURRENT_USER) AS e) OR (SELECT NOT (COALESCE((e.attributes -> 'Department') ? 'Finance', false)) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)) IS NOT FALSE THEN 'REDACTED' ELSE src."iban"::pg_catalog.text END AS "iban",
       "custos"."mask_reversible"(src."state"::pg_catalog.text, (SELECT k.value FROM "custos"."secrets" AS k WHERE k.name = 'reversible_key')) AS "state",
       pg_catalog.date_trunc('month', src."birth_date")::pg_catalog.date AS "birth_date",
       (LEAST(GREATEST(pg_catalog.floor(src."loyalty_points"::pg_catalog.numeric / 100) * 100, -2147483648), 2147483647))::pg_catalog.int4 AS "loyalty_points",
       CASE WHEN "custos"."unit_random"((SELECT k.value FROM "custos"."secrets" AS k WHERE k.name = 'random_seed'), src."ctid"::pg_catalog.text || ':gender:r') < 0.1 THEN ((SELECT d.vals FROM "custos"."domains" AS d WHERE d.data_source_id = 7 AND d.column_name = 'gender'))[1 + pg_catalog.floor("custos"."unit_random"((SELECT k.value FROM "custos"."secrets" AS k WHERE k.name = 'random_seed'), src."ctid"::pg_catalog.text || ':gender:v') * pg_catalog.cardinality((SELECT d.vals FROM "custos"."domains" AS d WHERE d.data_source_id = 7 AND d.column_name = 'gender')))::pg_catalog.int4] ELSE src."gender"::pg_catalog.text END AS "gender",
       CASE WHEN ((SELECT 'Analysts' = ANY (e.groups) FROM "custos"."entitlement"(CURRENT_USER) AS e) OR (SELECT 'Analysts' = ANY (e.groups) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)) IS NOT FALSE THEN CASE WHEN pg_catalog.count(*) OVER custos_k1 < 3 THEN NULL ELSE src."zip" END ELSE src."zip" END AS "zip",
       CASE WHEN ((SELECT 'Analysts' = ANY (e.groups) FROM "custos"."entitlement"(CURRENT_USER) AS e) OR (SELECT 'Analysts' = ANY (e.groups) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)) IS NOT FALSE THEN CASE WHEN pg_catalog.count(*) OVER custos_k1 < 3 THEN NULL ELSE src."country" END ELSE src."country" END AS "country",
       src."created_at" AS "created_at"
FROM "shop"."customers" AS src
WINDOW custos_k1 AS (PARTITION BY src."zip", src."country");
