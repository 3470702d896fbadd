// Package handlers serves the OpenID Provider's endpoints and the end
// user's pages: authorize, login, consent, logout, the account page,
// token, userinfo, discovery and JWKS. One file per endpoint or grant; protocol pieces that
// need no HTTP live in handlers/oauth, and JOSE in handlers/jose.
package handlers

import (
	"runtime"

	"bytes"
	"context"
	"errors"
	"golang.org/x/sync/semaphore"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// Config holds the settings the handlers need, loaded and validated once
// by the caller.
type Config struct {
	Issuer               string
	CodeExpire           time.Duration
	TokenExpire          time.Duration
	IDTokenExpire        time.Duration
	RefreshTokenExpire   time.Duration
	SkipConsentExpire    time.Duration
	SessionExpire        time.Duration
	IDTokenIncludeClaims bool
	// UserinfoQueryToken accepts ?access_token= at /userinfo, as the seed
	// system's walkthrough uses; RFC 6750 §2.3 discourages it.
	UserinfoQueryToken bool
	// LoginMaxFailures failed logins for one username from one address
	// within LoginThrottleWindow lock that pair (see loginKeys); the same
	// numbers throttle client authentication at /token.
	LoginMaxFailures    int
	LoginThrottleWindow time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed; the route table turns them into the client address
	// extractor (OIDC_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// EventRetention is how long audit events are kept; the janitor
	// (models.Store.Cleanup) deletes older ones. The handlers do not read it.
	EventRetention time.Duration
	// MetricsToken is the bearer token /metrics asks for; empty serves no
	// /metrics (OIDC_METRICS_TOKEN). The handlers do not read it.
	MetricsToken string
	// KeyCacheTTL bounds how long parsed signing keys and the JWK Set are
	// kept in memory: a key created or retired through another instance
	// is honoured here within it (OIDC_KEY_CACHE_SECONDS).
	KeyCacheTTL time.Duration
	// KeyPrepublish is how long a key made by rotation is published in
	// /jwks before it signs (OIDC_KEY_PREPUBLISH): longer than a verifier
	// may cache the JWK Set (JWKSMaxAge) plus KeyCacheTTL.
	KeyPrepublish time.Duration
	// KeyRotation is how long a key signs before the server rotates it;
	// zero: never on its own (OIDC_KEY_ROTATION_DAYS). The handlers do
	// not read it.
	KeyRotation time.Duration
	// ClientCacheTTL bounds how stale a client may be at /authorize,
	// /token and /userinfo: a client changed or deleted through another
	// instance is honoured within it (models.ClientCache); zero reads the
	// database every time (OIDC_CLIENT_CACHE_SECONDS). Custom scopes are
	// cached as long (models.ScopeCache).
	ClientCacheTTL time.Duration
	// GrantTypes are the grant types /token serves, of GrantTypes(); nil
	// serves them all. A grant left out answers unsupported_grant_type.
	GrantTypes []string
	// PasswordGrant serves the password grant (RFC 6749 §4.3), off by
	// default (OIDC_GRANT_TYPE_PASSWORD_ENABLE, token_password.go).
	PasswordGrant bool
	// IntrospectionValidateAudience: a client introspecting another
	// client's token needs that client's client_id among its scopes too
	// (OIDC_INTROSPECTION_VALIDATE_AUDIENCE_SCOPE).
	IntrospectionValidateAudience bool
	// IntrospectionResponseScope puts the token's scope in /introspect
	// answers (OIDC_INTROSPECTION_RESPONSE_SCOPE_ENABLE).
	IntrospectionResponseScope bool
	// DiscoveryCache keeps the encoded discovery document for
	// DiscoveryCacheExpire and lets HTTP caches keep it as long
	// (OIDC_DISCOVERY_CACHE_ENABLE, OIDC_DISCOVERY_CACHE_EXPIRE). Off, the
	// document is built for every request and answered no-cache, so a
	// change (a signing algorithm, a custom scope) shows at once.
	DiscoveryCache       bool
	DiscoveryCacheExpire time.Duration
	// SessionManagement serves OpenID Session Management 1.0: the
	// check_session_iframe, session_state in authorization responses and
	// the browser-state cookie (OIDC_SESSION_MANAGEMENT_ENABLE,
	// checksession.go).
	SessionManagement bool
	// BackchannelTimeout bounds one POST of a logout token, and
	// BackchannelAttempts how many are made before the delivery is given
	// up and recorded (OIDC_BACKCHANNEL_LOGOUT_TIMEOUT, _ATTEMPTS).
	BackchannelTimeout  time.Duration
	BackchannelAttempts int
}

// SecureCookies reports whether cookies must carry the Secure flag: they do
// whenever the issuer is served over https.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.Issuer, "https://") }

// Handler carries what every endpoint needs. It holds no per-process state
// that two instances could disagree on for long: everything lives in the
// Store, and the client cache is stale by at most Config.ClientCacheTTL.
type Handler struct {
	store    *models.Store
	keys     *jose.Cache
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	sessions *session.Manager
	devices  *deviceCookies
	metrics  Metrics
	clients  *models.ClientCache
	// scopes are the custom scopes, stale by at most Config.ClientCacheTTL
	// as clients are (handlers/scopes.go).
	scopes *models.ScopeCache
	// discovery keeps the encoded discovery document when
	// Config.DiscoveryCache is on (discovery.go).
	discovery discoveryCache
	// rsaSigners bounds the RS256 signatures computed at once (signingKey).
	rsaSigners *semaphore.Weighted
	// grants are the token endpoint's grants by grant_type (grants.go),
	// built once from Config.GrantTypes.
	grants map[string]grant
}

// New builds the handlers. now is the clock (time.Now outside tests); m
// counts for /metrics (nil counts nothing).
func New(store *models.Store, sessions *session.Manager, cfg Config, log *slog.Logger, now func() time.Time, m Metrics) *Handler {
	if m == nil {
		m = noMetrics{}
	}
	keys := NewKeyCache(store, cfg, now)
	h := &Handler{store: store, keys: keys, cfg: cfg, log: log, now: now, sessions: sessions, devices: &deviceCookies{}, metrics: m,
		clients: store.NewClientCache(cfg.ClientCacheTTL, now), scopes: store.NewScopeCache(cfg.ClientCacheTTL, now), rsaSigners: semaphore.NewWeighted(rsaSigningSlots(runtime.GOMAXPROCS(0)))}
	h.grants = newGrants(h, cfg.GrantTypes)
	return h
}

// NewKeyCache is the signing key cache over the store: the keys /jwks
// publishes, reloaded at most every cfg.KeyCacheTTL.
func NewKeyCache(store *models.Store, cfg Config, now func() time.Time) *jose.Cache {
	return jose.NewCache(func(ctx context.Context, retiredSince time.Time) ([]jose.KeyMaterial, error) {
		stored, err := store.PublishedSigningKeys(ctx, retiredSince)
		if err != nil {
			return nil, err
		}
		out := make([]jose.KeyMaterial, len(stored))
		for i, k := range stored {
			out[i] = jose.KeyMaterial{KID: k.KID, Alg: k.Alg, PEM: k.PrivateKeyPEM, ActivatesAt: k.ActivatesAt}
			if k.RetiredAt != nil {
				out[i].RetiredAt = *k.RetiredAt
			}
		}
		return out, nil
	}, cfg.KeyCacheTTL, cfg.KeyPublishFor(), now)
}

// JWKSMaxAge is how long /jwks tells verifiers they may cache the JWK Set
// (Cache-Control max-age): short enough that a rotated-in key reaches them
// well within the pre-publication period, long enough to spare the
// server. OIDC_KEY_PREPUBLISH must be longer than it plus KeyCacheTTL.
const JWKSMaxAge = 300 * time.Second

// KeyPublishFor is how long a key stays in /jwks after it stops signing:
// until every ID token it signed has expired. ID tokens are all the
// server keys sign (access and refresh tokens are opaque), and an instance
// may go on signing with a retired key for up to KeyCacheTTL after
// another instance retired it.
func (c Config) KeyPublishFor() time.Duration { return c.IDTokenExpire + c.KeyCacheTTL }

// SigningKeys is the key cache, shared with the admin site so a key it
// creates or retires is honoured by this instance at once.
func (h *Handler) SigningKeys() *jose.Cache { return h.keys }

// render writes a templ component into a buffer first, so that a render
// failure still becomes a clean error response. The page is rendered even
// when the client has gone away (templ stops at a canceled context): it
// costs nothing, and its failing would only log an error of ours.
func (h *Handler) render(c echo.Context, status int, page templ.Component) error {
	var buf bytes.Buffer
	if err := page.Render(context.WithoutCancel(c.Request().Context()), &buf); err != nil {
		h.log.Error("render page", "err", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage shows a readable error to a person.
func (h *Handler) errorPage(c echo.Context, status int, title, message string) error {
	return h.render(c, status, views.ErrorPage(views.ErrorView{Status: status, Title: title, Message: message}))
}

// serverError logs an unexpected failure once and gives the client a
// generic message: internal detail never reaches a response. A failure
// after the client went away (it closed the connection, so the request's
// context is canceled) is the client's doing: logged at INFO, and a 400.
func (h *Handler) serverError(c echo.Context, where string, err error) *oauth.Error {
	if ctx := c.Request().Context(); ctx.Err() != nil {
		h.log.InfoContext(ctx, "request canceled by the client", "where", where, "err", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return &oauth.Error{Code: oauth.InvalidRequest, Description: "the request was canceled", Status: http.StatusBadRequest, Cause: err}
	}
	h.log.ErrorContext(c.Request().Context(), where, "err", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	return &oauth.Error{Code: oauth.ServerError, Description: "the server failed to process the request", Status: http.StatusInternalServerError, Cause: err}
}

// asOAuthError returns err's *oauth.Error, or nil.
func asOAuthError(err error) *oauth.Error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return oe
	}
	return nil
}

// CSRF is the CSRF middleware for the end user's forms.
func (h *Handler) CSRF() echo.MiddlewareFunc {
	return session.CSRF(h.sessions, func(c echo.Context) error {
		return h.errorPage(c, http.StatusForbidden, "Form expired",
			"This form could not be verified (missing or invalid CSRF token). Go back, reload the page and try again.")
	})
}

// RenderNotFound is the page for an address nothing answers: what
// happened in words, and the way home (and to the admin site's start for
// an address under /admin).
func (h *Handler) RenderNotFound(c echo.Context) error {
	links := []views.LinkView{{Href: "/", Label: "Go to the start page"}}
	if p := c.Request().URL.Path; p == "/admin" || strings.HasPrefix(p, "/admin/") {
		links = append([]views.LinkView{{Href: "/admin", Label: "Go to the admin dashboard"}}, links...)
	}
	return h.render(c, http.StatusNotFound, views.ErrorPage(views.ErrorView{
		Status:  http.StatusNotFound,
		Title:   "Page not found",
		Message: "There is no page at this address. The link may be mistyped, or the page may have moved.",
		Links:   links,
	}))
}

// RenderErrorPage lets the application's error handler show the same page
// the handlers do.
func (h *Handler) RenderErrorPage(c echo.Context, status int, title, message string) error {
	return h.errorPage(c, status, title, message)
}
