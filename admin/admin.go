// Package admin is oidcd's admin site: clients, users, consents, tokens,
// codes, signing keys, throttles and the audit log, for active superusers, in plain
// server-rendered pages that work without JavaScript. One file per
// resource; it shares the login session with the end-user pages through
// handlers/session, and never imports package handlers.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// Config holds what the admin site needs to know about the server.
type Config struct {
	Issuer string
	// IDTokenExpire is the ID token lifetime.
	IDTokenExpire time.Duration
	// KeyPublishFor is how long a retired key stays published
	// (handlers.Config.KeyPublishFor); KeyPrepublish, how long a new key
	// is published before it signs; KeyRotation, the automatic rotation
	// period (zero: off).
	KeyPublishFor, KeyPrepublish, KeyRotation time.Duration
	Secure                                    bool
	// Keys is the server's signing key cache: a key created or retired
	// here is honoured by this instance at once. Nil: a cache of its own.
	Keys *jose.Cache
}

// Admin serves the admin site.
type Admin struct {
	store    *models.Store
	sessions *session.Manager
	keys     *jose.Cache
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
}

// New builds the admin site. now is the clock (time.Now outside tests).
func New(store *models.Store, sessions *session.Manager, cfg Config, log *slog.Logger, now func() time.Time) *Admin {
	return &Admin{store: store, sessions: sessions, keys: cfg.Keys, cfg: cfg, log: log, now: now}
}

const ctxAdminKey = "oidcd.admin_user"

// RequireAdmin lets active superusers through. Anyone not signed in goes
// to the login page and comes back; a signed-in non-admin gets a 403 page.
func (a *Admin) RequireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, _, err := a.sessions.User(c)
		if err != nil {
			return a.serverError(c, "admin session", err)
		}
		if u == nil {
			return c.Redirect(http.StatusFound, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		if !u.Superuser {
			// "Not you? Use another account": sign in as an admin without
			// signing this user out.
			return a.render(c, http.StatusForbidden, views.ErrorPage(views.ErrorView{Status: http.StatusForbidden, Title: "Not allowed",
				Message: "Only administrators may use the admin site.",
				Switch:  &views.SwitchAccountView{CSRF: session.CSRFToken(c), Next: c.Request().URL.RequestURI()}}))
		}
		c.Set(ctxAdminKey, u)
		return next(c)
	}
}

// RefuseNUL answers a form that carries a NUL byte, or bytes that are not
// UTF-8, with a 400 page: no field may hold either, PostgreSQL refuses to
// store them, so they would otherwise surface as a server error, and
// SQLite would store them as they came. (The path and query string are
// checked for the whole application before routing.)
func (a *Admin) RefuseNUL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			return next(c)
		}
		form, err := c.FormParams()
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return err // an oversized body: the application's 413
		}
		if err != nil {
			return a.errorPage(c, http.StatusBadRequest, "Invalid form", "The form could not be read. Go back and try again.")
		}
		for name, values := range form {
			if !utf8.ValidString(name) {
				return a.errorPage(c, http.StatusBadRequest, "Invalid form", "The form is not valid UTF-8.")
			}
			for _, v := range values {
				if strings.ContainsRune(v, 0) {
					return a.errorPage(c, http.StatusBadRequest, "Invalid form", "A field holds a NUL character, which no field may contain.")
				}
				if !utf8.ValidString(v) {
					return a.errorPage(c, http.StatusBadRequest, "Invalid form", "A field holds text that is not valid UTF-8.")
				}
			}
		}
		return next(c)
	}
}

// CSRF is the CSRF middleware for admin forms.
func (a *Admin) CSRF() echo.MiddlewareFunc {
	return session.CSRF(a.sessions, func(c echo.Context) error {
		return a.errorPage(c, http.StatusForbidden, "Form expired",
			"This form could not be verified (missing or invalid CSRF token). Go back, reload the page and try again.")
	})
}

// actor is the signed-in admin of this request.
func actor(c echo.Context) *models.User {
	u, _ := c.Get(ctxAdminKey).(*models.User)
	return u
}

// chrome fills in what every admin page shows, consuming queued flashes.
func (a *Admin) chrome(c echo.Context, section, title string) views.AdminChrome {
	ch := views.AdminChrome{Title: title, Section: section, CSRF: session.CSRFToken(c)}
	if u := actor(c); u != nil {
		ch.Username = u.Username
	}
	for _, f := range a.sessions.Flashes(c) {
		ch.Flashes = append(ch.Flashes, views.FlashView{Kind: f.Kind, Message: f.Message, Secret: f.Secret})
	}
	return ch
}

// render writes a page through a buffer, so a render failure is a clean
// error response.
func (a *Admin) render(c echo.Context, status int, page templ.Component) error {
	var buf bytes.Buffer
	// Rendered even when the client has gone away: templ stops at a
	// canceled context, and that would only log an error of ours.
	if err := page.Render(context.WithoutCancel(c.Request().Context()), &buf); err != nil {
		a.log.ErrorContext(c.Request().Context(), "render admin page", "err", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

func (a *Admin) errorPage(c echo.Context, status int, title, message string) error {
	return a.render(c, status, views.ErrorPage(views.ErrorView{Status: status, Title: title, Message: message}))
}

func (a *Admin) notFound(c echo.Context, what string) error {
	return a.errorPage(c, http.StatusNotFound, "Not found", "No such "+what+". It may have been deleted.")
}

// serverError logs a failure once and shows a generic page. A failure
// after the client went away (the request's context is canceled) is the
// client's doing: logged at INFO, and a 400.
func (a *Admin) serverError(c echo.Context, where string, err error) error {
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if ctx := c.Request().Context(); ctx.Err() != nil {
		a.log.InfoContext(ctx, "request canceled by the client", "where", where, "err", err, "request_id", reqID)
		return a.errorPage(c, http.StatusBadRequest, "Request canceled", "The request was canceled before it completed.")
	}
	if errors.Is(err, models.ErrBusy) {
		// Every password-hashing slot stayed taken (a login storm): try
		// again shortly, as the login page says too.
		c.Response().Header().Set("Retry-After", "5")
		return a.errorPage(c, http.StatusServiceUnavailable, "Server busy", "The server is handling many sign-ins right now. Try again in a few seconds.")
	}
	a.log.ErrorContext(c.Request().Context(), where, "err", err, "request_id", reqID)
	return a.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not complete the request. Try again in a moment.")
}

// redirectWith queues a flash message and redirects (POST-redirect-GET).
func (a *Admin) redirectWith(c echo.Context, to, kind, message string) error {
	if err := a.sessions.AddFlash(c, session.Flash{Kind: kind, Message: message}); err != nil {
		a.log.WarnContext(c.Request().Context(), "queue flash", "err", err)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// audit records an admin change with the state before and after it. The
// states are plain structs that never carry a secret. Target names what
// changed ("user alice", "client <client_id>"): the audit log's filters
// find changes to a user or client by it.
func (a *Admin) audit(c echo.Context, action, target string, before, after any) {
	a.auditGrant(c, 0, action, target, before, after)
}

// auditGrant is audit for a change to what a client holds (a consent,
// token or code): the event names the client, so the audit log's client
// filter finds the change. A zero clientID names none.
func (a *Admin) auditGrant(c echo.Context, clientID uint, action, target string, before, after any) {
	e := &models.Event{Kind: models.EventAdminChange, Detail: action, Target: target, RemoteIP: c.RealIP()}
	if clientID != 0 {
		e.ClientID = &clientID
	}
	if u := actor(c); u != nil {
		e.Username, e.UserID = u.Username, &u.ID
	}
	e.Before, e.After = toJSON(before), toJSON(after)
	if err := a.store.RecordEvent(c.Request().Context(), e); err != nil {
		a.log.WarnContext(c.Request().Context(), "record admin change", "action", action, "err", err)
	}
}

func toJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// perPage is the length of every admin list.
const perPage = 25

// pageOf reads ?page= (1-based) and returns the query's page and the
// request to the store.
func pageOf(c echo.Context) (int, models.Page) {
	n, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || n < 1 || n > 1_000_000 {
		n = 1
	}
	return n, models.Page{Offset: (n - 1) * perPage, Limit: perPage}
}

// pager links the neighbours of page n of total rows, keeping the other
// query parameters.
func pager(c echo.Context, n int, total int64) views.Pager {
	pages := int(math.Ceil(float64(total) / perPage))
	p := views.Pager{Page: n, Pages: max(pages, 1), Total: total}
	link := func(k int) string {
		q := c.Request().URL.Query()
		q.Set("page", strconv.Itoa(k))
		return c.Request().URL.Path + "?" + q.Encode()
	}
	if n > 1 {
		p.PrevURL = link(n - 1)
	}
	if n < pages {
		p.NextURL = link(n + 1)
	}
	return p
}

// idParam reads the :id path parameter.
func idParam(c echo.Context) (uint, bool) {
	n, err := strconv.ParseUint(c.Param("id"), 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint(n), true
}

// formatTime shows a time in UTC to the minute, or a dash.
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
