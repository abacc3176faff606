package connector

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/errs"
)

// textResults asks the server for every result column in text format, so a
// sample holds each value as PostgreSQL itself renders it, whatever its type.
var textResults = pgx.QueryResultFormats{pgx.TextFormatCode}

// Sample implements Source. It checks the table as LookupTables does, then
// reads opts.Size rows with every identifier quoted. Large tables (estimated
// above ten times the sample) are read through TABLESAMPLE SYSTEM with a
// fixed seed, so that the rows are spread over the table yet repeatable.
func (p *Postgres) Sample(ctx context.Context, ref TableRef, opts SampleOptions) (*Sample, error) {
	if ref.Field == "" {
		ref.Field = "sources[0]"
	}
	tables, err := p.LookupTables(ctx, []TableRef{ref})
	if err != nil {
		return nil, err
	}
	t := tables[0]
	columns, err := sampleColumns(t, opts.Columns, ref.Field)
	if err != nil {
		return nil, err
	}
	size := opts.size()
	quotedCols := make([]string, len(columns))
	for i, c := range columns {
		quotedCols[i] = pgx.Identifier{c}.Sanitize()
	}
	from := pgx.Identifier{t.Schema, t.Name}.Sanitize()
	selectList := "SELECT " + strings.Join(quotedCols, ", ") + " FROM " + from
	sampled := !t.View && t.Kind != KindForeignTable && t.RowEstimate > int64(10*size)

	var s *Sample
	err = p.confined(ctx, opts.Timeout, true, func(tx pgx.Tx) error {
		if sampled {
			// SYSTEM picks whole pages; aim at four times the rows wanted.
			pct := 400 * float64(size) / float64(t.RowEstimate)
			rows, err := tx.Query(ctx, selectList+" TABLESAMPLE SYSTEM ($1) REPEATABLE (0) LIMIT $2", textResults, pct, size)
			if err != nil {
				return err
			}
			if s, err = collect(rows, columns, size); err != nil || s.Rows == size {
				return err
			}
		}
		rows, err := tx.Query(ctx, selectList+" LIMIT $1", textResults, size)
		if err != nil {
			return err
		}
		s, err = collect(rows, columns, size)
		return err
	})
	if err != nil {
		return nil, p.fail(err, blameTable, ref.Field)
	}
	return s, nil
}

// sampleColumns resolves the requested column names against the table.
func sampleColumns(t Table, requested []string, field string) ([]string, error) {
	if len(requested) == 0 {
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
		}
		return names, nil
	}
	known := make(map[string]bool, len(t.Columns))
	for _, c := range t.Columns {
		known[c.Name] = true
	}
	var l errs.List
	for i, name := range requested {
		if !known[name] {
			l.Add(fmt.Sprintf("%s.columns[%d]", field, i), errs.CodeNotFound,
				"column %q does not exist in %s", name, quoted(t.Schema, t.Name))
		}
	}
	return requested, l.Err()
}

// collect reads up to limit rows into a column-major sample and closes rows.
func collect(rows pgx.Rows, names []string, limit int) (*Sample, error) {
	defer rows.Close()
	s, _, err := collectRows(rows, names, limit)
	return s, err
}

// collectRows reads up to limit rows without closing rows, and reports
// whether the result had more. names nil means the result's own names.
func collectRows(rows pgx.Rows, names []string, limit int) (*Sample, bool, error) {
	if names == nil {
		for _, f := range rows.FieldDescriptions() {
			names = append(names, f.Name)
		}
	}
	s := &Sample{Columns: make([]SampledColumn, len(names))}
	for i, n := range names {
		s.Columns[i] = SampledColumn{Name: n, Values: make([]string, 0, limit)}
	}
	for rows.Next() {
		if s.Rows == limit {
			return s, true, nil
		}
		s.Rows++
		for i, raw := range rows.RawValues() {
			if raw == nil {
				s.Columns[i].Nulls++
			} else {
				s.Columns[i].Values = append(s.Columns[i].Values, string(raw))
			}
		}
	}
	return s, false, rows.Err()
}

// SampleQuery implements Source. The statement is sent as it is, alone,
// confined (a READ ONLY transaction under a statement timeout, on a
// connection closed afterwards; the extended protocol refuses several
// statements in one); nothing is added to it. When it would return more
// rows than wanted, the rest is cancelled rather than drained.
func (p *Postgres) SampleQuery(ctx context.Context, q Query, opts SampleOptions) (*Sample, error) {
	if err := checkQueryText(q); err != nil {
		return nil, err
	}
	size := opts.size()
	var s *Sample
	err := p.confined(ctx, opts.Timeout, false, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q.SQL, pgx.QueryExecModeDescribeExec, textResults)
		if err != nil {
			return err
		}
		var more bool
		s, more, err = collectRows(rows, nil, size)
		if more {
			// Stop the server producing rows nobody reads; the
			// connection is closed anyway, so a late cancellation cannot
			// hit a later statement.
			_ = tx.Conn().PgConn().CancelRequest(context.WithoutCancel(ctx))
			rows.Close()
			return nil
		}
		rows.Close()
		return err
	})
	if err != nil {
		return nil, p.fail(err, blameQuery, q.Field)
	}
	return s, nil
}

// DescribeQuery implements Source. The statement is parsed and planned by
// the server (an unnamed prepared statement) but not run; planning may
// still call functions (constant folding), so it is confined like a sample.
func (p *Postgres) DescribeQuery(ctx context.Context, q Query) ([]Column, error) {
	if err := checkQueryText(q); err != nil {
		return nil, err
	}
	var cols []Column
	err := p.confined(ctx, 0, false, func(tx pgx.Tx) error {
		desc, err := tx.Conn().PgConn().Prepare(ctx, "", q.SQL, nil)
		if err != nil {
			return err
		}
		if len(desc.ParamOIDs) > 0 {
			return errs.Field(q.Field, errs.CodeInvalid, "a query source cannot take parameters ($1, ...)")
		}
		if len(desc.Fields) == 0 {
			return errs.Field(q.Field, errs.CodeInvalid, "the query returns no columns")
		}
		oids := make([]uint32, len(desc.Fields))
		mods := make([]int32, len(desc.Fields))
		for i, f := range desc.Fields {
			oids[i], mods[i] = f.DataTypeOID, f.TypeModifier
		}
		// custos's own statement resolves names in pg_catalog only.
		if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT pg_catalog.format_type(u.o, u.m), pg_catalog.format_type(bt.oid, NULL), bt.typcategory::pg_catalog.text
			FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]), pg_catalog.unnest($2::pg_catalog.int4[])) WITH ORDINALITY AS u(o, m, i)
			JOIN pg_catalog.pg_type t ON t.oid = u.o
			JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
			ORDER BY u.i`, oids, mods)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var remote, base, category string
			if err := rows.Scan(&remote, &base, &category); err != nil {
				return err
			}
			i := len(cols)
			cols = append(cols, Column{Name: desc.Fields[i].Name, Position: i + 1,
				DataType: dataType(base, category), RemoteType: remote, Nullable: true})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, p.fail(err, blameQuery, q.Field)
	}
	return cols, nil
}

// checkQueryText rejects what is plainly not a query before the server sees
// it: an empty statement, or one that does not start with SELECT, WITH,
// VALUES or TABLE.
func checkQueryText(q Query) error {
	word := strings.ToLower(firstWord(q.SQL))
	switch word {
	case "select", "with", "values", "table":
		return nil
	case "":
		return errs.Field(q.Field, errs.CodeRequired, "%s is required: a SELECT statement", q.Field)
	}
	return errs.Field(q.Field, errs.CodeInvalid, "a query source must be a SELECT statement, not %s", strings.ToUpper(word))
}

// firstWord skips blanks, comments and opening parentheses and returns the
// first keyword of a statement.
func firstWord(sql string) string {
	for {
		sql = strings.TrimLeftFunc(sql, func(r rune) bool { return unicode.IsSpace(r) || r == '(' })
		switch {
		case strings.HasPrefix(sql, "--"):
			i := strings.IndexByte(sql, '\n')
			if i < 0 {
				return ""
			}
			sql = sql[i+1:]
		case strings.HasPrefix(sql, "/*"):
			i := strings.Index(sql, "*/")
			if i < 0 {
				return ""
			}
			sql = sql[i+2:]
		default:
			end := strings.IndexFunc(sql, func(r rune) bool { return !unicode.IsLetter(r) })
			if end < 0 {
				return sql
			}
			return sql[:end]
		}
	}
}
