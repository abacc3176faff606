package requests

import (
	"testing"

	"github.com/custosdata/custos/internal/auth"
)

func TestApprovable(t *testing.T) {
	gov := &auth.Principal{UserID: 2, Permissions: []string{auth.Governance}}
	admin := &auth.Principal{UserID: 3, Permissions: []string{auth.Admin}}
	plain := &auth.Principal{UserID: 4}
	five := int64(5)
	req := func(slots ...Approval) *Request { return &Request{EntityType: "user", EntityID: 1, Approvals: slots} }
	pending := func(perm string) Approval { return Approval{RequiredPermission: perm, State: Pending} }
	for _, c := range []struct {
		name  string
		p     *auth.Principal
		r     *Request
		owner bool
		want  int
	}{
		{"a holder of the permission", gov, req(pending(auth.Governance)), false, 0},
		{"ADMIN holds every permission", admin, req(pending(auth.Governance)), false, 0},
		{"without the permission", plain, req(pending(auth.Governance)), false, -1},
		{"OWNER needs an owner", gov, req(pending(Owner)), false, -1},
		{"an owner", plain, req(pending(Owner)), true, 0},
		{"no approvals: an owner's", plain, req(), true, 0},
		{"the second slot", plain, req(pending(auth.Governance), pending(Owner)), true, 1},
		{"a specific approver only", gov, req(Approval{RequiredPermission: auth.Governance, State: Pending, SpecificApprover: &five}), false, -1},
		{"one approval per person", admin, req(Approval{RequiredPermission: auth.Governance, State: Approved, ApproverID: &admin.UserID},
			pending(auth.Admin)), false, -1},
	} {
		if got := approvable(c.p, c.r, c.owner); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	r := req(pending(auth.Governance), Approval{RequiredPermission: Owner, State: Pending, SpecificApprover: &five})
	r.ModelType = ModelProject
	if got := missing(r); got != "GOVERNANCE, an owner of the project (user 5)" {
		t.Errorf("missing: %q", got)
	}
}
