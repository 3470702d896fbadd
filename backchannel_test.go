package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"oidcd/handlers"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// Back-channel logout (OpenID Back-Channel Logout 1.0): every end of a
// session POSTs a logout token to each client the session touched.

// testRP is a relying party's back-channel logout endpoint: it records
// every logout_token it is sent and answers status.
type testRP struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens []string
	hits   int
	status int
}

func newTestRP(t *testing.T, status int) *testRP {
	rp := &testRP{status: status}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		rp.hits++
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := r.ParseForm(); err == nil && r.PostForm.Get("logout_token") != "" {
			rp.tokens = append(rp.tokens, r.PostForm.Get("logout_token"))
		}
		w.WriteHeader(rp.status)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *testRP) received() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.tokens...)
}

func (rp *testRP) hitCount() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.hits
}

// deliverer is the worker serve runs, over the test's store and clock.
func deliverer(env *testEnv) *handlers.LogoutDeliverer {
	return handlers.NewLogoutDeliverer(env.store, env.cfg, slog.New(slog.DiscardHandler), env.clock.Now)
}

// bcRig is a logoutRig whose client registered rp's back-channel URI.
type bcRig struct {
	*logoutRig
	rp  *testRP
	sid string
}

func newBCRig(t *testing.T, status int, env ...string) *bcRig {
	t.Helper()
	rp := newTestRP(t, status)
	r := newLogoutRig(t, func(c *models.Client) { c.BackchannelLogoutURI = rp.srv.URL + "/backchannel" })
	sid, _ := claimsOf(t, r.idToken)["sid"].(string)
	if sid == "" {
		t.Fatalf("the ID token has no sid")
	}
	return &bcRig{logoutRig: r, rp: rp, sid: sid}
}

// verifyLogoutToken checks a logout token as an RP must (Back-Channel
// Logout 1.0 §2.6): the signature against /jwks, typ, iss, aud, iat/exp,
// jti, the events claim, sub and sid, and no nonce.
func verifyLogoutToken(t *testing.T, r *bcRig, token string) {
	t.Helper()
	ctx := context.Background()
	payload, err := oidc.NewRemoteKeySet(ctx, r.env.issuer+"/jwks").VerifySignature(ctx, token)
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	if len(payload) == 0 {
		t.Fatalf("empty payload")
	}
	if typ := jwsHeader(t, token)["typ"]; typ != "logout+jwt" {
		t.Errorf("typ = %v, want logout+jwt", typ)
	}
	c := claimsOf(t, token)
	idt := claimsOf(t, r.idToken)
	if c["iss"] != r.env.issuer {
		t.Errorf("iss = %v, want %s", c["iss"], r.env.issuer)
	}
	if c["aud"] != r.client.ClientID {
		t.Errorf("aud = %v, want %s", c["aud"], r.client.ClientID)
	}
	if c["sub"] != idt["sub"] {
		t.Errorf("sub = %v, want the ID token's %v", c["sub"], idt["sub"])
	}
	if c["sid"] != r.sid {
		t.Errorf("sid = %v, want the ID token's %v", c["sid"], r.sid)
	}
	if _, ok := c["nonce"]; ok {
		t.Errorf("the logout token has a nonce")
	}
	if jti, _ := c["jti"].(string); jti == "" {
		t.Errorf("no jti")
	}
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if now := float64(r.env.clock.Now().Unix()); iat < now-60 || iat > now+1 || exp <= iat || exp > iat+600 {
		t.Errorf("iat %v, exp %v: want iat now and a short exp", iat, exp)
	}
	events, _ := c["events"].(map[string]any)
	if ev, ok := events["http://schemas.openid.net/event/backchannel-logout"].(map[string]any); !ok || len(ev) != 0 || len(events) != 1 {
		t.Errorf("events = %v, want only the back-channel logout event with {}", c["events"])
	}
}

func TestBackchannelLogoutEverySessionEnd(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		reason string
		end    func(t *testing.T, r *bcRig)
	}{
		{"rp-initiated", models.EndLogout, func(t *testing.T, r *bcRig) {
			wantRedirectTo(t, r.b.get("/end-session?"+url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {byeURI}}.Encode()), byeURI)
		}},
		{"logout page", models.EndLogout, func(t *testing.T, r *bcRig) {
			if p := postWithCSRF(t, r.b, "/logout", "/logout", nil); p.status != http.StatusOK {
				t.Fatalf("POST /logout: %d", p.status)
			}
		}},
		{"admin deactivates", models.EndDeactivated, func(t *testing.T, r *bcRig) {
			admin, _ := signInAdmin(r.rig)
			path := fmt.Sprintf("/admin/users/%d", r.user.ID)
			if p := postWithCSRF(t, admin, path, path+"/deactivate", nil); p.status != http.StatusOK {
				t.Fatalf("deactivate: %d", p.status)
			}
		}},
		{"admin ends sessions", models.EndAdmin, func(t *testing.T, r *bcRig) {
			admin, _ := signInAdmin(r.rig)
			path := fmt.Sprintf("/admin/users/%d", r.user.ID)
			if p := postWithCSRF(t, admin, path, path+"/sessions/end", nil); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
				t.Fatalf("end sessions: %d", p.status)
			}
		}},
		{"admin sets password", models.EndPassword, func(t *testing.T, r *bcRig) {
			admin, _ := signInAdmin(r.rig)
			path := fmt.Sprintf("/admin/users/%d", r.user.ID)
			const pw = "a brand new password 42"
			r.keep(pw)
			if p := postWithCSRF(t, admin, path, path+"/password", url.Values{"password": {pw}, "password_confirm": {pw}}); p.status != http.StatusOK {
				t.Fatalf("set password: %d", p.status)
			}
		}},
		{"admin revokes consent", models.EndConsent, func(t *testing.T, r *bcRig) {
			admin, _ := signInAdmin(r.rig)
			var consent models.UserConsent
			if err := testDB(t).Where("user_id = ? AND client_id = ?", r.user.ID, r.client.ID).Take(&consent).Error; err != nil {
				t.Fatalf("consent: %v", err)
			}
			if p := postWithCSRF(t, admin, "/admin/consents", fmt.Sprintf("/admin/consents/%d/revoke", consent.ID), nil); p.status != http.StatusOK {
				t.Fatalf("revoke consent: %d", p.status)
			}
		}},
		{"admin deletes user", models.EndDeleted, func(t *testing.T, r *bcRig) {
			admin, _ := signInAdmin(r.rig)
			path := fmt.Sprintf("/admin/users/%d/delete", r.user.ID)
			if p := postWithCSRF(t, admin, path, path, nil); p.status != http.StatusOK {
				t.Fatalf("delete user: %d", p.status)
			}
		}},
		// Alice set aside on her browser ("Use another account") moves
		// to a session id nobody holds; signing the browser out still
		// reaches the client her session touched.
		{"set aside, then the logout page", models.EndLogout, func(t *testing.T, r *bcRig) {
			p := r.b.get(r.authURL(r.client, func(v url.Values) { v.Set("prompt", "consent") }))
			if p = useAnotherAccount(t, r.b, p); !isLoginPage(p) {
				t.Fatalf("Use another account: got %d at %s, want the login page", p.status, p.url)
			}
			if p := postWithCSRF(t, r.b, "/logout", "/logout", nil); p.status != http.StatusOK {
				t.Fatalf("POST /logout: %d", p.status)
			}
		}},
		// The seam the /account page calls for "sign out everywhere".
		{"sign out everywhere", models.EndEverywhere, func(t *testing.T, r *bcRig) {
			if err := r.env.store.EndUserSessions(context.Background(), r.user.ID, models.EndEverywhere, r.env.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newBCRig(t, http.StatusOK)
			d := deliverer(r.env)
			ctx := context.Background()
			// Nothing is sent before the session ends.
			if n, err := d.DeliverLogouts(ctx); err != nil || n != 0 {
				t.Fatalf("deliveries before the end: %d, %v; want 0", n, err)
			}
			tt.end(t, r)
			if tt.reason != models.EndConsent {
				if n := r.sessions(); n != 0 {
					t.Errorf("alice has %d sessions, want 0", n)
				}
			}
			if got := r.rp.received(); len(got) != 0 {
				t.Fatalf("the RP got %d tokens on the request path, want them from the worker", len(got))
			}
			n, err := d.DeliverLogouts(ctx)
			if err != nil || n != 1 {
				t.Fatalf("delivered %d, %v; want 1", n, err)
			}
			got := r.rp.received()
			if len(got) != 1 {
				t.Fatalf("the RP got %d logout tokens, want 1", len(got))
			}
			verifyLogoutToken(t, r, got[0])
			// Delivered once: the next pass has nothing.
			if n, _ := d.DeliverLogouts(ctx); n != 0 || len(r.rp.received()) != 1 {
				t.Errorf("a second pass delivered %d more", n)
			}
			if n := countEvents(t, "kind = ? AND client_id = ? AND detail = ?", models.EventBackchannelLogout, r.client.ID, tt.reason); n != 1 {
				t.Errorf("%d %s events with detail %s, want 1", n, models.EventBackchannelLogout, tt.reason)
			}
			if n := countRows(t, &models.LogoutDelivery{}, "1 = 1"); n != 0 {
				t.Errorf("%d deliveries left, want 0", n)
			}
		})
	}
}

// A client without a back-channel URI is sent nothing, and its
// authorizations record nothing.
func TestBackchannelLogoutOnlyRegisteredClients(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	if n := countRows(t, &models.SessionClient{}, "1 = 1"); n != 0 {
		t.Errorf("%d session_clients rows for a client without a back-channel URI, want 0", n)
	}
	wantRedirectTo(t, r.b.get("/end-session?"+url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {byeURI}}.Encode()), byeURI)
	if n := countRows(t, &models.LogoutDelivery{}, "1 = 1"); n != 0 {
		t.Errorf("%d deliveries, want 0", n)
	}
}

// An RP that fails is retried with backoff, a bounded number of times,
// then the failure is recorded in the audit log.
func TestBackchannelLogoutRetriesBounded(t *testing.T) {
	t.Parallel()
	t.Run("answers 500", func(t *testing.T) {
		t.Parallel()
		r := newBCRig(t, http.StatusInternalServerError)
		wantAttempts := r.env.cfg.BackchannelAttempts
		if wantAttempts < 2 {
			t.Fatalf("BackchannelAttempts = %d; the test needs retries", wantAttempts)
		}
		retryUntilGivenUp(t, r)
		if got := r.rp.hitCount(); got != wantAttempts {
			t.Errorf("the RP was tried %d times, want %d", got, wantAttempts)
		}
		if n := countEvents(t, "kind = ? AND client_id = ?", models.EventBackchannelLogoutFailed, r.client.ID); n != 1 {
			t.Errorf("%d %s events, want 1", n, models.EventBackchannelLogoutFailed)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		// A port nothing listens on.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String() + "/backchannel"
		ln.Close()
		r := newLogoutRig(t, func(c *models.Client) { c.BackchannelLogoutURI = closed })
		retryUntilGivenUp(t, &bcRig{logoutRig: r})
		var ev models.Event
		if err := testDB(t).Where("kind = ? AND client_id = ?", models.EventBackchannelLogoutFailed, r.client.ID).Take(&ev).Error; err != nil {
			t.Fatalf("no %s event: %v", models.EventBackchannelLogoutFailed, err)
		}
		if !strings.Contains(ev.Detail, fmt.Sprintf("%d attempts", r.env.cfg.BackchannelAttempts)) {
			t.Errorf("event detail %q, want the attempt count", ev.Detail)
		}
	})
}

// retryUntilGivenUp ends r's session, then runs the worker, advancing
// the clock between passes, until the delivery is gone; it checks a retry
// waits for its time.
func retryUntilGivenUp(t *testing.T, r *bcRig) {
	t.Helper()
	ctx := context.Background()
	d := deliverer(r.env)
	if p := postWithCSRF(t, r.b, "/logout", "/logout", nil); p.status != http.StatusOK {
		t.Fatalf("POST /logout: %d", p.status)
	}
	attempts := 0
	for pass := 0; pass < 3*r.env.cfg.BackchannelAttempts; pass++ {
		n, err := d.DeliverLogouts(ctx)
		if err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		attempts += n
		if n == 1 && countRows(t, &models.LogoutDelivery{}, "1 = 1") == 1 {
			// Failed and released: not due again at once.
			if again, _ := d.DeliverLogouts(ctx); again != 0 {
				t.Fatalf("a failed delivery was retried at once, want a backoff")
			}
		}
		if countRows(t, &models.LogoutDelivery{}, "1 = 1") == 0 {
			break
		}
		r.env.clock.Advance(11 * time.Minute)
	}
	if attempts != r.env.cfg.BackchannelAttempts {
		t.Errorf("%d attempts, want %d", attempts, r.env.cfg.BackchannelAttempts)
	}
	if n := countRows(t, &models.LogoutDelivery{}, "1 = 1"); n != 0 {
		t.Errorf("%d deliveries left, want 0 (given up)", n)
	}
}

// Two workers (two instances) on one database deliver each token once.
func TestBackchannelLogoutTwoWorkers(t *testing.T) {
	t.Parallel()
	r := newBCRig(t, http.StatusOK)
	ctx := context.Background()
	// More sessions of alice on the same client.
	for range 4 {
		b := r.env.browser()
		r.tokens(b, r.client, r.secret, nil)
	}
	if err := r.env.store.EndUserSessions(ctx, r.user.ID, models.EndEverywhere, r.env.clock.Now()); err != nil {
		t.Fatal(err)
	}
	a, b := deliverer(r.env), deliverer(r.env)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, d := range []*handlers.LogoutDeliverer{a, b} {
		wg.Go(func() {
			n, err := d.DeliverLogouts(ctx)
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	if counts[0]+counts[1] != 5 || len(r.rp.received()) != 5 {
		t.Errorf("workers delivered %v, the RP got %d; want 5 in all, each once", counts, len(r.rp.received()))
	}
	sids := map[string]bool{}
	for _, tok := range r.rp.received() {
		sids[claimsOf(t, tok)["sid"].(string)] = true
	}
	if len(sids) != 5 {
		t.Errorf("%d distinct sids, want 5 (one per session)", len(sids))
	}
}

func TestCLICreateClientBackchannel(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	out := mustRunCLI(t, nil, "createclient", "--db", db, "--name", "RP", "--type", "confidential",
		"--redirect-uri", "https://rp.example/cb", "--backchannel-logout-uri", "http://10.1.2.3:8080/bc",
		"--backchannel-logout-session-required", "--json").stdout
	var got struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	c, err := openStore(t, db).ClientByClientID(context.Background(), got.ClientID)
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	if c.BackchannelLogoutURI != "http://10.1.2.3:8080/bc" || !c.BackchannelLogoutSessionRequired {
		t.Errorf("backchannel = %q, session required %v; want the flags' values", c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired)
	}
	for _, bad := range []string{"https://rp.example/bc#f", "ftp://rp.example/bc", "/bc"} {
		r := runCLI(t, nil, "createclient", "--db", db, "--name", "RP", "--type", "confidential",
			"--redirect-uri", "https://rp.example/cb", "--backchannel-logout-uri", bad)
		if r.err == nil || !strings.Contains(r.stderr, "backchannel logout URI") {
			t.Errorf("--backchannel-logout-uri %q: err %v, stderr %q; want refused", bad, r.err, r.stderr)
		}
	}
}

// The janitor removes what sessions touched once the session has
// expired; ending the (gone) session's user sends nothing then.
func TestBackchannelSessionClientsCleanedUp(t *testing.T) {
	t.Parallel()
	r := newBCRig(t, http.StatusOK)
	ctx := context.Background()
	if n := countRows(t, &models.SessionClient{}, "user_id = ?", r.user.ID); n != 1 {
		t.Fatalf("%d session_clients rows, want 1", n)
	}
	// A second pass on a live session keeps the row.
	if got, err := r.env.store.Cleanup(ctx, r.env.clock.Now(), r.env.clock.Now().Add(-time.Hour)); err != nil || got.SessionClients != 0 {
		t.Fatalf("cleanup of a live session: %+v, %v; want its row kept", got, err)
	}
	r.env.clock.Advance(r.env.cfg.SessionExpire + time.Hour)
	now := r.env.clock.Now()
	got, err := r.env.store.Cleanup(ctx, now, now.Add(-365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got.Sessions == 0 || got.SessionClients != 1 {
		t.Errorf("removed %+v, want the session and its session_clients row", got)
	}
	if err := r.env.store.EndUserSessions(ctx, r.user.ID, models.EndAdmin, now); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, &models.LogoutDelivery{}, "1 = 1"); n != 0 {
		t.Errorf("%d deliveries for an expired session, want 0", n)
	}
}

// An HS256 client's logout tokens are signed with its secret, as its ID
// tokens are (and an ES256 client's with the ES256 key).
func TestBackchannelLogoutPerAlgorithm(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"HS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			rp := newTestRP(t, http.StatusNoContent)
			var secret string
			r := newLogoutRig(t)
			client, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
				c.JWTAlg, c.BackchannelLogoutURI = alg, rp.srv.URL
				secret = oauth.NewToken()
				c.SecretHash = oauth.HashToken(secret)
				sealed, err := r.env.store.SealClientSecret(c.ClientID, secret)
				if err != nil {
					t.Fatal(err)
				}
				c.SecretSealed = sealed
			})
			r.keep(secret)
			idt := r.tokens(r.b, client, secret, nil)["id_token"].(string)
			if p := postWithCSRF(t, r.b, "/logout", "/logout", nil); p.status != http.StatusOK {
				t.Fatalf("POST /logout: %d", p.status)
			}
			ctx := context.Background()
			// Both clients of the session: the rig's has no URI.
			if n, err := deliverer(r.env).DeliverLogouts(ctx); err != nil || n != 1 {
				t.Fatalf("delivered %d, %v; want 1", n, err)
			}
			got := rp.received()
			if len(got) != 1 {
				t.Fatalf("the RP got %d tokens, want 1", len(got))
			}
			if hdr := jwsHeader(t, got[0]); hdr["alg"] != alg || hdr["typ"] != "logout+jwt" {
				t.Errorf("header %v, want alg %s, typ logout+jwt", hdr, alg)
			}
			var keys oidc.KeySet = oidc.NewRemoteKeySet(ctx, r.env.issuer+"/jwks")
			if alg == "HS256" {
				keys = hmacKeySet{secret}
			}
			if _, err := keys.VerifySignature(ctx, got[0]); err != nil {
				t.Errorf("signature: %v", err)
			}
			if c := claimsOf(t, got[0]); c["aud"] != client.ClientID || c["sid"] != claimsOf(t, idt)["sid"] {
				t.Errorf("aud %v sid %v, want the client and the ID token's sid", c["aud"], c["sid"])
			}
			if n := countEvents(t, "kind = ? AND client_id = ?", models.EventBackchannelLogout, client.ID); n != 1 {
				t.Errorf("%d success events (204 is success), want 1", n)
			}
		})
	}
}
