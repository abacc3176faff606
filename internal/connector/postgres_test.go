package connector

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// connectionFor turns a pgtest DSN into the V2 connection block for it.
func connectionFor(t testing.TB, dsn string) Connection {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	password, _ := u.User.Password()
	return Connection{Handler: PostgreSQL, Hostname: u.Hostname(), Port: port,
		Database: strings.TrimPrefix(u.Path, "/"), Username: u.User.Username(), Password: password}
}

// readerFor is the connection block of a new role that can only read the
// database of dsn: what custos registers with (a superuser is refused).
func readerFor(t testing.TB, dsn string) Connection {
	t.Helper()
	return connectionFor(t, pgtest.NewReader(t, dsn))
}

// sampleSource loads the sample database and opens it as a reader; the DSN
// returned is the superuser's.
func sampleSource(t *testing.T) (Source, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	if err := sample.Load(context.Background(), dsn); err != nil {
		t.Fatal(err)
	}
	src, err := Open(context.Background(), readerFor(t, dsn), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src, dsn
}

func exec(t testing.TB, dsn string, sql ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// wantField asserts err is a 422 naming exactly this field.
func wantField(t *testing.T, err error, field string) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("want a 422 on %s, got %#v (%v)", field, e, err)
	}
	return e
}

func TestConnectErrorsNameTheFieldToFix(t *testing.T) {
	srv := pgtest.Get(t)
	dsn := pgtest.NewDatabase(t)
	good := connectionFor(t, dsn)
	role, password := srv.NewRole(t, "reader")
	ctx := context.Background()

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := refused.Addr().(*net.TCPAddr).Port
	refused.Close()

	for _, tc := range []struct {
		name  string
		edit  func(c *Connection)
		field string
		msg   string
	}{
		{"wrong password", func(c *Connection) { c.Password = "wrong" }, "connection.password", "password authentication failed"},
		{"no password", func(c *Connection) { c.Password = "" }, "connection.password", "password authentication failed"},
		{"unknown user", func(c *Connection) { c.Username = "nobody_here" }, "connection.password", "password authentication failed"},
		{"database missing", func(c *Connection) { c.Database = "no_such_db" }, "connection.database", `database "no_such_db" does not exist`},
		{"host unknown", func(c *Connection) { c.Hostname = "no-such-host.invalid" }, "connection.hostname", "cannot be resolved"},
		{"nothing listening", func(c *Connection) { c.Port = freePort }, "connection.hostname", "no PostgreSQL server answers"},
		{"ssl refused", func(c *Connection) { c.SSL = true }, "connection.ssl", "does not accept SSL"},
		{"no connect privilege", func(c *Connection) { c.Username, c.Password = role, password }, "connection.username", "may not connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			if tc.name == "no connect privilege" {
				exec(t, dsn, "REVOKE CONNECT ON DATABASE "+pgx.Identifier{c.Database}.Sanitize()+" FROM PUBLIC")
			}
			_, err := Open(ctx, c, Options{ConnectTimeout: 3 * time.Second})
			e := wantField(t, err, tc.field)
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q lacks %q", e.Message, tc.msg)
			}
			if strings.Contains(e.Message, good.Password) {
				t.Error("the message must not show the password")
			}
		})
	}
}

// A hostname is a network host. A path would reach the server's local
// socket, where pg_hba rules usually trust whoever the custos process is
// (here: no password at all), not the credentials of the payload.
func TestHostnameIsNotASocketPath(t *testing.T) {
	srv := pgtest.Get(t)
	c := connectionFor(t, pgtest.NewDatabase(t))
	c.Hostname, c.Password = srv.Dir(), ""
	src, err := Open(context.Background(), c, Options{ConnectTimeout: 3 * time.Second})
	if err == nil {
		src.Close()
		t.Fatal("a socket directory as hostname logged in without a password")
	}
	wantField(t, err, "connection.hostname")
}

func TestSilentHostTimesOut(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	c := Connection{Handler: PostgreSQL, Hostname: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Database: "d", Username: "u", Password: "p"}
	start := time.Now()
	_, err = Open(context.Background(), c, Options{ConnectTimeout: 300 * time.Millisecond})
	wantField(t, err, "connection.hostname")
	if time.Since(start) > 10*time.Second {
		t.Errorf("the connect timeout was not applied (%v)", time.Since(start))
	}
}

func TestSchemasAndTablesOfTheSampleDatabase(t *testing.T) {
	src, _ := sampleSource(t)
	ctx := context.Background()
	schemas, err := src.Schemas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(schemas, []string{"Marketing", "public", "shop"}) {
		t.Fatalf("schemas = %q", schemas)
	}
	tables, err := src.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Schema+"."+tb.Name)
	}
	want := []string{"Marketing.Gold Members", "Marketing.Loyalty Members", "shop.customer_contacts", "shop.customers", "shop.orders", "shop.products"}
	if !slices.Equal(names, want) {
		t.Fatalf("tables = %q, want %q", names, want)
	}
	members := tables[1]
	if members.View || members.Kind != KindTable || !members.Readable || members.RowEstimate != sample.LoyaltyMembers {
		t.Errorf("Loyalty Members = %+v", members)
	}
	wantCols := []Column{
		{Name: "Member ID", Position: 1, DataType: "integer", RemoteType: "integer", PrimaryKey: true},
		{Name: "customerId", Position: 2, DataType: "bigint", RemoteType: "bigint", Nullable: true},
		{Name: "Full Name", Position: 3, DataType: "text", RemoteType: "text"},
		{Name: "EMail Address", Position: 4, DataType: "text", RemoteType: "text"},
		{Name: "Tier", Position: 5, DataType: "text", RemoteType: "text"},
		{Name: "Points Balance", Position: 6, DataType: "integer", RemoteType: "integer"},
		{Name: "Joined On", Position: 7, DataType: "date", RemoteType: "date"},
	}
	if !slices.Equal(members.Columns, wantCols) {
		t.Errorf("columns =\n%+v\nwant\n%+v", members.Columns, wantCols)
	}
	gold := tables[0]
	if !gold.View || gold.Kind != KindView || len(gold.Columns) != 3 || !gold.Columns[0].Nullable {
		t.Errorf("Gold Members = %+v", gold)
	}
	customers := tables[3]
	if customers.Description == "" {
		t.Error("the table comment is lost")
	}
	byName := map[string]Column{}
	for _, c := range customers.Columns {
		byName[c.Name] = c
	}
	for name, want := range map[string][2]string{
		"ssn":            {"text", "character(11)"},
		"last_login_ip":  {"inet", "inet"},
		"created_at":     {"timestamp", "timestamp with time zone"},
		"loyalty_points": {"integer", "integer"},
	} {
		if c := byName[name]; c.DataType != want[0] || c.RemoteType != want[1] {
			t.Errorf("%s: %s / %s, want %v", name, c.DataType, c.RemoteType, want)
		}
	}
	if byName["ssn"].Description == "" {
		t.Error("the column comment is lost")
	}

	only, err := src.Tables(ctx, "Marketing")
	if err != nil || len(only) != 2 {
		t.Fatalf("Tables(Marketing) = %d tables, %v", len(only), err)
	}
	_, err = src.Tables(ctx, "marketing")
	wantField(t, err, "connection.schema")
}

func TestLookupTablesValidatesEveryRef(t *testing.T) {
	src, dsn := sampleSource(t)
	ctx := context.Background()
	found, err := src.LookupTables(ctx, []TableRef{{Schema: "Marketing", Name: "Loyalty Members"}, {Schema: "shop", Name: "orders"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].Name != "Loyalty Members" || found[1].Name != "orders" || len(found[1].Columns) != 8 {
		t.Fatalf("found %+v", found)
	}

	_, err = src.LookupTables(ctx, []TableRef{
		{Schema: "shop", Name: "customers"},
		{Schema: "shop", Name: "Customers"}, // case matters
		{Schema: "nope", Name: "customers"},
		{Schema: "shop", Name: "orders", Field: "sources[7]"},
		{Schema: "Marketing", Name: "loyalty members"},
	})
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		t.Fatalf("want 422, got %v", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field+":"+f.Code)
	}
	want := []string{"sources[1].table:notFound", "sources[2].schema:notFound", "sources[4].table:notFound"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields = %q, want %q", got, want)
	}

	// A role without SELECT sees the table in the catalog but may not read it.
	srv := pgtest.Get(t)
	role, password := srv.NewRole(t, "analyst")
	exec(t, dsn, "GRANT USAGE ON SCHEMA shop TO "+pgx.Identifier{role}.Sanitize(),
		"GRANT SELECT ON shop.products TO "+pgx.Identifier{role}.Sanitize())
	c := connectionFor(t, dsn)
	c.Username, c.Password = role, password
	limited, err := Open(ctx, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer limited.Close()
	_, err = limited.LookupTables(ctx, []TableRef{{Schema: "shop", Name: "products"}, {Schema: "shop", Name: "customers", Field: "sources[1]"}})
	if e := wantField(t, err, "sources[1].table"); !strings.Contains(e.Message, "permission denied") {
		t.Errorf("message = %q", e.Message)
	}
	_, err = limited.Sample(ctx, TableRef{Schema: "shop", Name: "customers", Field: "sources[3]"}, SampleOptions{})
	wantField(t, err, "sources[3].table")
	tables, err := limited.Tables(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Readable != (tb.Name == "products") {
			t.Errorf("%s readable = %v", tb.Name, tb.Readable)
		}
	}
}

func TestSampleReadsQuotedIdentifiersAndRendersText(t *testing.T) {
	src, _ := sampleSource(t)
	ctx := context.Background()
	s, err := src.Sample(ctx, TableRef{Schema: "Marketing", Name: "Loyalty Members"}, SampleOptions{Size: 25})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 25 || len(s.Columns) != 7 {
		t.Fatalf("rows %d, columns %d", s.Rows, len(s.Columns))
	}
	email, ok := s.Column("EMail Address")
	if !ok || len(email.Values) != 25 || !strings.Contains(email.Values[0], "@") {
		t.Fatalf("EMail Address = %+v", email)
	}
	joined, _ := s.Column("Joined On")
	if _, err := time.Parse("2006-01-02", joined.Values[0]); err != nil {
		t.Errorf("dates are not in PostgreSQL's text form: %q", joined.Values[0])
	}

	s, err = src.Sample(ctx, TableRef{Schema: "shop", Name: "customers"}, SampleOptions{Columns: []string{"last_login_ipv6", "ssn"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 100 || len(s.Columns) != 2 || s.Columns[0].Name != "last_login_ipv6" {
		t.Fatalf("sample = %d rows, %+v", s.Rows, s.Columns)
	}
	ipv6 := s.Columns[0]
	if ipv6.Nulls == 0 || ipv6.Nulls+len(ipv6.Values) != 100 || !strings.HasPrefix(ipv6.Values[0], "2001:db8:") {
		t.Errorf("ipv6 = %d nulls, %q", ipv6.Nulls, ipv6.Values[:1])
	}

	_, err = src.Sample(ctx, TableRef{Schema: "shop", Name: "customers", Field: "sources[0]"}, SampleOptions{Columns: []string{"email", "Email"}})
	wantField(t, err, "sources[0].columns[1]")

	view, err := src.Sample(ctx, TableRef{Schema: "shop", Name: "customer_contacts"}, SampleOptions{Size: MaxSampleSize + 1})
	if err != nil || view.Rows != sample.Customers {
		t.Fatalf("view sample: %v rows, %v", view.Rows, err)
	}
}

func TestSampleOfALargeTableIsSpreadAndRepeatable(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, `CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 200000) g`, `ANALYZE big`)
	src, err := Open(context.Background(), readerFor(t, dsn), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ref := TableRef{Schema: "public", Name: "big"}
	a, err := src.Sample(context.Background(), ref, SampleOptions{Size: 200})
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Sample(context.Background(), ref, SampleOptions{Size: 200})
	if err != nil {
		t.Fatal(err)
	}
	if a.Rows != 200 || !slices.Equal(a.Columns[0].Values, b.Columns[0].Values) {
		t.Fatalf("samples differ or are short: %d rows", a.Rows)
	}
	// A plain LIMIT would return ids 1..200; a table sample reaches further.
	last, _ := strconv.Atoi(a.Columns[0].Values[199])
	if last <= 200 {
		t.Errorf("the sample is the head of the table (last id %d)", last)
	}
}

func TestDescribeQueryDoesNotRunIt(t *testing.T) {
	src, dsn := sampleSource(t)
	ctx := context.Background()
	cols, err := src.DescribeQuery(ctx, Query{SQL: `
		-- customers with their gold membership
		SELECT c.customer_id, 1/0 AS boom, m."EMail Address", c.birth_date::varchar(10) AS born
		FROM shop.customers c JOIN "Marketing"."Loyalty Members" m ON m."customerId" = c.customer_id`, Field: "sources[0].query"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Column{
		{Name: "customer_id", Position: 1, DataType: "bigint", RemoteType: "bigint", Nullable: true},
		{Name: "boom", Position: 2, DataType: "integer", RemoteType: "integer", Nullable: true},
		{Name: "EMail Address", Position: 3, DataType: "text", RemoteType: "text", Nullable: true},
		{Name: "born", Position: 4, DataType: "text", RemoteType: "character varying(10)", Nullable: true},
	}
	if !slices.Equal(cols, want) {
		t.Fatalf("columns =\n%+v\nwant\n%+v", cols, want)
	}

	exec(t, dsn, `CREATE TABLE shop.audit (n int)`)
	for _, tc := range []struct{ sql, msg string }{
		{"", "required"},
		{"DELETE FROM shop.audit RETURNING n", "must be a SELECT"},
		{"SELECT * FROM shop.nope", "does not exist"},
		{"SELEC 1", "must be a SELECT"},
		{"SELECT * FROM shop.customers WHERE customer_id = $1", "parameters"},
		{"SELECT 1; DROP TABLE shop.audit", "not valid"},
		{"SELECT FROM shop.customers", "no columns"},
	} {
		_, err := src.DescribeQuery(ctx, Query{SQL: tc.sql, Field: "sources[4].query"})
		if e := wantField(t, err, "sources[4].query"); !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%q: message %q lacks %q", tc.sql, e.Message, tc.msg)
		}
	}
	if _, err := src.Sample(ctx, TableRef{Schema: "shop", Name: "audit"}, SampleOptions{}); err != nil {
		t.Errorf("shop.audit must still exist: %v", err)
	}
}

func TestSampleQueryReadsOnlyAndStopsEarly(t *testing.T) {
	src, dsn := sampleSource(t)
	ctx := context.Background()
	s, err := src.SampleQuery(ctx, Query{SQL: `SELECT "Full Name", "Tier" FROM "Marketing"."Loyalty Members" ORDER BY "Member ID"`}, SampleOptions{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 10 || s.Columns[0].Name != "Full Name" || len(s.Columns[1].Values) != 10 {
		t.Fatalf("sample = %+v", s)
	}

	// Far more rows than wanted: the rest is cancelled, not read.
	start := time.Now()
	s, err = src.SampleQuery(ctx, Query{SQL: `SELECT g, pg_sleep(0.001) FROM generate_series(1, 100000) g`}, SampleOptions{Size: 5})
	if err != nil || s.Rows != 5 {
		t.Fatalf("rows %v, %v", s, err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("the remaining rows were read (%v)", time.Since(start))
	}
	if err := src.Ping(ctx); err != nil {
		t.Fatalf("the source is unusable after a cancelled sample: %v", err)
	}

	_, err = src.SampleQuery(ctx, Query{SQL: `WITH gone AS (DELETE FROM shop.orders RETURNING order_id) SELECT * FROM gone`, Field: "sources[2].query"}, SampleOptions{})
	if e := wantField(t, err, "sources[2].query"); !strings.Contains(e.Message, "may only read") {
		t.Errorf("message = %q", e.Message)
	}
	var n int
	conn, _ := pgx.Connect(ctx, dsn)
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM shop.orders").Scan(&n); err != nil || n != sample.Orders {
		t.Fatalf("orders = %d, %v", n, err)
	}

	_, err = src.SampleQuery(ctx, Query{SQL: `SELECT pg_sleep(5)`, Field: "sources[2].query"}, SampleOptions{Timeout: 100 * time.Millisecond})
	if !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want a timeout, got %v", err)
	}
}
