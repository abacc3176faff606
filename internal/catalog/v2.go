package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/store"
)

// SaveOptions are the query parameters of POST /api/v2/data.
type SaveOptions struct {
	DryRun bool
	// Wait is how long to wait for the registration job; negative waits
	// until it finishes, 0 returns at once.
	Wait time.Duration
}

// SaveResult is the response of POST /api/v2/data. The fields after
// ConnectionString are custos's additions.
type SaveResult struct {
	DryRun bool `json:"dryRun"`
	Outcome
	DetectionRunning   bool     `json:"detectionRunning"`
	ConnectionString   *string  `json:"connectionString"`
	ConnectionVerified bool     `json:"connectionVerified"`
	JobID              string   `json:"jobId,omitempty"`
	JobState           string   `json:"jobState,omitempty"`
	SDDJobs            []string `json:"sddJobs,omitempty"`
	Warnings           []string `json:"warnings,omitempty"`
}

// registrationOutput is the output of a registration or monitoring job.
type registrationOutput struct {
	ConnectionKey string `json:"connectionKey"`
	Outcome
	SDDJobs []string `json:"sddJobs"`
}

type registrationPayload struct {
	ConnectionID int64 `json:"connectionId"`
}

// SaveV2 registers a document: it validates it, connects and resolves its
// sources, and, unless DryRun, stores it and enqueues the job that applies
// it. Nothing is written when anything is wrong with the document.
func (s *Service) SaveV2(ctx context.Context, p *auth.Principal, doc Document, o SaveOptions) (*SaveResult, error) {
	if err := p.Require(auth.CreateDataSource); err != nil {
		return nil, err
	}
	q := &s.db.Queries
	existing, err := q.GetConnectionByKey(ctx, doc.ConnectionKey)
	if errors.Is(err, store.ErrNotFound) {
		existing = nil
	} else if err != nil {
		return nil, err
	}
	if existing != nil {
		if existing.Origin != store.ConnectionV2 {
			return nil, errs.Conflictf("connection key %q belongs to data sources registered through a technology handler", doc.ConnectionKey)
		}
		stored, err := s.connectionOf(existing)
		if err != nil {
			return nil, err
		}
		if doc.Connection.Handler != "" && !sameIdentity(doc.Connection, stored) {
			return nil, errs.Conflictf("connection key %q is registered for %s %s; a connection key cannot move to another database "+
				"(it would delete its data sources and create new ones): delete it first (DELETE /api/v2/data/{connectionKey}) or use another key",
				doc.ConnectionKey, stored.Handler, stored.ConnectionString())
		}
		keepSecrets(&doc.Connection, stored)
		if err := mayChangeConnection(ctx, q, p, existing); err != nil {
			return nil, err
		}
	}
	if err := doc.validate(); err != nil {
		return nil, err
	}
	if err := s.checkOwners(ctx, q, &doc); err != nil {
		return nil, err
	}
	live := connector.Live(doc.Connection.Handler)
	res := &SaveResult{DryRun: o.DryRun, ConnectionVerified: live}
	var src connector.Source
	if live {
		if src, err = s.open(ctx, doc.Connection, s.cfg.Connect); err != nil {
			return nil, err
		}
	} else {
		res.Warnings = append(res.Warnings, fmt.Sprintf("custos does not connect to %s: the connection is validated and stored "+
			"but not verified, and data sources have only the columns the payload lists", doc.Connection.Handler))
		if doc.monitored() {
			res.Warnings = append(res.Warnings, fmt.Sprintf("custos cannot list the tables of %s: list each table under "+
				"sources to register it", doc.Connection.Handler))
		}
	}
	var excluded map[string]bool
	var connID int64
	if existing != nil {
		excluded, connID = excludedKeys(existing.Excluded), existing.ID
	}
	targets, err := (&resolver{doc: &doc, src: src, strict: true, excluded: excluded}).resolve(ctx)
	if src != nil {
		src.Close() // the job reads the database again; do not hold it while waiting
	}
	if err != nil {
		return nil, err
	}
	current := map[string]*current{}
	if existing != nil {
		if current, err = loadCurrent(ctx, q, existing.ID); err != nil {
			return nil, err
		}
	}
	taken, takenSQL, err := q.TakenNames(ctx, connID)
	if err != nil {
		return nil, err
	}
	pl, err := makePlan(planInput{mode: modeRegister, targets: targets, current: current, hard: doc.options().HardDelete,
		requester: &p.UserID, owners: ownersOf(ctx, q, true), taken: taken, takenSQL: takenSQL})
	if err != nil {
		return nil, err
	}
	res.Outcome = pl.outcome()
	sdd := !doc.options().DisableSensitiveDataDiscovery && s.classifier != nil
	if o.DryRun {
		return res, audit.Write(ctx, q, audit.Event{Type: "dataSourceSaveDryRun", Success: true, TargetType: "connection",
			TargetID: doc.ConnectionKey})
	}
	var conn *store.Connection
	var jobID string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if conn, err = s.storeDocument(ctx, tx, p, &doc, existing, live); err != nil {
			return err
		}
		jobID, err = jobs.Enqueue(ctx, &tx.Queries, JobRegistration, registrationPayload{ConnectionID: conn.ID},
			jobs.Options{CreatedBy: &p.UserID, TargetType: "connection", TargetID: conn.ConnectionKey})
		if err != nil {
			return err
		}
		action := "create"
		if existing != nil {
			action = "update"
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "dataSourceConnectionSave", Action: action, Success: true,
			TargetType: "connection", TargetID: conn.ConnectionKey, Details: map[string]any{"jobId": jobID,
				"creating": len(res.Creating), "updating": len(res.Updating), "deleting": len(res.Deleting)}})
	})
	if err != nil {
		return nil, err
	}
	s.runner.Notify()
	res.ConnectionString, res.JobID, res.JobState = conn.ConnectionString, jobID, store.JobCreated
	res.DetectionRunning = sdd && len(res.Creating)+len(res.Updating) > 0
	if o.Wait == 0 {
		return res, nil
	}
	return res, s.waitRegistration(ctx, res, o.Wait)
}

// waitRegistration waits for the registration job and reports what it did.
func (s *Service) waitRegistration(ctx context.Context, res *SaveResult, wait time.Duration) error {
	found, err := jobs.Wait(ctx, s.db, []string{res.JobID}, wait, 50*time.Millisecond)
	if err != nil {
		return err
	}
	j := found[res.JobID]
	if j == nil {
		return nil
	}
	res.JobState = j.State
	switch j.State {
	case store.JobFailed:
		return errs.Unavailablef(nil, "registering connection %q failed: %s", deref(j.TargetID), deref(j.Output))
	case store.JobCompleted:
		var out registrationOutput
		if j.Output != nil && json.Unmarshal([]byte(*j.Output), &out) == nil {
			res.Outcome, res.SDDJobs = out.Outcome, out.SDDJobs
		}
		res.DetectionRunning = false
		if len(res.SDDJobs) > 0 {
			sdd, err := s.db.JobsByID(ctx, res.SDDJobs)
			if err != nil {
				return err
			}
			for _, sj := range sdd {
				res.DetectionRunning = res.DetectionRunning || !sj.Finished()
			}
		}
	}
	return nil
}

// checkOwners reports owners (of the document and of each source) that name
// nobody.
func (s *Service) checkOwners(ctx context.Context, q *store.Queries, doc *Document) error {
	var l errs.List
	check := func(owners *[]Owner, field string) error {
		if owners == nil {
			return nil
		}
		_, err := resolveOwners(ctx, q, *owners, field, true)
		if errs.Is(err, errs.Invalid) {
			l = append(l, errs.As(err).Fields...)
			return nil
		}
		return err
	}
	if err := check(doc.Owners, "owners"); err != nil {
		return err
	}
	for i := range doc.Sources {
		if err := check(doc.Sources[i].Owners, fmt.Sprintf("sources[%d].owners", i)); err != nil {
			return err
		}
	}
	return l.Err()
}

// storeDocument creates or updates the connection row of a document.
func (s *Service) storeDocument(ctx context.Context, tx *store.Tx, p *auth.Principal, doc *Document, existing *store.Connection,
	verified bool) (*store.Connection, error) {
	now := store.Now()
	c := &store.Connection{ConnectionKey: doc.ConnectionKey, CreatedBy: &p.UserID, CreatedAt: now, Origin: store.ConnectionV2}
	if existing != nil {
		// The row as it is now: what changed since the request read it
		// (tables deleted by hand, a rename) must not be written back.
		fresh, err := lockedConnection(ctx, &tx.Queries, existing.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if fresh == nil || fresh.ConnectionKey != doc.ConnectionKey {
			return nil, errs.Conflictf("connection key %q was renamed or deleted while this post was checked; post again", doc.ConnectionKey)
		}
		c = fresh
	}
	if err := s.fillConnection(c, doc, verified, now); err != nil {
		return nil, err
	}
	var err error
	if existing == nil {
		err = tx.CreateConnection(ctx, c)
		if store.IsUniqueViolation(err) {
			return nil, errs.Conflictf("connection key %q was registered at the same time by another request; post again", doc.ConnectionKey)
		}
	} else {
		err = tx.UpdateConnection(ctx, c)
	}
	return c, err
}

// fillConnection writes a document into a connection row.
func (s *Service) fillConnection(c *store.Connection, doc *Document, verified bool, now time.Time) error {
	cc := doc.Connection
	c.Technology = cc.Handler
	c.Hostname, c.Database, c.Schema = optional(cc.Hostname), optional(cc.Database), optional(cc.Schema)
	port := cc.Port
	if port == 0 {
		port = connector.DefaultPort(cc.Handler)
	}
	c.Port = nil
	if port != 0 {
		c.Port = ptr(int64(port))
	}
	c.ConnectionString = ptr(cc.ConnectionString())
	var err error
	if c.Config, err = store.ToJSON(withoutSecrets(cc)); err != nil {
		return err
	}
	if c.Secret, err = s.seal(cc); err != nil {
		return err
	}
	c.NameTemplate, c.Options, c.Owners, c.Sources = nil, nil, nil, nil
	if doc.NameTemplate != nil {
		c.NameTemplate, _ = store.ToJSON(doc.NameTemplate)
	}
	if doc.Options != nil {
		c.Options, _ = store.ToJSON(doc.Options)
	}
	if doc.Owners != nil {
		c.Owners, _ = store.ToJSON(*doc.Owners)
		if string(c.Owners) == "null" {
			c.Owners = store.JSON("[]")
		}
	}
	if len(doc.Sources) > 0 {
		c.Sources, _ = store.ToJSON(doc.Sources)
	}
	c.Verified, c.LastError = verified, nil
	c.SchemaMonitoring = verified && doc.monitored()
	// Monitoring counts from registration, which the registration job does.
	c.LastMonitoredAt, c.UpdatedAt = &now, now
	return nil
}

// documentOf rebuilds the document stored in a connection row, with its
// secrets.
func (s *Service) documentOf(c *store.Connection) (*Document, error) {
	cc, err := s.connectionOf(c)
	if err != nil {
		return nil, err
	}
	d := &Document{ConnectionKey: c.ConnectionKey, Connection: cc}
	for _, part := range []struct {
		raw store.JSON
		dst any
	}{{c.NameTemplate, &d.NameTemplate}, {c.Options, &d.Options}, {c.Owners, &d.Owners}, {c.Sources, &d.Sources}} {
		if len(part.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(part.raw, part.dst); err != nil {
			return nil, fmt.Errorf("connection %q: stored document: %w", c.ConnectionKey, err)
		}
	}
	return d, nil
}

func (s *Service) runRegistration(ctx context.Context, job *store.Job, progress jobs.Progress) (any, error) {
	var pl registrationPayload
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return nil, fmt.Errorf("registration job payload: %w", err)
	}
	return s.reconcile(ctx, pl.ConnectionID, modeRegister, job.CreatedBy, nil, progress)
}

func (s *Service) runMonitoring(ctx context.Context, job *store.Job, progress jobs.Progress) (any, error) {
	var pl monitorPayload
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return nil, fmt.Errorf("monitoring job payload: %w", err)
	}
	return s.reconcile(ctx, pl.ConnectionID, modeMonitor, nil, &pl, progress)
}

// errStale says that a connection's document or excluded tables changed
// between reading the remote database and writing the catalog.
var errStale = errors.New("the connection changed while it was read")

// reconcile brings the data sources of a connection in line with its
// document and the remote database. It is idempotent, so an interrupted job
// is simply run again. The remote database is read outside the transaction;
// when the document or the excluded tables change meanwhile (another post, a
// data source deleted by hand), what was read is stale and it starts again.
func (s *Service) reconcile(ctx context.Context, connID int64, m mode, requester *int64, scope *monitorPayload,
	progress jobs.Progress) (*registrationOutput, error) {
	for attempt := 1; ; attempt++ {
		out, err := s.reconcileOnce(ctx, connID, m, requester, scope, progress)
		if errors.Is(err, store.ErrNotFound) {
			if _, gone := s.db.GetConnection(ctx, connID); errors.Is(gone, store.ErrNotFound) {
				return &registrationOutput{Outcome: Outcome{Creating: []string{}, Updating: []string{}, Deleting: []string{},
					NoChange: []string{}}}, nil // deleted since the job was asked for
			}
		}
		if !errors.Is(err, errStale) || attempt == 3 {
			return out, err
		}
	}
}

// sameDocument reports whether two reads of a connection row hold the same
// document and excluded tables, which decide a reconciliation's targets.
func sameDocument(a, b *store.Connection) bool {
	return bytes.Equal(a.Config, b.Config) && deref(a.Secret) == deref(b.Secret) && bytes.Equal(a.NameTemplate, b.NameTemplate) &&
		bytes.Equal(a.Options, b.Options) && bytes.Equal(a.Owners, b.Owners) && bytes.Equal(a.Sources, b.Sources) &&
		bytes.Equal(a.Excluded, b.Excluded)
}

func (s *Service) reconcileOnce(ctx context.Context, connID int64, m mode, requester *int64, scope *monitorPayload,
	progress jobs.Progress) (*registrationOutput, error) {
	conn, err := s.db.GetConnection(ctx, connID)
	if err != nil {
		return nil, err
	}
	if requester == nil {
		requester = conn.CreatedBy
	}
	if ctx, err = Actor(ctx, &s.db.Queries, requester); err != nil {
		return nil, err
	}
	doc, err := s.documentOf(conn)
	if err != nil {
		return nil, err
	}
	progress(0, 3, "reading "+conn.ConnectionKey)
	var src connector.Source
	if connector.Live(doc.Connection.Handler) {
		if src, err = s.open(ctx, doc.Connection, s.cfg.Connect); err != nil {
			s.recordFailure(ctx, conn.ID, err)
			return nil, fmt.Errorf("connect to %s: %w", conn.ConnectionKey, err)
		}
		defer src.Close()
	}
	targets, err := (&resolver{doc: doc, src: src, excluded: excludedKeys(conn.Excluded)}).resolve(ctx)
	if err != nil {
		s.recordFailure(ctx, conn.ID, err)
		return nil, fmt.Errorf("read %s: %w", conn.ConnectionKey, err)
	}
	if scope.narrowed() {
		kept := targets[:0]
		for _, t := range targets {
			if scope.keeps(t.key, t.table) {
				kept = append(kept, t)
			}
		}
		targets = kept
	}
	// Create the tags first, apart: concurrent registrations naming the
	// same new tag then race only on its creation, which is retried.
	user := []string{}
	for _, t := range targets {
		user = append(user, t.tags...)
		for _, ts := range t.columnTags {
			user = append(user, ts...)
		}
	}
	if err := s.ensureTags(ctx, sortedUnique(user), requester, false); err != nil {
		return nil, err
	}
	if err := s.ensureTags(ctx, []string{TagNew}, nil, true); err != nil {
		return nil, err
	}
	progress(1, 3, fmt.Sprintf("registering %d data sources", len(targets)))
	out := &registrationOutput{ConnectionKey: conn.ConnectionKey}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		if err := q.LockConnection(ctx, conn.ID); err != nil {
			return err
		}
		if err := q.LockDataSourcesOfConnection(ctx, conn.ID); err != nil {
			return err
		}
		fresh, err := q.GetConnection(ctx, conn.ID)
		if err != nil {
			return err
		}
		if !sameDocument(conn, fresh) {
			return errStale
		}
		current, err := loadCurrent(ctx, q, conn.ID)
		if err != nil {
			return err
		}
		for k, c := range current {
			if !scope.keeps(k, deref(c.ds.RemoteTable)) {
				delete(current, k)
			}
		}
		if scope != nil && scope.SkipColumns {
			for _, t := range targets {
				if c := current[t.key]; c != nil {
					t.columns = c.columns
				}
			}
		}
		taken, takenSQL, err := q.TakenNames(ctx, conn.ID)
		if err != nil {
			return err
		}
		pl, err := makePlan(planInput{mode: m, targets: targets, current: current, hard: doc.options().HardDelete,
			requester: requester, owners: ownersOf(ctx, q, false), taken: taken, takenSQL: takenSQL})
		if err != nil {
			return err
		}
		now := store.Now()
		res, err := s.apply(ctx, tx, applyInput{conn: fresh, plan: pl, mode: m, requester: requester, now: now})
		if err != nil {
			return err
		}
		out.Outcome = res.Outcome
		fresh.Verified, fresh.LastError, fresh.LastMonitoredAt = src != nil, nil, &now
		if err := q.UpdateConnection(ctx, fresh); err != nil {
			return err
		}
		classify := append(res.created, res.columnsChanged...)
		if s.classifier != nil && !doc.options().DisableSensitiveDataDiscovery && len(classify) > 0 {
			if out.SDDJobs, err = s.classifier.Enqueue(ctx, q, classify, requester); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out.SDDJobs) > 0 {
		s.runner.Notify()
	}
	progress(3, 3, fmt.Sprintf("created %d, updated %d, removed %d", len(out.Creating), len(out.Updating), len(out.Deleting)))
	return out, nil
}

// recordFailure notes on the connection that it could not be read.
func (s *Service) recordFailure(ctx context.Context, connID int64, cause error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := lockedConnection(ctx, &tx.Queries, connID)
		if err != nil {
			return err
		}
		msg := errs.As(cause).Message
		if errs.As(cause).Kind == errs.Internal {
			msg = cause.Error()
		}
		c.Verified, c.LastError, c.UpdatedAt = false, &msg, store.Now()
		return tx.UpdateConnection(ctx, c)
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("record connection failure", "connection", connID, "error", err)
	}
}

// ConnectionSummary is one entry of GET /api/v2/data.
type ConnectionSummary struct {
	ConnectionKey    string  `json:"connectionKey"`
	ConnectionString *string `json:"connectionString"`
	DataSources      int     `json:"dataSources"`
}

// ListV2 lists the connection keys of the V2 data API that p may read, sorted.
func (s *Service) ListV2(ctx context.Context, p *auth.Principal) ([]ConnectionSummary, error) {
	conns, err := s.db.Connections(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := s.db.CountDataSourcesByConnection(ctx)
	if err != nil {
		return nil, err
	}
	out := []ConnectionSummary{}
	for _, c := range conns {
		if c.Origin != store.ConnectionV2 {
			continue
		}
		if ok, err := mayReadConnection(ctx, &s.db.Queries, p, c); err != nil {
			return nil, err
		} else if ok {
			out = append(out, ConnectionSummary{ConnectionKey: c.ConnectionKey, ConnectionString: c.ConnectionString,
				DataSources: counts[c.ID]})
		}
	}
	return out, nil
}

func (s *Service) connectionByKey(ctx context.Context, q *store.Queries, key string) (*store.Connection, error) {
	if strings.IndexByte(key, 0) >= 0 { // no key holds one; PostgreSQL refuses to look
		return nil, errs.NotFoundf("The connection key %q was not found", key)
	}
	c, err := q.GetConnectionByKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Origin != store.ConnectionV2) {
		return nil, errs.NotFoundf("The connection key %q was not found", key)
	}
	return c, err
}

// GetV2 returns the document of a connection key as it would be posted,
// without its secrets.
func (s *Service) GetV2(ctx context.Context, p *auth.Principal, key string) (*Document, error) {
	c, err := s.readableConnection(ctx, p, key)
	if err != nil {
		return nil, err
	}
	d, err := s.documentOf(c)
	if err != nil {
		return nil, err
	}
	pub := d.public()
	return &pub, nil
}

// readableConnection is the V2 connection of key, when p may read it.
func (s *Service) readableConnection(ctx context.Context, p *auth.Principal, key string) (*store.Connection, error) {
	c, err := s.connectionByKey(ctx, &s.db.Queries, key)
	if err != nil {
		return nil, err
	}
	if ok, err := mayReadConnection(ctx, &s.db.Queries, p, c); err != nil {
		return nil, err
	} else if !ok {
		return nil, errs.Forbiddenf("reading connection %q requires having created it, owning one of its data sources or the %s permission",
			key, auth.Governance)
	}
	return c, nil
}

// SourcesV2 lists the names of a connection key's data sources, sorted.
func (s *Service) SourcesV2(ctx context.Context, p *auth.Principal, key string) ([]string, error) {
	c, err := s.readableConnection(ctx, p, key)
	if err != nil {
		return nil, err
	}
	list, err := s.db.DataSourcesOfConnection(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(list))
	for i, d := range list {
		names[i] = d.Name
	}
	sort.Strings(names)
	return names, nil
}

// DeleteResult is the response of DELETE /api/v2/data/{connectionKey}.
type DeleteResult struct {
	DryRun   bool     `json:"dryRun"`
	Deleting []string `json:"deleting"`
}

// DeleteV2 deletes every data source of a connection key, and the key.
func (s *Service) DeleteV2(ctx context.Context, p *auth.Principal, key string, dryRun bool) (*DeleteResult, error) {
	res := &DeleteResult{DryRun: dryRun, Deleting: []string{}}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		c, err := s.connectionByKey(ctx, q, key)
		if err != nil {
			return err
		}
		if err := mayChangeConnection(ctx, q, p, c); err != nil {
			return err
		}
		list, err := q.DataSourcesOfConnection(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, d := range list {
			res.Deleting = append(res.Deleting, d.Name)
		}
		sort.Strings(res.Deleting)
		if dryRun {
			return audit.Write(ctx, q, audit.Event{Type: "dataSourceConnectionDeleteDryRun", Success: true, TargetType: "connection",
				TargetID: key})
		}
		now := store.Now()
		for _, d := range list {
			if err := s.remove(ctx, q, c, d, true, store.DisabledByUser, now); err != nil {
				return err
			}
		}
		if err := q.DeleteConnection(ctx, c.ID); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.Event{Type: "dataSourceConnectionDelete", Success: true, TargetType: "connection",
			TargetID: key, Details: map[string]any{"deleted": len(list)}})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RenameResult is the response of POST /api/v2/data/{connectionKey}/rename.
type RenameResult struct {
	OldConnectionKey string `json:"oldConnectionKey"`
	NewConnectionKey string `json:"newConnectionKey"`
}

// RenameV2 gives a connection key a new name.
func (s *Service) RenameV2(ctx context.Context, p *auth.Principal, oldKey, newKey string) (*RenameResult, error) {
	if strings.TrimSpace(newKey) == "" {
		return nil, errs.Field("newConnectionKey", errs.CodeRequired, "newConnectionKey is required")
	}
	if len(newKey) > maxKeyLength || newKey != strings.TrimSpace(newKey) || strings.IndexFunc(newKey, unicode.IsControl) >= 0 {
		return nil, errs.Field("newConnectionKey", errs.CodeInvalid, "newConnectionKey must be at most %d characters, without control characters or surrounding blanks", maxKeyLength)
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		c, err := s.connectionByKey(ctx, q, oldKey)
		if err != nil {
			return err
		}
		if c, err = lockedConnection(ctx, q, c.ID); errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("The connection key %q was not found", oldKey)
		} else if err != nil {
			return err
		}
		if err := mayChangeConnection(ctx, q, p, c); err != nil {
			return err
		}
		if oldKey == newKey {
			return audit.Write(ctx, q, audit.Event{Type: "dataSourceConnectionRename", Success: true, TargetType: "connection", TargetID: newKey})
		}
		if _, err := q.GetConnectionByKey(ctx, newKey); err == nil {
			return errs.Field("newConnectionKey", errs.CodeUnique, "connection key %q already exists", newKey)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		c.ConnectionKey, c.UpdatedAt = newKey, store.Now()
		if err := q.UpdateConnection(ctx, c); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.Event{Type: "dataSourceConnectionRename", Success: true, TargetType: "connection",
			TargetID: newKey, Details: map[string]any{"from": oldKey}})
	})
	if err != nil {
		return nil, err
	}
	return &RenameResult{OldConnectionKey: oldKey, NewConnectionKey: newKey}, nil
}
