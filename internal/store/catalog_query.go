package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// This file holds the catalog's searches and bulk operations: data source
// search with its filters, the schema and connection-string facets, batched
// column writes, and what registration and schema monitoring read in bulk.

// GetDataSourceBySQLTableName returns the data source with this SQL table name.
func (q *Queries) GetDataSourceBySQLTableName(ctx context.Context, name string) (*DataSource, error) {
	return scanDataSource(q.QueryRow(ctx, `SELECT `+dataSourceColumns+` FROM data_sources WHERE sql_table_name = $1`, name))
}

// TakenNames returns the data source names and SQL table names in use by data
// sources outside the given connection (0 means none is excluded).
func (q *Queries) TakenNames(ctx context.Context, exceptConnection int64) (names, sqlTables map[string]bool, err error) {
	rows, err := q.Query(ctx, `SELECT name, sql_table_name FROM data_sources
		WHERE connection_id IS NULL OR connection_id <> $1`, exceptConnection)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	names, sqlTables = map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var n string
		var t *string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, nil, err
		}
		names[n] = true
		if t != nil {
			sqlTables[*t] = true
		}
	}
	return names, sqlTables, rows.Err()
}

// InsertColumns adds columns to a data source in batched statements. The
// columns must not exist yet.
func (q *Queries) InsertColumns(ctx context.Context, dataSourceID int64, cols []Column) error {
	for len(cols) > 0 {
		n := min(len(cols), q.rowsPerStatement())
		var a Args
		var b strings.Builder
		b.WriteString(`INSERT INTO data_source_columns (` + columnColumns + `) VALUES `)
		for i, c := range cols[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(List(&a, []any{dataSourceID, c.Name, c.Position, c.DataType, c.RemoteType, c.Nullable,
				c.PrimaryKey, c.Description, c.IsNew, c.CreatedAt, c.UpdatedAt}))
		}
		if _, err := q.Exec(ctx, b.String(), a...); err != nil {
			return err
		}
		cols = cols[n:]
	}
	return nil
}

// DeleteColumnsOf removes every column of a data source and their tags.
func (q *Queries) DeleteColumnsOf(ctx context.Context, dataSourceID int64) error {
	key := strconv.FormatInt(dataSourceID, 10) + "_"
	if _, err := q.Exec(ctx, `DELETE FROM model_tags WHERE model_type = 'column' AND SUBSTR(model_id, 1, $1) = $2`,
		len(key), key); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `DELETE FROM data_source_columns WHERE data_source_id = $1`, dataSourceID)
	return err
}

// ColumnTagsOf returns the tags of every column of the given data sources,
// keyed by column model id ("<dataSourceId>_<column>"). Tags of columns that
// no longer exist are not returned. The model ids are looked up in chunks,
// which the index on model_tags serves on both backends.
func (q *Queries) ColumnTagsOf(ctx context.Context, dataSourceIDs ...int64) (map[string][]*ModelTag, error) {
	cols, err := q.ColumnsOf(ctx, dataSourceIDs...)
	if err != nil {
		return nil, err
	}
	return q.TagsOfColumns(ctx, cols)
}

// TagsOfColumns is ColumnTagsOf for columns already read (by ColumnsOf).
func (q *Queries) TagsOfColumns(ctx context.Context, cols map[int64][]Column) (map[string][]*ModelTag, error) {
	out := map[string][]*ModelTag{}
	var ids []string
	for id, list := range cols {
		for _, c := range list {
			ids = append(ids, ColumnModelID(id, c.Name))
		}
	}
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part, err := q.TagsOfModels(ctx, "column", ids[start:min(start+chunk, len(ids))])
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			out[k] = v
		}
	}
	return out, nil
}

// AccessToDataSources lists the access entries of the given data sources in
// the given states (all states when none), keyed by data source.
func (q *Queries) AccessToDataSources(ctx context.Context, ids []int64, states ...string) (map[int64][]*Access, error) {
	out := make(map[int64][]*Access, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	where := `data_source_id IN ` + List(&a, ids)
	if len(states) > 0 {
		where += ` AND state IN ` + List(&a, states)
	}
	list, err := scanAccesses(q.Query(ctx, `SELECT `+accessColumns+` FROM data_source_access WHERE `+where+
		` ORDER BY data_source_id, id`, a...))
	for _, x := range list {
		out[x.DataSourceID] = append(out[x.DataSourceID], x)
	}
	return out, err
}

// UsersNamed returns the users whose userid is name (already lower-cased by
// the caller), in the given IAM or, when iamid is empty, in any.
func (q *Queries) UsersNamed(ctx context.Context, iamid, name string) ([]*User, error) {
	var a Args
	where := `userid = ` + a.Add(name)
	if iamid != "" {
		where += ` AND iamid = ` + a.Add(iamid)
	}
	rows, err := q.Query(ctx, `SELECT `+userColumns+` FROM users WHERE `+where+` ORDER BY id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// GroupsNamed returns the groups called name, in the given IAM or, when iamid
// is empty, in any.
func (q *Queries) GroupsNamed(ctx context.Context, iamid, name string) ([]*Group, error) {
	var a Args
	where := `name = ` + a.Add(name)
	if iamid != "" {
		where += ` AND iamid = ` + a.Add(iamid)
	}
	rows, err := q.Query(ctx, `SELECT `+groupColumns+` FROM groups WHERE `+where+` ORDER BY id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// DataSourceFilter narrows a data source search. Empty fields do not filter.
type DataSourceFilter struct {
	IDs               []int64 // only these data sources
	Visible           []int64 // when VisibleOnly, only these (the caller's discovery scope)
	VisibleOnly       bool
	SearchText        string // substring of the name (and description unless NameOnly)
	NameOnly          bool
	Technologies      []string // blobHandlerType
	Health            []string // "passed" (connection verified) or "failed"
	Tags              []string // a data source or column tag, or a descendant of one
	Columns           []string // has a column with one of these names
	ConnectionStrings []string
	Schema            string // remote schema
	Hostname          string
	SDDFramework      string // has this identification framework applied
	NotSDDFramework   string // does not have it applied
	// Subscription keeps data sources where the caller (UserID, or one of
	// GroupIDs) is in one of these states; "not_subscribed" matches data
	// sources where the caller has no owner, expert, subscribed, pending or
	// ingest entry.
	Subscription []string
	UserID       int64
	GroupIDs     []int64
	Sort         string // name (default), createdAt, blobHandlerType, recordCount, status, owned
	Descending   bool
	Offset, Size int
}

// activeStates grant some relation to a data source.
var activeStates = []string{AccessOwner, AccessExpert, AccessSubscribed, AccessPending, "ingest"}

// SearchDataSources returns one page of data sources matching f and the total.
func (q *Queries) SearchDataSources(ctx context.Context, f DataSourceFilter) ([]*DataSource, int, error) {
	var a Args
	var conds []string
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return nil, 0, nil
		}
		conds = append(conds, `d.id IN `+List(&a, f.IDs))
	}
	if f.VisibleOnly {
		if len(f.Visible) == 0 {
			return nil, 0, nil
		}
		conds = append(conds, `d.id IN `+List(&a, f.Visible))
	}
	if f.SearchText != "" {
		p := a.Add(LikePattern(f.SearchText))
		c := `LOWER(d.name) LIKE ` + p + ` ESCAPE '\'`
		if !f.NameOnly {
			c = `(` + c + ` OR LOWER(COALESCE(d.description, '')) LIKE ` + p + ` ESCAPE '\')`
		}
		conds = append(conds, c)
	}
	if len(f.Technologies) > 0 {
		conds = append(conds, `d.technology IN `+List(&a, f.Technologies))
	}
	if len(f.Health) == 1 {
		if f.Health[0] == "passed" {
			conds = append(conds, `c.verified = TRUE`)
		} else {
			conds = append(conds, `(c.verified IS NULL OR c.verified = FALSE)`)
		}
	}
	if len(f.Tags) > 0 {
		var tc []string
		for _, t := range f.Tags {
			tc = append(tc, `t.name = `+a.Add(t)+` OR SUBSTR(t.name, 1, `+a.Add(TextLen(t)+1)+`) = `+a.Add(t+"."))
		}
		conds = append(conds, `EXISTS (SELECT 1 FROM model_tags m JOIN tags t ON t.id = m.tag_id WHERE (`+
			strings.Join(tc, " OR ")+`) AND ((m.model_type = 'datasource' AND m.model_id = `+castText(q.backend, "d.id")+`)
			OR (m.model_type = 'column' AND SUBSTR(m.model_id, 1, LENGTH(`+castText(q.backend, "d.id")+`) + 1) = `+
			castText(q.backend, "d.id")+` || '_')))`)
	}
	if len(f.Columns) > 0 {
		conds = append(conds, `EXISTS (SELECT 1 FROM data_source_columns col WHERE col.data_source_id = d.id AND col.name IN `+
			List(&a, f.Columns)+`)`)
	}
	if len(f.ConnectionStrings) > 0 {
		conds = append(conds, `c.connection_string IN `+List(&a, f.ConnectionStrings))
	}
	if f.Schema != "" {
		conds = append(conds, `d.remote_schema = `+a.Add(f.Schema))
	}
	if f.Hostname != "" {
		conds = append(conds, `c.hostname = `+a.Add(f.Hostname))
	}
	if f.SDDFramework != "" {
		conds = append(conds, `d.sdd_framework_id = (SELECT id FROM sdd_frameworks WHERE name = `+a.Add(f.SDDFramework)+`)`)
	}
	if f.NotSDDFramework != "" {
		conds = append(conds, `(d.sdd_framework_id IS NULL OR d.sdd_framework_id <> (SELECT id FROM sdd_frameworks WHERE name = `+
			a.Add(f.NotSDDFramework)+`))`)
	}
	// The caller's ids are integers written into the SQL, so that the ORDER
	// BY below needs no arguments of its own (page reuses the WHERE's).
	who := func() string {
		w := `(s.model_type = 'user' AND s.model_id = ` + strconv.FormatInt(f.UserID, 10) + `)`
		if len(f.GroupIDs) > 0 {
			ids := make([]string, len(f.GroupIDs))
			for i, g := range f.GroupIDs {
				ids[i] = strconv.FormatInt(g, 10)
			}
			w = `(` + w + ` OR (s.model_type = 'group' AND s.model_id IN (` + strings.Join(ids, ", ") + `)))`
		}
		return w
	}
	if len(f.Subscription) > 0 {
		var states []string
		notSubscribed := false
		for _, s := range f.Subscription {
			if s == AccessNotSubscribed {
				notSubscribed = true
			} else {
				states = append(states, s)
			}
		}
		var sc []string
		if len(states) > 0 {
			sc = append(sc, `EXISTS (SELECT 1 FROM data_source_access s WHERE s.data_source_id = d.id AND `+who()+
				` AND s.state IN `+List(&a, states)+`)`)
		}
		if notSubscribed {
			sc = append(sc, `NOT EXISTS (SELECT 1 FROM data_source_access s WHERE s.data_source_id = d.id AND `+who()+
				` AND s.state IN `+List(&a, activeStates)+`)`)
		}
		conds = append(conds, `(`+strings.Join(sc, " OR ")+`)`)
	}
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	var order string
	switch f.Sort {
	case "createdAt":
		order = `d.created_at` + dir + `, d.id` + dir
	case "blobHandlerType":
		order = `d.technology` + dir + `, d.name`
	case "recordCount":
		order = `COALESCE(d.row_estimate, 0)` + dir + `, d.name`
	case "status":
		order = `COALESCE(c.verified, FALSE)` + dir + `, d.name`
	case "owned":
		order = `CASE WHEN EXISTS (SELECT 1 FROM data_source_access s WHERE s.data_source_id = d.id AND ` + who() +
			` AND s.state = 'owner') THEN 0 ELSE 1 END` + dir + `, d.name`
	default:
		order = `d.name` + dir
	}
	var out []*DataSource
	total, err := q.page(ctx, "data_sources d LEFT JOIN connections c ON c.id = d.connection_id",
		prefixed("d.", dataSourceColumns), Where(conds), order, a, f.Offset, f.Size,
		func(rows *sql.Rows, total *int) error {
			d, err := scanDataSource(rows, total)
			out = append(out, d)
			return err
		})
	return out, total, err
}

// castText renders an integer column as text in both dialects.
func castText(b Backend, col string) string {
	if b == Postgres {
		return col + "::text"
	}
	return "CAST(" + col + " AS TEXT)"
}

// NameCount is a value and how many data sources have it.
type NameCount struct {
	Name  string
	Count int
}

// SchemaCounts lists the remote schemas of data sources whose name contains
// searchText, with how many data sources each has.
func (q *Queries) SchemaCounts(ctx context.Context, searchText string) ([]NameCount, error) {
	return q.nameCounts(ctx, `SELECT remote_schema, COUNT(*) FROM data_sources WHERE remote_schema IS NOT NULL`,
		`remote_schema`, searchText)
}

// ConnectionStringCounts lists the connection strings of data sources whose
// string contains searchText, with how many data sources each has.
func (q *Queries) ConnectionStringCounts(ctx context.Context, searchText string) ([]NameCount, error) {
	return q.nameCounts(ctx, `SELECT c.connection_string, COUNT(*) FROM data_sources d JOIN connections c
		ON c.id = d.connection_id WHERE c.connection_string IS NOT NULL`, `c.connection_string`, searchText)
}

func (q *Queries) nameCounts(ctx context.Context, base, col, searchText string) ([]NameCount, error) {
	var a Args
	query := base
	if searchText != "" {
		query += ` AND LOWER(` + col + `) LIKE ` + a.Add(LikePattern(searchText)) + ` ESCAPE '\'`
	}
	rows, err := q.Query(ctx, query+` GROUP BY `+col+` ORDER BY `+col, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []NameCount{}
	for rows.Next() {
		var n NameCount
		if err := rows.Scan(&n.Name, &n.Count); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ColumnNames returns up to limit distinct column names containing
// searchText, sorted.
func (q *Queries) ColumnNames(ctx context.Context, searchText string, limit int) ([]string, error) {
	var a Args
	where := ""
	if searchText != "" {
		where = ` WHERE LOWER(name) LIKE ` + a.Add(LikePattern(searchText)) + ` ESCAPE '\'`
	}
	rows, err := q.Query(ctx, `SELECT DISTINCT name FROM data_source_columns`+where+` ORDER BY name LIMIT `+a.Add(limit), a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// CountDataSourcesByConnection counts the data sources of every connection.
func (q *Queries) CountDataSourcesByConnection(ctx context.Context) (map[int64]int, error) {
	rows, err := q.Query(ctx, `SELECT connection_id, COUNT(*) FROM data_sources WHERE connection_id IS NOT NULL
		GROUP BY connection_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// LockConnection takes the row lock of a connection (on PostgreSQL) for the
// rest of the transaction, so that concurrent registrations of one
// connection apply one after the other. It returns ErrNotFound when the
// connection is gone.
func (q *Queries) LockConnection(ctx context.Context, id int64) error {
	res, err := q.Exec(ctx, `UPDATE connections SET updated_at = updated_at WHERE id = $1`, id)
	return affectedOne(res, err)
}

// LockDataSources takes the row locks of data sources (on PostgreSQL) for
// the rest of the transaction, in id order, so that a change read from them
// after the lock is not lost to a concurrent writer. SQLite transactions
// hold the database's write lock from their start and need none.
func (q *Queries) LockDataSources(ctx context.Context, ids ...int64) error {
	if q.backend != Postgres || len(ids) == 0 {
		return nil
	}
	var a Args
	_, err := Int64s(q.Query(ctx, `SELECT id FROM data_sources WHERE id IN `+List(&a, ids)+` ORDER BY id FOR UPDATE`, a...))
	return err
}

// LockDataSourcesOfConnection is LockDataSources for every data source of a
// connection.
func (q *Queries) LockDataSourcesOfConnection(ctx context.Context, connectionID int64) error {
	if q.backend != Postgres {
		return nil
	}
	_, err := Int64s(q.Query(ctx, `SELECT id FROM data_sources WHERE connection_id = $1 ORDER BY id FOR UPDATE`, connectionID))
	return err
}

// MonitoredConnections lists the ids of connections with schema monitoring
// whose last run is older than before (or that never ran).
func (q *Queries) MonitoredConnections(ctx context.Context, before time.Time) ([]int64, error) {
	return Int64s(q.Query(ctx, `SELECT id FROM connections WHERE schema_monitoring = TRUE
		AND (last_monitored_at IS NULL OR last_monitored_at < $1) ORDER BY id`, before))
}

// ClaimMonitoring marks a connection as monitored at now if its last run is
// still older than before, reporting whether this caller won the claim
// (several servers may share the store).
func (q *Queries) ClaimMonitoring(ctx context.Context, id int64, before, now time.Time) (bool, error) {
	res, err := q.Exec(ctx, `UPDATE connections SET last_monitored_at = $3 WHERE id = $1
		AND (last_monitored_at IS NULL OR last_monitored_at < $2)`, id, before, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
