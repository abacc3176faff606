package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "custos_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	m.registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, elapsed time.Duration) {
	method = metricMethod(method)
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// metricMethod bounds the method label: a client may send any token as the
// method, and every distinct label value is a time series kept forever.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions:
		return m
	}
	return "OTHER"
}

func (s *Server) healthRoutes() {
	s.router.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	s.Handle(Op{Method: "GET", Path: "/healthz", Summary: "Liveness: the process serves requests", Tag: "operations",
		Public: true, Response: healthBody{}}, func(r *Request) (any, error) {
		return healthBody{Status: "ok", Version: s.opts.Version}, nil
	})
	s.Handle(Op{Method: "GET", Path: "/readyz", Summary: "Readiness: the store answers", Tag: "operations",
		Public: true, Response: healthBody{}}, func(r *Request) (any, error) {
		if err := s.Ready(r.Context()); err != nil {
			// The route is public; the store's error names its host,
			// database and user.
			s.opts.Logger.Warn("not ready: the store does not answer", "error", err)
			return Status{Code: http.StatusServiceUnavailable, Value: healthBody{Status: "unavailable",
				Detail: "the store does not answer; the server log has the reason"}}, nil
		}
		return healthBody{Status: "ok", Version: s.opts.Version}, nil
	})
}

type healthBody struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
	Detail  string `json:"detail,omitempty"`
}
