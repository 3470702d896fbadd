package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"oidcd/models"
	"oidcd/models/modelstest"
)

const testMetricsToken = "metrics-token-0123456789abcdef"

// get fetches target with an optional bearer token and returns the
// status, headers and body.
func getWith(t *testing.T, target, bearer string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestHealthAndReady: /healthz answers while the process lives, /readyz
// only while the database answers; both are plain text, no-store, and
// stay out of the request log at INFO.
func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		status, hdr, body := getWith(t, e.issuer+path, "")
		if status != http.StatusOK || body != "ok" {
			t.Errorf("GET %s = %d %q, want 200 ok", path, status, body)
		}
		if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Content-Type %q, Cache-Control %q; want text/plain, no-store", path, hdr.Get("Content-Type"), hdr.Get("Cache-Control"))
		}
	}
	if err := e.store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	if status, _, body := getWith(t, e.issuer+"/readyz", ""); status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with the database closed = %d %q, want 503", status, body)
	}
	if status, _, _ := getWith(t, e.issuer+"/healthz", ""); status != http.StatusOK {
		t.Errorf("GET /healthz with the database closed = %d, want 200 (alive needs no database)", status)
	}
	// A request that is logged, so the absence below means something.
	getWith(t, e.issuer+"/jwks", "")
	logs := e.logs.String()
	if !strings.Contains(logs, "path=/jwks") {
		t.Fatalf("the request log has no line for /jwks:\n%s", logs)
	}
	if strings.Contains(logs, "path=/healthz") || strings.Contains(logs, "path=/readyz") {
		t.Errorf("probes reached the request log at INFO:\n%s", logs)
	}
}

// scrape reads /metrics and parses the text exposition.
func scrape(t *testing.T, e *testEnv) map[string]*dto.MetricFamily {
	t.Helper()
	status, _, body := getWith(t, e.issuer+"/metrics", testMetricsToken)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200:\n%.500s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the counter or gauge of the series of name with exactly the
// given labels (missing: 0).
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels)/2 {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// TestMetricsScrape: a login, a code exchange, a refresh, failed and
// throttled logins and a throttled client move their counters by exactly
// that much; the request series are labelled by route template, never by
// the raw URL;
// /metrics answers only the holder of OIDC_METRICS_TOKEN.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	r := newRig(t, "OIDC_METRICS_TOKEN", testMetricsToken, "OIDC_LOGIN_MAX_FAILURES", "2")
	r.keep(testMetricsToken)
	for _, bearer := range []string{"", "wrong-token-0123456789abcdef"} {
		if status, _, body := getWith(t, r.env.issuer+"/metrics", bearer); status != http.StatusNotFound || strings.Contains(body, "oidcd_") {
			t.Errorf("GET /metrics with bearer %q = %d, want 404 and no metrics", bearer, status)
		}
	}
	before := scrape(t, r.env)

	b := r.env.browser()
	tok := r.tokens(b, r.conf, r.secret, nil) // one login, one code exchange
	resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d %v", resp.StatusCode, body)
	}
	// Wrong passwords until the login throttle answers 429: each refusal
	// before it is a failed login, the 429 the one throttled attempt.
	other := r.env.browser()
	failed, loginThrottled := 0, false
	for i := 0; i < 10 && !loginThrottled; i++ {
		switch p := other.submitLogin(other.get("/login"), testUser, "not-the-password"); p.status {
		case http.StatusOK:
			failed++
		case http.StatusTooManyRequests:
			loginThrottled = true
		default:
			t.Fatalf("failed login = %d, want 200 with the form again or 429", p.status)
		}
	}
	if !loginThrottled || failed == 0 {
		t.Fatalf("login throttled %v after %d failures, want throttled after some", loginThrottled, failed)
	}
	// Wrong client secrets until the throttle answers with Retry-After;
	// the refusal that has it is the one throttled attempt.
	throttled := false
	for i := 0; i < 10 && !throttled; i++ {
		resp, _ := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"},
			"client_id": {r.conf.ClientID}, "client_secret": {"wrong"}})
		throttled = resp.Header.Get("Retry-After") != ""
	}
	if !throttled {
		t.Fatalf("client authentication was never throttled")
	}
	getWith(t, r.env.issuer+"/logos/"+r.conf.ClientID, "")

	after := scrape(t, r.env)
	delta := func(name string, labels ...string) float64 {
		return value(after, name, labels...) - value(before, name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"oidcd_tokens_issued_total", []string{"grant_type", "authorization_code"}, 1},
		{"oidcd_tokens_issued_total", []string{"grant_type", "refresh_token"}, 1},
		{"oidcd_logins_total", []string{"result", "ok"}, 1},
		{"oidcd_logins_total", []string{"result", "failed"}, float64(failed)},
		{"oidcd_throttled_total", []string{"kind", "client"}, 1},
		{"oidcd_throttled_total", []string{"kind", "login"}, 1},
		{"oidcd_http_requests_total", []string{"route", "/token", "method", "POST", "status", "200"}, 2},
		{"oidcd_http_requests_total", []string{"route", "/login", "method", "POST", "status", "302"}, 1},
		{"oidcd_http_request_duration_seconds", []string{"route", "/token", "method", "POST", "status", "200"}, 2},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(after, "oidcd_http_requests_total", "route", "/logos/:client_id", "method", "GET", "status", "404") +
		value(after, "oidcd_http_requests_total", "route", "/logos/:client_id", "method", "GET", "status", "200"); got != 1 {
		t.Errorf("requests for /logos/:client_id = %v, want 1 under the route template", got)
	}
	// No label value is a raw URL, a query, a client_id or a username.
	for name, f := range after {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.Contains(v, "?") || strings.Contains(v, r.conf.ClientID) || strings.Contains(v, testUser) {
					t.Errorf("%s has label %s=%q: raw URL or per-user data", name, l.GetName(), v)
				}
			}
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "go_sql_open_connections",
		"go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total",
		"oidcd_password_hashing_slots", "oidcd_password_hashing_in_flight", "oidcd_password_hashing_busy_total"} {
		if after[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if got := value(after, "oidcd_password_hashing_slots"); got < 1 {
		t.Errorf("oidcd_password_hashing_slots = %v, want at least 1", got)
	}
}

// TestMetricsOffWithoutToken: with no OIDC_METRICS_TOKEN there is no
// /metrics at all.
func TestMetricsOffWithoutToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	if status, _, _ := getWith(t, e.issuer+"/metrics", ""); status != http.StatusNotFound {
		t.Errorf("GET /metrics without a configured token = %d, want 404", status)
	}
	if _, err := loadHandlerConfig("http://localhost", func(k string) string {
		if k == "OIDC_METRICS_TOKEN" {
			return "short"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "OIDC_METRICS_TOKEN") {
		t.Errorf("a short OIDC_METRICS_TOKEN: err = %v, want a refusal naming it", err)
	}
}

// TestJSONLogs: with the JSON format every log line is one JSON object;
// request lines and a handler's error line carry the request id the
// response carries.
func TestJSONLogs(t *testing.T) {
	t.Parallel()
	store := modelstest.Open(t)
	logs := &syncBuffer{}
	log, err := newLogger("json", logs)
	if err != nil {
		t.Fatalf("newLogger: %v", err)
	}
	ctx := context.Background()
	if err := ensureSigningKey(ctx, store, log); err != nil {
		t.Fatalf("signing key: %v", err)
	}
	cfg, err := loadHandlerConfig("http://127.0.0.1", func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	app, err := newApp(ctx, store, cfg, log, time.Now)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()

	_, hdr, _ := getWith(t, srv.URL+"/.well-known/openid-configuration", "")
	okID := hdr.Get("X-Request-Id")
	// A server error in a handler: the database is gone when /token
	// reads the client throttle.
	if err := store.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	resp, _ := postForm(t, srv.URL+"/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"c"}, "client_secret": {"s"}})
	failID := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusInternalServerError || okID == "" || failID == "" {
		t.Fatalf("/token with the database closed = %d (request ids %q, %q), want 500 with an id", resp.StatusCode, okID, failID)
	}

	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, sc.Text())
		}
		id, _ := line["request_id"].(string)
		seen[line["level"].(string)+" "+line["msg"].(string)+" "+id] = true
	}
	for _, want := range []string{"INFO request " + okID, "INFO request " + failID, "ERROR client throttle " + failID} {
		if !seen[want] {
			t.Errorf("no log line %q; lines: %v", want, seen)
		}
	}
	var stderr strings.Builder
	err = run(ctx, []string{"serve", "--log-format", "xml"}, func(string) string { return "" }, strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("serve --log-format xml: err = %v, want a refusal", err)
	}
}

// TestLoginStormLeavesUserinfoResponsive: 40 concurrent logins with real
// bcrypt cost never run more bcrypt evaluations at once than the store's
// slots, those that find no slot in time get 503 with Retry-After, and
// every userinfo and refresh request made during the storm succeeds.
func TestLoginStormLeavesUserinfoResponsive(t *testing.T) {
	t.Parallel()
	r := newRig(t, "OIDC_LOGIN_MAX_FAILURES", "1000")
	access := r.tokens(r.env.browser(), r.conf, r.secret, nil)["access_token"].(string)
	// The harness hashes at bcrypt.MinCost; a stored hash carries its own
	// cost, so this user's logins cost what production logins do.
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.db.Model(&models.User{}).Where("id = ?", r.user.ID).Update("password_hash", string(hash)).Error; err != nil {
		t.Fatal(err)
	}

	const logins = 40
	if slots := r.env.store.PasswordStats().Slots; slots >= logins/2 {
		t.Fatalf("%d password slots for a storm of %d logins: the storm would not exceed them and the test would prove nothing", slots, logins)
	}
	// Each storm browser fetches its form first, so the storm itself is
	// only the password checks.
	type pending struct {
		b    *browser
		form page
	}
	storm := make([]pending, logins)
	for i := range storm {
		b := r.env.browser()
		storm[i] = pending{b, b.get("/login")}
	}

	stop := make(chan struct{})
	var loop sync.WaitGroup
	var calls, failures int
	loop.Add(1)
	go func() {
		defer loop.Done()
		for i := 0; i < 5000; i++ { // bounded; the storm ends far sooner
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodGet, r.env.issuer+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			resp, err := http.DefaultClient.Do(req)
			calls++
			if err != nil {
				failures++
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failures++
			}
		}
	}()

	var wg sync.WaitGroup
	statuses := make([]int, logins)
	retry := make([]string, logins)
	for i, p := range storm {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := hiddenFields(p.form.body)
			form.Set("username", testUser)
			form.Set("password", testPassword)
			req, _ := http.NewRequest(http.MethodPost, r.env.issuer+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			c := *p.b.client
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			c.Timeout = 2 * time.Minute
			resp, err := c.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i], retry[i] = resp.StatusCode, resp.Header.Get("Retry-After")
		}()
	}
	wg.Wait()
	close(stop)
	loop.Wait()

	ok, busy, uncounted := 0, 0, 0
	for i, s := range statuses {
		switch {
		case s == http.StatusFound:
			ok++
		case s == http.StatusServiceUnavailable && retry[i] == "5":
			busy++ // no password slot in time (models.ErrBusy)
		case s == http.StatusServiceUnavailable && retry[i] == "60":
			// The attempt could not be counted in time (the throttle's
			// write queued behind the storm's own): refused, fail closed.
			uncounted++
		default:
			t.Errorf("login %d = %d (Retry-After %q), want 302 or 503 with Retry-After", i, s, retry[i])
		}
	}
	stats := r.env.store.PasswordStats()
	t.Logf("logins: %d ok, %d busy, %d uncounted; userinfo calls during the storm: %d; password slots %d, peak %d, busy %d",
		ok, busy, uncounted, calls, stats.Slots, stats.Peak, stats.Busy)
	if ok == 0 {
		t.Errorf("no login of the storm succeeded")
	}
	if stats.Peak < 1 || stats.Peak > int64(stats.Slots) {
		t.Errorf("at most %d bcrypt evaluations ran at once, want between 1 and the %d slots", stats.Peak, stats.Slots)
	}
	if uint64(busy) != stats.Busy {
		t.Errorf("503 answers = %d, busy count = %d; want equal", busy, stats.Busy)
	}
	if calls == 0 || failures != 0 {
		t.Errorf("userinfo during the storm: %d of %d calls failed, want at least one call and none failed", failures, calls)
	}
}
