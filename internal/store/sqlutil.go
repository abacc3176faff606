package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON is a column holding a JSON document (TEXT on SQLite, JSONB on
// PostgreSQL). A nil JSON is stored as NULL.
type JSON []byte

// Scan implements sql.Scanner.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append(JSON(nil), v...)
	case string:
		*j = JSON(v)
	default:
		return fmt.Errorf("store: cannot scan %T into JSON", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (j JSON) Value() (driver.Value, error) {
	if j == nil {
		return nil, nil
	}
	return string(j), nil
}

// MarshalJSON lets a JSON column be embedded in API responses as is.
func (j JSON) MarshalJSON() ([]byte, error) {
	if j == nil {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON keeps the raw document.
func (j *JSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*j = nil
		return nil
	}
	*j = append(JSON(nil), b...)
	return nil
}

// ToJSON marshals v into a JSON column value.
func ToJSON(v any) (JSON, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	return JSON(b), err
}

// Placeholders returns "$start, $start+1, ..." for n parameters, for IN lists.
func Placeholders(start, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(start + i))
	}
	return b.String()
}

// LikePattern escapes s for a LIKE pattern matching it anywhere (with ESCAPE '\').
func LikePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

// TextLen is the length of s as SQL's SUBSTR and LENGTH count it on both
// backends: in characters, not bytes.
func TextLen(s string) int { return utf8.RuneCountInString(s) }

// Args accumulates query arguments and hands out their placeholders, for
// queries whose WHERE clauses are built from optional filters.
type Args []any

// Add appends v and returns its placeholder.
func (a *Args) Add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// List appends every value and returns "($n, $n+1, ...)".
func List[T any](a *Args, vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = a.Add(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Where joins conditions with AND into a WHERE clause, or returns "".
func Where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// page runs one page of a search and counts all matches in the same scan
// (COUNT(*) OVER ()); only a page past the end needs a separate count.
// scan reads one row, the count being the last column.
func (q *Queries) page(ctx context.Context, table, columns, where, order string, a Args, offset, size int,
	scan func(rows *sql.Rows, total *int) error) (int, error) {
	counted := "COUNT(*) OVER ()"
	if q.backend == SQLite {
		// SQLite materializes window functions; counting apart is faster.
		counted = "0"
	}
	query := fmt.Sprintf(`SELECT %s, %s FROM %s%s ORDER BY %s LIMIT %s OFFSET %s`,
		columns, counted, table, where, order, a.Add(size), a.Add(offset))
	rows, err := q.Query(ctx, query, a...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	total, n := 0, 0
	for rows.Next() {
		if err := scan(rows, &total); err != nil {
			return 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if q.backend == SQLite || (n == 0 && offset > 0) {
		err = q.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+where, a[:len(a)-2]...).Scan(&total)
	}
	return total, err
}

// Int64s reads a one-column result of integers, closing the rows. It takes
// Query's results directly: store.Int64s(q.Query(ctx, ...)).
func Int64s(rows *sql.Rows, err error) ([]int64, error) {
	return column[int64](rows, err)
}

// Strings reads a one-column result of strings, closing the rows.
func Strings(rows *sql.Rows, err error) ([]string, error) {
	return column[string](rows, err)
}

func column[T any](rows *sql.Rows, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
