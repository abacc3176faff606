package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/policy"
)

// BenchmarkWriteVersusOwner compares single-row writes by a writer, under a
// row rule (rows of their countries) and a mask (SSNs hashed), with the same
// statements run by the table's owner, on a table of 100,000 rows with a
// serial key: an UPDATE by key and an INSERT drawing the key. Both run
// prepared, interleaved on their own connections. Reported: the median
// time of each (owner-us, writer-us) and their ratio (target: 1.2).
func BenchmarkWriteVersusOwner(b *testing.B) {
	e := newEnvTB(b)
	for _, q := range []string{
		`CREATE SCHEMA bench`,
		`CREATE TABLE bench.accounts (id serial PRIMARY KEY, full_name text NOT NULL, country text NOT NULL, ssn text, points integer NOT NULL DEFAULT 0)`,
		`INSERT INTO bench.accounts (full_name, country, ssn)
		 SELECT 'name' || i, (ARRAY['France', 'United States', 'Spain', 'Germany'])[1 + i % 4], lpad((i::bigint * 7919 % 1000000000)::text, 9, '0')
		 FROM generate_series(1, 100000) AS i`,
		`VACUUM ANALYZE bench.accounts`,
	} {
		e.mustRows("postgres", q)
	}
	writer := e.user("writer", policy.User{Attributes: map[string][]string{"Country": {"France", "Spain"}}})
	e.source(1, "bench", "accounts", map[string][]string{"ssn": {"PII.SSN"}, "country": {"Geo.Country"}})
	e.policy(maskPolicy("hash", "PII.SSN", "{type: Hash}"))
	e.policy(rowPolicy("rows", `
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: attribute, attribute: Country, tag: Geo.Country}]}
    exceptions: {groups: [Admins]}`))
	e.grant(1, nil, []string{writer})
	e.sync()

	ctx := context.Background()
	owner, err := pgx.Connect(ctx, e.dsn) // the table's owner
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close(ctx)
	gov, err := pgx.Connect(ctx, e.srv.DSNAs(writer, e.roles[writer], e.dbname))
	if err != nil {
		b.Fatal(err)
	}
	defer gov.Close(ctx)
	// France rows: ids 4, 8, 12, ... (i % 4 = 0), visible to the writer.
	cases := []struct {
		name string
		sql  string
		args func(i int) []any
	}{
		{"UPDATE by key", `UPDATE bench.accounts SET points = points + 1 WHERE id = $1`, func(i int) []any { return []any{4 * (1 + i%20000)} }},
		{"INSERT", `INSERT INTO bench.accounts (full_name, country) VALUES ($1, 'France')`, func(i int) []any { return []any{fmt.Sprint("new", i)} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			run := func(conn *pgx.Conn, i int) time.Duration {
				start := time.Now()
				tag, err := conn.Exec(ctx, c.sql, c.args(i)...)
				d := time.Since(start)
				if err != nil || tag.RowsAffected() != 1 {
					b.Fatalf("%s: %d rows, %v", c.sql, tag.RowsAffected(), err)
				}
				return d
			}
			for i := 0; i < 200; i++ { // warm up: plans, caches
				run(owner, i)
				run(gov, i)
			}
			var ot, wt []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ot = append(ot, run(owner, i))
				wt = append(wt, run(gov, i))
			}
			b.StopTimer()
			o, w := median(ot), median(wt)
			b.ReportMetric(float64(o.Nanoseconds())/1000, "owner-us")
			b.ReportMetric(float64(w.Nanoseconds())/1000, "writer-us")
			b.ReportMetric(float64(w)/float64(o), "ratio")
		})
	}
}
