package enforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/enforce/postgres"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// open returns the integration's connection pool, reopening it when the
// configuration changed.
func (s *Service) open(ctx context.Context, id int64, pc PostgresConfig) (*postgres.Database, error) {
	key := fmt.Sprintf("%s|%d|%s|%t|%s|%s", pc.Host, pc.Port, pc.Database, pc.SSL, pc.Username, pc.Password)
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c != nil && c.key == key {
		return c.db, nil
	}
	db, err := postgres.Open(ctx, s.pgConfig(pc))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if old := s.conns[id]; old != nil {
		old.db.Close()
	}
	s.conns[id] = &openDB{key: key, db: db}
	s.mu.Unlock()
	return db, nil
}

// runSync pushes an integration's pending work: the data sources whose
// decisions may have changed, or everything (and then custos also removes
// what it no longer governs and repairs what was changed by hand).
func (s *Service) runSync(ctx context.Context, job *store.Job, progress jobs.Progress) (any, error) {
	var pl jobPayload
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return nil, err
	}
	in, err := s.db.GetIntegration(ctx, pl.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return "the integration no longer exists", nil
	} else if err != nil {
		return nil, err
	}
	if in.Type != TypePostgreSQL || !live[in.Status] {
		return "the integration is " + in.Status, nil
	}
	dec := s.decisionsOrNil()
	if dec == nil {
		// Keep the pending work for when decisions are connected.
		return "no policy decisions are connected yet", nil
	}
	var pending []store.Pending
	if err := s.db.InTx(ctx, func(tx *store.Tx) error {
		pending, err = tx.TakePending(ctx, in.ID)
		return err
	}); err != nil {
		return nil, err
	}
	full := in.Status == StatusCreating || in.Status == StatusEditing
	users := false
	dirty := map[int64]bool{}
	for _, p := range pending {
		switch p.Kind {
		case store.PendingAll:
			full = true
		case store.PendingUser:
			users = true
		case store.PendingDataSource:
			dirty[p.ModelID] = true
		}
	}
	cfg, _, err := s.config(in)
	if err != nil {
		return nil, err
	}
	pc := postgresConfig(cfg)
	started := time.Now()
	rep, err := s.push(ctx, in, pc, dec, full, users, dirty)
	if err != nil {
		s.syncFailed(in, err)
		// Put the work back: the next job retries it.
		_ = s.db.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return tx.AddPending(ctx, in.ID, store.PendingAll, 0, store.Now())
		})
		return nil, err
	}
	if pc.Audit.Enabled {
		if db, err := s.open(ctx, in.ID, pc); err == nil {
			if err := s.startAudit(ctx, in, db, pc); err != nil {
				s.log.Warn("query audit: find the log", "integration", in.ID, "error", err)
			}
		}
	}
	next := in.Status
	switch in.Status {
	case StatusCreating, StatusEditing, StatusCreateError, StatusEditError, StatusRecurringErr:
		next = StatusEnabled
	}
	if _, err := s.db.SetIntegrationStatus(context.WithoutCancel(ctx), in.ID, next, nil, store.Now(), in.Status); err != nil {
		return nil, err
	}
	s.notifySynced(in.ID)
	out := fmt.Sprintf("%d data sources in %s, %d changes", len(rep.Sources), time.Since(started).Round(time.Millisecond), len(rep.Changes))
	if len(rep.Drift) > 0 {
		s.log.Warn("enforcement: changes made by hand were repaired", "integration", in.ID, "drift", rep.Drift)
		out += "; repaired: " + strings.Join(rep.Drift, "; ")
	}
	return out, nil
}

// syncFailed records why an integration could not be synchronised.
func (s *Service) syncFailed(in *store.Integration, err error) {
	status := StatusRecurringErr
	switch in.Status {
	case StatusCreating, StatusCreateError:
		status = StatusCreateError
	case StatusEditing, StatusEditError:
		status = StatusEditError
	}
	msg := err.Error()
	if errors.Is(err, postgres.ErrNotSetUp) {
		msg += fmt.Sprintf(": remove the integration (DELETE /integrations/%d?forceDisable=true) and create it again", in.ID)
	}
	ctx := context.Background()
	if _, e := s.db.SetIntegrationStatus(ctx, in.ID, status, &msg, store.Now(), in.Status); e != nil {
		s.log.Warn("enforcement: record a failure", "integration", in.ID, "error", e)
	}
	s.log.Warn("enforcement failed", "integration", in.ID, "error", err)
	s.notifySynced(in.ID)
}

// dataSources lists the enabled data sources of custos's connections to the
// integration's database.
func (s *Service) dataSources(ctx context.Context, pc PostgresConfig) ([]*store.DataSource, error) {
	conns, err := s.connections(ctx, pc)
	if err != nil {
		return nil, err
	}
	var out []*store.DataSource
	for _, c := range conns {
		list, err := s.db.DataSourcesOfConnection(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, d := range list {
			if d.Status == store.DataSourceEnabled {
				out = append(out, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// push computes what the database must hold and reconciles it.
func (s *Service) push(ctx context.Context, in *store.Integration, pc PostgresConfig, dec Decisions, full, users bool, dirty map[int64]bool) (*postgres.Report, error) {
	db, err := s.open(ctx, in.ID, pc)
	if err != nil {
		return nil, err
	}
	dss, err := s.dataSources(ctx, pc)
	if err != nil {
		return nil, err
	}
	known, err := s.db.IntegrationSources(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	current := map[int64]bool{}
	for _, d := range dss {
		current[d.ID] = true
	}
	for _, k := range known {
		if dirty[k.DataSourceID] && !current[k.DataSourceID] {
			full = true // a governed data source went away: remove its view
		}
	}
	// A change of users' entitlements or roles may change grants anywhere.
	all := full || users
	roles, err := s.roles(ctx, db, pc, dec)
	if err != nil {
		return nil, err
	}
	want := postgres.Desired{Full: full, Entitlements: roles.entitlements, Roles: roles.names}
	var statuses []*store.IntegrationSource
	var ids []int64
	for _, d := range dss {
		if !all && !dirty[d.ID] {
			continue
		}
		if d.RemoteSchema == nil || d.RemoteTable == nil || d.RemoteKind == "query" {
			m := "query data sources are not enforced in the database: custos enforces tables and views"
			statuses = append(statuses, &store.IntegrationSource{IntegrationID: in.ID, DataSourceID: d.ID, State: "skipped", Message: &m})
			continue
		}
		ids = append(ids, d.ID)
	}
	cols, err := s.db.ColumnsOf(ctx, ids...)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*store.DataSource{}
	for _, d := range dss {
		byID[d.ID] = d
	}
	for _, id := range ids {
		d := byID[id]
		src := postgres.Source{DataSourceID: id, Schema: *d.RemoteSchema, Table: *d.RemoteTable,
			ViewSchema: pc.ViewSchema(*d.RemoteSchema), ViewName: *d.RemoteTable}
		for _, c := range cols[id] {
			src.Columns = append(src.Columns, c.Name)
		}
		plan, known := dec.Plan(id)
		if !known {
			// Without a plan custos cannot know what to hide: it leaves the
			// data source's objects as they are rather than expose it.
			m := "the policy engine has no plan for this data source yet: its view is left as it was"
			statuses = append(statuses, &store.IntegrationSource{IntegrationID: in.ID, DataSourceID: id, State: "pending", Message: &m})
			want.Keep = append(want.Keep, id)
			continue
		}
		src.Plan = plan
		grants, err := dec.Grants(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("grants of data source %d: %w", id, err)
		}
		seen := map[string]bool{}
		for _, g := range grants {
			role, ok := roles.byUser[g.UserID]
			if !ok {
				continue
			}
			if !seen[role] {
				src.Readers = append(src.Readers, role)
				seen[role] = true
			}
			if g.AccessGrant == "WRITE" {
				src.Writers = append(src.Writers, role)
			}
		}
		sort.Strings(src.Readers)
		sort.Strings(src.Writers)
		want.Sources = append(want.Sources, src)
	}
	rep, err := postgres.Reconcile(ctx, db, pc.System(), want)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	before := map[int64]*store.IntegrationSource{}
	for _, k := range known {
		before[k.DataSourceID] = k
	}
	var audits []audit.Event
	for _, src := range want.Sources {
		r := rep.Sources[src.DataSourceID]
		st := &store.IntegrationSource{IntegrationID: in.ID, DataSourceID: src.DataSourceID, State: "synced", SyncedAt: &now}
		view := r.View
		st.ViewName = &view
		if len(r.Closed) > 0 {
			// Enforced, but rules that cannot apply as written hide rows
			// or columns instead: not plainly synced.
			st.State = "closed"
			st.Closed, _ = store.ToJSON(r.Closed)
		}
		if r.Err != nil {
			m := r.Err.Error()
			st.State, st.Message = "error", &m
		}
		if len(r.Warnings) > 0 {
			st.Warnings, _ = store.ToJSON(r.Warnings)
		}
		if ev, changed := closedChange(in.ID, byID[src.DataSourceID], before[src.DataSourceID], st); changed {
			audits = append(audits, ev)
		}
		statuses = append(statuses, st)
	}
	unmapped, _ := store.ToJSON(roles.unmapped)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, st := range statuses {
			if err := tx.PutIntegrationSource(ctx, st); err != nil {
				return err
			}
		}
		for _, ev := range audits {
			if err := audit.Write(ctx, &tx.Queries, ev); err != nil {
				return err
			}
		}
		if full {
			for _, k := range known {
				if !current[k.DataSourceID] {
					if err := tx.DeleteIntegrationSource(ctx, in.ID, k.DataSourceID); err != nil {
						return err
					}
				}
			}
		}
		return tx.SetIntegrationSynced(ctx, in.ID, unmapped, now)
	})
	return rep, err
}

// closedChange is the audit record of a data source whose closed rules
// changed since the last push: rules enforcement had to close, or that
// apply as written again.
func closedChange(integrationID int64, d *store.DataSource, was, now *store.IntegrationSource) (audit.Event, bool) {
	var before, after []policy.ClosedRule
	if was != nil && was.Closed != nil {
		_ = json.Unmarshal(was.Closed, &before)
	}
	if now.Closed != nil {
		_ = json.Unmarshal(now.Closed, &after)
	}
	a, _ := json.Marshal(after)
	b, _ := json.Marshal(before)
	if string(a) == string(b) || now.State == "error" {
		return audit.Event{}, false
	}
	action := "closed"
	if len(after) == 0 {
		action = "reopened"
	}
	id := now.DataSourceID
	ev := audit.Event{Type: "enforcementRulesClosed", Action: action, Success: true, TargetType: "datasource",
		TargetID: strconv.FormatInt(id, 10), DataSourceID: &id,
		Details: map[string]any{"integrationId": integrationID, "closedRules": after, "previously": before}}
	if d != nil {
		ev.DataSourceName = d.Name
	}
	return ev, true
}

// roleMap is how custos's users map to the database's roles.
type roleMap struct {
	byUser       map[int64]string
	names        []string
	entitlements []postgres.Entitlement
	unmapped     []Unmapped
}

// roles maps every enabled user to a database role: the profile's sqlUser,
// else the naming template. Users whose role does not exist, or who share a
// role with another user, get none and are reported.
func (s *Service) roles(ctx context.Context, db *postgres.Database, pc PostgresConfig, dec Decisions) (*roleMap, error) {
	ents, err := dec.Entitlements(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("entitlements: %w", err)
	}
	ids := make([]int64, 0, len(ents))
	for id := range ents {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	users, err := s.db.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	m := &roleMap{byUser: map[int64]string{}, unmapped: []Unmapped{}}
	claims := map[string][]int64{}
	for _, id := range ids {
		u := users[id]
		if u == nil || u.Disabled {
			continue
		}
		role := ""
		if u.SQLUser != nil && *u.SQLUser != "" {
			role = *u.SQLUser
		} else if pc.UserRoleTemplate != "" {
			role = strings.ReplaceAll(pc.UserRoleTemplate, "{username}", u.UserID)
		}
		if role == "" {
			m.unmapped = append(m.unmapped, Unmapped{UserID: id, Username: u.UserID, Reason: "the user has no sqlUser in their profile and no naming template applies"})
			continue
		}
		claims[role] = append(claims[role], id)
	}
	// A name PostgreSQL cannot hold (a user may type any sqlUser) is never
	// sent: one would make the server refuse the whole lookup.
	var candidates, valid []string
	validRole := map[string]bool{}
	for role := range claims {
		candidates = append(candidates, role)
		if _, err := pgsql.Ident(role); err == nil {
			validRole[role] = true
			valid = append(valid, role)
		}
	}
	sort.Strings(candidates)
	exist, err := db.RolesExist(ctx, valid)
	if err != nil {
		return nil, err
	}
	sys := pc.System()
	for _, role := range candidates {
		who := claims[role]
		reason := ""
		switch {
		case role == sys.Role || role == sys.AuditRole:
			reason = fmt.Sprintf("role %q is custos's own", role)
		case role == pc.Username:
			// custos would manage (and revoke) its own privileges.
			reason = fmt.Sprintf("role %q is the role custos connects as", role)
		case !validRole[role]:
			reason = fmt.Sprintf("%q cannot be a PostgreSQL role name (a NUL byte, invalid UTF-8 or more than 63 bytes)", role)
		case !exist[role]:
			reason = fmt.Sprintf("role %q does not exist in the database server: create it, or set the user's sqlUser to an existing role", role)
		case len(who) > 1:
			names := make([]string, len(who))
			for i, id := range who {
				names[i] = users[id].UserID
			}
			reason = fmt.Sprintf("role %q would be shared by users %s: give each a distinct sqlUser", role, strings.Join(names, ", "))
		}
		if reason != "" {
			for _, id := range who {
				m.unmapped = append(m.unmapped, Unmapped{UserID: id, Username: users[id].UserID, Role: role, Reason: reason})
			}
			continue
		}
		id := who[0]
		e := ents[id]
		username := e.Username
		if username == "" {
			username = users[id].UserID
		}
		iam := e.IAMID
		if iam == "" {
			iam = users[id].IAMID
		}
		ent := postgres.Entitlement{Role: role, UserID: id, Username: username, IAM: iam,
			Groups: e.Groups, Attributes: e.Attributes, Purposes: e.Purposes}
		if e.Own != nil {
			ent.OwnGroups, ent.OwnAttributes = e.Own.Groups, e.Own.Attributes
			if ent.OwnGroups == nil {
				ent.OwnGroups = []string{}
			}
		}
		if field := unstorable(ent); field != "" {
			// The entitlements table cannot hold it, and one such row would
			// stop every change from reaching the database.
			m.unmapped = append(m.unmapped, Unmapped{UserID: id, Username: users[id].UserID, Role: role,
				Reason: "the user's " + field + " holds a NUL byte, which PostgreSQL cannot store"})
			continue
		}
		m.byUser[id] = role
		m.names = append(m.names, role)
		m.entitlements = append(m.entitlements, ent)
	}
	sort.Slice(m.unmapped, func(i, j int) bool { return m.unmapped[i].UserID < m.unmapped[j].UserID })
	return m, nil
}

// unstorable names the first of a user's entitlements PostgreSQL cannot
// store as text, or returns "".
func unstorable(e postgres.Entitlement) string {
	bad := func(ss ...string) bool {
		for _, s := range ss {
			if _, err := pgsql.Literal(s); err != nil {
				return true
			}
		}
		return false
	}
	switch {
	case bad(e.Username, e.IAM):
		return "name"
	case bad(e.Groups...), bad(e.OwnGroups...):
		return "groups"
	case bad(e.Purposes...):
		return "purposes"
	}
	for _, attrs := range []map[string][]string{e.Attributes, e.OwnAttributes} {
		for n, vs := range attrs {
			if bad(n) || bad(vs...) {
				return "attributes"
			}
		}
	}
	return ""
}

// runDelete removes everything custos created in the integration's database.
func (s *Service) runDelete(ctx context.Context, job *store.Job, progress jobs.Progress) (any, error) {
	var pl jobPayload
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return nil, err
	}
	in, err := s.db.GetIntegration(ctx, pl.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return "the integration no longer exists", nil
	} else if err != nil {
		return nil, err
	}
	if in.Status != StatusDeleting {
		return "the integration is " + in.Status, nil
	}
	cfg, _, err := s.config(in)
	if err != nil {
		return nil, err
	}
	pc := postgresConfig(cfg)
	if pl.Credentials != "" {
		b, err := s.box.Open(pl.Credentials)
		if err != nil {
			return nil, err
		}
		var c map[string]string
		_ = json.Unmarshal(b, &c)
		pc.Username, pc.Password = c["username"], c["password"]
	}
	s.forget(in.ID)
	fail := func(err error) (any, error) {
		msg := fmt.Sprintf("%v: fix the cause and DELETE /integrations/%d again, or run the script from POST /integrations/%d/scripts/delete as a superuser and then DELETE /integrations/%d?forceDisable=true",
			err, in.ID, in.ID, in.ID)
		_, _ = s.db.SetIntegrationStatus(context.WithoutCancel(ctx), in.ID, StatusDeleteError, &msg, store.Now(), StatusDeleting)
		s.notifySynced(in.ID)
		return nil, err
	}
	db, err := postgres.Open(ctx, s.pgConfig(pc))
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	stmts, err := postgres.Teardown(ctx, db, pc.System(), postgres.TeardownOptions{Database: pc.Database})
	if err != nil {
		return fail(err)
	}
	// The credentials served the removal; custos keeps none.
	in.Secret, in.Status, in.UpdatedAt, in.Message = nil, StatusDeleted, store.Now(), nil
	if err := s.db.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.UpdateIntegration(ctx, in) }); err != nil {
		return nil, err
	}
	s.notifySynced(in.ID)
	return strconv.Itoa(len(stmts)) + " statements removed custos's objects", nil
}
