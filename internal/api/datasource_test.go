package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

type searchJSON struct {
	Count int      `json:"count"`
	Hits  []dsJSON `json:"hits"`
}

func search(t testing.TB, env *servertest.Env, key, query string) searchJSON {
	t.Helper()
	var res searchJSON
	env.Must(t, 200, key, "GET", "/dataSource?"+query, nil).JSON(t, &res)
	return res
}

func (s searchJSON) names() []string {
	var out []string
	for _, h := range s.Hits {
		out = append(out, h.Name)
	}
	return out
}

func TestDataSourceAPI(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		remote := sampleRemote(t)
		admin := servertest.AdminKey
		post(t, env, 200, map[string]any{"connectionKey": "sample", "connection": remote.conn, "options": map[string]any{
			"disableSensitiveDataDiscovery": true}, "sources": []any{map[string]any{"all": true},
			map[string]any{"table": "customers", "schema": "shop", "tags": map[string]any{"columns": []any{
				map[string]any{"columnName": "ssn", "tags": []string{"PII.SSN"}}}}}}})
		_, readerKey := env.NewUser(t, "reader")

		// Discovery: everyone sees every data source, owns none.
		all := search(t, env, readerKey, "size=100")
		if all.Count != 6 || !slices.Equal(all.names(), sampleNames) || all.Hits[0].SubscriptionStatus != "not_subscribed" {
			t.Fatalf("search as a reader: %d %v", all.Count, all.names())
		}
		for q, want := range map[string][]string{
			"searchText=loyal":                         {"Marketing Loyalty Members"},
			"searchText=contact&nameOnly=true":         {"Shop Customer Contacts"},
			"searchText=details":                       {"Shop Customers"}, // in the description
			"tag=PII":                                  {"Shop Customers"}, // a column tag below PII
			"tag=PII.SSN":                              {"Shop Customers"},
			"tag=PI":                                   nil,
			"column=email&column=Full%20Name":          {"Marketing Gold Members", "Marketing Loyalty Members", "Shop Customer Contacts", "Shop Customers"},
			"schema=Marketing":                         {"Marketing Gold Members", "Marketing Loyalty Members"},
			"blobHandlerType=PostgreSQL&status=passed": sampleNames,
			"status=failed":                            nil,
			"subscription=owner":                       nil,
			"subscription=not_subscribed&size=2":       sampleNames[:2],
			"sortField=name&sortOrder=desc&size=2":     {"Shop Products", "Shop Orders"},
			"size=2&offset=4":                          sampleNames[4:],
			"connectionString=" + url.QueryEscape(*getDS(t, env, "Shop Orders").ConnectionString): sampleNames,
		} {
			if got := search(t, env, readerKey, q); !slices.Equal(got.names(), want) {
				t.Errorf("%s: %v, want %v", q, got.names(), want)
			}
		}
		if page := search(t, env, readerKey, "size=2&offset=4"); page.Count != 6 {
			t.Errorf("paging reports %d in all", page.Count)
		}
		if mine := search(t, env, admin, "subscription=owner"); mine.Count != 6 {
			t.Errorf("the registering administrator owns %d", mine.Count)
		}
		env.Must(t, 400, readerKey, "GET", "/dataSource?status=unknown", nil)
		env.Must(t, 400, readerKey, "GET", "/dataSource?sortField=color", nil)
		var ids struct {
			Hits []map[string]any `json:"hits"`
		}
		env.Must(t, 200, readerKey, "GET", "/dataSource?idOnly=true&size=1", nil).JSON(t, &ids)
		if len(ids.Hits) != 1 || len(ids.Hits[0]) != 2 || ids.Hits[0]["id"] == nil {
			t.Errorf("idOnly: %v", ids.Hits)
		}

		// Lookups by id, name and SQL table name.
		c := getDS(t, env, "Shop Customers")
		env.Must(t, 200, readerKey, "GET", fmt.Sprintf("/dataSource/%d", c.ID), nil)
		var byTable dsJSON
		env.Must(t, 200, readerKey, "GET", "/dataSource/sqlTableName/customers", nil).JSON(t, &byTable)
		if byTable.ID != c.ID {
			t.Fatalf("by SQL table name: %+v", byTable)
		}
		env.Must(t, 404, readerKey, "GET", "/dataSource/999999", nil)
		env.Must(t, 404, readerKey, "GET", "/dataSource/abc", nil) // not a data source id: no such route

		// Changes need an owner or GOVERNANCE.
		env.Must(t, 403, readerKey, "PUT", fmt.Sprintf("/dataSource/%d", c.ID), map[string]any{"description": "x"})
		env.Must(t, 403, readerKey, "DELETE", fmt.Sprintf("/dataSource/%d", c.ID), nil)
		env.Must(t, 403, readerKey, "POST", fmt.Sprintf("/tag/column/%d_email", c.ID), []any{map[string]any{"name": "PII.SSN"}})
		var upd dsJSON
		env.Admin(t, 200, "PUT", fmt.Sprintf("/dataSource/%d", c.ID), map[string]any{"name": "Customers", "description": "people",
			"sqlTableName": "people"}).JSON(t, &upd)
		if upd.Name != "Customers" || deref(upd.Description) != "people" || upd.SQLTableName != "people" {
			t.Fatalf("update: %+v", upd)
		}
		r := env.Must(t, 422, admin, "PUT", fmt.Sprintf("/dataSource/%d", c.ID), map[string]any{"name": "Shop Orders"})
		if f := fields(t, r); !slices.Equal(f, []string{"name"}) {
			t.Fatalf("duplicate name: %s", r.Body)
		}
		env.Must(t, 422, admin, "PUT", fmt.Sprintf("/dataSource/%d", c.ID), map[string]any{"sqlTableName": "Not Valid"})

		// Tags through /tag, on the data source and a column, seen through /dataSource/{id}/tags.
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Finance.Restricted"}}})
		env.Admin(t, 200, "POST", fmt.Sprintf("/tag/datasource/%d", c.ID), []any{map[string]any{"name": "Finance.Restricted"}})
		env.Admin(t, 200, "POST", fmt.Sprintf("/tag/column/%d_email", c.ID), []any{map[string]any{"name": "Finance.Restricted"}})
		env.Must(t, 404, admin, "POST", fmt.Sprintf("/tag/column/%d_nope", c.ID), []any{map[string]any{"name": "Finance.Restricted"}})
		if got := columnTags(t, env, c.ID, ""); !slices.Equal(got["email"], []string{"Finance.Restricted"}) || !slices.Equal(got["ssn"], []string{"PII.SSN"}) {
			t.Fatalf("column tags: %v", got)
		}
		if got := search(t, env, readerKey, "tag=Finance"); !slices.Equal(got.names(), []string{"Customers"}) {
			t.Fatalf("search by parent tag: %v", got.names())
		}
		env.Admin(t, 204, "DELETE", fmt.Sprintf("/tag/column/%d_email/Finance.Restricted", c.ID), nil)

		// The test endpoint: registered columns match the table.
		var test map[string]any
		env.Must(t, 200, readerKey, "GET", fmt.Sprintf("/dataSource/%d/test", c.ID), nil).JSON(t, &test)
		if test["status"] != "passed" {
			t.Fatalf("test: %v", test)
		}
		remote.exec(t, `ALTER TABLE shop.customers DROP COLUMN gender`)
		env.Must(t, 200, readerKey, "GET", fmt.Sprintf("/dataSource/%d/test", c.ID), nil).JSON(t, &test)
		if test["status"] != "failed" || !strings.Contains(fmt.Sprint(test["columnEvolution"]), `"gender" is gone`) {
			t.Fatalf("test after a dropped column: %v", test)
		}

		// Dictionary: search, replace (only the listed columns remain), delete.
		var cols []string
		env.Must(t, 200, readerKey, "GET", "/dictionary/columns?searchText=name&limit=3", nil).JSON(t, &cols)
		if !slices.Equal(cols, []string{"Full Name", "first_name", "full_name"}) {
			t.Fatalf("column search: %v", cols)
		}
		p := getDS(t, env, "Shop Products")
		env.Must(t, 409, admin, "POST", fmt.Sprintf("/dictionary/%d", p.ID), map[string]any{"metadata": []any{
			map[string]any{"name": "sku", "dataType": "text"}}})
		env.Must(t, 403, readerKey, "PUT", fmt.Sprintf("/dictionary/%d", p.ID), map[string]any{"metadata": []any{
			map[string]any{"name": "sku", "dataType": "text"}}})
		r = env.Must(t, 422, admin, "PUT", fmt.Sprintf("/dictionary/%d", p.ID), map[string]any{"metadata": []any{
			map[string]any{"name": "sku"}}})
		if f := fields(t, r); !slices.Equal(f, []string{"metadata[0].dataType"}) {
			t.Fatalf("dictionary validation: %s", r.Body)
		}
		var dict struct {
			Metadata []map[string]any `json:"metadata"`
			Types    []string         `json:"types"`
		}
		env.Admin(t, 200, "PUT", fmt.Sprintf("/dictionary/%d", p.ID), map[string]any{"metadata": []any{
			map[string]any{"name": "sku", "dataType": "text"}, map[string]any{"name": "price_cents", "dataType": "integer"}}}).JSON(t, &dict)
		if len(dict.Metadata) != 2 || !slices.Equal(dict.Types, []string{"text", "integer"}) {
			t.Fatalf("dictionary: %+v", dict)
		}
		env.Admin(t, 200, "DELETE", fmt.Sprintf("/dictionary/%d", p.ID), nil)
		env.Admin(t, 200, "POST", fmt.Sprintf("/dictionary/%d", p.ID), map[string]any{"metadata": []any{
			map[string]any{"name": "sku", "dataType": "text"}}})

		// Schemas and connection strings with their counts.
		var vals struct {
			Values []struct {
				Name  string `json:"name"`
				Count int    `json:"count"`
			} `json:"values"`
		}
		env.Must(t, 200, readerKey, "GET", "/schemas", nil).JSON(t, &vals)
		if len(vals.Values) != 2 || vals.Values[0].Name != "Marketing" || vals.Values[0].Count != 2 || vals.Values[1].Count != 4 {
			t.Fatalf("schemas: %+v", vals)
		}
		env.Must(t, 200, readerKey, "GET", "/connectionStrings?searchText=127.0.0.1", nil).JSON(t, &vals)
		if len(vals.Values) != 1 || vals.Values[0].Count != 6 {
			t.Fatalf("connection strings: %+v", vals)
		}

		// Bulk: disable, restore, tag; all or nothing.
		o := getDS(t, env, "Shop Orders")
		env.Admin(t, 200, "PUT", "/dataSource/bulk/disable", map[string]any{"ids": []int64{o.ID, p.ID}})
		if !getDS(t, env, "Shop Orders").Disabled {
			t.Fatal("bulk disable")
		}
		env.Admin(t, 200, "PUT", "/dataSource/bulk/restore", map[string]any{"ids": []int64{o.ID}})
		var bulk map[string]any
		env.Admin(t, 200, "PUT", "/dataSource/bulk/tags", map[string]any{"ids": []int64{o.ID, p.ID},
			"update": map[string]any{"tags": []any{map[string]any{"name": "Finance.Restricted", "source": "curated"}}}}).JSON(t, &bulk)
		if bulk["jobsCreated"] != float64(2) || !strings.HasPrefix(bulk["bulkId"].(string), "bulk_ds_update_") {
			t.Fatalf("bulk tags: %v", bulk)
		}
		env.Must(t, 422, admin, "PUT", "/dataSource/bulk/tags", map[string]any{"ids": []int64{o.ID, 999999},
			"update": map[string]any{"tags": []any{map[string]any{"name": "Finance.Restricted"}}}})
		env.Must(t, 400, admin, "PUT", "/dataSource/bulk/add-users", map[string]any{"ids": []int64{o.ID}})
		if g := getDS(t, env, "Shop Orders"); g.Disabled || !slices.Equal(g.tagNames(), []string{"Finance.Restricted"}) {
			t.Fatalf("after bulk: %+v", g)
		}

		// Delete: disabled (it reads deleted), and a second call changes
		// nothing; hardDelete deletes it.
		var del map[string]any
		for range 2 {
			env.Admin(t, 200, "DELETE", fmt.Sprintf("/dataSource/%d", o.ID), nil).JSON(t, &del)
			if del["disabled"] != true || del["hardDelete"] != false || del["success"] != true {
				t.Fatalf("delete: %v", del)
			}
			if g := env.Admin(t, 200, "GET", fmt.Sprintf("/dataSource/%d", o.ID), nil).Map(t); g["deleted"] != true {
				t.Fatalf("a disabled data source must read deleted: %v", g["deleted"])
			}
		}
		env.Admin(t, 200, "DELETE", fmt.Sprintf("/dataSource/%d?hardDelete=true", o.ID), nil).JSON(t, &del)
		if del["disabled"] != false || del["hardDelete"] != true {
			t.Fatalf("hard delete: %v", del)
		}
		env.Must(t, 404, admin, "GET", fmt.Sprintf("/dataSource/%d", o.ID), nil)
		env.Must(t, 404, admin, "GET", fmt.Sprintf("/dataSource/%d/tags", o.ID), nil)
	})
}

// Tag names may be any text: the tag filter matches what is below a tag
// whatever its characters (SQL counts characters, not bytes).
func TestSearchByATagBelowANonASCIITag(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		conn := map[string]any{"handler": "Snowflake", "hostname": "acme.snowflakecomputing.com", "database": "CRM",
			"warehouse": "WH", "username": "u", "password": "p"}
		post(t, env, 200, map[string]any{"connectionKey": "crm", "connection": conn, "options": noSDD,
			"sources": []any{map[string]any{"table": "CLIENTS", "schema": "PUBLIC",
				"columns": []any{map[string]any{"name": "NOM", "dataType": "text"}},
				"tags":    map[string]any{"columns": []any{map[string]any{"columnName": "NOM", "tags": []string{"Données.Personnelles"}}}}}}})
		for _, tag := range []string{"Données", "Données.Personnelles"} {
			if got := search(t, env, servertest.AdminKey, "tag="+url.QueryEscape(tag)).names(); len(got) != 1 {
				t.Errorf("tag=%s: %v", tag, got)
			}
		}
		if got := search(t, env, servertest.AdminKey, "tag="+url.QueryEscape("Donnée")).names(); len(got) != 0 {
			t.Errorf("tag=Donnée: %v", got)
		}
	})
}
