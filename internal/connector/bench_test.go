package connector

import (
	"context"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
)

// wideSchema creates schema "bench" with 1,000 tables of 20 columns each.
func wideSchema(b *testing.B) Source {
	b.Helper()
	dsn := pgtest.NewDatabase(b)
	exec(b, dsn, `CREATE SCHEMA bench`, `
		DO $$
		DECLARE cols text;
		BEGIN
			SELECT string_agg(format('%I %s', 'Col ' || c, CASE c % 4 WHEN 0 THEN 'text' WHEN 1 THEN 'bigint'
			       WHEN 2 THEN 'numeric(12,2)' ELSE 'timestamptz' END), ', ' ORDER BY c)
			INTO cols FROM generate_series(1, 19) c;
			FOR t IN 1..1000 LOOP
				EXECUTE format('CREATE TABLE bench.%I (id bigint PRIMARY KEY, %s)', 'Table ' || t, cols);
			END LOOP;
		END $$`)
	src, err := Open(context.Background(), readerFor(b, dsn), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(src.Close)
	return src
}

// BenchmarkTables introspects a schema of 1,000 tables x 20 columns.
func BenchmarkTables(b *testing.B) {
	src := wideSchema(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tables, err := src.Tables(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if len(tables) != 1000 || len(tables[999].Columns) != 20 {
			b.Fatalf("%d tables", len(tables))
		}
	}
}

// BenchmarkLookupTables resolves and validates 1,000 named tables.
func BenchmarkLookupTables(b *testing.B) {
	src := wideSchema(b)
	ctx := context.Background()
	tables, err := src.Tables(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	refs := make([]TableRef, len(tables))
	for i, t := range tables {
		refs[i] = TableRef{Schema: t.Schema, Name: t.Name}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		found, err := src.LookupTables(ctx, refs)
		if err != nil || len(found) != 1000 {
			b.Fatalf("%d tables, %v", len(found), err)
		}
	}
}

// BenchmarkSample reads a 100-row sample of a table: one confined read,
// whose connection is opened for it and closed afterwards.
func BenchmarkSample(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	exec(b, dsn, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 10000) g`, `ANALYZE t`)
	src, err := Open(context.Background(), readerFor(b, dsn), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(src.Close)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := src.Sample(ctx, TableRef{Schema: "public", Name: "t"}, SampleOptions{Size: 100})
		if err != nil || s.Rows != 100 {
			b.Fatalf("%v rows, %v", s, err)
		}
	}
}
