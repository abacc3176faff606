package governance_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// An owner whose row expired owns nothing: owner restrictions of global
// policies stop counting them, both when the row is written already expired
// and when it runs out later without any other change.
func TestExpiredOwnersNoLongerRestrictPolicies(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		reader := f.user("reader")
		f.makeTags("PII")
		old := f.dataSource(dsSpec{Name: "old", OwnerUsers: []string{"olivia"},
			Columns: []policy.Column{{Name: "ssn", Tags: []string{"PII"}}}})
		soon := f.dataSource(dsSpec{Name: "soon", OwnerUsers: []string{"olivia"},
			Columns: []policy.Column{{Name: "ssn", Tags: []string{"PII"}}}})
		f.call(200, "POST", "/api/v2/policy", "name: Olivia's data\npolicyKey: olivia\ntype: data\n"+
			"ownerRestrictions: {users: [{iamid: bim, username: olivia}]}\nactions:\n- rules:\n  - type: Masking\n"+
			"    config: {fields: [{type: columnTags, columnTag: PII}], maskingConfig: {type: Hash}}\n", nil)
		f.sync()
		for _, ds := range []int64{old, soon} {
			if m := masked(f.decision(ds, reader)); m != "ssn=Hash" {
				t.Fatalf("data source %d, owned by olivia: masked %q", ds, m)
			}
		}

		expire := func(ds int64, at time.Time) {
			t.Helper()
			f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(f.ctx, `UPDATE data_source_access SET expiration = $2 WHERE data_source_id = $1`, ds, at); err != nil {
					return err
				}
				return access.AppendChange(f.ctx, &tx.Queries, ds)
			}))
		}
		expire(old, store.Now().Add(-time.Minute))
		f.sync()
		if m := masked(f.decision(old, reader)); m != "" {
			t.Fatalf("olivia's ownership expired, yet her restricted policy still masks: %q", m)
		}

		expire(soon, store.Now().Add(700*time.Millisecond))
		f.sync()
		if m := masked(f.decision(soon, reader)); m != "ssn=Hash" {
			t.Fatalf("before the expiration: masked %q", m)
		}
		deadline := time.Now().Add(5 * time.Second)
		for masked(f.decision(soon, reader)) != "" {
			if time.Now().After(deadline) {
				t.Fatal("the ownership ran out, yet the restricted policy still applies")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// An owner who is not a governor cannot grant themself access, neither
// directly nor through a group they belong to.
func TestOwnersCannotGrantThemselvesThroughAGroup(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	f := fixtureOf(t, env)
	ownerID, ownerKey := env.NewUser(t, "owner@example.com")
	f.users["owner@example.com"] = ownerID
	f.join("crew", "owner@example.com")
	f.join("others", "someone")
	ds := f.dataSource(dsSpec{Name: "sales", OwnerUsers: []string{"owner@example.com"}, Columns: []policy.Column{{Name: "amount"}}})
	path := fmt.Sprintf("/dataSource/%d/access", ds)
	env.Must(t, 403, ownerKey, "POST", path, map[string]any{"groupId": f.groups["crew"], "state": "subscribed", "accessGrant": "WRITE"})
	if g := grantsOf(t, f, ds); g[ownerID] != "READ" {
		t.Fatalf("the owner's grant: %v", g)
	}
	// Other groups, and governors, are fine.
	env.Must(t, 200, ownerKey, "POST", path, map[string]any{"groupId": f.groups["others"], "state": "subscribed", "accessGrant": "WRITE"})
	f.call(200, "POST", path, map[string]any{"groupId": f.groups["crew"], "state": "subscribed", "accessGrant": "WRITE"}, nil)
	if g := grantsOf(t, f, ds); g[ownerID] != "WRITE" || g[f.users["someone"]] != "WRITE" {
		t.Fatalf("grants: %v", g)
	}
}

// Nor can such an owner change the state of a group row they belong to.
func TestOwnersCannotUpdateTheirGroupsRow(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	f := fixtureOf(t, env)
	ownerID, ownerKey := env.NewUser(t, "owner@example.com")
	f.users["owner@example.com"] = ownerID
	f.join("crew", "owner@example.com")
	ds := f.dataSource(dsSpec{Name: "sales", OwnerUsers: []string{"owner@example.com"}, Columns: []policy.Column{{Name: "amount"}}})
	row := f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"groupId": f.groups["crew"], "state": "subscribed", "accessGrant": "WRITE"}, nil)
	var sub struct {
		ID int64 `json:"id"`
	}
	f.must(json.Unmarshal(row, &sub))
	path := fmt.Sprintf("/dataSource/%d/access/%d", ds, sub.ID)
	f.call(200, "PUT", path, map[string]any{"state": "denied"}, nil)
	env.Must(t, 403, ownerKey, "PUT", path, map[string]any{"state": "subscribed"})
	if g := grantsOf(t, f, ds); g[ownerID] != "READ" {
		t.Fatalf("the owner's grant: %v", g)
	}
}
