package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/custosdata/custos/internal/sdd"
	"github.com/custosdata/custos/internal/server/servertest"
)

type sddRun map[string]struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Output struct {
		Diff struct {
			AddedTags   map[string][]string `json:"addedTags"`
			RemovedTags map[string][]string `json:"removedTags"`
		} `json:"diff"`
		SDDTagResult map[string][]string `json:"sddTagResult"`
		Sampled      bool                `json:"sampled"`
		Framework    string              `json:"framework"`
	} `json:"output"`
}

func runSDD(t testing.TB, env *servertest.Env, body map[string]any) sddRun {
	t.Helper()
	var res sddRun
	env.Admin(t, 200, "POST", "/sdd/run", body).JSON(t, &res)
	for name, j := range res {
		if j.State != "completed" {
			t.Fatalf("discovery on %s: %s", name, j.State)
		}
	}
	return res
}

// wantSampleTags are the tags discovery must give the sample database's
// columns with the default framework; every other column gets none.
var wantSampleTags = map[string]map[string][]string{
	"Shop Customers": {
		"first_name": {sdd.TagPersonName}, "last_name": {sdd.TagPersonName}, "email": {sdd.TagEmail},
		"ssn": {sdd.TagCountryUS, sdd.TagSSN}, "credit_card": {sdd.TagCreditCard}, "phone": {sdd.TagPhone},
		"street_address": {sdd.TagLocation, sdd.TagStreetAddress}, "state": {sdd.TagCountryUS, sdd.TagLocation, sdd.TagState},
		"zip": {sdd.TagCountryUS, sdd.TagPostalCode}, "country": {sdd.TagCountry, sdd.TagLocation},
		"birth_date": {sdd.TagDate, sdd.TagDateOfBirth}, "gender": {sdd.TagGender}, "last_login_ip": {sdd.TagIPAddress},
		"last_login_ipv6": {sdd.TagIPAddress}, "iban": {sdd.TagIBAN}, "created_at": {sdd.TagDate},
	},
	"Shop Products":             {},
	"Shop Orders":               {"ordered_at": {sdd.TagDate}},
	"Shop Customer Contacts":    {"full_name": {sdd.TagPersonName}, "email": {sdd.TagEmail}, "phone": {sdd.TagPhone}},
	"Marketing Loyalty Members": {"Full Name": {sdd.TagPersonName}, "EMail Address": {sdd.TagEmail}, "Joined On": {sdd.TagDate}},
	"Marketing Gold Members":    {"Full Name": {sdd.TagPersonName}, "EMail Address": {sdd.TagEmail}},
}

func TestDiscoveryTagsTheSampleDatabase(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		remote := sampleRemote(t)
		// Registration runs discovery by itself.
		res := post(t, env, 200, map[string]any{"connectionKey": "sample", "connection": remote.conn})
		if len(res.SDDJobs) != 6 {
			t.Fatalf("registration started %d discovery jobs: %+v", len(res.SDDJobs), res)
		}
		waitJobs(t, env, res.SDDJobs)
		ids := map[string]int64{}
		for name, want := range wantSampleTags {
			d := getDS(t, env, name)
			ids[name] = d.ID
			got := columnTags(t, env, d.ID, "sdd")
			for _, c := range dictionary(t, env, d.ID).Metadata {
				if !slices.Equal(got[c.Name], want[c.Name]) {
					t.Errorf("%s.%s: tags %q, want %q", name, c.Name, got[c.Name], want[c.Name])
				}
			}
		}
		// Discovered tags are system tags.
		var tags []map[string]any
		env.Admin(t, 200, "GET", "/tag?searchText=Discovered.Entity.Electronic", nil).JSON(t, &tags)
		if len(tags) != 1 || tags[0]["systemCreated"] != true {
			t.Fatalf("discovered tag: %v", tags)
		}

		// People's tags: one on a column discovery ignores, one equal to a
		// tag discovery would remove.
		custID := ids["Shop Customers"]
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Reviewed.Sensitive"}}})
		env.Admin(t, 200, "POST", fmt.Sprintf("/tag/column/%d_product_name", ids["Shop Products"]), []any{map[string]any{"name": "Reviewed.Sensitive"}})
		env.Admin(t, 200, "POST", fmt.Sprintf("/tag/column/%d_loyalty_points", custID), []any{map[string]any{"name": sdd.TagSSN}})

		// Running again changes nothing.
		again := runSDD(t, env, map[string]any{"sources": []string{"Shop Customers", "Shop Products"}})
		for name, j := range again {
			if len(j.Output.Diff.AddedTags)+len(j.Output.Diff.RemovedTags) != 0 || !j.Output.Sampled || j.Output.Framework != "DEFAULT_FRAMEWORK" {
				t.Fatalf("re-run on %s changed tags: %+v", name, j.Output)
			}
		}
		if got := columnTags(t, env, custID, "sdd"); !slices.Equal(got["email"], []string{sdd.TagEmail}) {
			t.Fatalf("re-run: %v", got)
		}

		// A framework with one identifier: discovery removes its other tags,
		// never the ones people attached.
		env.Admin(t, 200, "POST", "/sdd/template", map[string]any{"name": "EMAIL_ONLY", "displayName": "Email only",
			"description": "only e-mail addresses", "classifiers": []any{map[string]any{"name": "EMAIL_ADDRESS"}}})
		var dry sddRun
		env.Admin(t, 200, "POST", "/sdd/run", map[string]any{"sources": []string{"Shop Customers"}, "dryRun": true,
			"template": "EMAIL_ONLY"}).JSON(t, &dry)
		if d := dry["Shop Customers"].Output; len(d.Diff.RemovedTags) != 15 || len(d.SDDTagResult) != 1 {
			t.Fatalf("dry run: %+v", d)
		}
		if got := columnTags(t, env, custID, "sdd"); len(got) != 16 {
			t.Fatalf("the dry run changed tags: %v", got)
		}
		env.Admin(t, 200, "PUT", "/sdd/template/apply", map[string]any{"template": "EMAIL_ONLY", "sources": []string{"Shop Customers"}})
		if d := getDS(t, env, "Shop Customers"); deref(d.SDDTemplate) != "EMAIL_ONLY" {
			t.Fatalf("applied framework: %v", d.SDDTemplate)
		}
		narrow := runSDD(t, env, map[string]any{"sources": []string{"Shop Customers"}})["Shop Customers"].Output
		if len(narrow.Diff.RemovedTags) != 15 || len(narrow.Diff.AddedTags) != 0 {
			t.Fatalf("narrowed run: %+v", narrow)
		}
		all := columnTags(t, env, custID, "")
		if !slices.Equal(all["email"], []string{sdd.TagEmail}) || !slices.Equal(all["loyalty_points"], []string{sdd.TagSSN}) ||
			len(all) != 2 {
			t.Fatalf("after the narrowed run: %v", all)
		}
		if got := columnTags(t, env, ids["Shop Products"], ""); !slices.Equal(got["product_name"], []string{"Reviewed.Sensitive"}) {
			t.Fatalf("manual tag: %v", got)
		}

		// A custom identifier in a framework finds what the built-ins do not.
		env.Admin(t, 200, "POST", "/sdd/classifier", map[string]any{"name": "SKU", "displayName": "Stock keeping unit",
			"description": "shop SKUs", "type": "regex", "config": map[string]any{"regex": `^SKU-[0-9]{5}$`,
				"tags": []string{"Discovered.Product.SKU"}, "minConfidence": 0.9}})
		env.Admin(t, 200, "POST", "/sdd/template/EMAIL_ONLY/clone", map[string]any{"name": "SHOP", "displayName": "Shop"})
		var shop map[string]any
		env.Admin(t, 200, "GET", "/sdd/template/SHOP", nil).JSON(t, &shop)
		cl := shop["classifiers"].([]any)
		cl = append(cl, map[string]any{"name": "SKU"})
		shop["classifiers"] = cl
		env.Admin(t, 200, "PUT", "/sdd/template/SHOP", shop)
		env.Admin(t, 200, "PUT", "/sdd/template/apply", map[string]any{"template": "SHOP", "sources": []string{"Shop Products"}})
		runSDD(t, env, map[string]any{"sources": []string{"Shop Products"}})
		if got := columnTags(t, env, ids["Shop Products"], "sdd"); !slices.Equal(got["sku"], []string{"Discovered.Product.SKU"}) || len(got) != 1 {
			t.Fatalf("custom identifier: %v", got)
		}
		// The identifier is in use, so it cannot be deleted; search finds it.
		env.Must(t, 409, servertest.AdminKey, "DELETE", "/sdd/classifier/SKU", nil)
		var page struct {
			Count int               `json:"count"`
			Hits  []json.RawMessage `json:"hits"`
		}
		env.Admin(t, 200, "GET", "/sdd/template?classifiers=SKU", nil).JSON(t, &page)
		if page.Count != 1 {
			t.Fatalf("frameworks with SKU: %d", page.Count)
		}
		env.Admin(t, 200, "GET", "/sdd/classifier?type=builtIn&limit=100", nil).JSON(t, &page)
		if page.Count != len(sdd.BuiltIns()) {
			t.Fatalf("%d built-in identifiers listed, want %d", page.Count, len(sdd.BuiltIns()))
		}
		var global map[string]any
		env.Admin(t, 200, "GET", "/sdd/template/global", nil).JSON(t, &global)
		if global["name"] != "DEFAULT_FRAMEWORK" || global["builtIn"] != true {
			t.Fatalf("global framework: %v", global)
		}
		// Running on everything counts the jobs.
		var count map[string]int
		env.Admin(t, 200, "POST", "/sdd/run", map[string]any{"all": true}).JSON(t, &count)
		if count["jobCount"] != 6 {
			t.Fatalf("run on all: %v", count)
		}
	})
}
