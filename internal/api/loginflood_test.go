package api_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
)

// limits sets the login limits of a test server.
func limits(account, address, hashes int) func(*server.Config) {
	return func(c *server.Config) {
		c.LoginFailureLimit, c.LoginAddressFailureLimit, c.PasswordHashConcurrency = account, address, hashes
		c.LoginFailureWindow = 24 * time.Hour // nothing comes back while a test runs
	}
}

// flood sends n password logins at once, spread over the servers, and
// counts the answers by status; every 429 must say when to come back.
func flood(t testing.TB, envs []*servertest.Env, n int, login func(i int) map[string]any) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := envs[i%len(envs)].Do(t, "", "POST", "/bim/iam/bim/user/authenticate", login(i))
			if r.Status == 429 {
				if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
					t.Errorf("429 without a Retry-After in seconds: %q", r.Header.Get("Retry-After"))
				}
				if !strings.Contains(string(r.Body), "too many failed logins") {
					t.Errorf("429 message: %s", r.Body)
				}
			}
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// wrong is a login with a wrong password for userid.
func wrong(userid string) map[string]any {
	return map[string]any{"username": userid, "password": "not-the-password"}
}

// peakHashes is the most password hashes the server ever ran at once.
func peakHashes(env *servertest.Env) int64 {
	_, peak := env.App.Identity.PasswordHashes()
	return peak
}

// 128 concurrent wrong-password logins for one account: the account's
// budget (10) lets exactly 10 through to the password check, the other 118
// are 429 with Retry-After without hashing anything, and even the right
// password is refused until the budget comes back. Concurrent hashing never
// exceeds its bound. Every failure is in the audit trail: the first ones
// one by one, the rest as counts.
func TestLoginFloodOnOneAccount(t *testing.T) {
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		t.Run(string(backend), func(t *testing.T) {
			env := servertest.New(t, backend, limits(10, 1000, 2))
			defer noFallbacks(t, env)
			env.NewUser(t, "victim@example.com")
			got := flood(t, []*servertest.Env{env}, 128, func(int) map[string]any { return wrong("victim@example.com") })
			if got[401] != 10 || got[429] != 118 {
				t.Fatalf("answers: %v; want 10 checked (401) and 118 refused (429)", got)
			}
			if p := peakHashes(env); p < 1 || p > 2 {
				t.Errorf("%d password hashes ran at once; the bound is 2", p)
			}
			env.Must(t, 429, "", "POST", "/bim/iam/bim/user/authenticate",
				map[string]any{"username": "victim@example.com", "password": "correct-horse-battery"})
			// The victim's API key is no password: it still works.
			env.Admin(t, 200, "GET", "/bim/rpc/user/current", nil)

			// Flushing after the audit minute writes what was counted.
			if _, err := env.App.Identity.FlushFailures(t.Context(), time.Now().Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			recs := env.Admin(t, 200, "GET", "/audit?recordType=authenticate&outcome=failure&size=1000", nil).Map(t)
			var records, failures int
			for _, h := range recs["hits"].([]any) {
				rec := h.(map[string]any)
				if rec["userId"] != "victim@example.com" {
					continue
				}
				records++
				extra, _ := rec["extra"].(map[string]any)
				switch {
				case rec["action"] == "failures":
					failures += int(extra["failures"].(float64))
				default:
					failures++
					if n, ok := extra["unrecordedBefore"].(float64); ok {
						failures += int(n)
					}
				}
			}
			if failures != 129 {
				t.Errorf("the audit trail accounts for %d failed logins of the victim, want 129", failures)
			}
			if records > 6 {
				t.Errorf("%d audit records for one flood; want at most 5 one by one and one count", records)
			}
		})
	}
}

// The same flood spread over 128 accounts from one address meets the
// address's budget instead; names that do not exist cost the same as those
// that do.
func TestLoginFloodFromOneAddress(t *testing.T) {
	env := servertest.New(t, servertest.SQLite, limits(1000, 20, 2))
	env.NewUser(t, "real@example.com")
	got := flood(t, []*servertest.Env{env}, 128, func(i int) map[string]any {
		if i == 0 {
			return wrong("real@example.com")
		}
		return wrong(fmt.Sprintf("guess%d@example.com", i))
	})
	if got[401] != 20 || got[429] != 108 {
		t.Fatalf("answers: %v; want 20 checked (401) and 108 refused (429)", got)
	}
	r := env.Must(t, 429, "", "POST", "/bim/iam/bim/user/authenticate", wrong("someone-else@example.com"))
	if !strings.Contains(string(r.Body), "your address") {
		t.Errorf("message: %s", r.Body)
	}
	// A name no user can have is refused before anything is kept for it.
	env.Must(t, 422, "", "POST", "/bim/iam/bim/user/authenticate", wrong(strings.Repeat("x", 256)))
}

// With the budgets lifted, every wrong password is checked, and the hashing
// bound alone holds memory: never more than 2 hashes at once.
func TestConcurrentPasswordHashingIsBounded(t *testing.T) {
	env := servertest.New(t, servertest.SQLite, limits(0, 0, 2))
	env.NewUser(t, "victim@example.com")
	got := flood(t, []*servertest.Env{env}, 48, func(int) map[string]any { return wrong("victim@example.com") })
	if got[401] != 48 {
		t.Fatalf("answers: %v; want 48 checked (401)", got)
	}
	if p := peakHashes(env); p < 1 || p > 2 {
		t.Errorf("%d password hashes ran at once; the bound is 2", p)
	}
}

// Servers sharing a PostgreSQL store share the budgets: a flood spread over
// two of them still gets exactly one account budget of checks.
func TestLoginBudgetsAreSharedByServers(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	shared := func(c *server.Config) { c.Store = dsn }
	a := servertest.New(t, servertest.SQLite, shared, limits(10, 1000, 2))
	b := servertest.New(t, servertest.SQLite, shared, limits(10, 1000, 2))
	a.NewUser(t, "victim@example.com")
	got := flood(t, []*servertest.Env{a, b}, 128, func(int) map[string]any { return wrong("victim@example.com") })
	if got[401] != 10 || got[429] != 118 {
		t.Fatalf("answers: %v; want 10 checked (401) and 118 refused (429) over both servers", got)
	}
}

// A successful login restores the account's budget, and gives the address
// back the attempt it took.
func TestSuccessfulLoginRestoresTheBudget(t *testing.T) {
	right := map[string]any{"username": "dana@example.com", "password": "correct-horse-battery"}
	t.Run("account", func(t *testing.T) {
		env := servertest.New(t, servertest.SQLite, limits(3, 1000, 2))
		env.NewUser(t, "dana@example.com")
		for range 5 {
			for range 2 {
				env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", wrong("dana@example.com"))
			}
			env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate", right)
		}
		for range 3 {
			env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", wrong("dana@example.com"))
		}
		env.Must(t, 429, "", "POST", "/bim/iam/bim/user/authenticate", right)
	})
	t.Run("address", func(t *testing.T) {
		env := servertest.New(t, servertest.SQLite, limits(1000, 3, 2))
		env.NewUser(t, "dana@example.com")
		for range 10 {
			env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate", right)
		}
		for range 3 {
			env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", wrong("nobody@example.com"))
		}
		env.Must(t, 429, "", "POST", "/bim/iam/bim/user/authenticate", right)
	})
}
