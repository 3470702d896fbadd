package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"oidcd/admin"
	"oidcd/handlers"
	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/static"
)

// newApp builds the whole application over a store: sessions, handlers,
// the route table and the middleware every request passes. now is the
// clock (time.Now outside tests).
func newApp(ctx context.Context, store *models.Store, cfg handlers.Config, log *slog.Logger, now func() time.Time) (*echo.Echo, error) {
	// Every time the app stores or compares is UTC, whatever the server's
	// TZ: SQLite keeps times as text with their offset and compares the
	// text, so times in two zones would not compare in order.
	local := now
	now = func() time.Time { return local().UTC() }
	sessions, err := session.New(ctx, store, cfg.SessionExpire, cfg.SecureCookies(), now)
	if err != nil {
		return nil, err
	}
	// The app's own metrics registry (observability.go).
	metrics, err := newAppMetrics(store)
	if err != nil {
		return nil, err
	}
	h := handlers.New(store, sessions, cfg, log, now, metrics)
	adm := admin.New(store, sessions, admin.Config{Issuer: cfg.Issuer, IDTokenExpire: cfg.IDTokenExpire, Secure: cfg.SecureCookies(), Keys: h.SigningKeys(),
		KeyPublishFor: cfg.KeyPublishFor(), KeyPrepublish: cfg.KeyPrepublish, KeyRotation: cfg.KeyRotation}, log, now)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// c.RealIP(): one client address for throttling, audit and the
	// request log (clientip.go).
	e.IPExtractor = clientIPExtractor(cfg.TrustedProxies)
	e.HTTPErrorHandler = errorHandler(h, log)

	// Every path also answers with a trailing slash (the seed walkthrough
	// uses /token/ and /userinfo/).
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(middleware.RequestID())
	e.Use(metrics.middleware)
	e.Use(requestLogger(log))
	e.Use(clientGone)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
	e.Use(refuseNUL)
	// The client form carries a logo of up to 256 KiB (admin.maxLogoBytes);
	// every other body stays small.
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "64K", Skipper: isLogoUpload}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "320K", Skipper: func(c echo.Context) bool { return !isLogoUpload(c) }}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		HSTSMaxAge:            31536000,
		ReferrerPolicy:        "no-referrer",
		ContentSecurityPolicy: "default-src 'none'; style-src 'self'; img-src 'self' https: data:; script-src 'self'; frame-ancestors 'none'; base-uri 'none'",
	}))
	e.StaticFS("/static", static.Files)
	// Browsers ask for /favicon.ico whatever the page links: the same icon,
	// rather than a 404 logged on every first visit.
	e.GET("/favicon.ico", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=86400")
		return c.Blob(http.StatusOK, "image/svg+xml", static.Favicon)
	})

	// Observability (README "Observability"): liveness, readiness, and
	// Prometheus metrics for a holder of OIDC_METRICS_TOKEN only.
	e.GET("/healthz", healthz)
	e.GET("/readyz", readyz(store, log))
	if cfg.MetricsToken != "" {
		e.GET("/metrics", metrics.handler(cfg.MetricsToken))
	}

	// Relying parties. Discovery and /jwks are public documents; /token,
	// /revoke and /userinfo answer the origins of public clients' redirect
	// URIs (handlers/cors.go); /introspect is for servers, not browsers.
	for _, path := range discoveryPaths(cfg.Issuer) {
		e.GET(path, h.Discovery, handlers.PublicCORS)
		e.OPTIONS(path, h.Discovery, handlers.PublicCORS)
	}
	e.GET("/jwks", h.JWKS, handlers.PublicCORS)
	e.OPTIONS("/jwks", h.JWKS, handlers.PublicCORS)
	e.POST("/token", h.Token, h.ClientCORS)
	e.OPTIONS("/token", h.Preflight(http.MethodPost))
	e.POST("/revoke", h.Revoke, h.ClientCORS)
	e.OPTIONS("/revoke", h.Preflight(http.MethodPost))
	e.POST("/introspect", h.Introspect)
	e.GET("/userinfo", h.Userinfo, h.ClientCORS)
	e.POST("/userinfo", h.Userinfo, h.ClientCORS)
	e.OPTIONS("/userinfo", h.Preflight(http.MethodGet, http.MethodPost))

	// /authorize is reached by top-level navigation and by auto-submitted
	// cross-site POST forms, and changes nothing by itself: no CSRF here.
	e.GET("/authorize", h.Authorize)
	e.POST("/authorize", h.Authorize)
	e.GET("/authorize/resume", h.ResumeAuthorize)
	// OpenID Session Management 1.0: framed by relying parties, so it
	// sets its own framing headers (handlers/checksession.go).
	if cfg.SessionManagement {
		sessions.EnableBrowserState()
		e.GET(handlers.CheckSessionPath, h.CheckSessionIframe)
	}

	// The end user's pages: every form is CSRF-protected.
	// (Per route, not an echo.Group: a group's middleware also claims
	// every unmatched path and method.)
	csrf := h.CSRF()
	e.GET("/", h.Home, csrf)
	e.GET("/login", h.ShowLogin, csrf)
	e.POST("/login", h.SubmitLogin, csrf)
	e.GET("/consent", h.ShowConsent, csrf)
	e.POST("/consent", h.SubmitConsent, csrf)
	e.GET("/select-account", h.ShowSelectAccount, csrf)
	e.POST("/select-account", h.SubmitSelectAccount, csrf)
	e.POST("/use-another-account", h.UseAnotherAccount, csrf)
	e.GET("/logout", h.ShowLogout, csrf)
	e.POST("/logout", h.SubmitLogout, csrf)
	e.GET("/account", h.ShowAccount, csrf)
	e.GET("/account/consents/:id/withdraw", h.ConfirmWithdrawConsent, csrf)
	e.POST("/account/consents/:id/withdraw", h.WithdrawConsent, csrf)
	e.GET("/account/sessions/end", h.ConfirmEndAllSessions, csrf)
	e.POST("/account/sessions/end", h.EndAllSessions, csrf)
	e.POST("/account/password", h.ChangePassword, csrf)
	// RP-initiated logout (handlers/endsession.go): the RP's request is a
	// top-level GET or a cross-site POST, so no CSRF on it; the
	// confirmation it may show posts back under CSRF.
	e.GET("/end-session", h.EndSession)
	e.POST("/end-session", h.EndSession)
	e.POST("/end-session/confirm", h.ConfirmEndSession, csrf)

	adminRoutes(e, adm)
	return e, nil
}

// discoveryPaths are where the provider metadata is served: OpenID
// Connect Discovery 1.0 §4 appends /.well-known/openid-configuration to the
// issuer, and RFC 8414 §3 inserts /.well-known/oauth-authorization-server
// between the host and the issuer's path. oidcd serves its routes at its
// root, so an issuer with a path (https://example.org/op) sits behind a
// proxy that strips the path: the appended forms reach oidcd as the bare
// well-known paths, and the inserted RFC 8414 form, which lives at the
// host's root, reaches it whole if the proxy passes it on (§3.1).
func discoveryPaths(issuer string) []string {
	paths := []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}
	if u, err := url.Parse(issuer); err == nil && strings.Trim(u.Path, "/") != "" {
		paths = append(paths, "/.well-known/oauth-authorization-server/"+strings.Trim(u.Path, "/"))
	}
	return paths
}

// isLogoUpload reports whether the request is a client form, which may
// carry a logo. It runs after routing, so c.Path() is the route.
func isLogoUpload(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && (c.Path() == "/admin/clients" || c.Path() == "/admin/clients/:id")
}

// adminRoutes is the admin site's part of the route table. Every page
// needs an active superuser and every form a CSRF token; the setup pages
// need the one-time token instead of a login.
// An action that cannot be undone has a GET on its own path: a page that
// says what it takes with it and posts to the action (views.ConfirmPage).
func adminRoutes(e *echo.Echo, a *admin.Admin) {
	csrf := a.CSRF()
	e.GET("/admin/setup", a.ShowSetup, csrf)
	e.POST("/admin/setup", a.SubmitSetup, csrf, a.RefuseNUL)
	e.GET("/logos/:client_id", a.ServeLogo)

	g := func(method, path string, h echo.HandlerFunc) {
		e.Add(method, path, h, csrf, a.RequireAdmin, a.RefuseNUL)
	}
	g(http.MethodGet, "/admin", a.Dashboard)

	g(http.MethodGet, "/admin/clients", a.ListClients)
	g(http.MethodGet, "/admin/clients/new", a.NewClient)
	g(http.MethodPost, "/admin/clients", a.CreateClient)
	g(http.MethodGet, "/admin/clients/:id", a.ShowClient)
	g(http.MethodGet, "/admin/clients/:id/edit", a.EditClient)
	g(http.MethodPost, "/admin/clients/:id", a.UpdateClient)
	g(http.MethodGet, "/admin/clients/:id/delete", a.ConfirmDeleteClient)
	g(http.MethodPost, "/admin/clients/:id/delete", a.DeleteClient)
	g(http.MethodGet, "/admin/clients/:id/secret", a.ConfirmRotateClientSecret)
	g(http.MethodPost, "/admin/clients/:id/secret", a.RotateClientSecret)

	// users
	g(http.MethodGet, "/admin/users", a.ListUsers)
	g(http.MethodGet, "/admin/users/new", a.NewUser)
	g(http.MethodPost, "/admin/users", a.CreateUser)
	g(http.MethodGet, "/admin/users/:id", a.EditUser)
	g(http.MethodPost, "/admin/users/:id", a.UpdateUser)
	g(http.MethodPost, "/admin/users/:id/password", a.SetUserPassword)
	g(http.MethodGet, "/admin/users/:id/deactivate", a.ConfirmDeactivateUser)
	g(http.MethodPost, "/admin/users/:id/deactivate", a.DeactivateUser)
	g(http.MethodGet, "/admin/users/:id/sessions/end", a.ConfirmEndUserSessions)
	g(http.MethodPost, "/admin/users/:id/sessions/end", a.EndUserSessions)
	g(http.MethodPost, "/admin/users/:id/activate", a.ActivateUser)
	g(http.MethodGet, "/admin/users/:id/delete", a.ConfirmDeleteUser)
	g(http.MethodPost, "/admin/users/:id/delete", a.DeleteUser)
	// consents
	g(http.MethodGet, "/admin/scopes", a.ListScopes)
	g(http.MethodGet, "/admin/scopes/new", a.NewScope)
	g(http.MethodPost, "/admin/scopes", a.CreateScope)
	g(http.MethodGet, "/admin/scopes/:id", a.EditScope)
	g(http.MethodPost, "/admin/scopes/:id", a.UpdateScope)
	g(http.MethodGet, "/admin/scopes/:id/delete", a.ConfirmDeleteScope)
	g(http.MethodPost, "/admin/scopes/:id/delete", a.DeleteScope)

	g(http.MethodGet, "/admin/consents", a.ListConsents)
	g(http.MethodGet, "/admin/consents/:id/revoke", a.ConfirmRevokeConsent)
	g(http.MethodPost, "/admin/consents/:id/revoke", a.RevokeConsent)
	g(http.MethodPost, "/admin/consents/bulk-revoke", a.BulkRevokeConsents)
	// tokens and codes
	g(http.MethodGet, "/admin/tokens", a.ListTokens)
	g(http.MethodGet, "/admin/tokens/revoke", a.ConfirmRevokeTokens)
	g(http.MethodPost, "/admin/tokens/revoke", a.RevokeTokens)
	g(http.MethodGet, "/admin/tokens/:id/revoke", a.ConfirmRevokeToken)
	g(http.MethodPost, "/admin/tokens/:id/revoke", a.RevokeToken)
	g(http.MethodPost, "/admin/tokens/bulk-revoke", a.BulkRevokeTokens)
	g(http.MethodGet, "/admin/codes", a.ListCodes)
	g(http.MethodGet, "/admin/codes/:id/delete", a.ConfirmDeleteCode)
	g(http.MethodPost, "/admin/codes/:id/delete", a.DeleteCode)
	g(http.MethodPost, "/admin/codes/bulk-delete", a.BulkDeleteCodes)
	// signing keys
	g(http.MethodGet, "/admin/keys", a.ListKeys)
	g(http.MethodPost, "/admin/keys", a.CreateKey)
	g(http.MethodGet, "/admin/keys/:id/retire", a.ConfirmRetireKey)
	g(http.MethodPost, "/admin/keys/:id/retire", a.RetireKey)
	g(http.MethodGet, "/admin/keys/rotate", a.ConfirmRotateKeys)
	g(http.MethodPost, "/admin/keys/rotate", a.RotateKeys)
	// login and client authentication throttles
	g(http.MethodGet, "/admin/throttles", a.ListThrottles)
	g(http.MethodPost, "/admin/throttles/:id/clear", a.ClearThrottle)
	// audit log
	g(http.MethodGet, "/admin/audit", a.ListEvents)
}

// refuseNUL answers 400 for a NUL byte, or bytes that are not UTF-8, in
// the path or the query string. No value of ours holds either, and
// PostgreSQL refuses both in text (SQLite would store them as they came),
// so they must fail here as the client's error, not later as a server
// error. (Form bodies are checked where they are read: handlers' params,
// admin's RefuseNUL; HTTP Basic credentials in handlers' parseBasic.)
func refuseNUL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		if strings.Contains(u.Path, "\x00") || strings.Contains(u.RawQuery, "%00") || strings.Contains(u.RawQuery, "\x00") {
			return echo.NewHTTPError(http.StatusBadRequest, "the request contains a NUL byte")
		}
		if !utf8.ValidString(u.Path) || !validQuery(u.RawQuery) {
			return echo.NewHTTPError(http.StatusBadRequest, "the request is not valid UTF-8")
		}
		return next(c)
	}
}

// validQuery reports whether every name and value of the query string
// decodes to UTF-8. A pair that does not decode at all is left to the
// handler, which refuses a malformed query itself. It reads the pairs as
// url.ParseQuery does, without building the map the handler builds again.
func validQuery(raw string) bool {
	if !utf8.ValidString(raw) {
		return false
	}
	var buf [256]byte
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		nameOK, decoded := unescapedUTF8(name, buf[:0])
		if !decoded {
			continue
		}
		valueOK, decoded := unescapedUTF8(value, buf[:0])
		if !decoded {
			continue
		}
		if !nameOK || !valueOK {
			return false
		}
	}
	return true
}

// unescapedUTF8 reports whether s, a query component that is itself
// UTF-8, is UTF-8 once unescaped as url.QueryUnescape does, and whether it
// unescapes at all. buf is scratch space.
func unescapedUTF8(s string, buf []byte) (valid, decoded bool) {
	if !strings.Contains(s, "%") {
		return true, true // '+' becomes a space; nothing else changes
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			buf = append(buf, s[i])
			continue
		}
		if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
			return false, false
		}
		buf = append(buf, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	return utf8.Valid(buf), true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// clientGone answers a request whose client went away (it closed or
// half-closed the connection, so the request's context is canceled) as
// the client's error: whatever failed after that failed because the
// request was canceled, and a 5xx would only trip an operator's alerts.
// The failure itself is logged below ERROR where it is handled
// (serverError, errorHandler).
func clientGone(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		res.Before(func() {
			if res.Status >= 500 && c.Request().Context().Err() != nil {
				res.Status = http.StatusBadRequest
			}
		})
		return next(c)
	}
}

// requestLogger writes one line per request. It logs the path only: query
// strings can carry codes and tokens. remote_ip is c.RealIP(), the same
// client address the handlers throttle and audit (clientIPExtractor).
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true,
		LogRequestID: true, LogRemoteIP: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if quietPath(c.Path()) {
				level = slog.LevelDebug
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("path", v.URIPath),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID), slog.String("remote_ip", v.RemoteIP))
			return nil
		},
	})
}

// errorHandler answers errors no handler answered itself (unknown routes,
// wrong methods, oversized bodies, panics): a page for browsers, OAuth-style
// JSON for everyone else, and never internal detail.
func errorHandler(h *handlers.Handler, log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		// RFC 6749 §5.1: every /token (and /revoke, /introspect) answer is no-store, also the
		// wrong methods and oversized bodies that never reach the handler.
		if p := c.Request().URL.Path; p == "/token" || p == "/revoke" || p == "/introspect" {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			c.Response().Header().Set("Pragma", "no-cache")
		}
		status, message := http.StatusInternalServerError, "the server failed to process the request"
		ctx := c.Request().Context()
		var he *echo.HTTPError
		switch {
		case errors.As(err, &he) && he.Code < 500:
			status, message = he.Code, strings.ToLower(fmt.Sprint(he.Message))
		case ctx.Err() != nil:
			// The client went away (clientGone): its doing, not ours.
			status, message = http.StatusBadRequest, "the request was canceled"
			log.InfoContext(ctx, "request canceled by the client", "err", err, "path", c.Request().URL.Path,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		default:
			log.ErrorContext(ctx, "unhandled error", "err", err, "path", c.Request().URL.Path,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		var werr error
		switch {
		case c.Request().Method == http.MethodHead:
			werr = c.NoContent(status)
		case status == http.StatusNotFound && strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/html"):
			werr = h.RenderNotFound(c)
		case strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/html"):
			werr = h.RenderErrorPage(c, status, http.StatusText(status), "The request could not be served: "+message+".")
		default:
			code := "invalid_request"
			switch {
			case status == http.StatusNotFound:
				code = "not_found"
			case status >= 500:
				code = "server_error"
			}
			werr = c.JSON(status, map[string]string{"error": code, "error_description": message})
		}
		if werr != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "write error response", "err", werr)
		}
	}
}
