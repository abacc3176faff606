package api_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// owners lists the owners of a data source as "user:<id>" / "group:<id>".
func owners(t testing.TB, env *servertest.Env, id int64) []string {
	t.Helper()
	list, err := env.App.DB.AccessToDataSource(t.Context(), id, store.AccessOwner)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, fmt.Sprintf("%s:%d", a.ModelType, a.ModelID))
	}
	slices.Sort(out)
	return out
}

func TestV2UpsertReplacesTheDesiredState(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		remote := sampleRemote(t)
		bob, bobKey := env.NewUser(t, "bob")
		adminID := int64(1)
		env.Admin(t, 200, "POST", "/bim/group", map[string]any{"name": "Stewards", "iamid": "bim"})

		customers := map[string]any{"table": "customers", "schema": "shop",
			"tags": map[string]any{"table": []string{"PII"}, "columns": []any{
				map[string]any{"columnName": "email", "tags": []string{"Contact.Email"}}}},
			"columnDescriptions": []any{map[string]any{"columnName": "zip", "description": "postal code"}}}
		doc := map[string]any{"connectionKey": "shop", "connection": remote.conn,
			"options": map[string]any{"disableSensitiveDataDiscovery": true, "tableTags": []string{"Shop"}},
			"owners":  []any{map[string]any{"type": "user", "name": "bob"}, map[string]any{"type": "group", "name": "Stewards"}},
			"sources": []any{customers, map[string]any{"table": "products", "schema": "shop"}, map[string]any{"table": "orders", "schema": "shop"},
				map[string]any{"query": "SELECT sku, price_cents FROM shop.products", "naming": map[string]any{"datasource": "Product Prices"}}}}
		res := post(t, env, 200, doc)
		if !slices.Equal(res.Creating, []string{"Product Prices", "Shop Customers", "Shop Orders", "Shop Products"}) || !res.TagsUpdated {
			t.Fatalf("first post: %+v", res)
		}
		c := getDS(t, env, "Shop Customers")
		if !slices.Equal(c.tagNames(), []string{"PII", "Shop"}) {
			t.Fatalf("customers tags: %v", c.tagNames())
		}
		if got := columnTags(t, env, c.ID, "v2"); !slices.Equal(got["email"], []string{"Contact.Email"}) || len(got) != 1 {
			t.Fatalf("column tags: %v", got)
		}
		d := dictionary(t, env, c.ID)
		for _, col := range d.Metadata {
			if col.Name == "zip" && deref(col.Description) != "postal code" {
				t.Fatalf("columnDescriptions: %q", deref(col.Description))
			}
		}
		if o := owners(t, env, c.ID); len(o) != 3 || !slices.Contains(o, fmt.Sprintf("user:%d", bob)) ||
			!slices.Contains(o, fmt.Sprintf("user:%d", adminID)) {
			t.Fatalf("owners: %v", o)
		}
		q := getDS(t, env, "Product Prices")
		if q.RemoteKind != "query" || q.SQLTableName != "product_prices" {
			t.Fatalf("query source: %+v", q)
		}
		if dd := dictionary(t, env, q.ID); len(dd.Metadata) != 2 || dd.Metadata[0].Name != "sku" || dd.Metadata[1].DataType != "integer" {
			t.Fatalf("query columns: %+v", dd.Metadata)
		}
		// Bob owns the data sources, so he may tag them; a manual tag survives re-posts.
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Manual.Keep"}}})
		env.Must(t, 200, bobKey, "POST", fmt.Sprintf("/tag/datasource/%d", c.ID), []any{map[string]any{"name": "Manual.Keep"}})

		// Fewer tables, other tags, no owners: the rest is disabled, tags replaced, owners but the caller removed.
		customers["tags"] = map[string]any{"table": []string{"Restricted"}}
		doc["sources"] = []any{customers}
		doc["options"] = map[string]any{"disableSensitiveDataDiscovery": true, "tableTags": []string{"Finance"}}
		doc["owners"] = []any{}
		res = post(t, env, 200, doc)
		if !slices.Equal(res.Updating, []string{"Shop Customers"}) ||
			!slices.Equal(res.Deleting, []string{"Product Prices", "Shop Orders", "Shop Products"}) || len(res.Creating) != 0 {
			t.Fatalf("second post: %+v", res)
		}
		c = getDS(t, env, "Shop Customers")
		if !slices.Equal(c.tagNames(), []string{"Finance", "Manual.Keep", "Restricted"}) {
			t.Fatalf("tags after replacing: %v", c.tagNames())
		}
		if got := columnTags(t, env, c.ID, ""); len(got) != 0 {
			t.Fatalf("the column tag was not removed: %v", got)
		}
		if o := owners(t, env, c.ID); !slices.Equal(o, []string{fmt.Sprintf("user:%d", adminID)}) {
			t.Fatalf("owners after []: %v", o)
		}
		env.Must(t, 403, bobKey, "POST", fmt.Sprintf("/tag/datasource/%d", c.ID), []any{map[string]any{"name": "Manual.Keep"}})
		p := getDS(t, env, "Shop Products")
		if !p.Disabled || deref(p.DisabledReason) != "removed" {
			t.Fatalf("products is not disabled: %+v", p)
		}
		// Owners left out of the document leave owners alone.
		doc["owners"] = []any{map[string]any{"type": "user", "name": "bob"}}
		post(t, env, 200, doc)
		delete(doc, "owners")
		res = post(t, env, 200, doc)
		if o := owners(t, env, c.ID); len(o) != 2 || !slices.Equal(res.NoChange, []string{"Shop Customers"}) {
			t.Fatalf("owners after leaving them out: %v (%+v)", o, res)
		}

		// hardDelete deletes what is not listed.
		doc["options"] = map[string]any{"disableSensitiveDataDiscovery": true, "tableTags": []string{"Finance"}, "hardDelete": true}
		res = post(t, env, 200, doc)
		if !slices.Equal(res.Deleting, []string{"Product Prices", "Shop Orders", "Shop Products"}) {
			t.Fatalf("hard delete: %+v", res)
		}
		env.Must(t, 404, servertest.AdminKey, "GET", "/dataSource/name/Shop%20Products", nil)
		if n := countDataSources(t, env); n != 1 {
			t.Fatalf("%d data sources after the hard delete", n)
		}

		// A new name template renames; listing every table brings the others back.
		doc["nameTemplate"] = map[string]any{"dataSourceFormat": "PG <Tablename>", "tableFormat": "pg_<tablename>"}
		doc["sources"] = []any{customers, map[string]any{"all": true}}
		res = post(t, env, 200, doc)
		if !slices.Equal(res.Updating, []string{"PG Customers"}) || len(res.Creating) != 5 {
			t.Fatalf("template change: %+v", res)
		}
		if d := getDS(t, env, "PG Customers"); d.SQLTableName != "pg_customers" || d.ID != c.ID {
			t.Fatalf("renamed: %+v", d)
		}

		// A dry run reports and changes nothing.
		doc["sources"] = []any{customers}
		var dry saveResult
		env.Admin(t, 200, "POST", "/api/v2/data?dryRun=true", doc).JSON(t, &dry)
		if !dry.DryRun || len(dry.Deleting) != 5 || dry.ConnectionString != nil || dry.JobID != "" {
			t.Fatalf("dry run: %+v", dry)
		}
		if n := countDataSources(t, env); n != 6 {
			t.Fatalf("the dry run changed the catalog: %d data sources", n)
		}

		// The connection key can be renamed and deleted.
		var ren map[string]string
		env.Admin(t, 200, "POST", "/api/v2/data/shop/rename", map[string]any{"newConnectionKey": "shop/renamed"}).JSON(t, &ren)
		if ren["oldConnectionKey"] != "shop" || ren["newConnectionKey"] != "shop/renamed" {
			t.Fatalf("rename: %v", ren)
		}
		var del struct {
			DryRun   bool     `json:"dryRun"`
			Deleting []string `json:"deleting"`
		}
		env.Admin(t, 200, "DELETE", "/api/v2/data/shop%2Frenamed?dryRun=true", nil).JSON(t, &del)
		if !del.DryRun || len(del.Deleting) != 6 || countDataSources(t, env) != 6 {
			t.Fatalf("dry delete: %+v", del)
		}
		env.Admin(t, 200, "DELETE", "/api/v2/data/shop%2Frenamed", nil).JSON(t, &del)
		if del.DryRun || len(del.Deleting) != 6 || countDataSources(t, env) != 0 {
			t.Fatalf("delete: %+v", del)
		}
		env.Must(t, 404, servertest.AdminKey, "GET", "/api/v2/data/shop%2Frenamed", nil)
	})
}
