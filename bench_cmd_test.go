package main

import (
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"oidcd/models"
)

// benchTarget is a running oidcd with a user and a confidential client
// that needs no consent: what an operator sets up before `oidcd bench`.
func benchTarget(t *testing.T) (env *testEnv, args []string) {
	t.Helper()
	env = newTestEnv(t)
	env.createUser("load", "load password 1")
	for i := range 3 {
		env.createUser("load"+strconv.Itoa(i), "load password 1")
	}
	redirect := "http://127.0.0.1:9999/cb"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect},
		func(c *models.Client) { c.RequireConsent = false })
	return env, []string{"bench", "--issuer", env.issuer, "--client-id", client.ClientID,
		"--client-secret", secret, "--redirect-uri", redirect, "--password", "load password 1",
		"--concurrency", "2", "--warmup", "50ms", "--json"}
}

// benchJSON runs oidcd bench and decodes its --json line.
func benchJSON(t *testing.T, args ...string) benchResult {
	t.Helper()
	r := mustRunCLI(t, nil, args...)
	var res benchResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("bench --json printed %q: %v", r.stdout, err)
	}
	return res
}

// TestBenchScenarios runs every scenario against a real server, in
// process, and expects work done without an error.
func TestBenchScenarios(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scenario string
		extra    []string
	}{
		{"sso", []string{"--username", "load"}},
		{"refresh", []string{"--username", "load"}},
		{"userinfo", []string{"--users", "3", "--user-prefix", "load"}},
		// A full sign-in per operation, as the users load0..load2 in turn.
		{"login", []string{"--users", "3", "--user-prefix", "load"}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			_, args := benchTarget(t)
			args = append(append(args, "--scenario", tc.scenario, "--pid", strconv.Itoa(os.Getpid())), tc.extra...)
			// A short run, longer only when a busy machine (the race
			// detector, a sign-in per operation) finished nothing in it.
			var res benchResult
			for _, d := range []string{"300ms", "1s", "3s", "10s"} {
				if res = benchJSON(t, append(args, "--duration", d)...); res.Ops > 0 || res.Errors > 0 {
					break
				}
			}
			if res.Ops == 0 || res.Errors != 0 || len(res.ErrorSamples) != 0 {
				t.Fatalf("%s: %d ops, %d errors %q; want work and no error", tc.scenario, res.Ops, res.Errors, res.ErrorSamples)
			}
			if res.Scenario != tc.scenario || res.OpsPerSec <= 0 || res.P50MS > res.P99MS || res.P99MS > res.MaxMS {
				t.Errorf("result %+v is inconsistent", res)
			}
			// The server is this process, so its figures are ours.
			if res.ServerCPUS == nil || *res.ServerCPUS <= 0 || res.ServerPeakRSS == nil || *res.ServerPeakRSS <= 0 {
				t.Errorf("with --pid: server CPU %v, peak RSS %v; want both", res.ServerCPUS, res.ServerPeakRSS)
			}
		})
	}
}

// TestBenchTextOutput checks the report a person reads.
func TestBenchTextOutput(t *testing.T) {
	t.Parallel()
	_, args := benchTarget(t)
	args = append(args[:len(args)-1], "--scenario", "userinfo", "--username", "load", "--duration", "200ms") // without --json
	out := mustRunCLI(t, nil, args...).stdout
	for _, want := range []string{"scenario   userinfo against http://127.0.0.1:", "ops ", "/s)", "latency    p50 ", "p99 ", "errors     0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchRefusals: a wrong password, a remote issuer, a consent page and
// a bad command line stop the run with a clear message before any load.
func TestBenchRefusals(t *testing.T) {
	t.Parallel()
	env, args := benchTarget(t)
	needsConsent, secret := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1:9999/cb"})
	for _, tc := range []struct {
		name  string
		extra []string
		want  string
		code  int
	}{
		{"wrong password", []string{"--username", "load", "--password", "not the password"}, "login as load failed: the login form came back (wrong username or password?)", 1},
		{"unknown user", []string{"--users", "2", "--user-prefix", "nobody"}, "login as nobody", 1},
		{"remote issuer", []string{"--username", "load", "--issuer", "http://192.0.2.1:8000"}, "192.0.2.1 is not a loopback address; pass --allow-remote", 1},
		{"remote IPv6 issuer", []string{"--username", "load", "--issuer", "http://[2001:db8::1]:8000"}, "2001:db8::1 is not a loopback address", 1},
		{"not a URL", []string{"--username", "load", "--issuer", "127.0.0.1:8000"}, "is not an http(s) URL", 1},
		{"consent required", []string{"--username", "load", "--client-id", needsConsent.ClientID, "--client-secret", secret}, "the client must not require consent", 1},
		{"wrong secret", []string{"--username", "load", "--client-secret", "wrong"}, "token: 401 invalid_client", 1},
		{"unknown scenario", []string{"--username", "load", "--scenario", "nap"}, `unknown --scenario "nap"`, 2},
		{"no user", nil, "flag --username is required", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append(slices.Clone(args), append([]string{"--duration", "100ms"}, tc.extra...)...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("a refused run printed a result: %q", r.stdout)
			}
		})
	}
}

// TestBenchLoopbackCheck: only loopback issuers are loaded unless told
// otherwise; a name must resolve to loopback addresses only.
func TestBenchLoopbackCheck(t *testing.T) {
	t.Parallel()
	for host, ok := range map[string]bool{
		"127.0.0.1": true, "127.3.2.1": true, "::1": true, "::ffff:127.0.0.1": true, "localhost": true,
		"10.0.0.1": false, "192.0.2.1": false, "::": false, "0.0.0.0": false, "2001:db8::1": false,
	} {
		if err := checkLoopback(t.Context(), host); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v; want loopback %v", host, err, ok)
		}
	}
}

// TestBenchProcParsing reads the CPU times and peak RSS the way proc(5)
// lays them out, including a command name with spaces and parentheses.
func TestBenchProcParsing(t *testing.T) {
	t.Parallel()
	stat := "4242 (oidcd (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 750 125 0 0 20 0 9 0 100 1000000 9000 18446744073709551615\n"
	if ticks, err := parseProcStat(stat); err != nil || ticks != 875 {
		t.Errorf("parseProcStat = %d, %v; want 875 (utime 750 + stime 125)", ticks, err)
	}
	for _, bad := range []string{"", "4242 oidcd S 1", "4242 (oidcd) S 1 2 3", "4242 (oidcd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 125 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) gave no error", bad)
		}
	}
	status := "Name:\toidcd\nVmPeak:\t 1000 kB\nVmHWM:\t   37000 kB\nVmRSS:\t   36000 kB\n"
	if n, err := parseVmHWM(status); err != nil || n != 37000*1024 {
		t.Errorf("parseVmHWM = %d, %v; want %d", n, err, 37000*1024)
	}
	for _, bad := range []string{"", "Name:\tx\n", "VmHWM:\t 12 MB\n", "VmHWM:\t x kB\n"} {
		if _, err := parseVmHWM(bad); err == nil {
			t.Errorf("parseVmHWM(%q) gave no error", bad)
		}
	}
	// And this very process, which exists.
	if cpu, err := processCPU(os.Getpid()); err != nil || cpu < 0 {
		t.Errorf("processCPU(self) = %v, %v", cpu, err)
	}
	if rss, err := processPeakRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("processPeakRSS(self) = %v, %v", rss, err)
	}
	if _, err := processCPU(-1); err == nil {
		t.Error("processCPU(-1) gave no error")
	}
}

// TestBenchForms: the sign-in walker finds oidcd's login form (with its
// CSRF and request fields) and node oidc-provider's interaction forms.
func TestBenchForms(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://127.0.0.1:3000/interaction/abc")
	node := `<form method="post" action="/interaction/abc/login">
<input type="text" name="username" autofocus required> <input type="password" name="password" required>
<button type="submit">Sign in</button></form>`
	f := parseBenchForm(node, base)
	if f == nil || !f.password || f.action != "http://127.0.0.1:3000/interaction/abc/login" {
		t.Fatalf("node login form: %+v", f)
	}
	consent := `<form method="post" action="/interaction/abc/confirm">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>`
	f = parseBenchForm(consent, base)
	if f == nil || f.password || f.allow(false) || !f.allow(true) || f.fields.Get("decision") != "allow" {
		t.Fatalf("node consent form: %+v", f)
	}

	env, _ := benchTarget(t)
	p := env.browser().get("/login?req=r1")
	page, _ := url.Parse(env.issuer + "/login?req=r1")
	f = parseBenchForm(p.body, page)
	if f == nil || !f.password || f.action != env.issuer+"/login" || f.fields.Get("_csrf") == "" || f.fields.Get("req") != "r1" {
		t.Fatalf("oidcd login form: %+v", f)
	}
}
