package enforce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/enforce/postgres"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
)

// Job types of the enforcement runner.
const (
	JobSync   = "integrationSync"   // push pending changes to one integration
	JobDelete = "integrationDelete" // remove everything custos created there
)

// Options tune the service.
type Options struct {
	// DriftInterval is how often every integration is fully reconciled,
	// repairing changes made by hand (default one minute).
	DriftInterval time.Duration
	// AuditInterval is how often query logs are ingested (default 5 s).
	AuditInterval time.Duration
	// ConnectTimeout bounds connecting to a governed database (default 10 s).
	ConnectTimeout time.Duration
	Log            *slog.Logger
}

// Service serves the Integrations API and runs enforcement.
type Service struct {
	db     *store.DB
	box    *secret.Box
	log    *slog.Logger
	opts   Options
	runner *jobs.Runner

	mu        sync.Mutex
	decisions Decisions
	conns     map[int64]*openDB
	// synced is told the id of each integration after each synchronisation;
	// tests and benchmarks wait on it.
	synced []chan int64
}

type openDB struct {
	key string
	db  *postgres.Database
}

// New returns the service; call SetDecisions, then Run it in the background.
func New(db *store.DB, box *secret.Box, o Options) *Service {
	if o.DriftInterval <= 0 {
		o.DriftInterval = time.Minute
	}
	if o.AuditInterval <= 0 {
		o.AuditInterval = 5 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{db: db, box: box, log: o.Log, opts: o, conns: map[int64]*openDB{}}
	// A runner of its own: enforcement never waits behind long discovery
	// jobs, and its jobs are leased so one server pushes at a time.
	s.runner = jobs.NewRunner(db, o.Log)
	s.runner.Register(JobSync, jobs.Handler{Run: s.runSync, Resumable: true, MaxAttempts: 5})
	s.runner.Register(JobDelete, jobs.Handler{Run: s.runDelete, Resumable: true, MaxAttempts: 3})
	return s
}

// SetDecisions connects the policy side and subscribes to its changes.
func (s *Service) SetDecisions(d Decisions) {
	s.mu.Lock()
	s.decisions = d
	s.mu.Unlock()
	if d == nil {
		return
	}
	d.Subscribe(func(ids []int64) { s.changed(store.PendingDataSource, ids) })
	d.SubscribeUsers(func(ids []int64) { s.changed(store.PendingUser, ids) })
	s.changed(store.PendingAll, nil)
}

func (s *Service) decisionsOrNil() Decisions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decisions
}

// Synced returns a channel told the id of each integration after each
// synchronisation (buffered; values are dropped when it is full).
func (s *Service) Synced() <-chan int64 {
	ch := make(chan int64, 64)
	s.mu.Lock()
	s.synced = append(s.synced, ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) notifySynced(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.synced {
		select {
		case ch <- id:
		default:
		}
	}
}

// Run runs the enforcement jobs, the periodic full reconciliation and query
// audit ingestion until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.runner.Run(ctx) }()
	go func() { defer wg.Done(); s.ingestLoop(ctx) }()
	s.changed(store.PendingAll, nil)
	t := time.NewTicker(s.opts.DriftInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			s.closeAll()
			return
		case <-t.C:
			s.changed(store.PendingAll, nil)
		}
	}
}

func (s *Service) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.conns {
		c.db.Close()
		delete(s.conns, id)
	}
}

// changed records pending work for every live PostgreSQL integration and
// makes sure a job will push it.
func (s *Service) changed(kind string, ids []int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := s.db.Integrations(ctx)
	if err != nil {
		s.log.Warn("enforcement: list integrations", "error", err)
		return
	}
	for _, in := range list {
		if in.Type != TypePostgreSQL || !live[in.Status] {
			continue
		}
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			now := store.Now()
			if ids == nil {
				k := kind
				if kind != store.PendingUser {
					k = store.PendingAll
				}
				if err := tx.AddPending(ctx, in.ID, k, 0, now); err != nil {
					return err
				}
			}
			for _, id := range ids {
				if err := tx.AddPending(ctx, in.ID, kind, id, now); err != nil {
					return err
				}
			}
			return s.ensureJob(ctx, &tx.Queries, in.ID)
		})
		if err != nil {
			s.log.Warn("enforcement: record pending work", "integration", in.ID, "error", err)
		}
	}
	s.runner.Notify()
}

// ensureJob enqueues a sync job for the integration unless one is waiting.
func (s *Service) ensureJob(ctx context.Context, q *store.Queries, id int64) error {
	key := strconv.FormatInt(id, 10)
	waiting, err := q.WaitingJob(ctx, JobSync, "integration", key)
	if err != nil || waiting {
		return err
	}
	_, err = jobs.Enqueue(ctx, q, JobSync, jobPayload{IntegrationID: id}, jobs.Options{TargetType: "integration", TargetID: key})
	return err
}

type jobPayload struct {
	IntegrationID int64  `json:"integrationId"`
	Credentials   string `json:"credentials,omitempty"` // sealed: override credentials for a removal
}

// ValidationResults are the documented validation results.
type ValidationResults struct {
	Status          string           `json:"status"` // passed, failed, warning
	ValidationTests []ValidationTest `json:"validationTests"`
}

// ValidationTest is one check of an integration's setup.
type ValidationTest struct {
	Name    string `json:"name"`
	Status  string `json:"status"` // passed, failed, warning, skipped
	Message string `json:"message,omitempty"`
	Result  []any  `json:"result,omitempty"`
	field   string // the config field that fixes a failure
}

func (v *ValidationResults) add(t ValidationTest) { v.ValidationTests = append(v.ValidationTests, t) }

func (v *ValidationResults) pass(name string) { v.add(ValidationTest{Name: name, Status: "passed"}) }

func (v *ValidationResults) fail(name, field, format string, args ...any) {
	v.add(ValidationTest{Name: name, Status: "failed", Message: fmt.Sprintf(format, args...), field: field})
}

func (v *ValidationResults) failed() bool {
	for _, t := range v.ValidationTests {
		if t.Status == "failed" {
			return true
		}
	}
	return false
}

func (v *ValidationResults) finish() {
	v.Status = "passed"
	for _, t := range v.ValidationTests {
		switch {
		case t.Status == "failed":
			v.Status = "failed"
			return
		case t.Status == "warning":
			v.Status = "warning"
		}
	}
}

// error turns failed tests into a 422 whose message starts with the
// documented sentence and names every fix.
func (v *ValidationResults) error(prefix string) error {
	var fields []errs.FieldError
	var msgs []string
	for _, t := range v.ValidationTests {
		if t.Status != "failed" {
			continue
		}
		f := t.field
		if f == "" {
			f = "config"
		}
		fields = append(fields, errs.FieldError{Field: f, Code: errs.CodeInvalid, Message: t.Name + ": " + t.Message})
		msgs = append(msgs, t.Name+": "+t.Message)
	}
	return &errs.Error{Kind: errs.Invalid, Message: prefix + " " + strings.Join(msgs, " "), Fields: fields}
}

// Outcome is the answer of create, update and delete.
type Outcome struct {
	ID                string             `json:"id,omitempty"`
	Status            string             `json:"status,omitempty"`
	ValidationResults *ValidationResults `json:"validationResults"`
	DryRun            bool               `json:"dryRun,omitempty"`
}

// View is an integration as the API shows it.
type View struct {
	ID                string             `json:"id"`
	Status            string             `json:"status"`
	ValidationResults *ValidationResults `json:"validationResults,omitempty"`
	Type              string             `json:"type"`
	AutoBootstrap     bool               `json:"autoBootstrap"`
	Config            map[string]any     `json:"config"`
	// Connected says whether custos enforces anything there (custos addition).
	Connected bool   `json:"connected"`
	Message   string `json:"message,omitempty"`
}

func (s *Service) view(in *store.Integration) (*View, error) {
	sp := specs[in.Type]
	var cfg map[string]any
	if err := json.Unmarshal(in.Config, &cfg); err != nil {
		return nil, err
	}
	secrets, err := s.secrets(in)
	if err != nil {
		return nil, err
	}
	v := &View{ID: strconv.FormatInt(in.ID, 10), Status: in.Status, Type: in.Type, AutoBootstrap: in.AutoBootstrap,
		Config: redact(sp, cfg, secrets), Connected: in.Type == TypePostgreSQL}
	if in.Type == TypeTrino {
		if k, ok := secrets["apiKey"].(string); ok {
			v.Config["apiKey"] = maskKey(k)
		}
	}
	if in.Validation != nil {
		_ = json.Unmarshal(in.Validation, &v.ValidationResults)
	}
	if in.Message != nil {
		v.Message = *in.Message
	}
	return v, nil
}

func maskKey(k string) string {
	if len(k) < 16 {
		return "******"
	}
	return k[:8] + "******" + k[len(k)-10:]
}

func (s *Service) secrets(in *store.Integration) (map[string]any, error) {
	out := map[string]any{}
	if in.Secret == nil {
		return out, nil
	}
	b, err := s.box.Open(*in.Secret)
	if err != nil {
		return nil, fmt.Errorf("open the secrets of integration %d: %w", in.ID, err)
	}
	return out, json.Unmarshal(b, &out)
}

func (s *Service) seal(secrets map[string]any) (*string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	sealed := s.box.Seal(b)
	return &sealed, nil
}

// config returns an integration's full configuration, secrets included.
func (s *Service) config(in *store.Integration) (map[string]any, map[string]any, error) {
	var cfg map[string]any
	if err := json.Unmarshal(in.Config, &cfg); err != nil {
		return nil, nil, err
	}
	secrets, err := s.secrets(in)
	if err != nil {
		return nil, nil, err
	}
	return merge(cfg, secrets), secrets, nil
}

func notFound(id int64) error { return errs.NotFoundf("No Integration found with ID %d.", id) }

func (s *Service) get(ctx context.Context, id int64) (*store.Integration, error) {
	in, err := s.db.GetIntegration(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	return in, err
}

// List returns every integration.
func (s *Service) List(ctx context.Context, p *auth.Principal) ([]*View, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	list, err := s.db.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*View, 0, len(list))
	for _, in := range list {
		v, err := s.view(in)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Get returns one integration.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id int64) (*View, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	in, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.view(in)
}

// conflict finds an integration in use on the same platform.
func (s *Service) conflict(ctx context.Context, typ, target string, except int64) (*store.Integration, error) {
	list, err := s.db.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	for _, in := range list {
		// A force-disabled PostgreSQL integration no longer governs its
		// database; the other types are always disabled (not connected).
		released := in.Status == StatusDeleted || in.Type == TypePostgreSQL && in.Status == StatusDisabled
		if in.ID != except && in.Type == typ && in.Target == target && !released {
			return in, nil
		}
	}
	return nil, nil
}

func conflictError(in *store.Integration) error {
	switch in.Type {
	case TypeS3:
		return errs.Conflictf("Access Grants location already exists on provided path.")
	case TypeDatabricks:
		return errs.Conflictf("Databricks Unity Catalog integration already exists on %s (id = %d)", in.Target, in.ID)
	case TypePostgreSQL:
		return errs.Conflictf("PostgreSQL integration already exists on %s (id = %d): one integration governs a database; update it with PUT /integrations/%d", in.Target, in.ID, in.ID)
	}
	return errs.Conflictf("%s integration already exists on host %s (id = %d)", in.Type, in.Target, in.ID)
}

// Create validates and creates an integration. For PostgreSQL with
// autoBootstrap custos sets the database up itself, in one transaction;
// without it custos checks that the script from ScriptCreate was run. With
// dryRun nothing is kept.
func (s *Service) Create(ctx context.Context, p *auth.Principal, r *Request, dryRun bool) (*Outcome, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	sp, err := validateRequest(r)
	if err != nil {
		return nil, err
	}
	if r.Config == nil {
		r.Config = map[string]any{}
	}
	target := sp.target(r.Config)
	if c, err := s.conflict(ctx, r.Type, target, 0); err != nil {
		return nil, err
	} else if c != nil {
		if c.Status == StatusCreateError {
			return nil, errs.BadRequestf("Use PUT /integrations/%d endpoint to update connection information for %s integration on host %s (id = %d) that previously failed to create.", c.ID, c.Type, c.Target, c.ID)
		}
		return nil, conflictError(c)
	}
	if r.Type == TypeS3 {
		if err := s.uniqueS3Name(ctx, str(r.Config, "name"), 0); err != nil {
			return nil, err
		}
	}
	auto := r.AutoBootstrap != nil && *r.AutoBootstrap
	cfg := r.Config
	status, message := StatusDisabled, fmt.Sprintf("custos does not connect to %s: the configuration is validated and stored, and nothing is enforced there", r.Type)
	var res *ValidationResults
	var pc PostgresConfig
	if r.Type == TypePostgreSQL {
		pc = postgresConfig(cfg)
		cfg = toMap(pc)
		res, err = s.validatePostgres(ctx, pc, auto, dryRun, true)
		if err != nil {
			return nil, err
		}
		if res.failed() {
			return nil, res.error("Validation of prerequisite setup failed. Unable to create integration.")
		}
		status, message = StatusCreating, ""
	} else {
		res = notConnected(r.Type)
		if r.Type == TypeTrino {
			cfg["apiKey"] = newAPIKey()
		}
	}
	res.finish()
	if dryRun {
		return &Outcome{Status: status, ValidationResults: res, DryRun: true}, nil
	}
	plain, secrets := split(sp, cfg)
	in := &store.Integration{Type: r.Type, Status: status, AutoBootstrap: auto, Target: target, CreatedAt: store.Now()}
	in.UpdatedAt = in.CreatedAt
	if message != "" {
		in.Message = &message
	}
	if p.UserID != 0 {
		in.CreatedBy = &p.UserID
	}
	if in.Config, err = store.ToJSON(plain); err != nil {
		return nil, err
	}
	if in.Secret, err = s.seal(secrets); err != nil {
		return nil, err
	}
	if in.Validation, err = store.ToJSON(res); err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateIntegration(ctx, in); err != nil {
			return err
		}
		if err := audit.Write(ctx, &tx.Queries, audit.Event{Type: "integrationCreate", Success: true, TargetType: "integration",
			TargetID: strconv.FormatInt(in.ID, 10), Details: map[string]any{"type": in.Type, "target": target, "autoBootstrap": auto}}); err != nil {
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
	if err != nil {
		if r.Type == TypePostgreSQL && auto {
			// Creation is all or nothing: take back what the bootstrap made.
			s.teardownQuietly(pc)
		}
		return nil, err
	}
	s.runner.Notify()
	return &Outcome{ID: strconv.FormatInt(in.ID, 10), Status: status, ValidationResults: res}, nil
}

func notConnected(typ string) *ValidationResults {
	res := &ValidationResults{}
	res.add(ValidationTest{Name: "Initial Validation: Basic Connection Test", Status: "skipped",
		Message: fmt.Sprintf("custos does not connect to %s: the configuration was validated and stored; no policy is enforced there", typ)})
	return res
}

func newAPIKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) uniqueS3Name(ctx context.Context, name string, except int64) error {
	list, err := s.db.Integrations(ctx)
	if err != nil {
		return err
	}
	for _, in := range list {
		if in.Type != TypeS3 || in.ID == except || in.Status == StatusDeleted {
			continue
		}
		var c map[string]any
		_ = json.Unmarshal(in.Config, &c)
		if str(c, "name") == name {
			return errs.Field("config.name", errs.CodeUnique, "config.name %q is used by S3 integration %d; names are unique across S3 integrations", name, in.ID)
		}
	}
	return nil
}

func (s *Service) teardownQuietly(pc PostgresConfig) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, s.pgConfig(pc))
	if err != nil {
		s.log.Error("undo a failed creation", "error", err)
		return
	}
	defer db.Close()
	if _, err := postgres.Teardown(ctx, db, pc.System(), postgres.TeardownOptions{Database: pc.Database}); err != nil {
		s.log.Error("undo a failed creation", "error", err)
	}
}

func (s *Service) pgConfig(pc PostgresConfig) postgres.Config {
	return postgres.Config{Host: pc.Host, Port: pc.Port, Database: pc.Database, SSL: pc.SSL, Username: pc.Username,
		Password: pc.Password, Field: "config", ConnectTimeout: s.opts.ConnectTimeout}
}

// Test names of a PostgreSQL integration's validation.
const (
	testConnect    = "Initial Validation: Basic Connection Test"
	testRegistered = "Initial Validation: Database Is Registered"
	testPrivileged = "Validate Automatic: Privileged Role"
	testNoSchema   = "Validate Automatic: System Schema Does Not Exist"
	testNoRole     = "Validate Automatic: System Role Does Not Exist"
	testBootstrap  = "Validate Automatic: Bootstrap"
	testOwnership  = "Validate: Governed Tables Can Be Managed"
	testPgaudit    = "Query Audit: pgaudit Is Loaded"
	testLogPrefix  = "Query Audit: The Log Names Users"
	testLogRead    = "Query Audit: The Log Is Readable"
)

// validatePostgres runs the validation tests of a PostgreSQL integration.
// On creation with autoBootstrap it also runs the bootstrap (committed
// unless dryRun), so that a passing validation means a set-up database.
func (s *Service) validatePostgres(ctx context.Context, pc PostgresConfig, auto, dryRun, creating bool) (*ValidationResults, error) {
	res := &ValidationResults{}
	db, err := postgres.Open(ctx, s.pgConfig(pc))
	if err != nil {
		e := errs.As(err)
		field := "config.host"
		if len(e.Fields) > 0 {
			field = e.Fields[0].Field
		}
		res.fail(testConnect, field, "Unable to connect to host. %s", e.Message)
		return res, nil
	}
	defer db.Close()
	res.pass(testConnect)
	if err := s.checkRegistered(ctx, pc, res); err != nil {
		return nil, err
	}
	srv, err := db.Inspect(ctx)
	if err != nil {
		return nil, errs.Unavailablef(err, "cannot inspect PostgreSQL at %s:%d: %v", pc.Host, pc.Port, err)
	}
	sys := pc.System()
	st, err := db.System(ctx, sys)
	if err != nil {
		return nil, errs.Unavailablef(err, "cannot inspect PostgreSQL at %s:%d: %v", pc.Host, pc.Port, err)
	}
	if pc.Audit.Enabled {
		s.checkAudit(ctx, db, srv, pc, res)
	}
	if creating && auto {
		if srv.Superuser || srv.CreateRole && srv.CreateOnDB {
			res.pass(testPrivileged)
		} else {
			res.fail(testPrivileged, "config.username", "role %q can neither create roles nor schemas in %q: connect as a superuser, or run ALTER ROLE %s CREATEROLE and GRANT CREATE ON DATABASE %s TO %s; or set autoBootstrap to false and have a database administrator run the script from POST /integrations/scripts/create",
				srv.Role, pc.Database, quote(srv.Role), quote(pc.Database), quote(srv.Role))
		}
		if st.SchemaExists {
			res.fail(testNoSchema, "config.systemSchema", "schema %q already exists in %q: if it is left from an earlier integration, remove it with the script from POST /integrations/scripts/cleanup; otherwise set config.systemSchema to another name", sys.Schema, pc.Database)
		} else {
			res.pass(testNoSchema)
		}
		if st.RoleExists {
			res.fail(testNoRole, "config.systemRole", "role %q already exists on the server: if it is left from an earlier integration, remove it with the script from POST /integrations/scripts/cleanup; otherwise set config.systemRole to another name", sys.Role)
		} else {
			res.pass(testNoRole)
		}
		if res.failed() {
			return res, nil
		}
		err := postgres.Bootstrap(ctx, db, sys, pgsql.BootstrapOptions{Member: pc.Username, Database: pc.Database}, dryRun)
		if err != nil {
			var se *postgres.SQLError
			if errors.As(err, &se) && se.Privilege() {
				res.fail(testBootstrap, "config.username", "role %q lacks a privilege the setup needs (%s): connect as a superuser, or set autoBootstrap to false and have a database administrator run the script from POST /integrations/scripts/create", srv.Role, se.Message)
			} else {
				res.fail(testBootstrap, "config", "the setup failed and nothing was created: %v", err)
			}
			return res, nil
		}
		res.pass(testBootstrap)
	} else {
		problems, err := postgres.CheckManual(ctx, db, sys)
		if err != nil {
			return nil, errs.Unavailablef(err, "cannot inspect PostgreSQL at %s:%d: %v", pc.Host, pc.Port, err)
		}
		for _, pr := range problems {
			res.fail(pr.Test, "config", "%s", pr.Message)
		}
		if len(problems) == 0 {
			res.pass("Validate Manual: System Objects")
		}
	}
	s.checkOwnership(ctx, db, srv, pc, res)
	return res, nil
}

func quote(s string) string {
	q, err := pgsql.Ident(s)
	if err != nil {
		return s
	}
	return q
}

// checkRegistered requires that custos knows the database: its data sources
// are what the integration governs.
func (s *Service) checkRegistered(ctx context.Context, pc PostgresConfig, res *ValidationResults) error {
	conns, err := s.connections(ctx, pc)
	if err != nil {
		return err
	}
	if len(conns) > 0 {
		res.pass(testRegistered)
		return nil
	}
	all, err := s.db.Connections(ctx)
	if err != nil {
		return err
	}
	var near []string
	for _, c := range all {
		if c.Technology == "PostgreSQL" && c.Database != nil && *c.Database == pc.Database {
			near = append(near, fmt.Sprintf("%s (%s)", c.ConnectionKey, deref(c.ConnectionString)))
		}
	}
	hint := "register its tables first (POST /api/v2/data, or custos datasource save)"
	if len(near) > 0 {
		hint = "custos knows this database name at " + strings.Join(near, ", ") + ": use the same host and port as that connection"
	}
	res.fail(testRegistered, "config.database", "custos has no connection to database %q on %s:%d: %s", pc.Database, pc.Host, pc.Port, hint)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// connections lists custos's connections to the integration's database.
func (s *Service) connections(ctx context.Context, pc PostgresConfig) ([]*store.Connection, error) {
	all, err := s.db.Connections(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Connection
	for _, c := range all {
		if c.Technology != "PostgreSQL" || c.Hostname == nil || c.Database == nil {
			continue
		}
		port := int64(5432)
		if c.Port != nil && *c.Port != 0 {
			port = *c.Port
		}
		if strings.EqualFold(*c.Hostname, pc.Host) && port == int64(pc.Port) && *c.Database == pc.Database {
			out = append(out, c)
		}
	}
	return out, nil
}

// checkOwnership warns about governed tables custos will not be able to
// manage: it must own them (or be a superuser) to revoke PUBLIC's privileges
// and put row filters on them.
func (s *Service) checkOwnership(ctx context.Context, db *postgres.Database, srv *postgres.Server, pc PostgresConfig, res *ValidationResults) {
	if srv.Superuser {
		res.pass(testOwnership)
		return
	}
	tables, err := s.governedTables(ctx, pc)
	if err != nil || len(tables) == 0 {
		res.add(ValidationTest{Name: testOwnership, Status: "skipped"})
		return
	}
	notOwned, err := db.NotManageable(ctx, tables)
	if err != nil {
		res.add(ValidationTest{Name: testOwnership, Status: "warning", Message: err.Error()})
		return
	}
	if len(notOwned) == 0 {
		res.pass(testOwnership)
		return
	}
	res.add(ValidationTest{Name: testOwnership, Status: "warning", Message: fmt.Sprintf(
		"role %q does not own %s: custos cannot revoke other privileges or filter rows there until it does (GRANT <owner> TO %s, or connect as a superuser)",
		srv.Role, strings.Join(notOwned, ", "), quote(srv.Role))})
}

func (s *Service) checkAudit(ctx context.Context, db *postgres.Database, srv *postgres.Server, pc PostgresConfig, res *ValidationResults) {
	if srv.PgauditLoaded {
		res.pass(testPgaudit)
	} else {
		res.fail(testPgaudit, "config.audit.enabled", "pgaudit is not loaded: install it (apt-get install postgresql-15-pgaudit), add pgaudit to shared_preload_libraries and restart the server, or set config.audit.enabled to false")
	}
	if strings.Contains(srv.LogLinePrefix, "%u") {
		res.pass(testLogPrefix)
	} else {
		res.fail(testLogPrefix, "config.audit.enabled", "log_line_prefix %q does not name the user: ALTER SYSTEM SET log_line_prefix = '%%m [%%p] %%q%%u@%%d '; SELECT pg_reload_conf();", srv.LogLinePrefix)
	}
	if err := checkLogReadable(ctx, db, srv, pc); err != nil {
		res.fail(testLogRead, "config.audit.logPath", "%v", err)
	} else {
		res.pass(testLogRead)
	}
}
