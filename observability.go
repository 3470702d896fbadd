package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// appMetrics are one app's Prometheus metrics, on a registry of its own
// (not the library's global one), so that two apps in one process, as in
// the tests, count apart. Every label is a fixed word or a route template:
// no username, client_id, token or raw URL ever becomes a label, so the
// metrics say how the server is doing and never who used it, and the
// number of series stays bounded whatever clients send.
type appMetrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	logins    *prometheus.CounterVec
	throttled *prometheus.CounterVec

	// series holds each (route, method, status)'s counter and histogram
	// once resolved, so a request does not hash its labels again: a map
	// replaced whole on the rare new series and read without a lock.
	series   atomic.Pointer[map[seriesKey]requestSeries]
	seriesMu sync.Mutex // one writer of series at a time

	// The handlers' counters, resolved once.
	tokensIssued                 map[string]prometheus.Counter
	loginOK, loginFailed         prometheus.Counter
	throttledLogin, throttledCli prometheus.Counter
}

type seriesKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newAppMetrics(store *models.Store) (*appMetrics, error) {
	m := &appMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcd_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oidcd_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcd_tokens_issued_total",
			Help: "Token responses issued at /token, by grant type.",
		}, []string{"grant_type"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcd_logins_total",
			Help: "Password logins, by result (ok, failed).",
		}, []string{"result"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcd_throttled_total",
			Help: "Attempts refused by a throttle: login at /login and the password grant, client authentication at /token.",
		}, []string{"kind"}),
	}
	// Every series a dashboard expects exists from the start, at zero.
	m.tokensIssued = map[string]prometheus.Counter{}
	for _, g := range oauth.GrantTypes {
		m.tokensIssued[g] = m.tokens.WithLabelValues(g)
	}
	m.loginOK = m.logins.WithLabelValues("ok")
	m.loginFailed = m.logins.WithLabelValues("failed")
	m.throttledLogin = m.throttled.WithLabelValues("login")
	m.throttledCli = m.throttled.WithLabelValues("client")
	m.series.Store(&map[seriesKey]requestSeries{})

	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.tokens, m.logins, m.throttled,
		// Password hashing slots (models.passwordLimiter): read when
		// scraped, never per request.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "oidcd_password_hashing_slots",
			Help: "How many bcrypt evaluations may run at once.",
		}, func() float64 { return float64(store.PasswordStats().Slots) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "oidcd_password_hashing_in_flight",
			Help: "bcrypt evaluations running now.",
		}, func() float64 { return float64(store.PasswordStats().InFlight) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "oidcd_password_hashing_busy_total",
			Help: "Password checks refused (503) because no hashing slot freed up in time.",
		}, func() float64 { return float64(store.PasswordStats().Busy) }),
	}
	// The database pools (sql.DBStats: open, in use, idle, waits), read
	// when scraped: metric names go_sql_*, label db_name. On SQLite the
	// writer is one connection, and its waits (go_sql_wait_count_total,
	// go_sql_wait_duration_seconds_total{db_name="writer"}) are the writer
	// queue; the readers are a pool of their own. On PostgreSQL both are
	// one pool.
	writer, werr := store.DB().DB()
	reader, rerr := store.ReadDB().DB()
	if werr == nil {
		cs = append(cs, collectors.NewDBStatsCollector(writer, "writer"))
	}
	if rerr == nil && reader != writer {
		cs = append(cs, collectors.NewDBStatsCollector(reader, "reader"))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// The handlers' counters (handlers.Metrics).
func (m *appMetrics) TokenIssued(grant string) {
	if c, ok := m.tokensIssued[grant]; ok {
		c.Inc()
		return
	}
	m.tokens.WithLabelValues(grant).Inc()
}

func (m *appMetrics) Throttled(what string) {
	switch what {
	case "login":
		m.throttledLogin.Inc()
	case "client":
		m.throttledCli.Inc()
	default:
		m.throttled.WithLabelValues(what).Inc()
	}
}

func (m *appMetrics) Login(ok bool) {
	if ok {
		m.loginOK.Inc()
	} else {
		m.loginFailed.Inc()
	}
}

// requestSeries returns the counter and histogram of one (route, method,
// status), resolving them on first use.
func (m *appMetrics) requestSeries(k seriesKey) requestSeries {
	if s, ok := (*m.series.Load())[k]; ok {
		return s
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	old := *m.series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	labels := []string{k.route, k.method, strconv.Itoa(k.status)}
	s := requestSeries{requests: m.requests.WithLabelValues(labels...), latency: m.latency.WithLabelValues(labels...)}
	next := make(map[seriesKey]requestSeries, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = s
	m.series.Store(&next)
	return s
}

// middleware counts every request by its route template (c.Path(), never
// the raw URL: the series stay as many as the routes), method and status.
// It runs outside the request logger, which hands errors to the error
// handler, so the status seen here is the one sent. Counters and
// histograms are atomic adds: nothing here waits on a lock or the
// database.
func (m *appMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil && !c.Response().Committed {
			status = http.StatusInternalServerError
			if he, ok := err.(*echo.HTTPError); ok {
				status = he.Code
			}
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		series := m.requestSeries(seriesKey{route, metricMethod(c.Request().Method), status})
		series.requests.Inc()
		series.latency.Observe(time.Since(start).Seconds())
		return err
	}
}

// metricMethod keeps the method label to the methods HTTP defines, so a
// client cannot mint series with made-up methods.
func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// handler serves the text exposition to a caller holding the bearer
// token (compared in constant time). Without the right token the answer
// is 404, as if there were no /metrics, so its presence is not advertised.
func (m *appMetrics) handler(token string) echo.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4})
	want := []byte("Bearer " + token)
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		got := []byte(c.Request().Header.Get(echo.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return echo.ErrNotFound
		}
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// quietPaths are probed every few seconds by orchestrators and
// Prometheus: the request log shows them at DEBUG only, so that probes do
// not flood it.
func quietPath(route string) bool {
	return route == "/healthz" || route == "/readyz" || route == "/metrics"
}

// healthz says the process is alive; it touches no database, so a slow
// database does not get a live process restarted.
func healthz(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.String(http.StatusOK, "ok")
}

// readyPingTimeout bounds readyz's database ping: a database that cannot
// answer a ping in this time cannot serve logins either.
const readyPingTimeout = 2 * time.Second

// readyz says whether the database answers, so that a load balancer sends
// requests only to instances that can serve them.
func readyz(store *models.Store, log *slog.Logger) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		ctx, cancel := context.WithTimeout(c.Request().Context(), readyPingTimeout)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			log.WarnContext(ctx, "readyz: the database does not answer", "err", err,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			return c.String(http.StatusServiceUnavailable, "database unavailable")
		}
		return c.String(http.StatusOK, "ok")
	}
}

// newLogger builds the server's log: slog text, or one JSON object a line
// with format "json" (--log-format, OIDC_LOG_FORMAT).
func newLogger(format string, w interface{ Write([]byte) (int, error) }) (*slog.Logger, error) {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("log format %q: must be text or json", format)
}
