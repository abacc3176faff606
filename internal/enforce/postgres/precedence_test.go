package postgres

import (
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/policy"
)

// A data owner's local policy masks the SSNs with a regular expression that
// matches nothing, which used to win the conflict with governance's hash:
// restricted users read raw SSNs. Global masks now come first; the owner's
// only decide where governance makes an exception.
func TestALocalPolicyCannotCancelAGlobalMask(t *testing.T) {
	e := newEnv(t)
	hr := e.user("hr", policy.User{Groups: []string{"HR"}})
	analyst := e.user("analyst", policy.User{Groups: []string{"Analysts"}})
	local, err := policy.DecodeLocalV1([]byte(`[
		{"type": "masking", "rules": [{"type": "masking", "exceptions": null,
		  "config": {"fields": ["ssn"], "maskingConfig": {"type": "Regular Expression", "metadata": {"regex": "^$nothing", "replacement": "x"}}}}]},
		{"type": "masking", "rules": [{"type": "masking", "exceptions": null,
		  "config": {"fields": ["email"], "maskingConfig": {"type": "Consistent Value", "metadata": {"constant": null}}}}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}, "email": {"PII.Email"}},
		func(ds *policy.DataSource) { ds.Local = local })
	e.policy(`
name: Hash personal data
policyKey: hash-pii
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII}]
      maskingConfig: {type: Hash}
    exceptions: {groups: [HR]}
`)
	e.grant(1, []string{hr, analyst}, nil)
	e.sync()

	raw := e.column("postgres", "shop.customers", "customer_id", "ssn")
	for id, got := range e.column(analyst, "shop_governed.customers", "customer_id", "ssn") {
		if got != "NULL" && (got == raw[id] || len(got) != 64) {
			t.Fatalf("the analyst reads ssn %q of customer %s (raw %q): want a hash", got, id, raw[id])
		}
	}
	// HR is governance's exception: the owner's regular expression applies
	// (the value as it is), and the owner's null hides e-mails even from HR.
	for id, got := range e.column(hr, "shop_governed.customers", "customer_id", "ssn") {
		if got != raw[id] {
			t.Fatalf("hr reads ssn %q of customer %s, want %q", got, id, raw[id])
		}
	}
	for _, got := range e.column(hr, "shop_governed.customers", "customer_id", "email") {
		if got != "NULL" {
			t.Fatalf("hr reads e-mail %q, want NULL (the owner's own mask)", got)
		}
	}
	if n := e.one(analyst, `SELECT count(*) FROM shop_governed.customers WHERE email LIKE '%@%'`); !strings.HasPrefix(n, "0") {
		t.Fatalf("the analyst reads %s e-mails", n)
	}
}

// A pattern PostgreSQL refuses fails every query of a view when a query
// first runs it. The policy engine closes the patterns it knows PostgreSQL
// refuses; whatever gets past it is caught before the view is created: the
// column is NULL for the users the mask applies to, and the rule reported.
func TestAPatternPostgreSQLRefusesClosesTheColumn(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{Groups: []string{"Other"}})
	e.source(1, "shop", "customers", map[string][]string{"email": {"PII.Email"}})
	e.policy(maskPolicy("regex", "PII.Email", `{type: Regular Expression, regex: '[a-z]', replacement: x}`))
	e.grant(1, []string{u}, nil)
	want := e.desired(true)
	// A plan the engine would not make: a pattern only PostgreSQL refuses.
	plan := *want.Sources[0].Plan
	cp := *plan.Columns[0]
	m := *cp.Masks[0]
	bad := *m.Masking
	bad.Regex = `[[:alpha:]-z]`
	m.Masking = &bad
	cp.Masks = []*policy.MaskRule{&m}
	plan.Columns = []*policy.ColumnPlan{&cp}
	want.Sources[0].Plan = &plan
	rep, err := Reconcile(e.ctx, e.db, e.sys, want)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Sources[1]
	if r.Err != nil || len(r.Closed) != 1 || r.Closed[0].Column != "email" || !strings.Contains(r.Closed[0].Reason, "PostgreSQL refuses") {
		t.Fatalf("report: %v %+v", r.Err, r.Closed)
	}
	for _, got := range e.column(u, "shop_governed.customers", "customer_id", "email") {
		if got != "NULL" {
			t.Fatalf("email %q, want NULL", got)
		}
	}
}
