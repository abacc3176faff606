// Package auditexport exports the audit trail: configurations name a
// destination (a directory on the server, an S3 bucket, an ADLS Gen2
// container) and an interval, and a background loop writes the audit
// records created since the last export as JSON lines. Each configuration
// keeps a cursor in the store — the last record exported — so that no
// record is exported twice or skipped, across restarts and across servers
// sharing one store. Destination secrets are sealed with the server key and
// never returned.
package auditexport

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
)

// Destination types.
const (
	TypeS3    = "s3"
	TypeADLS  = "adls"
	TypeLocal = "local"
)

// Intervals are the accepted export intervals.
var Intervals = map[string]time.Duration{
	"EVERY_HOUR":     time.Hour,
	"EVERY_2_HOURS":  2 * time.Hour,
	"EVERY_6_HOURS":  6 * time.Hour,
	"EVERY_12_HOURS": 12 * time.Hour,
	"EVERY_24_HOURS": 24 * time.Hour,
}

// IntervalNames lists the intervals, shortest first.
var IntervalNames = []string{"EVERY_HOUR", "EVERY_2_HOURS", "EVERY_6_HOURS", "EVERY_12_HOURS", "EVERY_24_HOURS"}

// States of a configuration's exports.
const (
	StatePending      = "pending"      // no export has run yet
	StateOK           = "ok"           // the last export succeeded
	StateError        = "error"        // the last export failed; it is retried
	StateNotConnected = "notConnected" // custos cannot deliver to this destination
)

// Actor is who created or last changed a configuration.
type Actor struct {
	Name             string `json:"name"`
	IdentityProvider string `json:"identityProvider"`
	ID               string `json:"id"`
	Type             string `json:"type"`
}

// Config is an export configuration.
type Config struct {
	ID        string
	Type      string
	Interval  string
	Enabled   bool
	Endpoint  map[string]any // the destination's fields, secrets left out
	sealed    string         // the secret fields, sealed
	CreatedAt time.Time
	CreatedBy Actor
	UpdatedAt time.Time
	UpdatedBy Actor

	CursorTime time.Time // the last record exported (or the creation time)
	CursorID   string
	NextRunAt  time.Time
	LastRunAt  *time.Time
	State      string
	Message    string
	Exported   int64 // records exported so far
}

// Input is a configuration as the API receives it.
type Input struct {
	Type                  string         `json:"type"`
	Interval              string         `json:"interval"`
	Enabled               *bool          `json:"enabled"`
	EndpointConfiguration map[string]any `json:"endpointConfiguration"`
}

// Options tune the service.
type Options struct {
	// Dir is the root of local exports; a local configuration's directory
	// is relative to it, so that the API cannot write anywhere else.
	Dir string
	// Encode turns an audit record into the value written as one JSON
	// line (the API's record shape).
	Encode func(*store.AuditRecord) any
	Log    *slog.Logger
	// Tick is how often the loop looks for due exports (default 1 minute).
	Tick time.Duration
	// Lag keeps records younger than it for the next run, so that a record
	// whose transaction commits late is not skipped (default 1 minute).
	Lag time.Duration
	// Batch is the most records per exported file (default 10000).
	Batch int
	// Lease is how long a server owns a running export before another may
	// take it over (default 10 minutes).
	Lease time.Duration
	// RetryAfter is the wait after a failed export (default 5 minutes, or
	// the interval when shorter).
	RetryAfter time.Duration
	// HTTPClient sends uploads (default: 2 minute timeout).
	HTTPClient *http.Client
}

// Service manages export configurations and runs exports.
type Service struct {
	db   *store.DB
	box  *secret.Box
	opts Options
}

// New returns the service.
func New(db *store.DB, box *secret.Box, opts Options) *Service {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Dir != "" {
		if abs, err := filepath.Abs(opts.Dir); err == nil {
			opts.Dir = abs
		}
	}
	if opts.Encode == nil {
		opts.Encode = func(r *store.AuditRecord) any { return r }
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Minute
	}
	if opts.Lag <= 0 {
		opts.Lag = time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 10000
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Minute
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Minute
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Service{db: db, box: box, opts: opts}
}

func actorOf(p *auth.Principal) Actor {
	a := Actor{Name: p.Name, IdentityProvider: p.IAMID, ID: p.Username, Type: "USER"}
	if a.Name == "" {
		a.Name = p.Username
	}
	return a
}

// List returns every configuration, oldest first.
func (s *Service) List(ctx context.Context, p *auth.Principal) ([]*Config, error) {
	if err := p.Require(auth.Audit); err != nil {
		return nil, err
	}
	return listConfigs(ctx, &s.db.Queries)
}

// Get returns one configuration.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id string) (*Config, error) {
	if err := p.Require(auth.Audit); err != nil {
		return nil, err
	}
	return s.find(ctx, &s.db.Queries, id)
}

func (s *Service) find(ctx context.Context, q *store.Queries, id string) (*Config, error) {
	c, err := getConfig(ctx, q, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("the audit export configuration %q was not found", id)
	}
	return c, err
}

// Create validates and stores a configuration. Its cursor starts now:
// records created from now on are exported.
func (s *Service) Create(ctx context.Context, p *auth.Principal, in Input) (*Config, error) {
	if err := p.Require(auth.Audit); err != nil {
		return nil, err
	}
	endpoint, secrets, err := validate(in)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	c := &Config{ID: uuid.NewString(), Type: in.Type, Interval: in.Interval, Enabled: in.Enabled == nil || *in.Enabled,
		Endpoint: endpoint, CreatedAt: now, CreatedBy: actorOf(p), UpdatedAt: now, UpdatedBy: actorOf(p),
		CursorTime: now, NextRunAt: now.Add(Intervals[in.Interval]), State: StatePending,
		Message: "the first export runs one interval after creation, with the records created since"}
	if in.Type == TypeADLS {
		c.State, c.Message = StateNotConnected, notConnectedADLS
	}
	if len(secrets) > 0 {
		if c.sealed, err = s.seal(secrets); err != nil {
			return nil, err
		}
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := insertConfig(ctx, &tx.Queries, c); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "auditExportConfigCreate", Success: true,
			TargetType: "auditExportConfig", TargetID: c.ID, Details: map[string]any{"type": c.Type, "interval": c.Interval}})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SetEnabled enables or disables a configuration. Enabling a disabled
// configuration schedules its next export one interval from now; records
// created while it was disabled are exported then.
func (s *Service) SetEnabled(ctx context.Context, p *auth.Principal, id string, enabled bool) (*Config, error) {
	if err := p.Require(auth.Audit); err != nil {
		return nil, err
	}
	var out *Config
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.find(ctx, &tx.Queries, id)
		if err != nil {
			return err
		}
		now := store.Now()
		if enabled && !c.Enabled {
			c.NextRunAt = now.Add(Intervals[c.Interval])
		}
		c.Enabled, c.UpdatedAt, c.UpdatedBy = enabled, now, actorOf(p)
		if err := updateConfig(ctx, &tx.Queries, c); err != nil {
			return err
		}
		verb := "auditExportConfigDisable"
		if enabled {
			verb = "auditExportConfigEnable"
		}
		out = c
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: verb, Success: true, TargetType: "auditExportConfig", TargetID: id})
	})
	return out, err
}

// Delete removes a configuration; what it exported stays where it is.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, id string) error {
	if err := p.Require(auth.Audit); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := s.find(ctx, &tx.Queries, id); err != nil {
			return err
		}
		if err := deleteConfig(ctx, &tx.Queries, id); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "auditExportConfigDelete", Success: true,
			TargetType: "auditExportConfig", TargetID: id})
	})
}
