package governance_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/identity"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const admin = servertest.AdminKey

// fixture builds the state a test needs directly through the store and the
// services (data sources come from the catalog, which these tests do not
// use), and reads the answers through the HTTP API.
type fixture struct {
	t      testing.TB
	env    *servertest.Env
	app    *server.App
	ctx    context.Context
	root   *auth.Principal
	users  map[string]int64
	groups map[string]int64
	conns  map[string]int64
	tagged map[string]bool
	seq    int
}

func newFixture(t testing.TB, backend servertest.Backend, tweak ...func(*server.Config)) *fixture {
	env := servertest.New(t, backend, tweak...)
	return fixtureOf(t, env)
}

func fixtureOf(t testing.TB, env *servertest.Env) *fixture {
	f := &fixture{t: t, env: env, app: env.App, ctx: context.Background(), users: map[string]int64{},
		groups: map[string]int64{}, conns: map[string]int64{}, tagged: map[string]bool{},
		root: &auth.Principal{UserID: 1, IAMID: "bim", Username: "admin", Permissions: []string{auth.Admin}}}
	registerCatalogModels(env.App.Tags)
	return f
}

// registerCatalogModels makes data sources and columns taggable, as the
// catalog does when it is part of the server.
func registerCatalogModels(ts *tags.Service) {
	ts.Register("datasource", tags.Model{Check: func(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error) {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return "", errs.BadRequestf("a data source id is a number")
		}
		if _, err := q.GetDataSource(ctx, n); errors.Is(err, store.ErrNotFound) {
			return "", errs.NotFoundf("data source %d does not exist", n)
		} else if err != nil {
			return "", err
		}
		return id, nil
	}})
	ts.Register("column", tags.Model{Check: func(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error) {
		ds, name, ok := store.ParseColumnModelID(id)
		if !ok {
			return "", errs.BadRequestf("a column id is <dataSourceId>_<column>")
		}
		cols, err := q.ColumnsOf(ctx, ds)
		if err != nil {
			return "", err
		}
		for _, c := range cols[ds] {
			if c.Name == name {
				return id, nil
			}
		}
		return "", errs.NotFoundf("column %q of data source %d does not exist", name, ds)
	}})
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// makeTags creates tags (with their parents) that do not exist yet.
func (f *fixture) makeTags(names ...string) {
	f.t.Helper()
	var in []tags.TagInput
	for _, n := range names {
		if !f.tagged[n] {
			f.tagged[n] = true
			in = append(in, tags.TagInput{Name: n})
		}
	}
	if len(in) > 0 {
		_, err := f.app.Tags.Save(f.ctx, f.root, nil, in)
		f.must(err)
	}
}

// user returns the id of a user, creating it.
func (f *fixture) user(name string) int64 {
	f.t.Helper()
	if id, ok := f.users[name]; ok {
		return id
	}
	u, err := f.app.Identity.CreateUser(f.ctx, f.root, identity.NewUser{IAMID: "bim", UserID: name, Name: name})
	f.must(err)
	f.users[name] = u.ID
	return u.ID
}

// group returns the id of a group, creating it.
func (f *fixture) group(name string) int64 {
	f.t.Helper()
	if id, ok := f.groups[name]; ok {
		return id
	}
	g, err := f.app.Identity.CreateGroup(f.ctx, f.root, identity.GroupInput{IAMID: "bim", Name: &name})
	f.must(err)
	f.groups[name] = g.ID
	return g.ID
}

func (f *fixture) join(group, user string) {
	f.t.Helper()
	f.user(user)
	_, err := f.app.Identity.AddMember(f.ctx, f.root, f.group(group), "bim", user)
	f.must(err)
}

func (f *fixture) attribute(user, name, value string) {
	f.t.Helper()
	f.user(user)
	_, err := f.app.Identity.ChangeAttribute(f.ctx, f.root, "bim", "user", user, name, value, true)
	f.must(err)
}

// dsSpec describes a data source to create.
type dsSpec struct {
	Name        string
	Server      string
	CreatedAt   time.Time
	Tags        []string
	EventTime   string
	Columns     []policy.Column
	OwnerUsers  []string
	OwnerGroups []string
}

// dataSource creates a data source with its columns, tags and owners the
// way the catalog does, and returns its id.
func (f *fixture) dataSource(spec dsSpec) int64 {
	f.t.Helper()
	f.seq++
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("ds%d", f.seq)
	}
	if spec.CreatedAt.IsZero() {
		spec.CreatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var all []string
	all = append(all, spec.Tags...)
	for _, c := range spec.Columns {
		all = append(all, c.Tags...)
	}
	f.makeTags(all...)
	owners := map[string]int64{}
	for _, u := range spec.OwnerUsers {
		owners["u"+u] = f.user(u)
	}
	for _, g := range spec.OwnerGroups {
		owners["g"+g] = f.group(g)
	}
	var id int64
	f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
		now := store.Now()
		d := &store.DataSource{Name: spec.Name, Technology: "PostgreSQL", RemoteKind: "table", Status: store.DataSourceEnabled,
			CreatedAt: spec.CreatedAt, UpdatedAt: now}
		if spec.EventTime != "" {
			d.EventTimeColumn = &spec.EventTime
		}
		if spec.Server != "" {
			cid, ok := f.conns[spec.Server]
			if !ok {
				srv := spec.Server
				c := &store.Connection{ConnectionKey: srv, Technology: "PostgreSQL", ConnectionString: &srv,
					Config: store.JSON("{}"), CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateConnection(f.ctx, c); err != nil {
					return err
				}
				cid = c.ID
				f.conns[spec.Server] = cid
			}
			d.ConnectionID = &cid
		}
		if err := tx.CreateDataSource(f.ctx, d); err != nil {
			return err
		}
		id = d.ID
		cols := make([]store.Column, len(spec.Columns))
		for i, c := range spec.Columns {
			typ := c.Type
			if typ == "" {
				typ = "text"
			}
			cols[i] = store.Column{Name: c.Name, Position: int64(i), DataType: typ, Nullable: true, CreatedAt: now, UpdatedAt: now}
		}
		if err := tx.ReplaceColumns(f.ctx, id, cols); err != nil {
			return err
		}
		keys := make([]string, 0, len(owners))
		for k := range owners {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			typ := access.ModelUser
			if k[0] == 'g' {
				typ = access.ModelGroup
			}
			e := &access.Entry{Access: store.Access{DataSourceID: id, ModelType: typ, ModelID: owners[k], State: store.AccessOwner,
				AccessGrant: store.GrantRead, CreatedAt: now, UpdatedAt: now}}
			if err := access.Put(f.ctx, &tx.Queries, e); err != nil {
				return err
			}
		}
		return tx.AppendChange(f.ctx, "dataSourceCreated", "datasource", strconv.FormatInt(id, 10))
	}))
	if len(spec.Tags) > 0 {
		_, err := f.app.Tags.Attach(f.ctx, f.root, "datasource", strconv.FormatInt(id, 10), spec.Tags, "")
		f.must(err)
	}
	for _, c := range spec.Columns {
		if len(c.Tags) > 0 {
			_, err := f.app.Tags.Attach(f.ctx, f.root, "column", store.ColumnModelID(id, c.Name), c.Tags, "")
			f.must(err)
		}
	}
	return id
}

// dropDataSource deletes a data source the way the catalog does.
func (f *fixture) dropDataSource(id int64) {
	f.t.Helper()
	f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
		if err := tx.DeleteDataSource(f.ctx, id); err != nil {
			return err
		}
		return tx.AppendChange(f.ctx, "dataSourceDeleted", "datasource", strconv.FormatInt(id, 10))
	}))
}

// audited asserts that every change wrote its own audit record.
func (f *fixture) audited() {
	f.t.Helper()
	if n := f.app.API.AuditFallbacks(); n != 0 {
		f.t.Errorf("%d changes wrote no audit record of their own", n)
	}
}

// sync applies the change log now.
func (f *fixture) sync() {
	f.t.Helper()
	f.must(f.app.Governance.Sync(f.ctx))
}

// call sends a request as the administrator and expects status want,
// decoding a JSON answer into out when given.
func (f *fixture) call(want int, method, path string, body any, out any) []byte {
	f.t.Helper()
	r := f.env.Must(f.t, want, admin, method, path, body)
	if out != nil {
		r.JSON(f.t, out)
	}
	return r.Body
}

// recorder collects what the callbacks announce.
type recorder struct {
	mu        sync.Mutex
	ds, users map[int64]int
	allDS     int
	allUsers  int
}

func record(app *server.App) *recorder {
	r := &recorder{ds: map[int64]int{}, users: map[int64]int{}}
	app.Governance.Subscribe(func(ids []int64) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if ids == nil {
			r.allDS++
		}
		for _, id := range ids {
			r.ds[id]++
		}
	})
	app.Governance.SubscribeUsers(func(ids []int64) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if ids == nil {
			r.allUsers++
		}
		for _, id := range ids {
			r.users[id]++
		}
	})
	return r
}

// reset forgets what was announced so far (after the deliveries in flight).
func (r *recorder) reset() {
	time.Sleep(50 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ds, r.users, r.allDS, r.allUsers = map[int64]int{}, map[int64]int{}, 0, 0
}

// waitDS waits until every id was announced, failing after a few seconds.
func (r *recorder) wait(t testing.TB, what string, pick func(*recorder) map[int64]int, ids ...int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		missing := []int64{}
		for _, id := range ids {
			if pick(r)[id] == 0 {
				missing = append(missing, id)
			}
		}
		r.mu.Unlock()
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %v were not announced", what, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *recorder) waitDS(t testing.TB, ids ...int64) {
	t.Helper()
	r.wait(t, "data sources", func(r *recorder) map[int64]int { return r.ds }, ids...)
}

func (r *recorder) waitUsers(t testing.TB, ids ...int64) {
	t.Helper()
	r.wait(t, "users", func(r *recorder) map[int64]int { return r.users }, ids...)
}

// announced returns the data sources and users announced so far.
func (r *recorder) announced() (ds, users []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.ds {
		ds = append(ds, id)
	}
	for id := range r.users {
		users = append(users, id)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	return ds, users
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
