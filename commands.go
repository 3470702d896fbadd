package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"oidcd/admin"
	"oidcd/handlers"
	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// newFlagSet makes a command's flag set with the flags every command
// shares. Defaults come from the environment, so a flag wins over it.
func newFlagSet(name, synopsis string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: oidcd %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
		printExamples(stderr, name)
	}
	db := fs.String("db", envOr(getenv, "OIDC_DATABASE", "data/oidcd.db"), "SQLite file, or a postgres:// URL (env OIDC_DATABASE)")
	return fs, db
}

// examples are the command lines each command's -h ends with.
var examples = map[string][]string{
	"serve": {
		"OIDC_ISSUER=https://id.example.com oidcd serve --addr :8000 --db data/oidcd.db",
		"oidcd serve --db postgres://oidcd@localhost/oidcd --log-format json",
	},
	"createuser": {
		"oidcd createuser --username ada --email ada@example.com --email-verified --given-name Ada --family-name Lovelace",
		"    (asks for the password twice; the name claim becomes \"Ada Lovelace\")",
		"echo \"$PASSWORD\" | oidcd createuser --username bob --superuser",
		"    (reads the password, one line, from standard input when it is not a terminal)",
	},
	"createclient": {
		"oidcd createclient --name 'My app' --type confidential --redirect-uri https://app.example.com/oauth2/callback",
		"oidcd createclient --name SPA --type public --redirect-uri http://localhost:5173/cb --require-consent=false --json",
	},
	"creatersakey": {"oidcd creatersakey --now"},
	"createkey":    {"oidcd createkey --alg ES256", "oidcd createkey --alg EdDSA --now"},
	"rotatekeys":   {"oidcd rotatekeys", "oidcd rotatekeys --alg RS256 --now"},
	"cleanup":      {"oidcd cleanup --db data/oidcd.db"},
	"bench": {
		"oidcd bench --issuer http://127.0.0.1:8000 --client-id ID --client-secret SECRET --redirect-uri http://127.0.0.1/cb --username bench --password 'bench password' --duration 30s",
	},
}

// printExamples ends a command's usage with its examples.
func printExamples(w io.Writer, name string) {
	if len(examples[name]) == 0 {
		return
	}
	fmt.Fprint(w, "\nExample:\n")
	for _, e := range examples[name] {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

// warnings is the log of the commands other than serve: warnings only, so
// that their output stays what they print.
func warnings(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// parse parses flags and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{"help"}
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return usageError{"unexpected argument"}
	}
	return nil
}

// required reports a missing required flag the way flag reports others.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			fmt.Fprintf(fs.Output(), "flag --%s is required\n", n)
			fs.Usage()
			return usageError{"missing --" + n}
		}
	}
	return nil
}

// logoutDeliveryEvery is how often serve looks for back-channel logout
// tokens to deliver: a logout reaches the clients within about this.
const logoutDeliveryEvery = 2 * time.Second

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, db := newFlagSet("serve", "[--addr ADDR] [--issuer URL] [--db PATH] [--log-format text|json]", getenv, stderr)
	addr := fs.String("addr", envOr(getenv, "OIDC_ADDR", ":8000"), "listen address (env OIDC_ADDR)")
	issuer := fs.String("issuer", issuerFromEnv(getenv), "issuer URL (env OIDC_ISSUER, or SITE_URL)")
	logFormat := fs.String("log-format", envOr(getenv, "OIDC_LOG_FORMAT", "text"), "log format: text or json (env OIDC_LOG_FORMAT)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadHandlerConfig(*issuer, getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}
	store, err := openDatabase(*db, getenv, log)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := ensureSigningKey(ctx, store, log); err != nil {
		return err
	}
	app, err := newApp(ctx, store, cfg, log, time.Now)
	if err != nil {
		return err
	}
	// The janitor stops with the server, before the store closes.
	janitorCtx, stopJanitor := context.WithCancel(ctx)
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		var wg sync.WaitGroup
		wg.Go(func() { runCheckpoints(janitorCtx, store, log, checkpointEvery) })
		wg.Go(func() { runKeyRotation(janitorCtx, store, cfg, log, time.Now, keyRotationFirst, keyRotationEvery) })
		// Back-channel logout tokens (handlers/backchannel.go).
		deliverer := handlers.NewLogoutDeliverer(store, cfg, log, time.Now)
		wg.Go(func() { repeat(janitorCtx, logoutDeliveryEvery, logoutDeliveryEvery, deliverer.DeliverDue) })
		runJanitor(janitorCtx, store, cfg.EventRetention, log, time.Now, janitorFirst, janitorEvery)
		wg.Wait()
	}()
	defer func() { stopJanitor(); <-janitorDone }()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	// A request is small (bodies are at most 320 KiB) and quick: a client
	// that takes longer than this to send one is cut off, so a slow or
	// trickling client cannot hold a connection, or a shutdown, for long.
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	setupToken, err := admin.PrepareSetup(ctx, store)
	if err != nil {
		return err
	}
	if setupToken != "" {
		// The one place a secret is logged, on purpose: the operator needs
		// it to create the first admin, and it dies once used.
		log.Warn("no administrator yet: open the setup link to create one",
			"setup_url", cfg.Issuer+"/admin/setup?token="+setupToken)
	}
	log.Info("oidcd serving", "addr", ln.Addr().String(), "issuer", cfg.Issuer,
		"discovery", cfg.Issuer+"/.well-known/openid-configuration")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// A stop was asked for (SIGTERM, Ctrl-C): requests in progress get
	// shutdownGrace to finish, and whatever is still open then, such as a
	// client trickling its body, is closed. Either way the stop is clean:
	// status 0.
	log.Info("oidcd shutting down", "grace", shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// The grace ran out: drop the connections still open. The
		// listener is closed already, so Close has nothing to report.
		_ = srv.Close()
	}
	return nil
}

// shutdownGrace is how long serve waits for requests in progress when it
// is stopped; a request takes milliseconds.
const shutdownGrace = 5 * time.Second

// ensureSigningKey creates a key for each server-key algorithm (RS256,
// ES256, EdDSA) that has no active one, so a fresh database serves signed
// ID tokens of every algorithm at once.
func ensureSigningKey(ctx context.Context, store *models.Store, log *slog.Logger) error {
	for _, alg := range jose.KeyAlgorithms {
		_, err := store.ActiveSigningKey(ctx, alg)
		if err == nil {
			continue
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		kid, err := addKey(ctx, store, alg)
		if err != nil {
			return err
		}
		log.Info("created signing key", "kid", kid, "alg", alg)
	}
	return nil
}

func addKey(ctx context.Context, store *models.Store, alg string) (string, error) {
	k, err := jose.NewKey(alg)
	if err != nil {
		return "", err
	}
	if err := store.AddSigningKey(ctx, &models.SigningKey{KID: k.KID, Alg: k.Alg, PrivateKeyPEM: k.PEM}); err != nil {
		return "", err
	}
	return k.KID, nil
}

func cmdCreateRSAKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, db := newFlagSet("creatersakey", "[--now] [--db PATH]", getenv, stderr)
	signNow := fs.Bool("now", false, signNowUsage)
	if err := parse(fs, args); err != nil {
		return err
	}
	return createKey(ctx, *db, jose.RS256, *signNow, getenv, stdout, stderr)
}

func cmdCreateKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, db := newFlagSet("createkey", "[--alg RS256|ES256|EdDSA] [--now] [--db PATH]", getenv, stderr)
	alg := fs.String("alg", jose.RS256, "key algorithm: RS256, ES256 or EdDSA")
	signNow := fs.Bool("now", false, signNowUsage)
	if err := parse(fs, args); err != nil {
		return err
	}
	if !slices.Contains(jose.KeyAlgorithms, *alg) {
		fmt.Fprintf(stderr, "flag --alg must be one of %s, not %q\n", strings.Join(jose.KeyAlgorithms, ", "), *alg)
		fs.Usage()
		return usageError{"bad --alg"}
	}
	return createKey(ctx, *db, *alg, *signNow, getenv, stdout, stderr)
}

const signNowUsage = "sign with the new key at once (emergency, e.g. a leaked key: then retire the leaked one in the admin site): " +
	"relying parties holding a cached /jwks reject the tokens it signs until they fetch it again"

// createKey adds a signing key of alg and prints its kid. The key is a
// rotation (keyrotation.go): published at once, it signs after
// OIDC_KEY_PREPUBLISH, when the key it replaces retires; with signNow, or
// when alg has no key yet, it signs at once.
func createKey(ctx context.Context, db, alg string, signNow bool, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, store, err := openWithConfig(db, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().UTC()
	k, err := store.RotateSigningKeys(ctx, rotation(cfg, alg, now, actorCLI, "create", signNow))
	if errors.Is(err, models.ErrKeyPending) {
		return fmt.Errorf("createkey: key %s of %s is already next (it signs from %s): wait for it, or use --now", k.KID, alg, k.ActivatesAt.Format(time.RFC3339))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, k.KID)
	if k.ActivatesAt.After(now) {
		fmt.Fprintf(stderr, "key %s is published in /jwks now and signs from %s\n", k.KID, k.ActivatesAt.Format(time.RFC3339))
	}
	return nil
}

func cmdCreateUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, db := newFlagSet("createuser", "--username U [--password P] [--email E] [--name N] [--given-name G] [--family-name F] [claim flags] [--attr K=V]... [--superuser]", getenv, stderr)
	username := fs.String("username", "", "username (required)")
	password := fs.String("password", "", "password (default: asked twice on a terminal, or one line read from standard input; a flag is seen by other users in the process list)")
	superuser := fs.Bool("superuser", false, "may use the admin site")
	var attrs listFlag
	fs.Var(&attrs, "attr", "free-form attribute key=value, released by custom scopes (repeatable)")
	u := &models.User{Active: true}
	// One flag per standard claim, from the claims table: --given-name,
	// --address-street, --email-verified.
	for _, f := range models.ClaimFields {
		name := strings.ReplaceAll(f.Form, "_", "-")
		if f.Kind == models.ClaimBool {
			fs.BoolVar(f.Bool(u), name, false, claimUsage(f))
		} else {
			fs.StringVar(f.Str(u), name, "", claimUsage(f))
		}
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "username"); err != nil {
		return err
	}
	if err := models.CheckUsername(*username); err != nil {
		return fmt.Errorf("createuser: %w", err)
	}
	if flagSet(fs, "password") {
		if err := models.CheckPassword(*password); err != nil {
			return fmt.Errorf("createuser: %w", err)
		}
	}
	// The admin site's new user form's rule: no name, the given and
	// family names make it.
	if u.Name == "" {
		u.Name = models.DerivedName(u.GivenName, u.FamilyName)
	}
	for _, f := range models.ClaimFields {
		if f.Kind != models.ClaimBool {
			if msg := f.Check(*f.Str(u)); msg != "" {
				return fmt.Errorf("createuser: %w", &models.FieldError{Field: strings.ReplaceAll(f.Form, "_", "-"), Message: msg})
			}
		}
	}
	for _, kv := range attrs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("createuser: --attr %q: write key=value", kv)
		}
		if _, dup := u.Attributes[k]; dup {
			return fmt.Errorf("createuser: --attr %q: given twice", k)
		}
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		u.Attributes[k] = v
	}
	if msg := models.CheckAttributes(u.Attributes); msg != "" {
		return fmt.Errorf("createuser: --attr: %s", msg)
	}
	// The password is asked for last, once every other flag is known good.
	if !flagSet(fs, "password") {
		pw, err := readPassword(stdin, stderr)
		if errors.Is(err, errNoPassword) {
			fmt.Fprintln(fs.Output(), "flag --password is required, or the password as one line on standard input")
			fs.Usage()
			return usageError{"missing --password"}
		}
		if err == nil {
			err = models.CheckPassword(pw)
		}
		if err != nil {
			return fmt.Errorf("createuser: %w", err)
		}
		*password = pw
	}
	store, err := openDatabase(*db, getenv, warnings(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	u.Username, u.Superuser = *username, *superuser
	if err := store.CreateUser(ctx, u, *password); err != nil {
		if errors.Is(err, models.ErrConflict) {
			return fmt.Errorf("createuser: username %q is taken", *username)
		}
		return err
	}
	recordCLIChange(ctx, store, stderr, &models.Event{Detail: "create user", Target: "user " + u.Username, UserID: &u.ID})
	fmt.Fprintf(stdout, "created user %s (sub %s)\n", u.Username, u.Subject)
	return nil
}

// flagSet reports whether the command line gave the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// errNoPassword is readPassword's answer to an empty standard input.
var errNoPassword = errors.New("no password on standard input")

// readPassword gets createuser's password when --password is not given: on
// a terminal it is asked for twice, without echo; otherwise standard input's
// first line is the password (`echo "$PW" | oidcd createuser ...`), the line
// end removed.
func readPassword(stdin io.Reader, prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(label string) (string, error) {
			fmt.Fprint(prompt, label)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(prompt)
			return string(b), err
		}
		first, err := ask("Password: ")
		if err != nil {
			return "", err
		}
		if err := models.CheckPassword(first); err != nil {
			return "", err
		}
		again, err := ask("Password (again): ")
		if err != nil {
			return "", err
		}
		if first != again {
			return "", errors.New("the passwords do not match")
		}
		return first, nil
	}
	// A line longer than any password allowed is cut here and refused by
	// CheckPassword; nothing more is read.
	line, err := bufio.NewReader(io.LimitReader(stdin, models.MaxPasswordBytes+3)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errNoPassword
	}
	return line, nil
}

// claimUsage describes a claim's flag.
func claimUsage(f models.ClaimField) string {
	what := strings.ToLower(strings.TrimSuffix(f.Label, " URL"))
	if f.Group != "" && f.Group != f.Label {
		what = strings.ToLower(f.Group) + ": " + strings.ToLower(f.Label)
	}
	if f.Address {
		return "address: " + strings.ToLower(f.Label) + " (claim address." + f.Claim + ")"
	}
	return what + " (claim " + f.Claim + ")"
}

func cmdCreateClient(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, db := newFlagSet("createclient", "--name N --type confidential|public --redirect-uri URI... [flags]", getenv, stderr)
	name := fs.String("name", "", "client name shown on the consent page (required)")
	clientType := fs.String("type", "", "confidential or public (required)")
	var redirects, responseTypes, postLogout, grantTypes listFlag
	fs.Var(&redirects, "redirect-uri", "registered redirect URI (repeatable, at least one)")
	fs.Var(&responseTypes, "response-type", "allowed response type: "+strings.Join(oauth.ResponseTypes, ", ")+" (repeatable, default "+oauth.ResponseTypes[0]+")")
	fs.Var(&grantTypes, "grant-type", "grant type the client may use at /token (repeatable, default authorization_code and refresh_token): "+strings.Join(oauth.GrantTypes, ", "))
	fs.Var(&postLogout, "post-logout-redirect-uri", "registered post-logout redirect URI (repeatable)")
	backchannel := fs.String("backchannel-logout-uri", "", "where logout tokens are POSTed when a session that used the client ends (Back-Channel Logout)")
	backchannelSID := fs.Bool("backchannel-logout-session-required", false, "the client needs sid in logout tokens (always sent)")
	scope := fs.String("scope", "openid profile email", "scopes the client may ask for")
	requireConsent := fs.Bool("require-consent", true, "ask the user for consent")
	reuseConsent := fs.Bool("reuse-consent", true, "skip consent the user already gave")
	jwtAlg := fs.String("jwt-alg", jose.RS256, "ID token signing algorithm: "+strings.Join(jose.Algorithms, ", "))
	issuer := fs.String("issuer", issuerFromEnv(getenv), "issuer URL, for the discovery URL printed (env OIDC_ISSUER, or SITE_URL)")
	asJSON := fs.Bool("json", false, `print {"client_id": ..., "client_secret": ...} only`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "name", "type", "redirect-uri"); err != nil {
		return err
	}
	if err := models.CheckClientName(*name); err != nil {
		return fmt.Errorf("createclient: %w", err)
	}
	if *clientType != models.ClientConfidential && *clientType != models.ClientPublic {
		fmt.Fprintf(stderr, "flag --type must be confidential or public, not %q\n", *clientType)
		fs.Usage()
		return usageError{"bad --type"}
	}
	for _, uri := range append(slices.Clone(redirects), postLogout...) {
		if err := models.CheckRedirectURI(uri); err != nil {
			return fmt.Errorf("createclient: %w", err)
		}
	}
	if *backchannel != "" {
		if err := models.CheckBackchannelLogoutURI(*backchannel); err != nil {
			return fmt.Errorf("createclient: %w", err)
		}
	}
	if len(responseTypes) == 0 {
		responseTypes = listFlag{oauth.ResponseTypes[0]}
	}
	checkedTypes, err := oauth.CheckResponseTypes(responseTypes)
	if err != nil {
		return fmt.Errorf("createclient: %w", err)
	}
	if len(grantTypes) == 0 {
		grantTypes = slices.Clone(models.DefaultGrantTypes)
	}
	if err := oauth.CheckGrantTypes(grantTypes, *clientType == models.ClientPublic); err != nil {
		return fmt.Errorf("createclient: %w", err)
	}
	if err := jose.CheckClientAlg(*jwtAlg, *clientType == models.ClientPublic); err != nil {
		return fmt.Errorf("createclient: %w", err)
	}
	scopes := oauth.ParseScope(*scope)
	if len(scopes) == 0 {
		return fmt.Errorf("createclient: --scope must name at least one scope")
	}
	iss, err := normaliseIssuer(*issuer)
	if err != nil {
		return fmt.Errorf("createclient: %w", err)
	}

	store, err := openDatabase(*db, getenv, warnings(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	if unknown, err := store.UnknownClientScope(ctx, scopes, oauth.ClientScopes()); err != nil {
		return err
	} else if unknown != "" {
		return fmt.Errorf("createclient: unknown scope %q: %s", unknown, oauth.UnknownScopeHint)
	}
	c := &models.Client{
		ClientID:               models.NewID(),
		Name:                   *name,
		ClientType:             *clientType,
		ResponseTypes:          checkedTypes,
		GrantTypes:             grantTypes,
		RedirectURIs:           redirects,
		PostLogoutRedirectURIs: nonNil(postLogout),
		BackchannelLogoutURI:   *backchannel,
		Scopes:                 scopes,
		JWTAlg:                 *jwtAlg,
		// Back-Channel Logout 1.0 §2.2.
		BackchannelLogoutSessionRequired: *backchannelSID,
		RequireConsent:                   *requireConsent,
		ReuseConsent:                     *reuseConsent,
	}
	var secret string
	if !c.IsPublic() {
		secret = oauth.NewToken()
		c.SecretHash = oauth.HashToken(secret)
		if c.SecretSealed, err = store.SealClientSecret(c.ClientID, secret); err != nil {
			return err
		}
	}
	if err := store.CreateClient(ctx, c); err != nil {
		return err
	}
	recordCLIChange(ctx, store, stderr, &models.Event{Detail: "create client", Target: "client " + c.ClientID, ClientID: &c.ID})
	if *asJSON {
		id, _ := json.Marshal(c.ClientID)
		if secret == "" {
			fmt.Fprintf(stdout, "{\"client_id\": %s}\n", id)
			return nil
		}
		sec, _ := json.Marshal(secret)
		fmt.Fprintf(stdout, "{\"client_id\": %s, \"client_secret\": %s}\n", id, sec)
		return nil
	}
	fmt.Fprintf(stdout, "created %s client %q\n", c.ClientType, c.Name)
	fmt.Fprintf(stdout, "client_id:     %s\n", c.ClientID)
	if secret != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n(the secret is shown only now; store it safely)\n", secret)
	}
	fmt.Fprintf(stdout, "discovery:     %s/.well-known/openid-configuration\n", iss)
	return nil
}

func nonNil(l listFlag) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// recordCLIChange records a change made from the command line in the
// audit log as an admin change by the actor "cli" (as key rotation from
// the command line is). The change itself is done, so a failure to record
// it is reported on stderr, not returned.
func recordCLIChange(ctx context.Context, store *models.Store, stderr io.Writer, e *models.Event) {
	e.Kind, e.Username = models.EventAdminChange, actorCLI
	if err := store.RecordEvent(ctx, e); err != nil {
		fmt.Fprintf(stderr, "oidcd: warning: record %s in the audit log: %v\n", e.Detail, err)
	}
}

// openWithConfig is how a maintenance command (cleanup, rotatekeys,
// createkey) starts: serve's settings from the environment, with the
// issuer serve would take, and the database at db.
func openWithConfig(db string, getenv func(string) string, stderr io.Writer) (handlers.Config, *models.Store, error) {
	cfg, err := loadHandlerConfig(issuerFromEnv(getenv), getenv)
	if err != nil {
		return cfg, nil, err
	}
	store, err := openDatabase(db, getenv, warnings(stderr))
	return cfg, store, err
}
