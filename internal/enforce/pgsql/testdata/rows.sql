CREATE VIEW "shop_governed"."orders" AS
SELECT src."order_id" AS "order_id",
       src."customer_id" AS "customer_id",
       src."country" AS "country",
       src."region_code" AS "region_code",
       src."status" AS "status",
       src."ordered_at" AS "ordered_at"
FROM "shop"."orders" AS src;

-- row filter (restrictive policy for custos_shop)
((SELECT NOT (('Admins' = ANY (e.groups)) OR (COALESCE((e.attributes -> 'Clearance') ? 'all', false))) FROM "custos"."entitlement"(CURRENT_USER) AS e) IS FALSE OR (("country" = ANY ((SELECT ARRAY(SELECT pg_catalog.jsonb_array_elements_text(COALESCE(e.attributes -> 'Country', '[]'::pg_catalog.jsonb))) FROM "custos"."entitlement"(CURRENT_USER) AS e)::pg_catalog.text[])) OR ("region_code"::pg_catalog.text = ANY ((SELECT e.groups FROM "custos"."entitlement"(CURRENT_USER) AS e)::pg_catalog.text[]))))
  AND ((SELECT NOT e.limited FROM "custos"."own_entitlement"(CURRENT_USER) AS e) OR ((SELECT NOT (('Admins' = ANY (e.groups)) OR (COALESCE((e.attributes -> 'Clearance') ? 'all', false))) FROM "custos"."own_entitlement"(CURRENT_USER) AS e) IS FALSE OR (("country" = ANY ((SELECT ARRAY(SELECT pg_catalog.jsonb_array_elements_text(COALESCE(e.attributes -> 'Country', '[]'::pg_catalog.jsonb))) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)::pg_catalog.text[])) OR ("region_code"::pg_catalog.text = ANY ((SELECT e.groups FROM "custos"."own_entitlement"(CURRENT_USER) AS e)::pg_catalog.text[])))))
  AND ((("status" IN ('open') OR "status" = ANY ((SELECT COALESCE(NULLIF(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(COALESCE(e.attributes -> 'Status', '[]'::pg_catalog.jsonb))), '{}'::pg_catalog.text[]), ARRAY['none']::pg_catalog.text[]) FROM "custos"."entitlement"(CURRENT_USER) AS e)::pg_catalog.text[])) OR ((SELECT e.username FROM "custos"."entitlement"(CURRENT_USER) AS e) = 'it''s me')) OR ((SELECT e.groups @> ARRAY['A', 'B']::pg_catalog.text[] FROM "custos"."entitlement"(CURRENT_USER) AS e) AND (NOT (SELECT 'Audit' = ANY (e.acting) FROM "custos"."entitlement"(CURRENT_USER) AS e))))
  AND ((SELECT NOT e.limited FROM "custos"."own_entitlement"(CURRENT_USER) AS e) OR ((("status" IN ('open') OR "status" = ANY ((SELECT COALESCE(NULLIF(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(COALESCE(e.attributes -> 'Status', '[]'::pg_catalog.jsonb))), '{}'::pg_catalog.text[]), ARRAY['none']::pg_catalog.text[]) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)::pg_catalog.text[])) OR ((SELECT e.username FROM "custos"."own_entitlement"(CURRENT_USER) AS e) = 'it''s me')) OR ((SELECT e.groups @> ARRAY['A', 'B']::pg_catalog.text[] FROM "custos"."own_entitlement"(CURRENT_USER) AS e) AND (NOT (SELECT 'Audit' = ANY (e.acting) FROM "custos"."own_entitlement"(CURRENT_USER) AS e)))))
  AND ((SELECT 'Marketing' = ANY (e.acting) FROM "custos"."entitlement"(CURRENT_USER) AS e) IS FALSE OR ("ordered_at" >= pg_catalog.now() - pg_catalog.make_interval(secs => 2592000)))
  AND (((pg_catalog.hashtextextended("order_id"::pg_catalog.text, 0) % 100) + 100) % 100 < 10)
  AND (SELECT NOT ('Fraud' = ANY (e.acting)) FROM "custos"."entitlement"(CURRENT_USER) AS e) IS FALSE
