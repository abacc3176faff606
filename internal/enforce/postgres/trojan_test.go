package postgres

import (
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/policy"
)

// The attack on the value domains of Randomized Response: a database user's
// view is governed with a Randomized Response mask on a column his
// function computes. custos connects as a superuser (as the integration's
// documentation allows); refreshing the domain used to read the view as
// that superuser in a read-write transaction, and the function made him a
// superuser. The view is now read as its owner, in a read-only transaction
// on a connection thrown away afterwards.
func TestValueDomainsAreReadAsTheRelationsOwner(t *testing.T) {
	e := newEnv(t)
	tr := pgtest.PlantTrojan(t, e.dsn)
	reader := e.user("reader", policy.User{Groups: []string{"Other"}})
	e.source(1, tr.Schema, tr.View, map[string][]string{"email": {"M.Random"}})
	e.policy(maskPolicy("random", "M.Random", "{type: Randomized Response, replacementRatePercent: 50}"))
	e.grant(1, []string{reader}, nil)
	rep := e.sync()

	if tr.Escalated(t) {
		t.Fatal("refreshing the value domain ran the attacker's code as a superuser: he is one now")
	}
	runs := tr.Runs(t)
	if len(runs) == 0 {
		t.Fatalf("the view was not read: %v", rep.Sources[1].Warnings)
	}
	for _, r := range runs {
		if !strings.HasPrefix(r, "current_user="+tr.Role+" ") {
			t.Errorf("the function ran as %s, want its owner %s", r, tr.Role)
		}
	}
	if tr.LockHeld(t) {
		t.Error("the session the function ran in was kept, with the lock it took")
	}
	if got := e.one("postgres", `SELECT vals::text FROM custos.domains WHERE data_source_id = 1`); got != "{dave@example.com}" {
		t.Errorf("domain = %s", got)
	}

	// A view owned by a superuser that calls the same function is not read:
	// its code would run with the superuser's rights.
	e.mustRows("postgres", `CREATE VIEW public.borrowed AS SELECT 1 AS id, `+quoteOr(tr.Schema)+`.f() AS email`)
	e.source(2, "public", "borrowed", map[string][]string{"email": {"M.Random"}})
	e.grant(2, []string{reader}, nil)
	before := len(tr.Runs(t))
	rep = e.sync()
	found := false
	for _, w := range rep.Sources[2].Warnings {
		found = found || strings.Contains(w, "is owned by \"postgres\", a superuser")
	}
	if !found {
		t.Errorf("warnings = %q", rep.Sources[2].Warnings)
	}
	if n := len(tr.Runs(t)); n != before {
		t.Errorf("the superuser's view was read: %q", tr.Runs(t)[before:])
	}
	if tr.Escalated(t) {
		t.Fatal("the attacker became a superuser")
	}
}
