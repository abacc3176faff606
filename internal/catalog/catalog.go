// Package catalog owns the registered data sources: the connections of the
// V2 data API and the technology handlers, the data sources with their
// dictionaries, owners and tags, and schema monitoring.
//
// Registration is declarative. A V2 document is the complete desired state of
// one connection key; the request validates it, connects and resolves its
// sources (so that a wrong password or a missing table is a 422 naming the
// field, with nothing written), stores it, and enqueues a registration job
// that reconciles the catalog with it. Schema monitoring runs the same
// reconciliation on a schedule. Every change writes its audit record and
// appends to the change log in its transaction.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// Job types the catalog runs.
const (
	JobRegistration = "dataSourceRegistration" // reconcile a connection with its document
	JobMonitoring   = "schemaMonitoring"       // the same, on a schedule: new tables are tagged New
)

// Change kinds the catalog appends to the change log. Model type is
// "datasource" (id: the data source id) unless noted.
const (
	ChangeCreated       = "dataSourceCreated"
	ChangeUpdated       = "dataSourceUpdated"  // name, description, SQL names, connection or framework changed
	ChangeDisabled      = "dataSourceDisabled" // soft-deleted, or its table disappeared
	ChangeEnabled       = "dataSourceEnabled"  // restored
	ChangeDeleted       = "dataSourceDeleted"
	ChangeColumns       = "columnsChanged" // columns added, removed or retyped
	ChangeOwners        = "ownersChanged"
	ChangeTagAttached   = "tagAttached" // model type "datasource" or "column" ("<dataSourceId>_<column>")
	ChangeTagDetached   = "tagDetached"
	ModelDataSource     = "datasource"
	ModelColumn         = "column"
	defaultMonitorEvery = 24 * time.Hour
)

// Tag contexts: who attached a tag. Tags attached by hand ("manual", through
// the tag API) are never removed by registration, monitoring or discovery.
const (
	ContextV2      = "v2"               // from a V2 document: options.tableTags, sources[].tags
	ContextMonitor = "schemaMonitoring" // the New tag on tables and columns that appeared
	ContextSDD     = "sdd"              // sensitive data discovery
)

// TagNew marks tables and columns that appeared after registration.
const TagNew = "New"

// Config tunes the catalog.
type Config struct {
	// MonitorInterval is how often schema monitoring re-reads each monitored
	// connection; default daily.
	MonitorInterval time.Duration
	// Connect tunes connections to remote databases.
	Connect connector.Options
}

// Classifier runs sensitive data discovery on data sources; the discovery
// service implements it. Enqueue creates the jobs in q's transaction.
type Classifier interface {
	Enqueue(ctx context.Context, q *store.Queries, dataSourceIDs []int64, createdBy *int64) ([]string, error)
}

// Scope is the set of data sources whose metadata a caller may see.
type Scope struct {
	All bool
	IDs []int64 // when not All
}

// Service implements the catalog.
type Service struct {
	db      *store.DB
	secrets *secret.Box
	runner  *jobs.Runner
	log     *slog.Logger
	cfg     Config

	// Discoverable decides which data sources' metadata p may see. Every
	// authenticated user sees every data source until the policy engine
	// replaces this with its allowDiscovery decisions.
	Discoverable func(ctx context.Context, q *store.Queries, p *auth.Principal) (Scope, error)

	classifier Classifier
	pool       sources
	// open connects to a live source; it is connector.Open unless a test
	// replaces it.
	open func(ctx context.Context, c connector.Connection, o connector.Options) (connector.Source, error)
}

// New returns the catalog service and registers its job handlers and its
// taggable models (datasource, column).
func New(db *store.DB, box *secret.Box, runner *jobs.Runner, tagSvc *tags.Service, log *slog.Logger, cfg Config) *Service {
	if cfg.MonitorInterval <= 0 {
		cfg.MonitorInterval = defaultMonitorEvery
	}
	s := &Service{db: db, secrets: box, runner: runner, log: log, cfg: cfg, open: connector.Open,
		Discoverable: everyone}
	runner.Register(JobRegistration, jobs.Handler{Run: s.runRegistration, Resumable: true})
	runner.Register(JobMonitoring, jobs.Handler{Run: s.runMonitoring, Resumable: true})
	tagSvc.Register(ModelDataSource, tags.Model{Check: s.checkDataSourceModel})
	tagSvc.Register(ModelColumn, tags.Model{Check: s.checkColumnModel})
	return s
}

// SetClassifier installs the discovery service that registration triggers.
func (s *Service) SetClassifier(c Classifier) { s.classifier = c }

// everyone lets every authenticated caller discover every data source.
func everyone(ctx context.Context, q *store.Queries, p *auth.Principal) (Scope, error) {
	if p == nil {
		return Scope{}, nil
	}
	return Scope{All: true}, nil
}

// canSee reports whether p may see the data source's metadata.
func (s *Service) canSee(ctx context.Context, q *store.Queries, p *auth.Principal, id int64) (bool, error) {
	sc, err := s.Discoverable(ctx, q, p)
	if err != nil || sc.All {
		return sc.All, err
	}
	for _, x := range sc.IDs {
		if x == id {
			return true, nil
		}
	}
	return false, nil
}

// Visible loads a data source that p may see; one that p may not see does
// not exist for p.
func (s *Service) Visible(ctx context.Context, q *store.Queries, p *auth.Principal, id int64) (*store.DataSource, error) {
	d, err := q.GetDataSource(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("data source %d does not exist", id)
	} else if err != nil {
		return nil, err
	}
	ok, err := s.canSee(ctx, q, p, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFoundf("data source %d does not exist", id)
	}
	return d, nil
}

// visibleForUpdate is Visible for a change: it locks the data source's row
// first, so that the row it reads is the one the change writes over, not
// one another transaction is replacing.
func (s *Service) visibleForUpdate(ctx context.Context, q *store.Queries, p *auth.Principal, id int64) (*store.DataSource, error) {
	if err := q.LockDataSources(ctx, id); err != nil {
		return nil, err
	}
	return s.Visible(ctx, q, p, id)
}

// lockedConnection locks a connection's row for the rest of the transaction
// and reads it, so that a change written over the row loses nothing another
// transaction wrote (tables deleted by hand, a rename, a new document).
func lockedConnection(ctx context.Context, q *store.Queries, id int64) (*store.Connection, error) {
	if err := q.LockConnection(ctx, id); err != nil {
		return nil, err
	}
	return q.GetConnection(ctx, id)
}

// isOwner reports whether p owns the data source, directly or through a group.
func isOwner(ctx context.Context, q *store.Queries, p *auth.Principal, dataSourceID int64) (bool, error) {
	if p == nil || p.UserID == 0 {
		return false, nil
	}
	owners, err := q.AccessToDataSource(ctx, dataSourceID, store.AccessOwner)
	if err != nil || len(owners) == 0 {
		return false, err
	}
	var groups map[int64]bool
	for _, o := range owners {
		if o.ModelType == store.ModelUser && o.ModelID == p.UserID {
			return true, nil
		}
		if o.ModelType == store.ModelGroup {
			if groups == nil {
				gs, err := q.GroupsOfUsers(ctx, p.UserID)
				if err != nil {
					return false, err
				}
				groups = map[int64]bool{}
				for _, g := range gs[p.UserID] {
					groups[g.Group.ID] = true
				}
			}
			if groups[o.ModelID] {
				return true, nil
			}
		}
	}
	return false, nil
}

// MayChange returns a Forbidden error unless p holds GOVERNANCE or owns the
// data source.
func MayChange(ctx context.Context, q *store.Queries, p *auth.Principal, d *store.DataSource) error {
	if p.Has(auth.Governance) {
		return nil
	}
	ok, err := isOwner(ctx, q, p, d.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Forbiddenf("changing data source %q requires owning it or the %s permission", d.Name, auth.Governance)
	}
	return nil
}

// mayChangeConnection returns a Forbidden error unless p holds GOVERNANCE,
// or owns every data source of the connection (or created it, when it has
// none).
func mayChangeConnection(ctx context.Context, q *store.Queries, p *auth.Principal, c *store.Connection) error {
	if p.Has(auth.Governance) {
		return nil
	}
	list, err := q.DataSourcesOfConnection(ctx, c.ID)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		if c.CreatedBy != nil && p.Is(*c.CreatedBy) {
			return nil
		}
	}
	for _, d := range list {
		ok, err := isOwner(ctx, q, p, d.ID)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Forbiddenf("changing connection %q requires owning all of its data sources or the %s permission; you do not own %q",
				c.ConnectionKey, auth.Governance, d.Name)
		}
	}
	if len(list) == 0 {
		return errs.Forbiddenf("changing connection %q requires having created it or the %s permission", c.ConnectionKey, auth.Governance)
	}
	return nil
}

// mayReadConnection lets a governor, the connection's creator and the
// owners of any of its data sources read a V2 connection document: it names
// hosts, databases and the account custos connects with.
func mayReadConnection(ctx context.Context, q *store.Queries, p *auth.Principal, c *store.Connection) (bool, error) {
	if p.Has(auth.Governance) || c.CreatedBy != nil && p.Is(*c.CreatedBy) {
		return true, nil
	}
	list, err := q.DataSourcesOfConnection(ctx, c.ID)
	if err != nil {
		return false, err
	}
	for _, d := range list {
		if ok, err := isOwner(ctx, q, p, d.ID); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// checkDataSourceModel lets the tag API tag a data source its owner or a
// governor may change.
func (s *Service) checkDataSourceModel(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return "", errs.BadRequestf("a data source id is a number, not %q", id)
	}
	d, err := s.Visible(ctx, q, p, n)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(n, 10), MayChange(ctx, q, p, d)
}

// checkColumnModel lets the tag API tag a column ("<dataSourceId>_<column>")
// of a data source its owner or a governor may change.
func (s *Service) checkColumnModel(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error) {
	dsID, name, ok := store.ParseColumnModelID(id)
	if !ok {
		return "", errs.BadRequestf("a column id is <dataSourceId>_<columnName>, not %q", id)
	}
	d, err := s.Visible(ctx, q, p, dsID)
	if err != nil {
		return "", err
	}
	cols, err := q.ColumnsOf(ctx, dsID)
	if err != nil {
		return "", err
	}
	found := false
	for _, c := range cols[dsID] {
		found = found || c.Name == name
	}
	if !found {
		return "", errs.NotFoundf("data source %q has no column %q", d.Name, name)
	}
	return store.ColumnModelID(dsID, name), MayChange(ctx, q, p, d)
}

// Actor returns a context whose principal is the user who asked for a job,
// so that the job's audit records name them; nil leaves the system as actor.
func Actor(ctx context.Context, q *store.Queries, userID *int64) (context.Context, error) {
	if userID == nil {
		return ctx, nil
	}
	u, err := q.GetUser(ctx, *userID)
	if errors.Is(err, store.ErrNotFound) {
		return ctx, nil
	} else if err != nil {
		return nil, err
	}
	return auth.WithPrincipal(ctx, &auth.Principal{UserID: u.ID, IAMID: u.IAMID, Username: u.UserID, Name: u.Name,
		Email: u.Email}), nil
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// appendChanges appends one change per id.
func appendChanges(ctx context.Context, q *store.Queries, kind, modelType string, ids ...string) error {
	for _, id := range ids {
		if err := q.AppendChange(ctx, kind, modelType, id); err != nil {
			return fmt.Errorf("append %s change: %w", kind, err)
		}
	}
	return nil
}
