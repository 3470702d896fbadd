package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"oidcd/handlers"
	"oidcd/handlers/jose"
	"oidcd/models"
	"oidcd/models/modelstest"
)

// cachingRP is a relying party that caches /jwks for the max-age the
// provider sends, on the provider's clock: the strictest verifier the
// pre-publication period has to serve.
type cachingRP struct {
	t       *testing.T
	env     *testEnv
	kids    []string
	fetched time.Time
}

func (rp *cachingRP) refresh() {
	rp.kids, rp.fetched = jwksKIDs(rp.t, rp.env), rp.env.clock.Now()
}

// knows reports whether kid is in the JWK Set the RP holds now, fetching
// it again once its max-age has passed.
func (rp *cachingRP) knows(kid string) bool {
	if rp.env.clock.Now().Sub(rp.fetched) >= handlers.JWKSMaxAge {
		rp.refresh()
	}
	return slices.Contains(rp.kids, kid)
}

// verifyAt verifies idToken's signature and claims against the /jwks
// served now, as a relying party would at the provider's time.
func verifyAt(env *testEnv, clientID, idToken string, skipExpiry bool) error {
	ctx := context.Background()
	v := oidc.NewVerifier(env.issuer, oidc.NewRemoteKeySet(ctx, env.issuer+"/jwks"),
		&oidc.Config{ClientID: clientID, Now: env.clock.Now, SkipExpiryCheck: skipExpiry})
	_, err := v.Verify(ctx, idToken)
	return err
}

func keyStates(t *testing.T, body string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, s := range []string{models.KeyNext, models.KeyActive, models.KeyRetiring, models.KeyRetired} {
		n[s] = strings.Count(body, `data-state="`+s+`"`)
	}
	return n
}

// TestKeyRotationPublishedBeforeSigning: "Rotate now" on the admin site
// publishes a next key of every algorithm; a relying party caching /jwks
// for its max-age knows the kid of every ID token it is given, before,
// across and after the activation; tokens the old key signed verify until
// they expire, and the old key leaves /jwks once every one has.
func TestKeyRotationPublishedBeforeSigning(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_KEY_PREPUBLISH", "900")
	ctx := context.Background()
	const password = "rotation password 123"
	env.createUser("rita", password)
	client, secret := clientWithAlg(t, env, models.ClientConfidential, jose.RS256, "http://127.0.0.1/rot/cb")
	old, err := env.store.SigningKeyAt(ctx, jose.RS256, env.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	rp := &cachingRP{t: t, env: env}
	rp.refresh() // just before the rotation: the worst moment

	admin := env.signInAdmin()
	confirm := admin.get("/admin/keys/rotate")
	if !strings.Contains(confirm.body, `data-testid="confirm-page"`) || !strings.Contains(confirm.body, "RS256, ES256, EdDSA") {
		t.Fatalf("GET /admin/keys/rotate: %d, want the confirmation naming every algorithm:\n%s", confirm.status, confirm.body)
	}
	if p := admin.post("/admin/keys/rotate", url.Values{"_csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Errorf("rotate with a forged CSRF token: %d, want 403", p.status)
	}
	if keys, err := env.store.ListSigningKeys(ctx); err != nil || len(keys) != 3 {
		t.Fatalf("keys after a refused rotation = %d (%v), want 3", len(keys), err)
	}
	p := postWithCSRF(t, admin, "/admin/keys/rotate", "/admin/keys/rotate", nil)
	if !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("rotate: %d at %s, want the keys page with a success flash:\n%s", p.status, p.url, p.body)
	}
	if got := keyStates(t, p.body); got[models.KeyNext] != 3 || got[models.KeyActive] != 3 {
		t.Errorf("states after rotation = %v, want 3 next and 3 active", got)
	}
	rotatedAt := env.clock.Now()
	keys, err := env.store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var next models.SigningKey
	for _, k := range keys {
		if k.Alg == jose.RS256 && k.State(env.clock.Now(), env.cfg.KeyPublishFor()) == models.KeyNext {
			next = k
		}
	}
	if next.KID == old.KID || !slices.Contains(jwksKIDs(t, env), next.KID) {
		t.Fatalf("next RS256 key %s: want a new key, in /jwks at once", next.KID)
	}
	events, _, err := env.store.ListEvents(ctx, models.EventFilter{Kind: models.EventAdminChange}, models.Page{Limit: 10})
	if err != nil || len(events) != 3 || events[0].Username != "root" || events[0].Detail != "rotate signing key" {
		t.Errorf("audit = %+v (%v), want 3 rotate signing key events by root", events, err)
	}

	// A token every minute until well after the activation.
	var lastOld string // the last ID token the old key signed
	var lastOldAt time.Time
	verifiedAfter := 0
	signedBy := map[string]int{}
	for env.clock.Now().Before(rotatedAt.Add(env.cfg.KeyPrepublish + 10*time.Minute)) {
		env.clock.Advance(time.Minute)
		code, refreshed := codeAndRefreshIDTokens(t, env, client, secret, "rita", password)
		for _, tok := range []string{code, refreshed} {
			kid := kidOf(t, tok)
			signedBy[kid]++
			if !rp.knows(kid) {
				t.Fatalf("at +%v an ID token is signed by %s, which the RP's /jwks (fetched at +%v) lacks",
					env.clock.Now().Sub(rotatedAt), kid, rp.fetched.Sub(rotatedAt))
			}
			if kid == old.KID {
				lastOld, lastOldAt = tok, env.clock.Now()
			}
		}
		// The old key's last token verifies against /jwks until it
		// expires, after the old key stopped signing too.
		if env.clock.Now().Before(lastOldAt.Add(env.cfg.IDTokenExpire)) {
			if err := verifyAt(env, client.ClientID, lastOld, false); err != nil {
				t.Fatalf("at +%v the old key's last ID token (of +%v): %v, want it to verify",
					env.clock.Now().Sub(rotatedAt), lastOldAt.Sub(rotatedAt), err)
			}
			if signedBy[next.KID] > 0 {
				verifiedAfter++
			}
		}
	}
	if verifiedAfter == 0 {
		t.Errorf("the old key's last token was never checked once the new key signed")
	}
	if signedBy[old.KID] == 0 || signedBy[next.KID] == 0 || len(signedBy) != 2 {
		t.Fatalf("ID tokens by kid = %v, want some by the old key %s, then by the new %s", signedBy, old.KID, next.KID)
	}
	p = admin.get("/admin/keys")
	if got := keyStates(t, p.body); got[models.KeyActive] != 3 || got[models.KeyRetiring] != 3 {
		t.Errorf("states after activation = %v, want 3 active and 3 retiring", got)
	}
	// Once every token it signed has expired, the old key leaves /jwks
	// (within the key cache's bound).
	retiredAt := rotatedAt.Add(env.cfg.KeyPrepublish)
	env.clock.Advance(retiredAt.Add(env.cfg.KeyPublishFor() + env.cfg.KeyCacheTTL + time.Second).Sub(env.clock.Now()))
	if kids := jwksKIDs(t, env); slices.Contains(kids, old.KID) || !slices.Contains(kids, next.KID) {
		t.Errorf("/jwks = %v once the old key's tokens have expired, want %s and not %s", kids, next.KID, old.KID)
	}
	if err := verifyAt(env, client.ClientID, lastOld, true); err == nil {
		t.Errorf("the old key's token verifies after the key left /jwks")
	}
	if got := keyStates(t, admin.get("/admin/keys").body); got[models.KeyActive] != 3 || got[models.KeyRetired] != 3 {
		t.Errorf("states at the end = %v, want 3 active and 3 retired", got)
	}
}

// TestKeyRotationSchedule: serve's check rotates every algorithm's key
// once it has signed OIDC_KEY_ROTATION_DAYS less the pre-publication
// period, as "system", and once only; the loop stops with its context.
func TestKeyRotationSchedule(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_KEY_ROTATION_DAYS", "30")
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	count := func() int {
		keys, err := env.store.ListSigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	start := env.clock.Now()
	rotateDueKeys(ctx, env.store, env.cfg, log, start.Add(time.Hour))
	if n := count(); n != 3 {
		t.Fatalf("keys after an early check = %d, want the 3 first ones", n)
	}
	due := start.Add(env.cfg.KeyRotation - env.cfg.KeyPrepublish + time.Minute)
	rotateDueKeys(ctx, env.store, env.cfg, log, due)
	rotateDueKeys(ctx, env.store, env.cfg, log, due.Add(time.Minute))
	if n := count(); n != 6 {
		t.Fatalf("keys after two due checks = %d, want 6 (one rotation of each algorithm)", n)
	}
	events, _, err := env.store.ListEvents(ctx, models.EventFilter{Kind: models.EventAdminChange}, models.Page{Limit: 10})
	if err != nil || len(events) != 3 || events[0].Username != actorSystem {
		t.Errorf("audit = %+v (%v), want 3 rotations by %s", events, err, actorSystem)
	}

	// The loop: due at once, checking every millisecond, until canceled.
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	later := due.Add(env.cfg.KeyRotation)
	go func() {
		defer close(done)
		runKeyRotation(loopCtx, env.store, env.cfg, log, func() time.Time { return later }, time.Millisecond, time.Millisecond)
	}()
	for i := 0; count() != 9; i++ {
		if i == 1000 {
			t.Fatalf("the loop did not rotate the due keys: %d keys", count())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the rotation loop did not stop with its context")
	}
	if n := count(); n != 9 {
		t.Errorf("keys = %d, want 9: the loop rotates each due key once", n)
	}
}

// TestRotateKeysCLI: `oidcd rotatekeys` rotates every algorithm that has a
// key, once, as "cli"; --alg one only; --now signs at once; bad flags are
// refused.
func TestRotateKeysCLI(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	vars := map[string]string{"OIDC_SECRET_KEY": b64Key(d.Key)}
	rs := strings.TrimSpace(mustRunCLI(t, vars, "createkey", "--alg", "RS256", "--db", d.DSN).stdout)
	es := strings.TrimSpace(mustRunCLI(t, vars, "createkey", "--alg", "ES256", "--db", d.DSN).stdout)

	out := mustRunCLI(t, vars, "rotatekeys", "--db", d.DSN).stdout
	if !strings.Contains(out, "RS256: new key ") || !strings.Contains(out, "ES256: new key ") || strings.Contains(out, "EdDSA") ||
		!strings.Contains(out, "published now; it signs from ") {
		t.Errorf("rotatekeys printed %q, want a new RS256 and ES256 key, published now, and nothing for EdDSA (no key)", out)
	}
	out = mustRunCLI(t, vars, "rotatekeys", "--db", d.DSN).stdout
	if strings.Count(out, "is already next") != 2 || !strings.Contains(out, "no key rotated") {
		t.Errorf("rotatekeys again printed %q, want both next keys kept", out)
	}
	store := d.Open(t)
	ctx := context.Background()
	keys, err := store.ListSigningKeys(ctx)
	if err != nil || len(keys) != 4 {
		t.Fatalf("keys = %d (%v), want 4", len(keys), err)
	}
	for _, alg := range []string{jose.RS256, jose.ES256} {
		if k, err := store.ActiveSigningKey(ctx, alg); err != nil || (k.KID != rs && k.KID != es) {
			t.Errorf("%s signs with %v (%v), want the first key until the next one activates", alg, k, err)
		}
	}
	events, _, err := store.ListEvents(ctx, models.EventFilter{Kind: models.EventAdminChange}, models.Page{Limit: 10})
	if err != nil || len(events) != 4 || events[0].Username != actorCLI || events[0].Detail != "rotate signing key" {
		t.Errorf("audit = %+v (%v), want 2 creations and 2 rotations by %s", events, err, actorCLI)
	}

	out = mustRunCLI(t, vars, "rotatekeys", "--alg", "RS256", "--now", "--db", d.DSN).stdout
	if !strings.HasPrefix(out, "RS256: new key ") || !strings.HasSuffix(out, " signs now\n") {
		t.Errorf("rotatekeys --alg RS256 --now printed %q, want one RS256 key signing now", out)
	}
	kid := strings.Fields(out)[3]
	if k, err := store.ActiveSigningKey(ctx, jose.RS256); err != nil || k.KID != kid {
		t.Errorf("RS256 signs with %v (%v), want %s", k, err, kid)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rotatekeys", "--alg", "EdDSA", "--db", d.DSN}, 1, "no EdDSA key to rotate"},
		{[]string{"rotatekeys", "--alg", "HS256", "--db", d.DSN}, 2, "flag --alg must be one of RS256, ES256, EdDSA"},
		{[]string{"rotatekeys", "now", "--db", d.DSN}, 2, `unexpected argument "now"`},
	} {
		if r := runCLI(t, vars, tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("oidcd %v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// TestRotateKeysTwoProcesses: two `oidcd rotatekeys` processes started
// together on one database rotate each algorithm once.
func TestRotateKeysTwoProcesses(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	vars := map[string]string{"OIDC_SECRET_KEY": b64Key(d.Key)}
	for _, alg := range jose.KeyAlgorithms {
		mustRunCLI(t, vars, "createkey", "--alg", alg, "--db", d.DSN)
	}
	args, _ := json.Marshal([]string{"rotatekeys", "--db", d.DSN})
	var cmds []*exec.Cmd
	var outs []*syncBuffer
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRunMainHelper$")
		cmd.Env = append(os.Environ(), "OIDC_SECRET_KEY="+vars["OIDC_SECRET_KEY"], helperEnv+"=1", helperArgsEnv+"="+string(args))
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i])
		}
	}
	all := outs[0].String() + outs[1].String()
	if strings.Count(all, ": new key ") != 3 || strings.Count(all, "is already next") != 3 {
		t.Errorf("the two processes printed\n%s\nwant 3 new keys and 3 already next between them", all)
	}
	keys, err := d.Open(t).ListSigningKeys(context.Background())
	if err != nil || len(keys) != 6 {
		t.Errorf("keys = %d (%v), want 6: one rotation of each algorithm", len(keys), err)
	}
}

// TestKeyRotationSettings: the pre-publication period must outlast the
// JWKS cache lifetime plus the key cache; the rotation period must be 0
// or longer than twice it.
func TestKeyRotationSettings(t *testing.T) {
	t.Parallel()
	load := func(kv ...string) (handlers.Config, error) {
		vars := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			vars[kv[i]] = kv[i+1]
		}
		return loadHandlerConfig("http://localhost:8000", func(k string) string { return vars[k] })
	}
	cfg, err := load()
	if err != nil || cfg.KeyPrepublish != 24*time.Hour || cfg.KeyRotation != 90*24*time.Hour {
		t.Fatalf("defaults: prepublish %v, rotation %v (%v); want 24h and 90 days", cfg.KeyPrepublish, cfg.KeyRotation, err)
	}
	least := int((30*time.Second + handlers.JWKSMaxAge).Seconds())
	for _, tc := range []struct {
		kv   []string
		want string // "" accepted
	}{
		{[]string{"OIDC_KEY_PREPUBLISH", fmt.Sprint(least + 1)}, ""},
		{[]string{"OIDC_KEY_PREPUBLISH", fmt.Sprint(least)}, "OIDC_KEY_PREPUBLISH=330: must be longer than 330 seconds"},
		{[]string{"OIDC_KEY_PREPUBLISH", "60"}, "must be longer than 330 seconds"},
		{[]string{"OIDC_KEY_PREPUBLISH", "900", "OIDC_KEY_CACHE_SECONDS", "600"}, "must be longer than 900 seconds"},
		{[]string{"OIDC_KEY_PREPUBLISH", "0"}, "OIDC_KEY_PREPUBLISH=\"0\": must be a positive whole number"},
		{[]string{"OIDC_KEY_PREPUBLISH", "1h"}, "must be a positive whole number"},
		{[]string{"OIDC_KEY_ROTATION_DAYS", "0"}, ""},
		{[]string{"OIDC_KEY_ROTATION_DAYS", "3"}, ""},
		{[]string{"OIDC_KEY_ROTATION_DAYS", "2"}, "OIDC_KEY_ROTATION_DAYS=2: must be 0 (off) or longer than twice OIDC_KEY_PREPUBLISH"},
		{[]string{"OIDC_KEY_ROTATION_DAYS", "1", "OIDC_KEY_PREPUBLISH", "3600"}, ""},
		{[]string{"OIDC_KEY_ROTATION_DAYS", "-1"}, "must be a whole number of days from 0"},
		{[]string{"OIDC_KEY_ROTATION_DAYS", "3651"}, "must be a whole number of days from 0"},
		{[]string{"OIDC_KEY_ROTATION_DAYS", "x"}, "must be a whole number of days from 0"},
	} {
		_, err := load(tc.kv...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v, want accepted", tc.kv, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want an error with %q", tc.kv, err, tc.want)
		}
	}
}
