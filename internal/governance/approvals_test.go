package governance_test

import (
	"encoding/json"
	"fmt"
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
