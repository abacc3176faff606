// Package server assembles custos: it opens the store, builds the services
// and the HTTP API, bootstraps the first administrator, runs background
// loops, and shuts everything down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/api"
	"github.com/custosdata/custos/internal/auditexport"
	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/catalog/discovery"
	"github.com/custosdata/custos/internal/enforce"
	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/identity"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/projects"
	"github.com/custosdata/custos/internal/requests"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
	"github.com/custosdata/custos/internal/version"
)

// App is a configured custos server.
type App struct {
	Config    Config
	Log       *slog.Logger
	DB        *store.DB
	Secrets   *secret.Box
	Identity  *identity.Service
	Tags      *tags.Service
	Jobs      *jobs.Runner
	Catalog   *catalog.Service
	Discovery *discovery.Service
	API       *api.Server
	// AuditExport exports the audit trail on each configuration's interval.
	AuditExport *auditexport.Service
	// Governance holds the policy engine and decides; Access keeps
	// subscriptions.
	Governance *governance.Service
	Access     *access.Service
	// Enforce serves the Integrations API and pushes the decisions into the
	// governed databases.
	Enforce *enforce.Service
	// Projects keeps projects and what their members act under; Requests
	// settles access requests to data sources and projects.
	Projects *projects.Service
	Requests *requests.Service

	// AdminKey is the administrator's API key when this start created the
	// administrator; empty otherwise.
	AdminKey string

	background []func(ctx context.Context)
}

// New opens the store and builds the services. Call Close when done.
func New(ctx context.Context, cfg Config, logOut io.Writer) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := newLogger(cfg, logOut)
	box, err := secret.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.StoreLocation())
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, DB: db, Secrets: box}
	a.Identity = identity.New(db, identity.Config{TokenTTL: cfg.TokenTTL, Log: log, Limits: identity.LoginLimits{
		AccountFailures: cfg.LoginFailureLimit, AddressFailures: cfg.LoginAddressFailureLimit,
		Window: cfg.LoginFailureWindow, HashConcurrency: cfg.PasswordHashConcurrency}})
	a.Tags = tags.New(db)
	a.Jobs = jobs.NewRunner(db, log)
	a.Catalog = catalog.New(db, box, a.Jobs, a.Tags, log, catalog.Config{MonitorInterval: cfg.SchemaMonitorInterval})
	a.Discovery = discovery.New(db, a.Jobs, a.Catalog, log, discovery.Config{SampleSize: cfg.SDDSampleSize})
	if err := a.Discovery.Sync(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store the built-in identifiers: %w", err)
	}
	a.API = api.New(api.Services{DB: db, Identity: a.Identity, Tags: a.Tags, Jobs: a.Jobs, Catalog: a.Catalog,
		Discovery: a.Discovery},
		api.Options{MaxBodyBytes: cfg.MaxBodyBytes, Version: version.String(), Logger: log})
	if err := a.bootstrap(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a.background = append(a.background, a.pruneTokens, a.Identity.Run, a.Jobs.Run, a.Catalog.Monitor)
	a.API.Prometheus().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custos_password_hashes_in_flight",
		Help: "Password hashes (argon2id) being computed now; at most --password-hash-concurrency."},
		func() float64 { n, _ := a.Identity.PasswordHashes(); return float64(n) }))
	a.AuditExport = auditexport.New(db, box, auditexport.Options{Dir: filepath.Join(cfg.DataDir, "audit-export"), Encode: api.AuditRecordJSON, Log: log})
	a.API.AuditExportRoutes(a.AuditExport)
	a.AddBackground(a.AuditExport.Run)
	a.Projects = projects.New(db, projects.Options{Log: log})
	a.Governance = governance.New(db, governance.Options{Log: log, Registry: a.API.Prometheus(),
		Acting: a.Projects.Acting, ProjectActing: a.Projects.ProjectActing})
	a.Projects.SetEngine(a.Governance)
	a.Governance.SetPurposesWritten(a.Projects.PurposesWritten)
	if err := a.Governance.Load(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("load the policy engine: %w", err)
	}
	a.Access = access.New(db, a.Governance)
	a.Requests = requests.New(db, a.Access.Requests(), a.Projects.Requests())
	a.Identity.SetProjectCheck(projects.Exists)
	a.Tags.Register("project", tags.Model{Check: a.Projects.CheckTagModel})
	a.Tags.SetInUse(a.Governance.TagsInUse)
	a.API.GovernanceRoutes(a.Governance, a.Access)
	a.API.ProjectRoutes(a.Projects, a.Requests, a.Access)
	a.AddBackground(a.Governance.Run)
	a.Enforce = enforce.New(db, box, enforce.Options{Log: log})
	a.Enforce.SetDecisions(decisions{a.Governance})
	a.API.IntegrationRoutes(a.Enforce)
	a.AddBackground(a.Enforce.Run)
	a.AddBackground(a.Projects.Run)
	return a, nil
}

// Close releases the store.
func (a *App) Close() error { return a.DB.Close() }

// bootstrap creates the administrator when the store has no user at all.
func (a *App) bootstrap(ctx context.Context) error {
	n, err := a.DB.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	_, key, err := a.Identity.CreateBootstrapAdmin(ctx, "admin", a.Config.AdminAPIKey)
	if store.IsUniqueViolation(err) {
		return nil // another server sharing the store created it first
	} else if err != nil {
		return fmt.Errorf("create the administrator: %w", err)
	}
	a.AdminKey = key
	return nil
}

func newLogger(cfg Config, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// pruneTokens deletes expired bearer tokens every ten minutes.
func (a *App) pruneTokens(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.Identity.PruneTokens(ctx); err != nil {
				a.Log.Warn("prune expired tokens", "error", err)
			} else if n > 0 {
				a.Log.Debug("pruned expired tokens", "count", n)
			}
		}
	}
}

// Serve listens and serves until ctx is cancelled, then shuts down
// gracefully: it stops accepting, lets requests in flight finish (up to 20
// seconds), and stops the background loops. ready, if not nil, receives the
// listening address.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	var cert *certificate
	if a.Config.TLSCert != "" {
		var err error
		if cert, err = loadCertificate(a.Config.TLSCert, a.Config.TLSKey, a.Log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return listenError(a.Config.Listen, err)
	}
	srv := &http.Server{Handler: a.API, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if cert != nil {
		srv.TLSConfig, scheme = cert.tlsConfig(), "https"
	}
	stopBackground := a.Start()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a.Log.Info("shutting down")
		_ = srv.Shutdown(shutdownCtx)
		stopBackground()
	}()
	addr := ln.Addr().String()
	a.Log.Info("custos is serving", "address", scheme+"://"+addr, "store", string(a.DB.Backend()), "version", version.String())
	if ready != nil {
		ready(addr)
	}
	if cert != nil {
		err = srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig; HTTP/2 is offered
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	stopBackground()
	return err
}

// Start runs the background loops (jobs, token pruning, ...) until the
// returned stop function is called; stop waits for them to return.
func (a *App) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, loop := range a.background {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}

// AddBackground registers a loop that runs while the server serves.
func (a *App) AddBackground(loop func(ctx context.Context)) {
	a.background = append(a.background, loop)
}

// listenError says which setting chose the address that cannot be used.
func listenError(addr string, err error) error {
	hint := ""
	if errors.Is(err, syscall.EADDRINUSE) {
		hint = "; another process listens there: stop it, or choose another address with --listen (CUSTOS_LISTEN)"
	} else if errors.Is(err, syscall.EACCES) {
		hint = "; ports below 1024 need privileges: choose another address with --listen (CUSTOS_LISTEN)"
	}
	return fmt.Errorf("cannot listen on %s (--listen): %w%s", addr, err, hint)
}

// URLFor returns the base URL for a listening address.
func URLFor(addr string) string {
	if strings.HasPrefix(addr, "[::]") || strings.HasPrefix(addr, "0.0.0.0") {
		_, port, _ := net.SplitHostPort(addr)
		return "http://127.0.0.1:" + port
	}
	return "http://" + addr
}

// decisions hands the governance service to enforcement, which declares
// what it consumes with its own Grant type.
type decisions struct{ *governance.Service }

func (d decisions) Grants(ctx context.Context, dataSourceID int64) ([]enforce.Grant, error) {
	gs, err := d.Service.Grants(ctx, dataSourceID)
	out := make([]enforce.Grant, len(gs))
	for i, g := range gs {
		out[i] = enforce.Grant(g)
	}
	return out, err
}
