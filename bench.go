package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"oidcd/handlers/oauth"
)

// oidcd bench drives a running OpenID provider over real HTTP, as a fleet
// of relying parties and browsers would, and reports throughput, latency
// and errors (like `hydra perform`). It reads the endpoints from discovery
// and signs in through the provider's own login form, so the same command
// loads oidcd and other providers (node oidc-provider's interaction form
// among them) alike.

const benchSynopsis = "--client-id ID --client-secret S --redirect-uri URI --username U --password P [flags]"

// benchConfig is the parsed command line.
type benchConfig struct {
	issuer       string
	scenario     string
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	clientID     string
	clientSecret string
	redirectURI  string
	username     string
	password     string
	users        int
	userPrefix   string
	pid          int
	allowRemote  bool
	asJSON       bool
	timeout      time.Duration
}

// benchGCPercent is the generator's GOGC unless GOGC is set: its heap is
// small and short-lived, and every collection it skips is CPU left to the
// server on the same machine.
const benchGCPercent = 400

// benchSetupParallel is how many workers sign in at once before a run.
const benchSetupParallel = 4

func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: oidcd bench %s\n\nscenarios:\n", benchSynopsis)
		for _, name := range benchScenarioNames() {
			fmt.Fprintf(stderr, "  %-10s %s\n", name, benchScenarios[name].about)
		}
		fmt.Fprint(stderr, "\nflags:\n")
		fs.PrintDefaults()
		printExamples(stderr, "bench")
	}
	var c benchConfig
	fs.StringVar(&c.issuer, "issuer", "http://127.0.0.1:8000", "issuer URL of the running provider (its discovery document gives the endpoints)")
	fs.StringVar(&c.scenario, "scenario", "sso", "what each worker repeats: "+strings.Join(benchScenarioNames(), ", "))
	fs.IntVar(&c.concurrency, "concurrency", 32, "workers running at once")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "time run before measuring, not counted")
	fs.StringVar(&c.clientID, "client-id", "", "a confidential client that needs no consent (required)")
	fs.StringVar(&c.clientSecret, "client-secret", "", "its secret, sent with HTTP Basic (required)")
	fs.StringVar(&c.redirectURI, "redirect-uri", "", "one of its redirect URIs; never contacted (required)")
	fs.StringVar(&c.username, "username", "", "the user every worker signs in as (required unless --users)")
	fs.StringVar(&c.password, "password", "", "the password of the user(s) (required)")
	fs.IntVar(&c.users, "users", 0, "sign in as PREFIX0..PREFIX{N-1} instead of --username, one after another")
	fs.StringVar(&c.userPrefix, "user-prefix", "user", "the name prefix for --users")
	fs.IntVar(&c.pid, "pid", 0, "the server's process id: report its CPU time over the measured window and its peak RSS (Linux /proc)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow an issuer that is not a loopback address")
	fs.BoolVar(&c.asJSON, "json", false, "print the result as one JSON object")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "limit for one HTTP request")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "client-id", "client-secret", "redirect-uri", "password"); err != nil {
		return err
	}
	bad := func(msg string) error {
		fmt.Fprintln(stderr, msg)
		fs.Usage()
		return usageError{msg}
	}
	switch {
	case c.username == "" && c.users <= 0:
		return bad("flag --username is required (or --users N)")
	case benchScenarios[c.scenario].op == nil:
		return bad(fmt.Sprintf("unknown --scenario %q: use one of %s", c.scenario, strings.Join(benchScenarioNames(), ", ")))
	case c.concurrency < 1 || c.concurrency > 10000:
		return bad("--concurrency must be between 1 and 10000")
	case c.duration <= 0 || c.warmup < 0 || c.timeout <= 0:
		return bad("--duration and --timeout must be positive, --warmup not negative")
	case c.users < 0:
		return bad("--users must not be negative")
	}
	if getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(benchGCPercent))
	}
	res, err := runBench(ctx, c)
	if err != nil {
		return err
	}
	if c.asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("bench: encode result: %w", err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	res.print(stdout)
	return nil
}

// benchScenario is one thing a worker repeats. setup runs once per worker
// before the clock starts; op is one timed operation. client_credentials
// and introspect are rows to add here once oidcd serves those grants.
type benchScenario struct {
	about string
	setup func(ctx context.Context, w *benchWorker) error
	op    func(ctx context.Context, w *benchWorker) error
}

var benchScenarios = map[string]benchScenario{
	"sso": {
		about: "silent authorize with the session cookie + code exchange (client_secret_basic) with an ID token",
		setup: func(ctx context.Context, w *benchWorker) error {
			_, err := w.signIn(ctx, w.jar, w.user(), false)
			return err
		},
		op: func(ctx context.Context, w *benchWorker) error {
			_, err := w.codeFlow(ctx, w.jar, "", false)
			return err
		},
	},
	"login": {
		about: "a full sign-in through the login form (fresh cookies) + code exchange",
		op: func(ctx context.Context, w *benchWorker) error {
			jar, _ := cookiejar.New(nil)
			_, err := w.signIn(ctx, jar, w.user(), false)
			return err
		},
	},
	"userinfo": {
		about: "GET userinfo with a Bearer access token",
		setup: func(ctx context.Context, w *benchWorker) error {
			tok, err := w.signIn(ctx, w.jar, w.user(), false)
			w.access = tok.AccessToken
			return err
		},
		op: func(ctx context.Context, w *benchWorker) error { return w.userinfo(ctx) },
	},
	"refresh": {
		about: "refresh_token grant with an ID token, keeping the rotated refresh token",
		setup: func(ctx context.Context, w *benchWorker) error {
			tok, err := w.signIn(ctx, w.jar, w.user(), true)
			if err == nil && tok.RefreshToken == "" {
				err = errors.New("the code exchange returned no refresh token")
			}
			w.refresh = tok.RefreshToken
			return err
		},
		op: func(ctx context.Context, w *benchWorker) error { return w.refreshGrant(ctx) },
	},
}

func benchScenarioNames() []string {
	names := make([]string, 0, len(benchScenarios))
	for n := range benchScenarios {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// benchResult is what a run measured. Latencies are in milliseconds.
type benchResult struct {
	Scenario     string   `json:"scenario"`
	Issuer       string   `json:"issuer"`
	Concurrency  int      `json:"concurrency"`
	DurationS    float64  `json:"duration_s"`
	Ops          int      `json:"ops"`
	OpsPerSec    float64  `json:"ops_per_sec"`
	P50MS        float64  `json:"p50_ms"`
	P95MS        float64  `json:"p95_ms"`
	P99MS        float64  `json:"p99_ms"`
	MaxMS        float64  `json:"max_ms"`
	Errors       int      `json:"errors"`
	ErrorSamples []string `json:"error_samples"`
	// Server figures, with --pid.
	ServerCPUS      *float64 `json:"server_cpu_s,omitempty"`
	ServerCPUMSPerO *float64 `json:"server_cpu_ms_per_op,omitempty"`
	ServerPeakRSS   *int64   `json:"server_peak_rss_bytes,omitempty"`
	// The generator's own CPU over the measured window, per operation:
	// what it takes from a server on the same machine.
	BenchCPUMSPerOp float64 `json:"bench_cpu_ms_per_op"`
}

func (r *benchResult) print(w io.Writer) {
	fmt.Fprintf(w, "scenario   %s against %s, concurrency %d, %.1fs measured\n", r.Scenario, r.Issuer, r.Concurrency, r.DurationS)
	fmt.Fprintf(w, "ops        %d (%.1f/s)\n", r.Ops, r.OpsPerSec)
	fmt.Fprintf(w, "latency    p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms\n", r.P50MS, r.P95MS, r.P99MS, r.MaxMS)
	fmt.Fprintf(w, "errors     %d\n", r.Errors)
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(w, "           %s\n", e)
	}
	if r.ServerCPUS != nil {
		fmt.Fprintf(w, "server CPU %.2f s (%.2f cores, %.2f ms per op)\n", *r.ServerCPUS, *r.ServerCPUS/r.DurationS, *r.ServerCPUMSPerO)
	}
	if r.ServerPeakRSS != nil {
		fmt.Fprintf(w, "server RSS %.1f MB peak\n", float64(*r.ServerPeakRSS)/1e6)
	}
	fmt.Fprintf(w, "bench CPU  %.3f ms per op (this generator's own)\n", r.BenchCPUMSPerOp)
}

// benchEndpoints are the discovery document's fields the scenarios use
// (OpenID Connect Discovery 1.0 §3).
type benchEndpoints struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
}

// benchRun is the state the workers share.
type benchRun struct {
	cfg       benchConfig
	ep        benchEndpoints
	transport *http.Transport
	redirect  *url.URL
	nextUser  atomic.Uint64

	// Encoded once: the client's HTTP Basic credentials (RFC 6749 §2.3.1:
	// both halves form-encoded first) and the authorization request's
	// fixed part, without and with offline access.
	basicAuth                   []string
	authQuery, authQueryOffline string

	mu      sync.Mutex
	errors  int
	samples []string
	seen    map[string]bool
}

func (r *benchRun) recordError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors++
	msg := err.Error()
	if !r.seen[msg] && len(r.samples) < 5 {
		r.seen[msg] = true
		r.samples = append(r.samples, msg)
	}
}

func runBench(ctx context.Context, cfg benchConfig) (*benchResult, error) {
	iss, err := url.Parse(cfg.issuer)
	if err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" {
		return nil, fmt.Errorf("bench: --issuer %q is not an http(s) URL", cfg.issuer)
	}
	if !cfg.allowRemote {
		if err := checkLoopback(ctx, iss.Hostname()); err != nil {
			return nil, err
		}
	}
	redirect, err := url.Parse(cfg.redirectURI)
	if err != nil || redirect.Host == "" {
		return nil, fmt.Errorf("bench: --redirect-uri %q is not an absolute URL", cfg.redirectURI)
	}
	r := &benchRun{cfg: cfg, redirect: redirect, seen: map[string]bool{}}
	r.transport = http.DefaultTransport.(*http.Transport).Clone()
	r.transport.MaxIdleConns = 2 * cfg.concurrency
	r.transport.MaxIdleConnsPerHost = 2 * cfg.concurrency
	defer r.transport.CloseIdleConnections()
	if err := r.discover(ctx, iss); err != nil {
		return nil, err
	}
	r.prepare()

	// Every worker signs in (or whatever its scenario prepares) before the
	// clock starts; one failure stops the run, since it would fail every
	// operation the same way.
	workers := make([]*benchWorker, cfg.concurrency)
	setupCtx, cancel := context.WithTimeout(ctx, cfg.timeout+time.Duration(cfg.concurrency)*cfg.timeout/4)
	defer cancel()
	errs := make([]error, len(workers))
	// A few sign-ins at a time: a provider hashes passwords a few at a
	// time and may refuse (503) what waits too long for its turn, which
	// would fail a run before it starts on a busy machine.
	signingIn := make(chan struct{}, benchSetupParallel)
	var wg sync.WaitGroup
	for i := range workers {
		jar, _ := cookiejar.New(nil)
		workers[i] = &benchWorker{run: r, id: i, jar: jar, transport: r.workerTransport(i)}
		defer workers[i].transport.CloseIdleConnections()
		workers[i].back = &benchConn{dial: workers[i].transport.DialContext, timeout: cfg.timeout}
		defer workers[i].back.close()
		if setup := benchScenarios[cfg.scenario].setup; setup != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				signingIn <- struct{}{}
				defer func() { <-signingIn }()
				errs[i] = setup(setupCtx, workers[i])
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bench: preparing the %s scenario: %w", cfg.scenario, firstError(errs))
	}

	// Each loop ends at the deadline: the requests in flight then are
	// cancelled and neither counted nor reported as errors. Operations
	// that end during the warm-up are not counted either.
	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	deadline := measureFrom.Add(cfg.duration)
	runCtx, stop := context.WithDeadline(ctx, deadline)
	defer stop()
	op := benchScenarios[cfg.scenario].op
	lat := make([][]time.Duration, len(workers))
	var cpuStart, selfStart float64
	var cpuErr, selfErr error
	cpuTaken := make(chan struct{})
	go func() {
		defer close(cpuTaken)
		select {
		case <-time.After(time.Until(measureFrom)):
		case <-runCtx.Done():
		}
		selfStart, selfErr = processCPU(os.Getpid())
		if cfg.pid > 0 {
			cpuStart, cpuErr = processCPU(cfg.pid)
		}
	}()
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				t0 := time.Now()
				err := op(runCtx, w)
				end := time.Now()
				if runCtx.Err() != nil {
					return // cut off by the deadline
				}
				// Counted: what finishes in the measured window, wherever
				// it started, so that slow operations (a sign-in under
				// load takes seconds) are not undercounted.
				if end.Before(measureFrom) {
					continue
				}
				if err != nil {
					r.recordError(err)
					continue
				}
				lat[i] = append(lat[i], end.Sub(t0))
			}
		}()
	}
	wg.Wait()
	<-cpuTaken
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: stopped: %w", err)
	}

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := &benchResult{
		Scenario: cfg.scenario, Issuer: r.ep.Issuer, Concurrency: cfg.concurrency,
		DurationS: cfg.duration.Seconds(), Ops: len(all), OpsPerSec: float64(len(all)) / cfg.duration.Seconds(),
		P50MS: ms(percentile(all, 50)), P95MS: ms(percentile(all, 95)), P99MS: ms(percentile(all, 99)),
		Errors: r.errors, ErrorSamples: r.samples,
	}
	if len(all) > 0 {
		res.MaxMS = ms(all[len(all)-1])
	}
	if res.ErrorSamples == nil {
		res.ErrorSamples = []string{}
	}
	if selfEnd, err := processCPU(os.Getpid()); err == nil && selfErr == nil && res.Ops > 0 {
		res.BenchCPUMSPerOp = math.Round((selfEnd-selfStart)*1e6/float64(res.Ops)) / 1000
	}
	if cfg.pid > 0 {
		if cpuErr != nil {
			return nil, cpuErr
		}
		cpuEnd, err := processCPU(cfg.pid)
		if err != nil {
			return nil, err
		}
		cpu := cpuEnd - cpuStart
		perOp := 0.0
		if res.Ops > 0 {
			perOp = cpu * 1000 / float64(res.Ops)
		}
		res.ServerCPUS, res.ServerCPUMSPerO = &cpu, &perOp
		rss, err := processPeakRSS(cfg.pid)
		if err != nil {
			return nil, err
		}
		res.ServerPeakRSS = &rss
	}
	return res, nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// checkLoopback refuses a host that is not, or does not resolve only to,
// loopback addresses, so that a load run cannot be pointed at someone
// else's server by mistake.
func checkLoopback(ctx context.Context, host string) error {
	var addrs []string
	if _, err := netip.ParseAddr(host); err == nil {
		addrs = []string{host}
	} else {
		lookupCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = net.DefaultResolver.LookupHost(lookupCtx, host)
		if err != nil {
			return fmt.Errorf("bench: resolve %s: %w", host, err)
		}
	}
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil || !ip.Unmap().IsLoopback() {
			return fmt.Errorf("bench: %s is not a loopback address; pass --allow-remote to load another machine", host)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("bench: %s has no address", host)
	}
	return nil
}

// workerTransport is worker i's connection pool. Against an IPv4
// loopback address each worker connects from an address of its own
// (127.0.0.2, 127.0.0.3, …; all of 127/8 is the loopback interface), as
// users do from their own machines: otherwise every sign-in would come
// from one address and a provider's per-address login throttle, which
// counts sign-ins in progress, would refuse a load that real users never
// put on one address.
func (r *benchRun) workerTransport(i int) *http.Transport {
	t := r.transport.Clone()
	t.MaxIdleConnsPerHost = 4
	local := netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%250)})
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if ip, perr := netip.ParseAddr(host); err == nil && perr == nil && ip.Is4() && ip.IsLoopback() {
			d := *dialer
			d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
			return d.DialContext(ctx, network, addr)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return t
}

// discover reads the discovery document (OpenID Connect Discovery 1.0
// §4) and checks that the endpoints are where the issuer is.
func (r *benchRun) discover(ctx context.Context, iss *url.URL) error {
	target := strings.TrimSuffix(iss.String(), "/") + "/.well-known/openid-configuration"
	ctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("bench: discovery: %w", err)
	}
	resp, err := (&http.Client{Transport: r.transport}).Do(req)
	if err != nil {
		return fmt.Errorf("bench: discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: discovery: %s answered %d", target, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r.ep); err != nil {
		return fmt.Errorf("bench: discovery: %w", err)
	}
	for name, e := range map[string]string{"authorization_endpoint": r.ep.AuthorizationEndpoint, "token_endpoint": r.ep.TokenEndpoint, "userinfo_endpoint": r.ep.UserinfoEndpoint} {
		u, err := url.Parse(e)
		if err != nil || u.Host == "" {
			return fmt.Errorf("bench: discovery: %s %q is not an absolute URL", name, e)
		}
		if !r.cfg.allowRemote {
			if err := checkLoopback(ctx, u.Hostname()); err != nil {
				return err
			}
		}
	}
	return nil
}

// prepare encodes what every request of the run repeats.
func (r *benchRun) prepare() {
	creds := url.QueryEscape(r.cfg.clientID) + ":" + url.QueryEscape(r.cfg.clientSecret)
	r.basicAuth = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(creds))}
	query := func(offline bool) string {
		q := url.Values{
			"response_type": {"code"}, "client_id": {r.cfg.clientID}, "redirect_uri": {r.cfg.redirectURI},
			"scope": {"openid profile email"}, "code_challenge_method": {"S256"},
		}
		if offline {
			q.Set("scope", "openid offline_access profile email")
			q.Set("prompt", "consent")
		}
		sep := "?"
		if strings.Contains(r.ep.AuthorizationEndpoint, "?") {
			sep = "&"
		}
		return r.ep.AuthorizationEndpoint + sep + q.Encode()
	}
	r.authQuery, r.authQueryOffline = query(false), query(true)
}

// benchWorker is one simulated user agent and relying party.
type benchWorker struct {
	run       *benchRun
	id        int
	jar       http.CookieJar
	transport *http.Transport
	access    string
	refresh   string

	// Reused from one operation to the next: the generator shares the
	// machine with the server it measures, so what it spends is taken
	// from the server.
	api     *http.Client // back-channel calls over https
	back    *benchConn   // back-channel calls over http
	browse  *http.Client // the browser with jar
	body    bytes.Buffer // the last response's body
	authURL []byte       // the authorization request being built
}

// user is the account this sign-in uses: --username, or with --users the
// next of PREFIX0..PREFIX{N-1}.
func (w *benchWorker) user() string {
	c := w.run.cfg
	if c.users <= 0 {
		return c.username
	}
	return c.userPrefix + strconv.FormatUint((w.run.nextUser.Add(1)-1)%uint64(c.users), 10)
}

// browser is a client with jar that follows the provider's redirects and
// stops at the one back to the redirect URI.
func (w *benchWorker) browser(jar http.CookieJar) *http.Client {
	if jar == w.jar && w.browse != nil {
		return w.browse
	}
	red := w.run.redirect
	c := &http.Client{
		Transport: w.transport,
		Jar:       jar,
		Timeout:   w.run.cfg.timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if (req.URL.Scheme == red.Scheme && req.URL.Host == red.Host && req.URL.Path == red.Path) || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	if jar == w.jar {
		w.browse = c
	}
	return c
}

// benchTokens is the token response (RFC 6749 §5.1).
type benchTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// signIn signs user in through the login form and exchanges the code.
// offline asks for a refresh token the way every provider grants one:
// offline_access with prompt=consent (OpenID Connect Core §11).
func (w *benchWorker) signIn(ctx context.Context, jar http.CookieJar, user string, offline bool) (benchTokens, error) {
	return w.codeFlow(ctx, jar, user, offline)
}

// codeFlow runs the authorization code flow (RFC 6749 §4.1) with PKCE
// (RFC 7636). With user "" the session in jar must carry it through
// without a page; otherwise the login form (and a consent form, if one
// is shown) is filled in.
func (w *benchWorker) codeFlow(ctx context.Context, jar http.CookieJar, user string, offline bool) (benchTokens, error) {
	verifier := oauth.NewToken()
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := oauth.NewToken(), oauth.NewToken()
	// The fixed parameters are encoded once per run (benchRun.authQuery);
	// the fresh values are URL-safe base64 and need no escaping.
	base := w.run.authQuery
	if offline {
		base = w.run.authQueryOffline
	}
	u := append(w.authURL[:0], base...)
	u = append(u, "&state="...)
	u = append(u, state...)
	u = append(u, "&nonce="...)
	u = append(u, nonce...)
	u = append(u, "&code_challenge="...)
	u = base64.RawURLEncoding.AppendEncode(u, sum[:])
	w.authURL = u
	authURL := string(u)
	client := w.browser(jar)
	resp, err := w.send(ctx, client, http.MethodGet, authURL, nil)
	if err != nil {
		return benchTokens{}, fmt.Errorf("authorize: %w", err)
	}
	// Walk the pages: a login form, then perhaps a consent form, until the
	// redirect back. Bounded: a provider that keeps showing pages fails.
	for step := 0; resp.page != nil; step++ {
		if step >= 4 {
			return benchTokens{}, errors.New("authorize: still on a page after 4 forms")
		}
		f := resp.page
		switch {
		case user == "":
			return benchTokens{}, fmt.Errorf("authorize: the provider showed a page (%d at %s) instead of using the session", resp.status, resp.url.Path)
		case f.password && step > 0:
			return benchTokens{}, fmt.Errorf("login as %s failed: the login form came back (wrong username or password?)", user)
		case f.password:
			f.fields.Set("username", user)
			f.fields.Set("password", w.run.cfg.password)
		default:
			if !f.allow(offline) {
				return benchTokens{}, fmt.Errorf("authorize: the provider showed a page with no login or consent form (%d at %s); the client must not require consent", resp.status, resp.url.Path)
			}
		}
		resp, err = w.send(ctx, client, http.MethodPost, f.action, f.fields)
		if err != nil {
			return benchTokens{}, fmt.Errorf("authorize: %w", err)
		}
	}
	back := resp.location
	if back == nil {
		return benchTokens{}, fmt.Errorf("authorize: %d at %s, not a redirect to the client", resp.status, resp.url.Path)
	}
	bq := back.Query()
	if e := bq.Get("error"); e != "" {
		return benchTokens{}, fmt.Errorf("authorize: %s: %s", e, bq.Get("error_description"))
	}
	if bq.Get("state") != state || bq.Get("code") == "" {
		return benchTokens{}, errors.New("authorize: the redirect back has no code or the wrong state")
	}
	tok, err := w.token(ctx, url.Values{
		"grant_type": {"authorization_code"}, "code": {bq.Get("code")},
		"redirect_uri": {w.run.cfg.redirectURI}, "code_verifier": {verifier},
	})
	if err != nil {
		return tok, err
	}
	if strings.Count(tok.IDToken, ".") != 2 {
		return tok, errors.New("token: the code exchange returned no ID token")
	}
	return tok, nil
}

// token calls the token endpoint as the client, with client_secret_basic
// (RFC 6749 §2.3.1: both halves form-encoded first).
func (w *benchWorker) token(ctx context.Context, form url.Values) (benchTokens, error) {
	var tok benchTokens
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.run.ep.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return tok, fmt.Errorf("token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header["Authorization"] = w.run.basicAuth
	body, status, err := w.do(req)
	if err != nil {
		return tok, fmt.Errorf("token: %w", err)
	}
	if status != http.StatusOK {
		return tok, fmt.Errorf("token: %d %s", status, oauthError(body))
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return tok, fmt.Errorf("token: %d with no access token", status)
	}
	return tok, nil
}

func (w *benchWorker) refreshGrant(ctx context.Context) error {
	tok, err := w.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.refresh}})
	if err != nil {
		return err
	}
	if strings.Count(tok.IDToken, ".") != 2 {
		return errors.New("token: the refresh returned no ID token")
	}
	// Rotation (RFC 9700 §4.14.2): the new refresh token replaces the old;
	// a provider that does not rotate returns none or the same one.
	if tok.RefreshToken != "" {
		w.refresh = tok.RefreshToken
	}
	return nil
}

func (w *benchWorker) userinfo(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.run.ep.UserinfoEndpoint, nil)
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+w.access)
	body, status, err := w.do(req)
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("userinfo: %d %s", status, oauthError(body))
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(body, &claims); err != nil || claims.Sub == "" {
		return fmt.Errorf("userinfo: %d with no sub", status)
	}
	return nil
}

// do sends a back-channel request and reads at most 1 MiB of the answer.
// The body is w.body's, valid until the next request.
func (w *benchWorker) do(req *http.Request) ([]byte, int, error) {
	if req.URL.Scheme == "http" {
		status, err := w.back.do(req, &w.body)
		if err != nil {
			return nil, 0, err
		}
		return w.body.Bytes(), status, nil
	}
	if w.api == nil {
		w.api = &http.Client{Transport: w.transport, Timeout: w.run.cfg.timeout}
	}
	resp, err := w.api.Do(req)
	if err != nil {
		return nil, 0, errors.Unwrap(err) // *url.Error repeats the URL, which may hold a code
	}
	defer resp.Body.Close()
	body, err := w.read(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	return body, resp.StatusCode, nil
}

// read reads at most 1 MiB of a response body into w.body.
func (w *benchWorker) read(r io.Reader) ([]byte, error) {
	w.body.Reset()
	_, err := w.body.ReadFrom(io.LimitReader(r, 1<<20))
	return w.body.Bytes(), err
}

// oauthError is the error code and description of an OAuth error body
// (RFC 6749 §5.2), never the body itself, which could echo a token.
func oauthError(body []byte) string {
	var e struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return "(no OAuth error in the body)"
	}
	if e.Desc == "" {
		return e.Error
	}
	return e.Error + ": " + e.Desc
}

// browserResponse is where the browser stopped: a page with a form, or a
// redirect to the client.
type browserResponse struct {
	status   int
	url      *url.URL
	page     *benchForm
	location *url.URL
}

// send makes a browser request and reads the page it lands on.
func (w *benchWorker) send(ctx context.Context, client *http.Client, method, target string, form url.Values) (browserResponse, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return browserResponse{}, err
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return browserResponse{}, errors.Unwrap(err)
	}
	defer resp.Body.Close()
	page, err := w.read(resp.Body)
	if err != nil {
		return browserResponse{}, err
	}
	out := browserResponse{status: resp.StatusCode, url: resp.Request.URL}
	if resp.StatusCode/100 == 3 {
		loc, err := resp.Location()
		if err != nil {
			return out, fmt.Errorf("%d at %s without a Location", resp.StatusCode, out.url.Path)
		}
		out.location = loc
		return out, nil
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%d at %s", resp.StatusCode, out.url.Path)
	}
	out.page = parseBenchForm(string(page), out.url)
	return out, nil
}

// benchForm is the one form on a login or consent page.
type benchForm struct {
	action   string
	fields   url.Values // hidden inputs: oidcd's _csrf and req among them
	password bool       // a login form
	buttons  [][2]string
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputTag = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3])
	}
	return m
}

// parseBenchForm picks the page's login form (the one with a password
// field) or else its first POST form, whatever its action: oidcd posts to
// /login and /consent, node oidc-provider's interactions to
// /interaction/UID/login and /interaction/UID/confirm.
func parseBenchForm(page string, base *url.URL) *benchForm {
	var chosen *benchForm
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		fa := attrs(m[1])
		if !strings.EqualFold(fa["method"], "post") {
			continue
		}
		action, err := base.Parse(fa["action"])
		if err != nil {
			continue
		}
		f := &benchForm{action: action.String(), fields: url.Values{}}
		for _, t := range inputTag.FindAllStringSubmatch(m[2], -1) {
			a := attrs(t[2])
			switch {
			case strings.EqualFold(t[1], "button"):
				f.buttons = append(f.buttons, [2]string{a["name"], a["value"]})
			case strings.EqualFold(a["type"], "password"):
				f.password = true
			case strings.EqualFold(a["type"], "hidden") && a["name"] != "":
				f.fields.Set(a["name"], a["value"])
			}
		}
		if f.password {
			return f
		}
		if chosen == nil {
			chosen = f
		}
	}
	return chosen
}

// allow presses the form's Allow button (oidcd: name "allow"; node's
// interaction: name "decision" value "allow"). It does so only when consent
// was asked for (offline): any other consent page means the client was set
// up wrongly for a load run.
func (f *benchForm) allow(offline bool) bool {
	if !offline {
		return false
	}
	for _, b := range f.buttons {
		if strings.EqualFold(b[0], "allow") || strings.EqualFold(b[1], "allow") {
			f.fields.Set(b[0], b[1])
			return true
		}
	}
	return false
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// processCPU is the CPU time, user plus system, a process has used, in
// seconds.
func processCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: server CPU: %w", err)
	}
	ticks, err := parseProcStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("bench: server CPU: %w", err)
	}
	return float64(ticks) / clockTicks, nil
}

// parseProcStat reads utime+stime (fields 14 and 15, proc(5)) from a
// /proc/PID/stat line. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted after the last
// ')'.
func parseProcStat(s string) (uint64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc stat")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("bad CPU times in /proc stat: %w", err)
	}
	return utime + stime, nil
}

// processPeakRSS is a process's peak resident set size in bytes.
func processPeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: server RSS: %w", err)
	}
	n, err := parseVmHWM(string(b))
	if err != nil {
		return 0, fmt.Errorf("bench: server RSS: %w", err)
	}
	return n, nil
}

// parseVmHWM reads the "VmHWM:  37000 kB" line of /proc/PID/status: the
// peak resident set size (proc(5)), in bytes.
func parseVmHWM(s string) (int64, error) {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bad VmHWM line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad VmHWM line %q", strings.TrimSpace(line))
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmHWM line in /proc status")
}
