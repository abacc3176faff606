CREATE VIEW "Marketing_governed"."Gold Members" WITH (security_barrier) AS
SELECT src."Member ID" AS "Member ID",
       CASE WHEN ((SELECT NOT ('Marketing' = ANY (e.groups)) FROM "custos"."entitlement"(CURRENT_USER) AS e) OR (SELECT NOT ('Marketing' = ANY (e.groups)) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)) IS NOT FALSE THEN NULL ELSE src."Full Name" END AS "Full Name",
       src."Tier" AS "Tier",
       (LEAST(GREATEST(pg_catalog.round(LEAST(GREATEST((src."Points Balance"::pg_catalog.float8 + 50 * pg_catalog.sqrt(-2 * pg_catalog.ln(1 - pg_catalog.random())) * pg_catalog.cos(2 * pg_catalog.pi() * pg_catalog.random())), (SELECT d.lo FROM "custos"."domains" AS d WHERE d.data_source_id = 7 AND d.column_name = 'Points Balance')), (SELECT d.hi FROM "custos"."domains" AS d WHERE d.data_source_id = 7 AND d.column_name = 'Points Balance')))::pg_catalog.numeric, -2147483648), 2147483647))::pg_catalog.int4 AS "Points Balance"
FROM "Marketing"."Gold Members" AS src
WHERE (src."Tier" = ANY ((SELECT ARRAY(SELECT pg_catalog.jsonb_array_elements_text(COALESCE(e.attributes -> 'Tier', '[]'::pg_catalog.jsonb))) FROM "custos"."entitlement"(CURRENT_USER) AS e)::pg_catalog.text[]))
  AND ((SELECT NOT e.limited FROM "custos"."own_entitlement"(CURRENT_USER) AS e) OR (src."Tier" = ANY ((SELECT ARRAY(SELECT pg_catalog.jsonb_array_elements_text(COALESCE(e.attributes -> 'Tier', '[]'::pg_catalog.jsonb))) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)::pg_catalog.text[])));
