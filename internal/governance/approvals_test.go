package governance_test

import (
	"encoding/json"
	"fmt"
	"github.com/custosdata/custos/internal/governance"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/requests"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// Two approvers deciding one request at the same moment (two servers on
// one PostgreSQL store) take turns: the second sees the first's approval
// instead of writing over it.
func TestConcurrentApprovalsAreNotLost(t *testing.T) {
	env := servertest.New(t, servertest.Postgres)
	f := fixtureOf(t, env)
	ownerID, _ := env.NewUser(t, "owner@example.com")
	f.users["owner@example.com"] = ownerID
	_, requesterKey := env.NewUser(t, "requester@example.com")
	f.makeTags("Finance")
	ds := f.dataSource(dsSpec{Name: "ledger", OwnerUsers: []string{"owner@example.com"},
		Columns: []policy.Column{{Name: "amount", Tags: []string{"Finance"}}}})
	f.call(200, "POST", "/api/v2/policy", "policyKey: approve\nname: Approve\ntype: subscription\nactions:\n  type: approval\n"+
		"  approvals: [{requiredPermission: GOVERNANCE}, {requiredPermission: OWNER}]\n", nil)
	f.sync()
	var sub struct {
		Success []struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		} `json:"success"`
	}
	env.Must(t, 200, requesterKey, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", ds), nil).JSON(t, &sub)
	if len(sub.Success) != 1 || sub.Success[0].State != "pending" {
		t.Fatalf("subscribe: %+v", sub)
	}
	id := sub.Success[0].ID

	// A governor's approval is written and not yet committed...
	written, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 2)
	go func() {
		done <- f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
			e, err := access.Get(f.ctx, &tx.Queries, id)
			if err != nil {
				return err
			}
			var slots []requests.Approval
			if err := json.Unmarshal(e.Approvals, &slots); err != nil {
				return err
			}
			admin := int64(1)
			slots[0].State, slots[0].ApproverID = requests.Approved, &admin
			b, _ := json.Marshal(slots)
			if _, err := tx.Exec(f.ctx, `UPDATE data_source_access SET approvals = $2 WHERE id = $1`, id, string(b)); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	<-written
	// ...when the owner approves.
	go func() {
		failures, err := f.app.Requests.Approve(f.ctx, &auth.Principal{UserID: ownerID, Permissions: []string{}},
			[]requests.Decision{{ID: id}})
		if err == nil && len(failures) > 0 {
			err = fmt.Errorf("%s", failures[0].ErrorMessage)
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	close(release)
	for range 2 {
		f.must(<-done)
	}
	e, err := access.Get(f.ctx, &f.app.DB.Queries, id)
	f.must(err)
	var slots []requests.Approval
	f.must(json.Unmarshal(e.Approvals, &slots))
	if e.State != store.AccessSubscribed || slots[0].State != requests.Approved || slots[1].State != requests.Approved {
		t.Fatalf("after both approvals: state %s, approvals %s", e.State, e.Approvals)
	}
}

// A data source's stored policy keeps governing it whatever the rules for
// saving new ones: an approval naming a permission that saving now refuses
// (it was accepted before) must not make its masks disappear.
func TestStoredLocalPoliciesLoadWhateverTheirApprovals(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	f := fixtureOf(t, env)
	reader := f.user("reader")
	ds := f.dataSource(dsSpec{Name: "accounts", Columns: []policy.Column{{Name: "email"}}})
	f.call(200, "POST", fmt.Sprintf("/policy/handler/%d", ds), map[string]any{"jsonPolicies": []any{
		map[string]any{"type": "masking", "rules": []any{map[string]any{"type": "masking",
			"config": map[string]any{"fields": []any{"email"}, "maskingConfig": map[string]any{"type": "Consistent Value"}}}}},
		map[string]any{"type": "subscription", "subscriptionType": "approval", "approvals": []any{
			map[string]any{"requiredPermission": "OWNER", "specificApproverRequired": false}}},
	}}, nil)
	f.sync()
	if m := masked(f.decision(ds, reader)); m != "email=Hash" {
		t.Fatalf("masked %q", m)
	}
	f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
		var id int64
		var doc string
		if err := tx.QueryRow(f.ctx, `SELECT id, json_policies FROM policy_handlers WHERE data_source_id = $1`, ds).Scan(&id, &doc); err != nil {
			return err
		}
		doc = strings.ReplaceAll(doc, `"OWNER"`, `"DATA_STEWARD"`)
		if _, err := tx.Exec(f.ctx, `UPDATE policy_handlers SET json_policies = $2 WHERE id = $1`, id, doc); err != nil {
			return err
		}
		return tx.AppendChange(f.ctx, governance.KindLocalPolicySaved, "datasource", fmt.Sprint(ds))
	}))
	f.sync()
	if m := masked(f.decision(ds, reader)); m != "email=Hash" {
		t.Fatalf("after reloading the stored policy: masked %q", m)
	}
}
