package enforce_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/enforce/enforcetest"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const (
	maskHash = `
name: mask
policyKey: mask
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: Hash}
`
	maskConstant = `
name: mask
policyKey: mask
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: Constant, constant: REDACTED}
`
)

// BenchmarkSyncLatency measures the time from a policy change that alters
// the views of 100 data sources to the moment the database holds all 100
// new views (target: under 2 s).
func BenchmarkSyncLatency(b *testing.B) {
	const n = 100
	ctx := context.Background()
	env := servertest.New(b, servertest.SQLite)
	dec := enforcetest.New(env.App.DB)
	env.App.Enforce.SetDecisions(dec)
	synced := env.App.Enforce.Synced()
	dsn := pgtest.NewDatabase(b)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	var ddl strings.Builder
	ddl.WriteString("CREATE SCHEMA bench;")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&ddl, "CREATE TABLE bench.t%03d (id int PRIMARY KEY, ssn text, country text); INSERT INTO bench.t%03d SELECT g, lpad(g::text, 9, '0'), 'France' FROM generate_series(1, 10) g;", i, i)
	}
	if _, err := c.Exec(ctx, ddl.String()); err != nil {
		b.Fatal(err)
	}
	ids, err := enforcetest.Register(ctx, env.App.DB, dsn, "bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	srv := pgtest.Get(b)
	role, _ := srv.NewRole(b, "reader")
	uid, _ := env.NewUser(b, "reader")
	env.Admin(b, 200, "PUT", "/bim/iam/bim/user/reader/profile", map[string]any{"sqlUser": role})
	var all []int64
	for _, id := range ids {
		all = append(all, id)
		if err := enforcetest.Tag(ctx, env.App.DB, id, "ssn", "PII.SSN"); err != nil {
			b.Fatal(err)
		}
		if err := enforcetest.Subscribe(ctx, env.App.DB, id, uid, store.GrantRead); err != nil {
			b.Fatal(err)
		}
	}
	if err := dec.Load(ctx); err != nil {
		b.Fatal(err)
	}
	if err := dec.SavePolicy(1, []byte(maskHash)); err != nil {
		b.Fatal(err)
	}
	db := strings.TrimPrefix(dsn[strings.LastIndex(dsn, "/"):], "/")
	db = db[:strings.Index(db, "?")]
	created := env.Admin(b, 200, "POST", "/integrations", map[string]any{"type": "PostgreSQL", "autoBootstrap": true,
		"config": map[string]any{"host": srv.Host(), "port": srv.Port(), "database": db, "username": "postgres", "password": srv.Password()}}).Map(b)
	id := created["id"].(string)
	if !pgtest.WaitFor(60*time.Second, func() bool {
		return env.Admin(b, 200, "GET", "/integrations/"+id+"/status", nil).Map(b)["status"] == "enabled"
	}) {
		b.Fatal("the integration never became enabled")
	}
	// done reports whether every view shows the wanted mask.
	done := func(want string) bool {
		var k int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_views WHERE schemaname = 'bench_governed' AND definition LIKE '%' || $1 || '%'`, want).Scan(&k); err != nil {
			b.Fatal(err)
		}
		return k == n
	}
	if !done("mask_hash") {
		b.Fatal("the first sync did not create the views")
	}
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		doc, want := maskConstant, "REDACTED"
		if i%2 == 1 {
			doc, want = maskHash, "mask_hash"
		}
		for len(synced) > 0 {
			<-synced
		}
		start := time.Now()
		if err := dec.SavePolicy(1, []byte(doc)); err != nil {
			b.Fatal(err)
		}
		for !done(want) {
			select {
			case <-synced:
			case <-time.After(30 * time.Second):
				b.Fatal("no sync within 30 s")
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/sync")
	_ = all
}
