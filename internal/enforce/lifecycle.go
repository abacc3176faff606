package enforce

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/enforce/postgres"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

func stateConflict(in *store.Integration) error {
	return errs.Conflictf("Unable to edit integration with ID %d in current state %s.", in.ID, in.Status)
}

// Update changes an integration's configuration. Fields that name the
// platform (host, database, ...) cannot change; secrets sent back as
// "<REDACTED>" keep their stored value.
func (s *Service) Update(ctx context.Context, p *auth.Principal, id int64, r *Request, dryRun bool) (*Outcome, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	in, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if busy[in.Status] || in.Status == StatusDeleted {
		return nil, stateConflict(in)
	}
	if r.Type == "" {
		r.Type = in.Type
	}
	var changed []string
	if r.Type != in.Type {
		changed = append(changed, "type")
	}
	if r.AutoBootstrap != nil && *r.AutoBootstrap != in.AutoBootstrap && in.Type != TypeTrino {
		changed = append(changed, "autoBootstrap")
	}
	if len(changed) > 0 {
		return nil, errs.BadRequestf("Unable to edit integration due to changes of non-editable attribute(s): %s.", strings.Join(changed, ", "))
	}
	auto := in.AutoBootstrap
	r.AutoBootstrap = &auto
	stored, secrets, err := s.config(in)
	if err != nil {
		return nil, err
	}
	if r.Config == nil {
		r.Config = map[string]any{}
	}
	sp := specs[in.Type]
	keepRedacted(sp, r.Config, secrets)
	if _, err := validateRequest(r); err != nil {
		return nil, err
	}
	cfg := r.Config
	if in.Type == TypePostgreSQL {
		cfg = toMap(postgresConfig(cfg))
	}
	for _, f := range sp.fixed {
		if !sameValue(stored[f], cfg[f]) {
			changed = append(changed, "config."+f)
		}
	}
	if len(changed) > 0 {
		return nil, errs.BadRequestf("Unable to edit integration due to changes of non-editable attribute(s): %s.", strings.Join(changed, ", "))
	}
	if in.Type == TypeS3 {
		if err := s.uniqueS3Name(ctx, str(cfg, "name"), in.ID); err != nil {
			return nil, err
		}
	}
	if in.Type == TypeTrino {
		cfg["apiKey"] = secrets["apiKey"]
	}
	status := in.Status
	var res *ValidationResults
	if in.Type == TypePostgreSQL {
		pc := postgresConfig(cfg)
		res, err = s.validatePostgres(ctx, pc, auto, dryRun, false)
		if err != nil {
			return nil, err
		}
		if res.failed() {
			return nil, res.error(fmt.Sprintf("Unable to edit integration with ID %d, validation failed.", in.ID))
		}
		before := postgresConfig(stored)
		if !dryRun && pc.Audit.Enabled != before.Audit.Enabled {
			if err := s.switchAudit(ctx, pc, before); err != nil {
				return nil, err
			}
		}
		status = StatusEditing
	} else {
		res = notConnected(in.Type)
	}
	res.finish()
	if dryRun {
		return &Outcome{ID: strconv.FormatInt(in.ID, 10), Status: in.Status, ValidationResults: res, DryRun: true}, nil
	}
	plain, sec := split(sp, cfg)
	if in.Config, err = store.ToJSON(plain); err != nil {
		return nil, err
	}
	if in.Secret, err = s.seal(sec); err != nil {
		return nil, err
	}
	if in.Validation, err = store.ToJSON(res); err != nil {
		return nil, err
	}
	from := in.Status
	in.Status, in.UpdatedAt = status, store.Now()
	if in.Type == TypePostgreSQL {
		in.Message = nil
	}
	if err := s.saveUpdate(ctx, in, from); err != nil {
		return nil, err
	}
	s.forget(in.ID)
	s.runner.Notify()
	return &Outcome{ID: strconv.FormatInt(in.ID, 10), Status: status, ValidationResults: res}, nil
}

// saveUpdate writes an updated integration, only if its status is still
// from: a removal (or another update) that started while this one was
// validating wins, instead of being overwritten.
func (s *Service) saveUpdate(ctx context.Context, in *store.Integration, from string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		moved, err := tx.SetIntegrationStatus(ctx, in.ID, in.Status, in.Message, in.UpdatedAt, from)
		if err != nil {
			return err
		}
		if !moved {
			now, err := tx.GetIntegration(ctx, in.ID)
			if err != nil {
				return err
			}
			return stateConflict(now)
		}
		if err := tx.UpdateIntegration(ctx, in); err != nil {
			return err
		}
		if err := audit.Write(ctx, &tx.Queries, audit.Event{Type: "integrationUpdate", Success: true, TargetType: "integration",
			TargetID: strconv.FormatInt(in.ID, 10), Details: map[string]any{"type": in.Type}}); err != nil {
			return err
		}
		if in.Type != TypePostgreSQL {
			return nil
		}
		if err := tx.AddPending(ctx, in.ID, store.PendingAll, 0, store.Now()); err != nil {
			return err
		}
		return s.ensureJob(ctx, &tx.Queries, in.ID)
	})
}

func sameValue(a, b any) bool {
	if fa, ok := a.(float64); ok {
		if fb, ok := b.(float64); ok {
			return fa == fb
		}
	}
	if a == nil || b == nil {
		return a == nil && b == nil || a == "" || b == ""
	}
	return reflect.DeepEqual(a, b)
}

// switchAudit turns pgaudit's object audit on or off for the database.
func (s *Service) switchAudit(ctx context.Context, now, before PostgresConfig) error {
	db, err := postgres.Open(ctx, s.pgConfig(now))
	if err != nil {
		return err
	}
	defer db.Close()
	if now.Audit.Enabled {
		err = postgres.EnableAudit(ctx, db, now.System(), now.Database)
	} else {
		err = postgres.DisableAudit(ctx, db, before.System(), now.Database)
	}
	if err != nil {
		return errs.Field("config.audit.enabled", errs.CodeInvalid, "cannot switch query audit: %v", err)
	}
	return nil
}

// forget closes the cached connection of an integration whose settings changed.
func (s *Service) forget(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[id]; c != nil {
		c.db.Close()
		delete(s.conns, id)
	}
}

// DeleteOptions are the query parameters and body of a removal.
type DeleteOptions struct {
	DryRun       bool
	ForceDisable bool
	// Credentials used for the removal instead of the stored ones
	// (autoBootstrap integrations only).
	Credentials map[string]any
}

// Delete removes an integration: custos removes everything it created in
// the database (in the background: status deleting, then deleted), or, with
// ForceDisable, stops at once and removes nothing there.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, id int64, o DeleteOptions) (*Outcome, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	in, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if busy[in.Status] && !(o.ForceDisable && in.Status == StatusDeleting) {
		return nil, stateConflict(in)
	}
	if len(o.Credentials) > 0 {
		switch {
		case in.Type == TypeDatabricks:
			return nil, errs.BadRequestf("Credentials are not required to disable a Databricks Unity Catalog integration. If you need to update your integration credentials, use PUT to update the integration before disabling.")
		case !in.AutoBootstrap:
			return nil, errs.BadRequestf("Credentials are not required for disable unless the integration was configured automatically. If you need to update your integration credentials, use PUT to update the integration before disabling.")
		}
	}
	key := strconv.FormatInt(in.ID, 10)
	res := &ValidationResults{}
	connected := in.Type == TypePostgreSQL && in.Status != StatusDisabled && in.Status != StatusDeleted
	var sealed string
	if connected && !o.ForceDisable {
		cfg, _, err := s.config(in)
		if err != nil {
			return nil, err
		}
		pc := postgresConfig(cfg)
		if len(o.Credentials) > 0 {
			if u := str(o.Credentials, "username"); u != "" {
				pc.Username = u
			}
			if pw := str(o.Credentials, "password"); pw != "" {
				pc.Password = pw
			}
			b, _ := json.Marshal(map[string]string{"username": pc.Username, "password": pc.Password})
			sealed = s.box.Seal(b)
		}
		db, err := postgres.Open(ctx, s.pgConfig(pc))
		if err != nil {
			e := errs.As(err)
			return nil, &errs.Error{Kind: errs.Invalid, Message: fmt.Sprintf("Unable to delete integration with ID %d, validation failed. %s", in.ID, e.Message), Fields: e.Fields}
		}
		db.Close()
		res.pass(testConnect)
	} else {
		res.add(ValidationTest{Name: testConnect, Status: "skipped"})
	}
	res.finish()
	if o.DryRun {
		return &Outcome{ID: key, Status: in.Status, ValidationResults: res, DryRun: true}, nil
	}
	status := StatusDeleted
	var message *string
	switch {
	case o.ForceDisable:
		status = StatusDisabled
		if connected || in.Status == StatusDeleting {
			m := fmt.Sprintf("disabled without cleanup: custos's objects remain in the database; remove them with the script from POST /integrations/%d/scripts/delete", in.ID)
			message = &m
		}
	case connected:
		status = StatusDeleting
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.SetIntegrationStatus(ctx, in.ID, status, message, store.Now()); err != nil {
			return err
		}
		if err := audit.Write(ctx, &tx.Queries, audit.Event{Type: "integrationDelete", Success: true, TargetType: "integration",
			TargetID: key, Details: map[string]any{"type": in.Type, "forceDisable": o.ForceDisable}}); err != nil {
			return err
		}
		if status != StatusDeleting {
			return nil
		}
		_, err := jobs.Enqueue(ctx, &tx.Queries, JobDelete, jobPayload{IntegrationID: in.ID, Credentials: sealed},
			jobs.Options{TargetType: "integration", TargetID: key})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.forget(in.ID)
	s.runner.Notify()
	return &Outcome{ID: key, Status: status, ValidationResults: res}, nil
}

// StatusView is GET /integrations/{id}/status: the documented id and status,
// and how each data source is enforced.
type StatusView struct {
	ID            int64          `json:"id"`
	Status        string         `json:"status"`
	Message       string         `json:"message,omitempty"`
	LastSync      *string        `json:"lastSync,omitempty"`
	DataSources   []SourceStatus `json:"dataSources"`
	UnmappedUsers []Unmapped     `json:"unmappedUsers"`
}

// SourceStatus is how one data source is enforced.
type SourceStatus struct {
	DataSourceID int64    `json:"dataSourceId"`
	View         string   `json:"view,omitempty"`
	State        string   `json:"state"` // synced, closed, error, skipped, pending
	Message      string   `json:"message,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	// ClosedRules are the rules that could not apply as written and are
	// enforced closed (state closed): their users see no row, or the
	// column as NULL.
	ClosedRules []policy.ClosedRule `json:"closedRules,omitempty"`
	SyncedAt    *string             `json:"syncedAt,omitempty"`
}

// Unmapped is a user custos could not give a database role.
type Unmapped struct {
	UserID   int64  `json:"userId"`
	Username string `json:"userid"`
	Role     string `json:"role,omitempty"`
	Reason   string `json:"reason"`
}

// Status reports an integration's status and, for PostgreSQL, each data
// source's.
func (s *Service) Status(ctx context.Context, p *auth.Principal, id int64) (*StatusView, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	in, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &StatusView{ID: in.ID, Status: in.Status, DataSources: []SourceStatus{}, UnmappedUsers: []Unmapped{}}
	if in.Message != nil {
		out.Message = *in.Message
	}
	if in.SyncedAt != nil {
		t := in.SyncedAt.Format("2006-01-02T15:04:05.000Z07:00")
		out.LastSync = &t
	}
	if in.Unmapped != nil {
		_ = json.Unmarshal(in.Unmapped, &out.UnmappedUsers)
	}
	srcs, err := s.db.IntegrationSources(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	for _, src := range srcs {
		st := SourceStatus{DataSourceID: src.DataSourceID, State: src.State, View: deref(src.ViewName), Message: deref(src.Message)}
		if src.Warnings != nil {
			_ = json.Unmarshal(src.Warnings, &st.Warnings)
		}
		if src.Closed != nil {
			_ = json.Unmarshal(src.Closed, &st.ClosedRules)
		}
		if src.SyncedAt != nil {
			t := src.SyncedAt.Format("2006-01-02T15:04:05.000Z07:00")
			st.SyncedAt = &t
		}
		out.DataSources = append(out.DataSources, st)
	}
	return out, nil
}

// Regenerate replaces a Trino integration's API key and returns it masked.
func (s *Service) Regenerate(ctx context.Context, p *auth.Principal, id int64) (map[string]string, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	in, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.Type != TypeTrino {
		return nil, errs.BadRequestf("only Trino integrations have an API key to regenerate; integration %d is %s", in.ID, in.Type)
	}
	secrets, err := s.secrets(in)
	if err != nil {
		return nil, err
	}
	key := newAPIKey()
	secrets["apiKey"] = key
	if in.Secret, err = s.seal(secrets); err != nil {
		return nil, err
	}
	in.UpdatedAt = store.Now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateIntegration(ctx, in); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "integrationRegenerateKey", Success: true, TargetType: "integration",
			TargetID: strconv.FormatInt(in.ID, 10)})
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"newKey": maskKey(key)}, nil
}

// Script kinds of the script endpoints.
const (
	ScriptCreate        = "create"
	ScriptInitialCreate = "initial-create"
	ScriptCleanup       = "cleanup"
	ScriptPostCleanup   = "post-cleanup"
	ScriptEdit          = "edit"
	ScriptDelete        = "delete"
)

// Script returns the SQL a database administrator runs for a manual setup
// (create, edit) or removal (cleanup after a failed creation, delete). id is
// 0 for the scripts of an integration that does not exist yet.
func (s *Service) Script(ctx context.Context, p *auth.Principal, kind string, id int64, r *Request) (string, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return "", err
	}
	var in *store.Integration
	if id != 0 {
		var err error
		if in, err = s.get(ctx, id); err != nil {
			return "", err
		}
		if r == nil || r.Type == "" {
			cfg, _, err := s.config(in)
			if err != nil {
				return "", err
			}
			auto := false
			r = &Request{Type: in.Type, AutoBootstrap: &auto, Config: cfg}
		}
	}
	if r == nil {
		return "", errs.BadRequestf("the request body is empty; send the integration's payload with autoBootstrap false")
	}
	if _, err := validateRequest(r); err != nil {
		return "", err
	}
	if r.Type != TypePostgreSQL {
		return "", errs.BadRequestf("custos does not generate scripts for %s: it does not connect to it", r.Type)
	}
	if kind != ScriptDelete && r.AutoBootstrap != nil && *r.AutoBootstrap {
		return "", errs.Field("autoBootstrap", errs.CodeInvalid, "autoBootstrap must be false: the script is for a manual setup; with autoBootstrap true custos sets the database up itself")
	}
	pc := postgresConfig(r.Config)
	sys := pc.System()
	switch kind {
	case ScriptInitialCreate, ScriptPostCleanup:
		return "", errs.BadRequestf("the %s script is for Azure Synapse Analytics and Redshift; a PostgreSQL setup is one script, from POST /integrations/scripts/create", kind)
	case ScriptCreate:
		stmts, err := pgsql.Bootstrap(sys, pgsql.BootstrapOptions{Member: pc.Username, Database: pc.Database})
		if err != nil {
			return "", errs.Field("config", errs.CodeInvalid, "%v", err)
		}
		return pgsql.Script(fmt.Sprintf("custos setup of database %s (run as a superuser, connected to %s)\nthen: POST /integrations with the same payload", pc.Database, pc.Database), stmts), nil
	case ScriptEdit:
		stmts := pgsql.Functions(sys)
		title := fmt.Sprintf("custos objects of database %s, refreshed (run as a superuser)\nthen: PUT /integrations/%d with the same payload", pc.Database, id)
		if sys.AuditRole != "" {
			a, _ := pgsql.AuditSetup(sys, pc.Database)
			stmts = append(stmts, a...)
			title += "\n(the last statements turn query audit on; leave them out if it already is)"
		}
		return pgsql.Script(title, stmts), nil
	case ScriptCleanup:
		return pgsql.Script(fmt.Sprintf("remove custos's objects left by a failed setup of database %s (run as a superuser)", pc.Database), pgsql.Cleanup(sys, pc.Database)), nil
	case ScriptDelete:
		db, err := postgres.Open(ctx, s.pgConfig(pc))
		if err != nil {
			return "", err
		}
		defer db.Close()
		stmts, err := postgres.Teardown(ctx, db, sys, postgres.TeardownOptions{Database: pc.Database, DryRun: true})
		if err != nil {
			return "", errs.Unavailablef(err, "cannot read custos's objects in %s: %v", pc.Database, err)
		}
		return pgsql.Script(fmt.Sprintf("remove everything custos created in database %s (run as a superuser)\nthen: DELETE /integrations/%d?forceDisable=true", pc.Database, id), stmts), nil
	}
	return "", errs.NotFoundf("no script %q", kind)
}

// governedTables lists the tables of the integration's data sources.
func (s *Service) governedTables(ctx context.Context, pc PostgresConfig) ([]postgres.TableName, error) {
	dss, err := s.dataSources(ctx, pc)
	if err != nil {
		return nil, err
	}
	var out []postgres.TableName
	seen := map[postgres.TableName]bool{}
	for _, d := range dss {
		if d.RemoteSchema == nil || d.RemoteTable == nil {
			continue
		}
		t := postgres.TableName{Schema: *d.RemoteSchema, Name: *d.RemoteTable}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Schema+"."+out[i].Name < out[j].Schema+"."+out[j].Name })
	return out, nil
}
