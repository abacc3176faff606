package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// remoteDB is a PostgreSQL database custos registers in a test.
type remoteDB struct {
	dsn  string
	conn map[string]any // the V2 connection block that reaches it
}

// newRemote creates an empty database; load fills it. dsn connects as the
// superuser (to set the database up), conn as a role that can only read (as
// custos registers: a superuser is refused).
func newRemote(t testing.TB) *remoteDB {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	u, _ := url.Parse(pgtest.NewReader(t, dsn))
	port, _ := strconv.Atoi(u.Port())
	password, _ := u.User.Password()
	return &remoteDB{dsn: dsn, conn: map[string]any{"handler": "PostgreSQL", "hostname": u.Hostname(), "port": port,
		"database": strings.TrimPrefix(u.Path, "/"), "username": u.User.Username(), "password": password}}
}

// sampleRemote is a database holding the sample shop.
func sampleRemote(t testing.TB) *remoteDB {
	t.Helper()
	r := newRemote(t)
	if err := sample.Load(context.Background(), r.dsn); err != nil {
		t.Fatal(err)
	}
	return r
}

// exec runs statements on the remote database.
func (r *remoteDB) exec(t testing.TB, sql string) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// with returns the connection block with some fields changed.
func (r *remoteDB) with(kv ...any) map[string]any {
	c := map[string]any{}
	for k, v := range r.conn {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

// saveResult is the response of POST /api/v2/data.
type saveResult struct {
	DryRun             bool     `json:"dryRun"`
	Creating           []string `json:"creating"`
	Updating           []string `json:"updating"`
	Deleting           []string `json:"deleting"`
	NoChange           []string `json:"noChange"`
	DetectionRunning   bool     `json:"detectionRunning"`
	TagsUpdated        bool     `json:"tagsUpdated"`
	ConnectionString   *string  `json:"connectionString"`
	ConnectionVerified bool     `json:"connectionVerified"`
	JobID              string   `json:"jobId"`
	JobState           string   `json:"jobState"`
	SDDJobs            []string `json:"sddJobs"`
	Warnings           []string `json:"warnings"`
}

// post posts a V2 document as the administrator, waiting for registration.
func post(t testing.TB, env *servertest.Env, want int, doc map[string]any) saveResult {
	t.Helper()
	var res saveResult
	r := env.Admin(t, want, "POST", "/api/v2/data?wait=-1", doc)
	if want == 200 {
		r.JSON(t, &res)
	}
	return res
}

// noSDD is the options block that turns discovery off.
var noSDD = map[string]any{"disableSensitiveDataDiscovery": true}

type dsJSON struct {
	ID                 int64   `json:"id"`
	Name               string  `json:"name"`
	Description        *string `json:"description"`
	SQLSchemaName      string  `json:"sqlSchemaName"`
	SQLTableName       string  `json:"sqlTableName"`
	RemoteSchema       string  `json:"remoteSchema"`
	RemoteTable        string  `json:"remoteTable"`
	RemoteKind         string  `json:"remoteKind"`
	BlobHandlerType    string  `json:"blobHandlerType"`
	ConnectionKey      *string `json:"connectionKey"`
	ConnectionString   *string `json:"connectionString"`
	ConnectionVerified bool    `json:"connectionVerified"`
	Status             string  `json:"status"`
	StatusInfo         struct {
		SQL struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"sql"`
	} `json:"statusInfo"`
	Disabled           bool    `json:"disabled"`
	DisabledReason     *string `json:"disabledReason"`
	SubscriptionStatus string  `json:"subscriptionStatus"`
	SDDTemplate        *string `json:"sddTemplate"`
	SchemaEvolutionID  int64   `json:"schemaEvolutionId"`
	Tags               []struct {
		Name    string `json:"name"`
		Context string `json:"context"`
	} `json:"tags"`
}

func (d dsJSON) tagNames() []string {
	var out []string
	for _, t := range d.Tags {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}

func getDS(t testing.TB, env *servertest.Env, name string) dsJSON {
	t.Helper()
	var d dsJSON
	env.Admin(t, 200, "GET", "/dataSource/name/"+url.PathEscape(name), nil).JSON(t, &d)
	return d
}

type dictJSON struct {
	Metadata []struct {
		Name        string  `json:"name"`
		DataType    string  `json:"dataType"`
		RemoteType  *string `json:"remoteType"`
		Nullable    bool    `json:"nullable"`
		PrimaryKey  bool    `json:"primaryKey"`
		Description *string `json:"description"`
		IsNew       bool    `json:"isNew"`
		Tags        []struct {
			Name    string `json:"name"`
			Context string `json:"context"`
		} `json:"tags"`
	} `json:"metadata"`
	Types []string `json:"types"`
}

func dictionary(t testing.TB, env *servertest.Env, id int64) dictJSON {
	t.Helper()
	var d dictJSON
	env.Admin(t, 200, "GET", fmt.Sprintf("/dictionary/%d", id), nil).JSON(t, &d)
	return d
}

// columnTags returns, per column, the tags attached in the given context
// ("" for every context), sorted.
func columnTags(t testing.TB, env *servertest.Env, id int64, context string) map[string][]string {
	t.Helper()
	var res struct {
		Tags []struct {
			Name      string `json:"name"`
			ModelType string `json:"modelType"`
			ModelID   string `json:"modelId"`
			Context   string `json:"context"`
		} `json:"tags"`
	}
	env.Admin(t, 200, "GET", fmt.Sprintf("/dataSource/%d/tags", id), nil).JSON(t, &res)
	out := map[string][]string{}
	for _, tg := range res.Tags {
		if tg.ModelType != "column" || (context != "" && tg.Context != context) {
			continue
		}
		_, col, _ := strings.Cut(tg.ModelID, "_")
		out[col] = append(out[col], tg.Name)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// countDataSources counts every data source, disabled ones included.
func countDataSources(t testing.TB, env *servertest.Env) int {
	t.Helper()
	var res struct {
		Count int `json:"count"`
	}
	env.Admin(t, 200, "GET", "/dataSource?size=1", nil).JSON(t, &res)
	return res.Count
}

// waitJobs waits for jobs to finish and fails unless all completed.
func waitJobs(t testing.TB, env *servertest.Env, ids []string) {
	t.Helper()
	if len(ids) == 0 {
		return
	}
	var res map[string]struct {
		State  string  `json:"state"`
		Output *string `json:"output"`
	}
	env.Admin(t, 200, "POST", "/jobs/statuses", map[string]any{"jobIds": ids, "wait": -1}).JSON(t, &res)
	for id, j := range res {
		if j.State != store.JobCompleted {
			t.Fatalf("job %s: %s %v", id, j.State, deref(j.Output))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

var sampleNames = []string{"Marketing Gold Members", "Marketing Loyalty Members", "Shop Customer Contacts", "Shop Customers",
	"Shop Orders", "Shop Products"}

func TestV2RegistersTheSampleDatabase(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		remote := sampleRemote(t)
		res := post(t, env, 200, map[string]any{"connectionKey": "pg/sample", "connection": remote.conn, "options": noSDD})
		if !slices.Equal(res.Creating, sampleNames) || res.JobState != "completed" || !res.ConnectionVerified ||
			len(res.Updating)+len(res.Deleting)+len(res.NoChange) != 0 || res.ConnectionString == nil {
			t.Fatalf("first registration: %+v", res)
		}
		if n := countDataSources(t, env); n != 6 {
			t.Fatalf("%d data sources", n)
		}

		// The mixed-case table and its columns keep their exact names.
		lm := getDS(t, env, "Marketing Loyalty Members")
		if lm.RemoteSchema != "Marketing" || lm.RemoteTable != "Loyalty Members" || lm.RemoteKind != "table" ||
			lm.SQLTableName != "loyalty_members" || lm.SQLSchemaName != "marketing" || lm.BlobHandlerType != "PostgreSQL" ||
			!lm.ConnectionVerified || lm.Status != "passed" || deref(lm.ConnectionKey) != "pg/sample" || lm.SubscriptionStatus != "owner" {
			t.Fatalf("Loyalty Members: %+v", lm)
		}
		type col struct {
			name, typ, remote string
			nullable, pk      bool
		}
		check := func(id int64, want []col) {
			t.Helper()
			d := dictionary(t, env, id)
			if len(d.Metadata) != len(want) {
				t.Fatalf("data source %d: %d columns, want %d", id, len(d.Metadata), len(want))
			}
			for i, w := range want {
				g := d.Metadata[i]
				if g.Name != w.name || g.DataType != w.typ || deref(g.RemoteType) != w.remote || g.Nullable != w.nullable ||
					g.PrimaryKey != w.pk || g.IsNew {
					t.Errorf("data source %d column %d: %+v, want %+v", id, i, g, w)
				}
			}
		}
		check(lm.ID, []col{{"Member ID", "integer", "integer", false, true}, {"customerId", "bigint", "bigint", true, false},
			{"Full Name", "text", "text", false, false}, {"EMail Address", "text", "text", false, false},
			{"Tier", "text", "text", false, false}, {"Points Balance", "integer", "integer", false, false},
			{"Joined On", "date", "date", false, false}})
		gold := getDS(t, env, "Marketing Gold Members")
		if gold.RemoteKind != "view" {
			t.Fatalf("the view registers as %q", gold.RemoteKind)
		}
		check(gold.ID, []col{{"Member ID", "integer", "integer", true, false}, {"Full Name", "text", "text", true, false},
			{"EMail Address", "text", "text", true, false}})
		cust := getDS(t, env, "Shop Customers")
		if deref(cust.Description) != "People who bought something, with their contact and payment details" {
			t.Fatalf("the table comment is the description: %v", deref(cust.Description))
		}
		cd := dictionary(t, env, cust.ID)
		byName := map[string]int{}
		for i, c := range cd.Metadata {
			byName[c.Name] = i
		}
		for name, want := range map[string][2]string{"customer_id": {"bigint", "bigint"}, "ssn": {"text", "character(11)"},
			"state": {"text", "character(2)"}, "birth_date": {"date", "date"}, "created_at": {"timestamp", "timestamp with time zone"},
			"last_login_ip": {"inet", "inet"}, "loyalty_points": {"integer", "integer"}} {
			c := cd.Metadata[byName[name]]
			if c.DataType != want[0] || deref(c.RemoteType) != want[1] {
				t.Errorf("customers.%s: %s/%s, want %s/%s", name, c.DataType, deref(c.RemoteType), want[0], want[1])
			}
		}
		if c := cd.Metadata[byName["ssn"]]; deref(c.Description) != "US social security number, with or without dashes" {
			t.Errorf("column comments are descriptions: %q", deref(c.Description))
		}

		// The V2 listing and the document as stored, without the password.
		var keys []map[string]any
		env.Admin(t, 200, "GET", "/api/v2/data", nil).JSON(t, &keys)
		if len(keys) != 1 || keys[0]["connectionKey"] != "pg/sample" || keys[0]["dataSources"] != float64(6) {
			t.Fatalf("keys: %v", keys)
		}
		doc := env.Admin(t, 200, "GET", "/api/v2/data/"+url.PathEscape("pg/sample"), nil)
		password := remote.conn["password"].(string)
		if strings.Contains(string(doc.Body), password) || strings.Contains(string(doc.Body), "password") {
			t.Fatalf("the document shows the password: %s", doc.Body)
		}
		var sources []string
		env.Admin(t, 200, "GET", "/api/v2/data/"+url.PathEscape("pg/sample")+"/sources", nil).JSON(t, &sources)
		if !slices.Equal(sources, sampleNames) {
			t.Fatalf("sources: %v", sources)
		}
		env.Must(t, 404, servertest.AdminKey, "GET", "/api/v2/data/nope/sources", nil)
		// Another user reads the connection only once they own one of its data sources.
		ownerID, ownerKey := env.NewUser(t, "connection-reader")
		env.Must(t, 403, ownerKey, "GET", "/api/v2/data/"+url.PathEscape("pg/sample"), nil)
		env.Must(t, 403, ownerKey, "GET", "/api/v2/data/"+url.PathEscape("pg/sample")+"/sources", nil)
		env.Must(t, 200, ownerKey, "GET", "/api/v2/data", nil).JSON(t, &keys)
		if len(keys) != 0 {
			t.Fatalf("a stranger lists connections: %v", keys)
		}
		env.Admin(t, 200, "POST", fmt.Sprintf("/dataSource/%d/access", cust.ID), map[string]any{"profileId": ownerID, "state": "owner"})
		env.Must(t, 200, ownerKey, "GET", "/api/v2/data/"+url.PathEscape("pg/sample")+"/sources", nil)
		env.Must(t, 200, ownerKey, "GET", "/api/v2/data", nil).JSON(t, &keys)
		if len(keys) != 1 {
			t.Fatalf("an owner lists connections: %v", keys)
		}
		var secret string
		if err := env.App.DB.QueryRow(t.Context(), `SELECT secret FROM connections`).Scan(&secret); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "v1:") || strings.Contains(secret, password) {
			t.Fatalf("the password is not sealed: %q", secret)
		}

		// Posting the document read back (without its password) changes nothing.
		var back map[string]any
		doc.JSON(t, &back)
		back["options"] = noSDD
		again := post(t, env, 200, back)
		if !slices.Equal(again.NoChange, sampleNames) || len(again.Creating)+len(again.Updating)+len(again.Deleting) != 0 || again.TagsUpdated {
			t.Fatalf("re-posting the same document: %+v", again)
		}
		// Every data source created wrote its audit record and its change.
		var n int
		if err := env.App.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_records WHERE record_type = 'dataSourceCreate'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 6 {
			t.Fatalf("%d dataSourceCreate audit records", n)
		}
		changes, err := env.App.DB.ChangesAfter(t.Context(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		created := 0
		for _, c := range changes {
			if c.Kind == "dataSourceCreated" && c.ModelType == "datasource" {
				created++
			}
		}
		if created != 6 {
			t.Fatalf("%d dataSourceCreated changes", created)
		}
	})
}
