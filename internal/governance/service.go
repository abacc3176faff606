// Package governance owns global policies, data sources' own policies
// (policy handlers), purposes, and the engine service: one policy.Index per
// server process, loaded from the store at start and kept current by
// following the store's change log, so that every server sharing a store
// decides alike. It answers the decision endpoints and implements what
// enforcement consumes (Plan, Grants, Entitlements, Subscribe,
// SubscribeUsers).
package governance

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Options tune the service.
type Options struct {
	Log *slog.Logger
	// Registry receives the service's metrics; nil registers none.
	Registry prometheus.Registerer
	// PollInterval is how often the change log is read; default 500ms.
	PollInterval time.Duration
	// GapTimeout is how long, on SQLite, a hole in the change log's ids is
	// waited for before it is taken for a transaction that rolled back;
	// default 5s. PostgreSQL follows the log by transaction ids instead.
	GapTimeout time.Duration
	// Acting gives what users act under (their current project); nil
	// means no purposes and no limits.
	Acting ActingSource
	// ProjectActing gives what a user acts under in a project, for
	// decisions asked as if the user acted under it; nil means no project
	// exists.
	ProjectActing ProjectActing
}

// Service is the governance service. Create it with New, load it with Load,
// and run its loop with Run.
type Service struct {
	db     *store.DB
	opts   Options
	log    *slog.Logger
	ix     atomic.Pointer[policy.Index]
	people *people
	notify *notifier

	// sources are the data sources held by the index, with what the service
	// needs to know about each beyond its plan.
	srcMu   sync.RWMutex
	sources map[int64]*sourceInfo

	follow follower

	purposeHook atomic.Pointer[func(ctx context.Context, tx *store.Tx, purposeIDs []int64) error]

	recomputed prometheus.Counter
	applied    prometheus.Counter
	cursorLag  prometheus.Gauge
}

// sourceInfo is what the service keeps about a data source in the index.
type sourceInfo struct {
	name string
	// auto is set when the plan admits some users automatically (an
	// automatic anyone or entitlements subscription), so that computing a
	// user's grants visits only these data sources.
	auto bool
}

// New returns the service; call Load before serving.
func New(db *store.DB, opts Options) *Service {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.GapTimeout <= 0 {
		opts.GapTimeout = 5 * time.Second
	}
	s := &Service{db: db, opts: opts, log: opts.Log, people: newPeople(), notify: newNotifier(),
		sources: map[int64]*sourceInfo{}}
	s.ix.Store(policy.NewIndex())
	s.follow.seen, s.follow.written = map[int64]bool{}, map[int64]int64{}
	s.recomputed = prometheus.NewCounter(prometheus.CounterOpts{Name: "custos_policy_plans_recomputed_total",
		Help: "Data source plans that changed because a policy, data source, tag or owner changed."})
	s.applied = prometheus.NewCounter(prometheus.CounterOpts{Name: "custos_policy_changes_applied_total",
		Help: "Change-log entries the policy engine applied."})
	s.cursorLag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "custos_policy_change_backlog",
		Help: "Change-log entries the engine keeps track of: applied above its position, waiting for an older transaction to finish."})
	if opts.Registry != nil {
		opts.Registry.MustRegister(s.recomputed, s.applied, s.cursorLag)
	}
	return s
}

func (s *Service) index() *policy.Index { return s.ix.Load() }

// Load fills the engine from the store in a few set-based queries: the
// policies, every enabled data source with its columns, tags, owners, own
// policy and owner-applied policies, and every user's entitlements. It
// also makes sure the built-in purposes exist.
func (s *Service) Load(ctx context.Context) error {
	if err := s.ensureBuiltinPurposes(ctx); err != nil {
		return fmt.Errorf("create the built-in purposes: %w", err)
	}
	s.follow.mu.Lock()
	defer s.follow.mu.Unlock()
	// Changes the load may not see are replayed after it: on PostgreSQL
	// those written by transactions not finished before it starts, on
	// SQLite those of the last GapTimeout.
	var cursor *int64
	var horizon int64
	if s.db.Backend() == store.Postgres {
		h, err := s.db.XIDHorizon(ctx)
		if err != nil {
			return fmt.Errorf("read the change log: %w", err)
		}
		horizon = h
	} else if err := s.db.QueryRow(ctx, `SELECT MAX(id) FROM changes WHERE created_at < $1`,
		store.Now().Add(-s.opts.GapTimeout)).Scan(&cursor); err != nil {
		return fmt.Errorf("read the change log: %w", err)
	}
	ix := policy.NewIndex()
	pols, err := allPolicies(ctx, &s.db.Queries)
	if err != nil {
		return fmt.Errorf("load policies: %w", err)
	}
	for _, sp := range pols {
		p, err := decodeStored(sp)
		if err == nil {
			_, err = ix.UpsertPolicy(sp.ID, p)
		}
		if err != nil {
			s.log.Error("a stored policy does not load; it is ignored", "policy", sp.PolicyKey, "error", err)
		}
	}
	loaded, err := loadSources(ctx, &s.db.Queries, nil)
	if err != nil {
		return fmt.Errorf("load data sources: %w", err)
	}
	sources := make(map[int64]*sourceInfo, len(loaded))
	for id, ls := range loaded {
		if ls.row.Status != store.DataSourceEnabled {
			continue
		}
		ds := s.dataSourceOf(ls)
		if _, err := ix.UpsertDataSource(ds); err != nil {
			s.log.Error("a data source does not load into the policy engine", "dataSource", id, "error", err)
			continue
		}
		plan, _ := ix.Plan(id)
		sources[id] = &sourceInfo{name: ls.row.Name, auto: hasAutomatic(plan)}
	}
	if _, _, err := s.people.load(ctx, &s.db.Queries, nil, s.opts.Acting); err != nil {
		return fmt.Errorf("load users: %w", err)
	}
	s.ix.Store(ix)
	s.srcMu.Lock()
	s.sources = sources
	s.srcMu.Unlock()
	s.follow.cursor, s.follow.seen, s.follow.hole = 0, map[int64]bool{}, time.Time{}
	s.follow.horizon, s.follow.written = horizon, map[int64]int64{}
	if cursor != nil {
		s.follow.cursor = *cursor
	}
	s.follow.expiredUpTo = store.Now()
	s.recomputed.Add(float64(len(sources)))
	s.notify.announce(nil, nil, true, true)
	return nil
}

// dataSourceOf turns a loaded data source into the engine's input.
func (s *Service) dataSourceOf(ls *loadedSource) policy.DataSource {
	ds := policy.DataSource{ID: ls.row.ID, Name: ls.row.Name, CreatedAt: ls.row.CreatedAt, Tags: ls.tags,
		OwnerGroups: ls.ownerGroups, AppliedPolicies: ls.applied, Columns: make([]policy.Column, len(ls.columns))}
	if ls.row.Server != nil {
		ds.Server = *ls.row.Server
	}
	for _, o := range ls.ownerUsers {
		ds.OwnerUsers = append(ds.OwnerUsers, policy.UserRef{IAMID: o.iamid, Username: o.userid})
	}
	names := map[string]bool{}
	for i, c := range ls.columns {
		ds.Columns[i] = policy.Column{Name: c.name, Type: c.typ, Tags: c.tags}
		names[c.name] = true
	}
	if ls.row.EventTimeColumn != nil && names[*ls.row.EventTimeColumn] {
		ds.EventTimeColumn = *ls.row.EventTimeColumn
	}
	if len(ls.local) > 0 {
		lp, err := policy.DecodeStoredLocalV1(ls.local)
		if err != nil {
			s.log.Error("a stored policy handler does not load; the data source is governed without it",
				"dataSource", ls.row.ID, "handler", ls.handlerID, "error", err)
		} else {
			ds.Local = lp
		}
	}
	return ds
}

// decodeStored reads a stored policy document.
func decodeStored(sp *storedPolicy) (*policy.Policy, error) {
	var p policy.Policy
	if err := json.Unmarshal(sp.Document, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// hasAutomatic reports whether a plan admits some users without asking.
func hasAutomatic(p *policy.Plan) bool {
	if p == nil {
		return false
	}
	auto := func(a *policy.Access) bool {
		return a != nil && a.AutomaticSubscription && (a.Type == policy.SubAnyone || a.Type == policy.SubEntitlements)
	}
	return auto(p.Read) || auto(p.Write)
}

// SetPurposeSources plugs in where users' purposes come from (their
// current project) and a project's purposes, and reloads every user. It is
// SetActingSources for sources that give purposes only.
func (s *Service) SetPurposeSources(ctx context.Context, users PurposeSource,
	projects func(ctx context.Context, q *store.Queries, projectID int64) ([]string, error)) error {
	var acting ActingSource
	if users != nil {
		acting = func(ctx context.Context, q *store.Queries, ids []int64) (map[int64]Acting, error) {
			ps, err := users(ctx, q, ids)
			out := make(map[int64]Acting, len(ps))
			for id, p := range ps {
				out[id] = Acting{Purposes: p}
			}
			return out, err
		}
	}
	var project ProjectActing
	if projects != nil {
		project = func(ctx context.Context, q *store.Queries, id int64) (Acting, error) {
			ps, err := projects(ctx, q, id)
			return Acting{ProjectID: &id, Purposes: ps}, err
		}
	}
	return s.SetActingSources(ctx, acting, project)
}

// SetActingSources plugs in what users act under (their current project:
// its purposes and, when it is equalized, the entitlements they are limited
// to) and what a user would act under in a given project, and reloads every
// user, announcing those whose grants changed.
func (s *Service) SetActingSources(ctx context.Context, users ActingSource, projects ProjectActing) error {
	s.follow.mu.Lock()
	defer s.follow.mu.Unlock()
	s.opts.Acting, s.opts.ProjectActing = users, projects
	before, after, err := s.people.load(ctx, &s.db.Queries, nil, users)
	if err != nil {
		return err
	}
	ds, err := s.grantDiff(ctx, before, after)
	if err != nil {
		return err
	}
	s.notify.announce(ds, nil, false, true)
	return nil
}

// SetPurposesWritten installs fn, which runs in the transaction of every
// write of purposes (save, rename, delete) with the ids written, so that
// what depends on purposes (projects) records what changes with them.
func (s *Service) SetPurposesWritten(fn func(ctx context.Context, tx *store.Tx, purposeIDs []int64) error) {
	s.purposeHook.Store(&fn)
}

// Run follows the change log and delivers announcements until ctx ends.
func (s *Service) Run(ctx context.Context) {
	go s.notify.run(ctx)
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		if err := s.sync(ctx, true); err != nil && ctx.Err() == nil {
			s.log.Warn("follow the change log", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Subscribe registers fn, called asynchronously with the ids of data
// sources whose plan or grants may have changed (nil: all of them).
func (s *Service) Subscribe(fn func(dataSourceIDs []int64)) { s.notify.subscribe(fn) }

// SubscribeUsers registers fn, called asynchronously with the ids of users
// whose entitlements, database role or enabled state may have changed (nil:
// all of them).
func (s *Service) SubscribeUsers(fn func(userIDs []int64)) { s.notify.subscribeUsers(fn) }

// Plan returns the current plan of an enabled data source.
func (s *Service) Plan(dataSourceID int64) (*policy.Plan, bool) {
	p, ok := s.index().Plan(dataSourceID)
	if !ok || p == nil {
		return nil, false
	}
	return p, true
}

// Entitlements returns what the engine evaluates the given users with
// (every enabled user when ids is nil). Disabled and unknown users are
// absent from the result.
func (s *Service) Entitlements(ctx context.Context, userIDs []int64) (map[int64]policy.User, error) {
	out := map[int64]policy.User{}
	if userIDs == nil {
		for _, u := range s.people.enabled() {
			if pu, ok := s.people.user(u.id); ok {
				out[u.id] = pu
			}
		}
		return out, nil
	}
	for _, id := range userIDs {
		if pu, ok := s.people.user(id); ok {
			out[id] = pu
		}
	}
	return out, nil
}

// OwnEntitlements returns the groups and attributes the given enabled users
// hold themselves, without the purposes or limits of a project.
func (s *Service) OwnEntitlements(userIDs []int64) map[int64]policy.User {
	out := make(map[int64]policy.User, len(userIDs))
	for _, id := range userIDs {
		if pu, ok := s.people.userAs(id, Acting{}); ok {
			out[id] = pu
		}
	}
	return out
}

// GrantsOf returns what a user holds right now on each data source (READ or
// WRITE, by data source id): their rows, their groups' rows and automatic
// policies, as Grants counts them.
func (s *Service) GrantsOf(ctx context.Context, userID int64) (map[int64]string, error) {
	u := s.people.get(userID)
	if u == nil {
		return map[int64]string{}, nil
	}
	g, err := s.userGrants(ctx, map[int64]*person{userID: u})
	if err != nil {
		return nil, err
	}
	return g[userID], nil
}

// sourceIDs lists the data sources held by the index.
func (s *Service) sourceIDs(onlyAuto bool) []int64 {
	s.srcMu.RLock()
	defer s.srcMu.RUnlock()
	out := make([]int64, 0, len(s.sources))
	for id, si := range s.sources {
		if !onlyAuto || si.auto {
			out = append(out, id)
		}
	}
	return out
}

// sourceName returns the name of a data source held by the index.
func (s *Service) sourceName(id int64) (string, bool) {
	s.srcMu.RLock()
	defer s.srcMu.RUnlock()
	si := s.sources[id]
	if si == nil {
		return "", false
	}
	return si.name, true
}

// Reach lists the data sources a global policy applies to in the index as
// it stands (without reading the change log first).
func (s *Service) Reach(policyID int64) []int64 { return s.index().AppliesTo(policyID) }
