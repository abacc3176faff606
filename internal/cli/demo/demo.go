// Package demo implements `custos demo`: on a machine with PostgreSQL
// installed it starts a throwaway cluster, loads the sample shop database,
// starts custos on its embedded store, registers the database (as a role
// that can only read; enforcement connects as an administrator that is not
// a superuser either), runs discovery, enforces a few V2 policies through
// the PostgreSQL integration, shows the same SELECT run by two database
// users and the writes of a third, bound by the same row rule and masks. It
// then stops what it started (by PID) and removes its files.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/pgcluster"
	"github.com/custosdata/custos/internal/sample"
	"github.com/custosdata/custos/internal/server"
)

// New returns the demo command.
func New(f *cmdutil.Factory) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show custos enforcing policies in a throwaway PostgreSQL database",
		Long: `Start a throwaway PostgreSQL cluster and a custos server, load a sample shop database, register it,
discover its sensitive columns, save a masking policy, a row filter and a write policy (V2 YAML), run
the same SELECT as two database users to show what each of them gets, and show a third user's writes,
bound by the same row filter and masks. custos connects as least-privileged roles, never as a
superuser: it registers with a role that can only read and enforces with one that administers the
shop's tables, after a superuser ran custos's setup script once. Everything the demo starts is
stopped, and its files removed, when it ends (unless --keep).

PostgreSQL must be installed (Debian: apt-get install postgresql postgresql-15-pgaudit); scripts/demo.sh
installs it when missing and runs this command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Interrupted, or its output closed (SIGPIPE), the demo still
			// stops what it started.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
			defer stop()
			return run(ctx, f.IO.Out, keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the cluster and the custos server running until interrupted (Ctrl-C)")
	return cmd
}

// demo is one run.
type demo struct {
	ctx   context.Context
	out   io.Writer
	pg    *pgcluster.Cluster
	app   *server.App
	url   string
	key   string
	roles map[string]string // role -> password
	step  int
	// integration is the id of the PostgreSQL integration.
	integration string
	// stopCustos stops the server and waits for it.
	stopCustos func()
}

const database = "shop"

func run(ctx context.Context, out io.Writer, keep bool) (err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	d := &demo{ctx: ctx, out: out, roles: map[string]string{}}
	defer func() {
		if cerr := d.cleanup(keep, err); err == nil {
			err = cerr
		}
	}()
	fmt.Fprintln(out, "custos demo: policies written once, in terms of tags and user attributes, enforced inside PostgreSQL")
	started := time.Now()
	defer func() {
		if err == nil {
			fmt.Fprintf(out, "\nDone in %s.\n", time.Since(started).Round(100*time.Millisecond))
		}
	}()
	for _, step := range []func() error{d.startPostgres, d.loadSample, d.startCustos, d.createUsers, d.register,
		d.discover, d.integrate, d.savePolicies, d.show, d.writes, d.audit} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n%d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) line(format string, args ...any) {
	fmt.Fprintf(d.out, "   %s\n", fmt.Sprintf(format, args...))
}

func (d *demo) startPostgres() error {
	// The log names user and database on every line, for the query audit.
	c, err := pgcluster.Start(pgcluster.Options{Prefix: "custos-demo-",
		Settings: map[string]string{"log_line_prefix": "%m [%p] %q%u@%d "}})
	if errors.Is(err, pgcluster.ErrNotInstalled) {
		return errors.New("PostgreSQL is not installed: run scripts/demo.sh, which installs it (apt-get install postgresql postgresql-15-pgaudit), or set CUSTOS_PG_BIN")
	} else if err != nil {
		return err
	}
	d.pg = c
	var version string
	if err := d.exec("postgres", func(cn *pgx.Conn) error {
		return cn.QueryRow(d.ctx, `SHOW server_version`).Scan(&version)
	}); err != nil {
		return err
	}
	d.say("PostgreSQL %s: a throwaway cluster on 127.0.0.1:%d (postmaster pid %d), files in %s", version, c.Port(), c.PID(), c.Dir())
	if !c.HasPgaudit() {
		d.line("pgaudit is not installed: the demo runs without query audit (apt-get install postgresql-15-pgaudit)")
	}
	return nil
}

// exec connects to the shop database (or postgres) as the superuser.
func (d *demo) exec(db string, fn func(*pgx.Conn) error) error {
	c, err := pgx.Connect(d.ctx, d.pg.DSN(db))
	if err != nil {
		return err
	}
	defer c.Close(d.ctx)
	return fn(c)
}

func (d *demo) loadSample() error {
	if err := d.exec("postgres", func(c *pgx.Conn) error {
		_, err := c.Exec(d.ctx, `CREATE DATABASE `+database)
		return err
	}); err != nil {
		return err
	}
	if err := sample.Load(d.ctx, d.pg.DSN(database)); err != nil {
		return err
	}
	for _, role := range []string{"alice", "bob", "carol", readerRole, adminRole} {
		d.roles[role] = randomHex(8)
	}
	// Least privilege: the shop belongs to an ordinary role; custos reads
	// it, to register and discover, as a role that can only read, and
	// enforces as a role that administers the shop's tables and custos's
	// own objects, neither of them a superuser (docs/enforcement.md, "Least
	// privilege").
	setup := []string{
		`CREATE ROLE shop_owner NOLOGIN`,
		`ALTER SCHEMA shop OWNER TO shop_owner`,
		`DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			         WHERE n.nspname = 'shop' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') LOOP
				EXECUTE format(CASE WHEN r.relkind = 'v' THEN 'ALTER VIEW shop.%I OWNER TO shop_owner'
				                    WHEN r.relkind = 'm' THEN 'ALTER MATERIALIZED VIEW shop.%I OWNER TO shop_owner'
				                    WHEN r.relkind = 'S' THEN 'ALTER SEQUENCE shop.%I OWNER TO shop_owner'
				                    ELSE 'ALTER TABLE shop.%I OWNER TO shop_owner' END, r.relname);
			END LOOP; END $$`,
		fmt.Sprintf(`CREATE ROLE alice LOGIN PASSWORD '%s'`, d.roles["alice"]),
		fmt.Sprintf(`CREATE ROLE bob LOGIN PASSWORD '%s'`, d.roles["bob"]),
		fmt.Sprintf(`CREATE ROLE carol LOGIN PASSWORD '%s'`, d.roles["carol"]),
		// Registration and discovery read tables and views, and run
		// views' code: a role that can read and nothing else.
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, readerRole, d.roles[readerRole]),
		`GRANT CONNECT ON DATABASE ` + database + ` TO ` + readerRole,
		`GRANT USAGE ON SCHEMA shop TO ` + readerRole,
		`GRANT SELECT ON ALL TABLES IN SCHEMA shop TO ` + readerRole,
		`ALTER DEFAULT PRIVILEGES FOR ROLE shop_owner IN SCHEMA shop GRANT SELECT ON TABLES TO ` + readerRole,
		// Enforcement manages the shop's tables (as a member of their
		// owner) and creates the view schema; a superuser runs custos's
		// setup script once (below).
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, adminRole, d.roles[adminRole]),
		`GRANT shop_owner TO ` + adminRole,
		`GRANT CONNECT, CREATE ON DATABASE ` + database + ` TO ` + adminRole,
	}
	if err := d.exec(database, func(c *pgx.Conn) error {
		for _, st := range setup {
			if _, err := c.Exec(d.ctx, st); err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	d.say("Database %q: the sample shop (%d customers, %d products, %d orders), owned by role shop_owner, and login roles:",
		database, sample.Customers, sample.Products, sample.Orders)
	d.line("alice, bob, carol  people who query the shop with their own SQL tools")
	d.line("%s      what custos registers and discovers with: CONNECT, USAGE on shop, SELECT on its tables", readerRole)
	d.line("%s       what custos enforces with: a member of shop_owner, CREATE on the database", adminRole)
	d.line("none of them is a superuser")
	return nil
}

// The roles custos connects as: never a superuser.
const (
	readerRole = "custos_reader"
	adminRole  = "custos_admin"
)

func (d *demo) startCustos() error {
	cfg := server.Defaults()
	cfg.DataDir = filepath.Join(d.pg.Dir(), "custos")
	cfg.Listen = "127.0.0.1:0"
	cfg.LogLevel = "warn"
	d.key = randomHex(16)
	cfg.AdminAPIKey = d.key
	logFile, err := os.Create(filepath.Join(d.pg.Dir(), "custos.log"))
	if err != nil {
		return err
	}
	app, err := server.New(d.ctx, cfg, logFile)
	if err != nil {
		return err
	}
	d.app = app
	ready := make(chan string, 1)
	sctx, cancel := context.WithCancel(d.ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := app.Serve(sctx, func(addr string) { ready <- addr }); err != nil {
			fmt.Fprintln(d.out, "custos stopped:", err)
		}
	}()
	d.stopCustos = func() {
		cancel()
		wg.Wait()
		app.Close()
		logFile.Close()
	}
	select {
	case addr := <-ready:
		d.url = server.URLFor(addr)
	case <-time.After(30 * time.Second):
		return errors.New("custos did not start within 30 s")
	}
	d.say("custos at %s (embedded SQLite store, log in %s)", d.url, logFile.Name())
	return nil
}

// api calls custos; body is JSON, or YAML when it is a string.
func (d *demo) api(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/yaml"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(d.ctx, method, d.url+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", d.key)
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, nil
}

func (d *demo) createUsers() error {
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := d.api("POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": u,
			"profile": map[string]any{"name": strings.ToUpper(u[:1]) + u[1:]}}, nil); err != nil {
			return err
		}
		if _, err := d.api("PUT", "/bim/iam/bim/user/"+u+"/profile", map[string]any{"sqlUser": u}, nil); err != nil {
			return err
		}
	}
	var hr struct {
		ID int64 `json:"id"`
	}
	if _, err := d.api("POST", "/bim/group", map[string]any{"iamid": "bim", "name": "HR"}, &hr); err != nil {
		return err
	}
	if _, err := d.api("POST", fmt.Sprintf("/bim/group/%d/user", hr.ID), map[string]any{"iamid": "bim", "userid": "bob"}, nil); err != nil {
		return err
	}
	for _, a := range []string{"alice/authorizations/Country/United%20States", "alice/authorizations/Country/Mexico",
		"carol/authorizations/Country/France", "carol/authorizations/has/write"} {
		if _, err := d.api("PUT", "/bim/iam/bim/user/"+a, nil, nil); err != nil {
			return err
		}
	}
	d.say("custos users alice, bob and carol, whose database roles (profile sqlUser) are alice, bob and carol")
	d.line("alice: attribute Country = United States, Mexico")
	d.line("bob:   member of group HR")
	d.line("carol: attributes Country = France, has = write")
	return nil
}

func (d *demo) register() error {
	doc := fmt.Sprintf(`connectionKey: shop
connection:
  handler: PostgreSQL
  hostname: 127.0.0.1
  port: %d
  ssl: false
  database: %s
  schema: shop
  username: %s
  password: %s
nameTemplate:
  dataSourceFormat: <schema>.<tablename>
`, d.pg.Port(), database, readerRole, d.roles[readerRole])
	var res struct {
		Creating []string `json:"creating"`
	}
	if _, err := d.api("POST", "/api/v2/data?wait=-1", doc, &res); err != nil {
		return err
	}
	d.say("Registered schema shop of database %s as %s (POST /api/v2/data, connectionKey shop)", database, readerRole)
	d.line("data sources: %s", strings.Join(res.Creating, ", "))
	return nil
}

func (d *demo) discover() error {
	if _, err := d.api("POST", "/sdd/run", map[string]any{"all": true, "wait": -1}, nil); err != nil {
		return err
	}
	var ds struct {
		ID int64 `json:"id"`
	}
	if _, err := d.api("GET", "/dataSource/name/shop.customers", nil, &ds); err != nil {
		return err
	}
	var dict struct {
		Metadata []struct {
			Name string `json:"name"`
			Tags []struct {
				Name string `json:"name"`
			} `json:"tags"`
		} `json:"metadata"`
	}
	if _, err := d.api("GET", fmt.Sprintf("/dictionary/%d", ds.ID), nil, &dict); err != nil {
		return err
	}
	d.say("Sensitive data discovery (POST /sdd/run) tagged the columns of shop.customers")
	for _, c := range dict.Metadata {
		var names []string
		for _, t := range c.Tags {
			names = append(names, t.Name)
		}
		if len(names) > 0 {
			d.line("%-16s %s", c.Name, strings.Join(names, ", "))
		}
	}
	return nil
}

func (d *demo) integrate() error {
	payload := map[string]any{"type": "PostgreSQL", "autoBootstrap": false, "config": map[string]any{
		"host": "127.0.0.1", "port": d.pg.Port(), "database": database, "ssl": false, "authenticationType": "userPassword",
		"username": adminRole, "password": d.roles[adminRole], "viewSchemaFormat": "<schema>_governed",
		"audit": map[string]any{"enabled": d.pg.HasPgaudit(), "logPath": d.pg.LogPath()}}}
	// The setup needs a superuser once (roles, custos's schema, pgaudit's
	// setting): custos writes the script, a database administrator runs it.
	script, err := d.script(payload)
	if err != nil {
		return err
	}
	if err := d.psql(script); err != nil {
		return err
	}
	var res struct {
		ID string `json:"id"`
	}
	if _, err := d.api("POST", "/integrations", payload, &res); err != nil {
		return err
	}
	if err := d.waitSynced(res.ID, time.Time{}); err != nil {
		return err
	}
	d.say("PostgreSQL integration %s: a superuser ran custos's setup script with psql (POST /integrations/scripts/create),", res.ID)
	d.line("which created schema custos (entitlements, lookup and masking functions) owned by role custos_%s;", database)
	d.line("then POST /integrations (autoBootstrap false) as %s, which made one view per data source", adminRole)
	d.line("in schema shop_governed; the tables themselves are closed to users")
	d.integration = res.ID
	return nil
}

// script asks custos for the setup script of an integration payload.
func (d *demo) script(payload map[string]any) (string, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(d.ctx, "POST", d.url+"/integrations/scripts/create", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", d.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /integrations/scripts/create: %d %s", resp.StatusCode, data)
	}
	return string(data), nil
}

// psql runs a script as the superuser, as a database administrator would.
func (d *demo) psql(script string) error {
	file := filepath.Join(d.pg.Dir(), "custos-setup.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		return err
	}
	bin, err := pgcluster.BinDir()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(d.ctx, filepath.Join(bin, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(d.pg.Port()),
		"-U", "postgres", "-d", database, "-f", file)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+d.pg.Password())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("psql -f %s: %v: %s", file, err, out)
	}
	return nil
}

// waitSynced waits until the integration is enabled and synchronised after since.
func (d *demo) waitSynced(id string, since time.Time) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var st struct {
			Status   string  `json:"status"`
			Message  string  `json:"message"`
			LastSync *string `json:"lastSync"`
		}
		if _, err := d.api("GET", "/integrations/"+id+"/status", nil, &st); err != nil {
			return err
		}
		if strings.HasSuffix(st.Status, "Error") {
			return fmt.Errorf("integration %s: %s: %s", id, st.Status, st.Message)
		}
		if st.Status == "enabled" && st.LastSync != nil {
			if t, err := time.Parse(time.RFC3339Nano, *st.LastSync); err == nil && t.After(since) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("integration %s did not synchronise within 60 s", id)
}

// policies are the V2 documents the demo saves, in order.
var policies = []struct{ file, doc string }{
	{"everyone-reads.yaml", `name: Everyone reads the shop
policyKey: everyone-reads
type: subscription
actions:
  type: anyone
  automaticSubscription: true
`},
	{"writers.yaml", `name: HR and has.write write the shop
policyKey: writers
type: subscription
actions:
  type: entitlements
  accessGrant: WRITE
  automaticSubscription: true
  entitlements:
    operator: any
    groups: [HR]
    attributes: [{name: has, value: write}]
`},
	{"mask-personal-data.yaml", `name: Mask personal data
policyKey: mask-personal-data
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: Discovered.Entity.Social Security Number}]
      maskingConfig: {type: Hash}
    exceptions: {groups: [HR]}
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: Discovered.Entity.Electronic Mail Address}]
      maskingConfig: {type: Regular Expression, regex: '^[^@]*', replacement: '*****'}
    exceptions: {groups: [HR]}
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: Discovered.Entity.Credit Card Number}]
      maskingConfig: {type: Regular Expression, regex: '^.*(.{4})$', replacement: '**** $1'}
    exceptions: {groups: [HR]}
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: Discovered.Entity.Date of Birth}]
      maskingConfig: {type: Grouping, timePrecision: YEAR}
    exceptions: {groups: [HR]}
`},
	{"customers-by-country.yaml", `name: Customers of one's own countries
policyKey: customers-by-country
type: data
actions:
- rules:
  - type: Row Restriction By User Entitlements
    config:
      operator: all
      matches: [{type: attribute, attribute: Country, tag: Discovered.Entity.Country}]
    exceptions: {groups: [HR]}
circumstances:
- {type: columnTags, columnTag: Discovered.Entity.Country}
`},
}

func (d *demo) savePolicies() error {
	start := time.Now()
	d.say("Global policies, saved as V2 YAML (POST /api/v2/policy, as custos policy save <file> does)")
	for _, p := range policies {
		d.line("--- %s", p.file)
		for _, l := range strings.Split(strings.TrimRight(p.doc, "\n"), "\n") {
			d.line("    %s", l)
		}
		if _, err := d.api("POST", "/api/v2/policy", p.doc, nil); err != nil {
			return err
		}
	}
	if err := d.waitEnforced(); err != nil {
		return err
	}
	d.line("custos pushed them into the database in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

// waitEnforced waits until alice's view of the customers shows the policies:
// policies reach the database asynchronously.
func (d *demo) waitEnforced() error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		rows, err := d.query("alice", `SELECT count(*) FILTER (WHERE email LIKE '*****@%'), count(DISTINCT country) FROM shop_governed.customers`)
		if err == nil && rows[1][0] != "0" && rows[1][1] == "2" {
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the policies did not reach the database within 60 s (last: %v); see GET /integrations/%s/status", last, d.integration)
}

const showQuery = `SELECT customer_id, first_name, email, ssn, credit_card, birth_date, country
FROM shop_governed.customers ORDER BY customer_id LIMIT 6`

func (d *demo) show() error {
	d.say("The same SELECT, as alice and as bob:")
	for _, l := range strings.Split(showQuery, "\n") {
		d.line("  %s", l)
	}
	for _, who := range []struct{ role, what string }{
		{"alice", "alice (Country United States, Mexico; not in HR): her countries only, personal data masked"},
		{"bob", "bob (HR): every row, nothing masked"},
	} {
		rows, err := d.query(who.role, showQuery)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.out, "\n   as %s\n", who.what)
		printTable(d.out, rows)
		total, err := d.query(who.role, `SELECT count(*), count(DISTINCT country) FROM shop_governed.customers`)
		if err != nil {
			return err
		}
		d.line("(%s customers in all, from %s countries)", total[1][0], total[1][1])
	}
	return nil
}

// query runs sql as role and returns a header row and the rows, as text.
func (d *demo) query(role, sql string) ([][]string, error) {
	c, err := pgx.Connect(d.ctx, d.pg.DSNAs(role, d.roles[role], database))
	if err != nil {
		return nil, err
	}
	defer c.Close(d.ctx)
	rows, err := c.Query(d.ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	var head []string
	for _, f := range rows.FieldDescriptions() {
		head = append(head, f.Name)
	}
	out = append(out, head)
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				row[i] = "NULL"
			case time.Time:
				row[i] = x.Format("2006-01-02")
			default:
				row[i] = fmt.Sprint(x)
			}
			if len(row[i]) > 24 {
				row[i] = row[i][:21] + "..."
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func printTable(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for n, r := range rows {
		var b strings.Builder
		b.WriteString("   ")
		for i, c := range r {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c + strings.Repeat(" ", widths[i]-len([]rune(c))))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if n == 0 {
			var sep []string
			for _, wd := range widths {
				sep = append(sep, strings.Repeat("-", wd))
			}
			fmt.Fprintln(w, "   "+strings.Join(sep, "-+-"))
		}
	}
}

func (d *demo) writes() error {
	d.say("Writes go to the table itself, for WRITE only, bound by the reader's row filter and masks")
	for _, role := range []string{"alice", "bob"} {
		sql := fmt.Sprintf(`INSERT INTO shop.products (product_id, sku, product_name, category, price_cents, in_stock) VALUES (%d, 'DEMO-%s', 'Demo Mug', 'Kitchen', 999, true)`,
			map[string]int{"alice": 9001, "bob": 9002}[role], role)
		_, err := d.exec1(role, sql)
		d.line("%-5s INSERT INTO shop.products ...  -> %s", role, outcome(err, "1 row inserted"))
	}
	_, err := d.query("alice", `SELECT * FROM shop.customers LIMIT 1`)
	d.line("alice SELECT * FROM shop.customers   -> %s", outcome(err, "rows (unexpected!)"))

	// carol writes under her row filter (France) and the masks.
	var french, american string
	if err := d.exec(database, func(c *pgx.Conn) error {
		return c.QueryRow(d.ctx, `SELECT min(customer_id) FILTER (WHERE country = 'France')::text,
			min(customer_id) FILTER (WHERE country = 'United States')::text FROM shop.customers`).Scan(&french, &american)
	}); err != nil {
		return err
	}
	if err := d.waitWriter("carol"); err != nil {
		return err
	}
	points := func(id string) string {
		rows, err := d.query("bob", `SELECT loyalty_points FROM shop_governed.customers WHERE customer_id = `+id)
		if err != nil || len(rows) < 2 {
			return fmt.Sprintf("? (%v)", err)
		}
		return rows[1][0]
	}
	before := points(american)
	fmt.Fprintf(d.out, "\n   as carol (Country France, has = write; not in HR)\n")
	for _, w := range []struct{ sql, note string }{
		{`UPDATE shop.customers SET loyalty_points = loyalty_points + 100 WHERE customer_id = ` + french, "(a French customer)"},
		{`UPDATE shop.customers SET loyalty_points = loyalty_points + 100 WHERE customer_id = ` + american, "(an American one)"},
		{`UPDATE shop.customers SET loyalty_points = 0 WHERE ssn LIKE '1%'`, "(SSNs are masked for her)"},
		{`UPDATE shop.customers SET country = 'Spain' WHERE customer_id = ` + french, "(out of her rows)"},
	} {
		n, err := d.exec1("carol", w.sql)
		d.line("%s %s", w.sql, w.note)
		d.line("  -> %s", outcome(err, fmt.Sprintf("%d row(s) changed", n)))
	}
	after, verdict := points(american), "the hidden row is untouched"
	if after != before {
		verdict = "the hidden row changed (unexpected!)"
	}
	d.line("bob (HR) reads customer %s's loyalty points: %s before, %s after: %s", american, before, after, verdict)
	return nil
}

// waitWriter waits until role may write: grants reach the database
// asynchronously.
func (d *demo) waitWriter(role string) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if _, last = d.exec1(role, `UPDATE shop.customers SET loyalty_points = loyalty_points WHERE false`); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s was not granted WRITE within 60 s (last: %v); see GET /integrations/%s/status", role, last, d.integration)
}

// exec1 runs one statement as role and returns the rows it changed.
func (d *demo) exec1(role, sql string) (int64, error) {
	c, err := pgx.Connect(d.ctx, d.pg.DSNAs(role, d.roles[role], database))
	if err != nil {
		return 0, err
	}
	defer c.Close(d.ctx)
	tag, err := c.Exec(d.ctx, sql)
	return tag.RowsAffected(), err
}

func outcome(err error, ok string) string {
	if err == nil {
		return ok
	}
	msg := err.Error()
	if i := strings.Index(msg, " (SQLSTATE"); i > 0 {
		msg = msg[:i]
	}
	return msg
}

func (d *demo) audit() error {
	if !d.pg.HasPgaudit() {
		return nil
	}
	var st struct {
		DataSources []struct {
			DataSourceID int64  `json:"dataSourceId"`
			View         string `json:"view"`
		} `json:"dataSources"`
	}
	if _, err := d.api("GET", "/integrations/"+d.integration+"/status", nil, &st); err != nil {
		return err
	}
	var id int64
	for _, s := range st.DataSources {
		if s.View == `"shop_governed"."customers"` {
			id = s.DataSourceID
		}
	}
	type record struct {
		DateTime string         `json:"dateTime"`
		UserID   *string        `json:"userId"`
		SQLUser  *string        `json:"sqlUser"`
		Extra    map[string]any `json:"extra"`
	}
	var page struct {
		Hits []record `json:"hits"`
	}
	path := fmt.Sprintf("/audit?dataSourceId=%d&recordType=auditQuery&sortOrder=asc", id)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := d.api("GET", path, nil, &page); err != nil {
			return err
		}
		if len(page.Hits) >= 4 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	d.say("Who read shop.customers (pgaudit's log, ingested by custos: GET %s)", path)
	for _, r := range page.Hits {
		user := "-"
		if r.UserID != nil {
			user = *r.UserID
		}
		q := strings.Join(strings.Fields(fmt.Sprint(r.Extra["query"])), " ")
		if len(q) > 70 {
			q = q[:67] + "..."
		}
		d.line("%-6s (role %-8s) %s", user, deref(r.SQLUser), q)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (d *demo) cleanup(keep bool, failure error) error {
	if keep && failure == nil && d.pg != nil {
		fmt.Fprintf(d.out, "\nKept running: custos at %s (admin API key %s), PostgreSQL on 127.0.0.1:%d (superuser postgres, password %s; alice %s, bob %s, carol %s).\nPress Ctrl-C to stop and clean up.\n",
			d.url, d.key, d.pg.Port(), d.pg.Password(), d.roles["alice"], d.roles["bob"], d.roles["carol"])
		<-d.ctx.Done()
	}
	var errs []error
	if d.stopCustos != nil {
		d.stopCustos()
	}
	if d.pg != nil {
		if err := d.pg.Stop(); err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintf(d.out, "\nCleaned up: stopped PostgreSQL (pid %d) and custos, removed %s\n", d.pg.PID(), d.pg.Dir())
	}
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
