// Package api serves custos's HTTP API: Immuta-compatible V1, V2 and
// integrations endpoints plus custos's own. Handlers decode and validate the
// request, call a service, and encode the answer; every route is declared
// with its metadata so that the OpenAPI document describes exactly what is
// served.
package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/catalog/discovery"
	"github.com/custosdata/custos/internal/enforce"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/identity"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// Services are what the handlers call.
type Services struct {
	DB        *store.DB
	Identity  *identity.Service
	Tags      *tags.Service
	Jobs      *jobs.Runner
	Catalog   *catalog.Service
	Discovery *discovery.Service
}

// Options tune the HTTP layer.
type Options struct {
	MaxBodyBytes int64 // request body limit; default 16 MiB
	Version      string
	Logger       *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	Services
	opts    Options
	router  chi.Router
	ops     []*Op
	metrics *metrics
	// auditFallbacks counts successful changes that wrote no audit record
	// of their own; tests assert it stays zero.
	auditFallbacks atomic.Int64
	// preview renders a data source's plan as PostgreSQL for the decision
	// endpoint; set when enforcement is wired in.
	preview func(ctx context.Context, dataSourceID int64) (*enforce.Preview, error)
	// purposeProjects gives the projects using each purpose, once projects
	// are served.
	purposeProjects func(ctx context.Context, purposeIDs []int64) (map[int64][]int64, error)
	// policySummaries tells data source objects which policies are in
	// force, once governance is served.
	policySummaries func(ctx context.Context, dataSourceIDs []int64) (map[int64]*governance.PolicySummary, error)
}

// Op describes one route: how it is documented and guarded.
type Op struct {
	Method     string
	Path       string // chi pattern, e.g. /bim/group/{groupId}
	Summary    string
	Tag        string // OpenAPI tag grouping related routes
	Public     bool   // served without authentication
	Permission string // required permission, checked before the handler
	Query      any    // struct describing query parameters (query:"name" tags)
	Body       any    // request body type, for the document
	Response   any    // response type, for the document
	IntParams  []string
	// NoAudit marks a change-shaped request (POST) that changes nothing,
	// such as a search or a token exchange audited on its own terms.
	NoAudit bool
	// Throttled marks a route that answers 429 with Retry-After when the
	// caller's attempts are spent (password logins).
	Throttled bool
}

// Handler serves one route; it returns the value to encode or an error.
type Handler func(r *Request) (any, error)

// New builds the server and its routes.
func New(svc Services, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 16 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{Services: svc, opts: opts, metrics: newMetrics()}
	r := chi.NewRouter()
	r.Use(s.recoverer, s.requestContext, s.observe)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errs.NotFoundf("no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allowed := s.allowed(r)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, &errs.Error{Kind: errs.MethodNotAllowed,
			Message: "method " + r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allowed, ", ")})
	})
	s.router = r
	s.healthRoutes()
	s.bimRoutes()
	s.tagRoutes()
	s.auditRoutes()
	s.jobRoutes()
	s.catalogRoutes()
	s.openAPIRoute()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// AuditFallbacks reports how many changes were audited only by the safety net.
func (s *Server) AuditFallbacks() int64 { return s.auditFallbacks.Load() }

// Logger is the server's logger.
func (s *Server) Logger() *slog.Logger { return s.opts.Logger }

// Handle registers a route. Numeric path parameters (IntParams) match
// digits only, so that a path such as /dataSource/blobHandlerTypes is never
// taken for a data source id.
func (s *Server) Handle(op Op, h Handler) {
	o := op
	s.ops = append(s.ops, &o)
	pattern := o.Path
	for _, name := range o.IntParams {
		pattern = strings.Replace(pattern, "{"+name+"}", "{"+name+":[0-9]+}", 1)
	}
	s.router.Method(o.Method, pattern, http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		s.serve(w, hr, &o, h)
	}))
}

// allowed lists the methods served on the path of r.
func (s *Server) allowed(r *http.Request) []string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if s.router.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request, op *Op, h Handler) {
	req := &Request{Request: hr, W: w, server: s, op: op}
	if err := req.checkText(); err != nil {
		s.writeError(w, hr, err)
		return
	}
	if !op.Public {
		p, err := s.Identity.Authenticate(hr.Context(), hr.Header.Get("Authorization"))
		if err != nil {
			if errs.Is(err, errs.Unauthorized) {
				err = s.Identity.RequestFailed(hr.Context(), err)
			}
			s.writeError(w, hr, err)
			return
		}
		req.P = p
		req.Request = hr.WithContext(auth.WithPrincipal(hr.Context(), p))
		if op.Permission != "" {
			if err := p.Require(op.Permission); err != nil {
				s.writeError(w, req.Request, err)
				return
			}
		}
	}
	out, err := h(req)
	if err != nil {
		s.writeError(w, req.Request, err)
		return
	}
	s.auditNet(req)
	s.writeValue(w, req.Request, out)
}

// auditNet writes a generic record for a successful change that wrote none,
// and counts it: every change is meant to audit itself in its transaction.
func (s *Server) auditNet(req *Request) {
	m := req.Method
	if m == http.MethodGet || m == http.MethodHead || req.op.NoAudit {
		return
	}
	ar := audit.RequestFrom(req.Context())
	if ar == nil || ar.Written() > 0 {
		return
	}
	s.auditFallbacks.Add(1)
	s.opts.Logger.Warn("change without its own audit record", "method", m, "route", req.op.Path)
	_ = audit.Write(req.Context(), &s.DB.Queries, audit.Event{Type: "apiCall", Action: m + " " + req.op.Path, Success: true})
}

// requestContext assigns the request id, limits the body, and carries the
// request's audit metadata.
func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		}
		ctx := audit.WithRequest(r.Context(), &audit.Request{ID: id, Method: r.Method, Path: r.URL.Path,
			RemoteAddr: clientAddr(r)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// clientAddr is the address the request came from, without its port (IPv6
// included), so that one client is one address to the audit trail and to the
// login limits.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// recoverer turns a panic into a 500 with the request id, and logs it.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.opts.Logger.Error("panic serving request", "panic", p, "method", r.Method, "path", r.URL.Path)
				s.writeError(w, r, &errs.Error{Kind: errs.Internal, Message: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// observe logs each request and records its metrics by route pattern.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.observe(r.Method, route, sw.status, elapsed)
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		s.opts.Logger.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method),
			slog.String("route", route), slog.Int("status", sw.status), slog.Duration("elapsed", elapsed),
			slog.String("requestId", w.Header().Get("X-Request-Id")))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Ready reports whether the server can serve: the store answers.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.DB.Ping(ctx)
}

// Prometheus returns the registry holding the server's metrics, so other
// areas can add theirs.
func (s *Server) Prometheus() *prometheus.Registry { return s.metrics.registry }
