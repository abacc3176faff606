package api_test

import (
	"fmt"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// wideSchema creates tables × columns tables in schema bench: an id key and
// a mix of text, numeric, date and timestamp columns.
func wideSchema(b *testing.B, r *remoteDB, tables, columns int) {
	r.exec(b, fmt.Sprintf(`CREATE SCHEMA bench;
		DO $$
		DECLARE cols text;
		BEGIN
		  SELECT string_agg(format('c%%s %%s', i, (ARRAY['text','integer','numeric(12,2)','date','timestamptz','boolean'])[1 + i %% 6]), ', ')
		    INTO cols FROM generate_series(2, %d) AS i;
		  FOR t IN 1..%d LOOP
		    EXECUTE format('CREATE TABLE bench.t%%s (id bigint PRIMARY KEY, %%s)', t, cols);
		  END LOOP;
		END $$`, columns, tables))
}

// BenchmarkRegister1000Tables registers a schema of 1,000 tables of 20
// columns through POST /api/v2/data, waiting for the registration job:
// introspection, naming, and writing every data source, column, owner,
// audit record and change. Discovery is off (BenchmarkDiscovery measures it).
func BenchmarkRegister1000Tables(b *testing.B) {
	remote := newRemote(b)
	wideSchema(b, remote, 1000, 20)
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			env := servertest.New(b, backend)
			doc := map[string]any{"connectionKey": "bench", "connection": remote.with("schema", "bench"), "options": noSDD}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res := post(b, env, 200, doc)
				if len(res.Creating) != 1000 {
					b.Fatalf("created %d", len(res.Creating))
				}
				b.StopTimer()
				env.Admin(b, 200, "DELETE", "/api/v2/data/bench", nil)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkDiscovery runs sensitive data discovery over 1,000 columns (50
// tables of 20 columns) sampling 100 rows each, through POST /sdd/run on all
// data sources, waiting for the jobs; each run starts from untagged columns.
func BenchmarkDiscovery(b *testing.B) {
	remote := newRemote(b)
	remote.exec(b, `CREATE SCHEMA bench;
		DO $$
		BEGIN
		  FOR t IN 1..50 LOOP
		    EXECUTE format('CREATE TABLE bench.people%s AS SELECT
		      g AS id, ''person'' || g || ''@example.com'' AS email, (ARRAY[''Mary'',''John'',''Wei'',''Priya''])[1 + g %% 4] AS first_name,
		      (ARRAY[''Smith'',''Garcia'',''Chen'',''Patel''])[1 + g %% 4] AS last_name,
		      lpad((g * 7919 %% 900 + 100)::text, 3, ''0'') || ''-'' || lpad((g %% 90 + 10)::text, 2, ''0'') || ''-'' || lpad((g * 31 %% 9000 + 1000)::text, 4, ''0'') AS ssn,
		      ''(212) 555-'' || lpad((g %% 10000)::text, 4, ''0'') AS phone, ''10.0.'' || (g %% 250) || ''.'' || (g %% 200 + 1) AS ip,
		      date ''1950-01-01'' + g * 37 AS birth_date, now() - g * interval ''1 hour'' AS created_at,
		      g * 13 %% 1000 AS points, md5(g::text) AS token, (g %% 2 = 0) AS active, g * 1.5 AS amount,
		      ''NY'' AS state, lpad((g %% 99999)::text, 5, ''0'') AS zip, ''United States'' AS country,
		      (ARRAY[''Female'',''Male''])[1 + g %% 2] AS gender, g || '' Main St'' AS street_address,
		      ''SKU-'' || lpad(g::text, 5, ''0'') AS sku, ''note '' || g AS note
		      FROM generate_series(1, 100) AS g', t);
		  END LOOP;
		END $$`)
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			env := servertest.New(b, backend)
			res := post(b, env, 200, map[string]any{"connectionKey": "bench", "connection": remote.with("schema", "bench"), "options": noSDD})
			if len(res.Creating) != 50 {
				b.Fatalf("created %d", len(res.Creating))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var count map[string]int
				env.Admin(b, 200, "POST", "/sdd/run", map[string]any{"all": true, "wait": -1}).JSON(b, &count)
				if count["jobCount"] != 50 {
					b.Fatalf("%v", count)
				}
				b.StopTimer()
				if _, err := env.App.DB.Exec(b.Context(), `DELETE FROM model_tags WHERE context = 'sdd'`); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "columns/s")
		})
	}
}

// BenchmarkRepost1000Tables posts again, unchanged, the document of a
// registered schema of 1,000 tables of 20 columns: the request and the job
// both compare the whole catalog of the connection with the database.
func BenchmarkRepost1000Tables(b *testing.B) {
	remote := newRemote(b)
	wideSchema(b, remote, 1000, 20)
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			env := servertest.New(b, backend)
			doc := map[string]any{"connectionKey": "bench", "connection": remote.with("schema", "bench"), "options": noSDD}
			post(b, env, 200, doc)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res := post(b, env, 200, doc); len(res.NoChange) != 1000 {
					b.Fatalf("%d unchanged", len(res.NoChange))
				}
			}
		})
	}
}
