package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// genericLoginError never says whether the username exists.
const genericLoginError = "Incorrect username or password."

// ShowLogin serves GET /login.
func (h *Handler) ShowLogin(c echo.Context) error {
	reqID, next := c.QueryParam("req"), localNext(c.QueryParam("next"))
	if reqID == "" && next == "" {
		if u, _, err := h.sessions.User(c); err == nil && u != nil {
			return c.Redirect(http.StatusFound, "/")
		}
	}
	return h.renderLogin(c, http.StatusOK, reqID, next, "", "")
}

// localNext keeps a post-login destination only when it is a path on this
// server's admin site or the account page, so the login page cannot be
// used as an open redirect.
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "//") || (u.Path != "/admin" && !strings.HasPrefix(u.Path, "/admin/") && u.Path != accountPath) {
		return ""
	}
	return next
}

func (h *Handler) renderLogin(c echo.Context, status int, reqID, next, username, message string) error {
	v := views.LoginView{CSRF: session.CSRFToken(c), RequestID: reqID, Next: next, Username: username, Error: message}
	if reqID != "" {
		if req, err := h.store.AuthRequestByID(c.Request().Context(), reqID, h.now()); err == nil {
			if client, err := h.clients.ByID(c.Request().Context(), req.ClientID); err == nil {
				v.ClientName = client.Name
			}
			// login_hint (Core §3.1.2.1), or the user an id_token_hint
			// named, prefills the username.
			if v.Username == "" {
				v.Username = req.LoginHint
			}
		}
	}
	return h.render(c, status, views.LoginPage(v))
}

// SubmitLogin serves POST /login: it throttles guessing (loginKeys),
// checks the password, renews the session id, and resumes the parked
// authorization request (OpenID Connect Core §3.1.2.3).
func (h *Handler) SubmitLogin(c echo.Context) error {
	p, fail := h.pageForm(c, "sign-in form")
	if fail != nil {
		return fail()
	}
	username, _ := p.get("username")
	password, _ := p.get("password")
	reqID, _ := p.get("req")
	if len(reqID) > 64 {
		reqID = ""
	}
	nextParam, _ := p.get("next")
	next := localNext(nextParam)
	now := h.now()

	user, check := h.checkLogin(c, username, password, h.deviceFor(c, username))
	switch check.outcome {
	case loginThrottled:
		c.Response().Header().Set("Retry-After", retryAfter(check.retryAfter))
		return h.renderLogin(c, http.StatusTooManyRequests, reqID, next, username,
			"Too many failed sign-in attempts. Wait a few minutes and try again.")
	case loginUncounted, loginBusy, loginFailed:
		return h.loginUnavailable(c, check, "Sign-in")
	case loginWrong:
		return h.renderLogin(c, http.StatusOK, reqID, next, username, genericLoginError)
	}

	if err := h.sessions.Start(c, user, now); err != nil {
		h.serverError(c, "start session", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not sign you in. Try again in a moment.")
	}
	h.issueDevice(c, user.Username)
	h.loginSucceeded(c, user, now)
	if reqID != "" {
		return c.Redirect(http.StatusFound, "/authorize/resume?req="+url.QueryEscape(reqID))
	}
	if next != "" {
		return c.Redirect(http.StatusFound, next)
	}
	return c.Redirect(http.StatusFound, "/")
}

// loginUnavailable answers, for a page with a password form, the outcomes
// of checkLogin that are the server's and not the user's: the attempt could
// not be counted (so it was not evaluated), no hashing slot freed up, or the
// store failed. what names the action ("Sign-in", "Password change").
func (h *Handler) loginUnavailable(c echo.Context, check loginCheck, what string) error {
	switch check.outcome {
	case loginUncounted:
		c.Response().Header().Set("Retry-After", "60")
		return h.errorPage(c, http.StatusServiceUnavailable, what+" unavailable",
			"The server cannot check passwords right now. Try again in a minute.")
	case loginBusy:
		c.Response().Header().Set("Retry-After", "5")
		return h.errorPage(c, http.StatusServiceUnavailable, "Server busy",
			"The server is handling many sign-ins right now. Try again in a few seconds.")
	default:
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong",
			"The server could not check the password. Try again in a moment.")
	}
}

// loginOutcome is what checkLogin found.
type loginOutcome int

const (
	loginOK        loginOutcome = iota
	loginWrong                  // wrong password, unknown or inactive user: counted and audited
	loginThrottled              // a throttle key is locked: retry after loginCheck.retryAfter
	loginUncounted              // the attempt could not be counted, so it was not evaluated (fail closed)
	loginBusy                   // no password-hashing slot freed up in time (models.ErrBusy)
	loginFailed                 // the store failed; logged
)

type loginCheck struct {
	outcome    loginOutcome
	retryAfter time.Duration
}

// checkLogin checks a username and password for every way in that takes
// them (POST /login, the password grant), so that they share one
// throttle, one password limiter and one audit trail. device is the
// browser's device cookie id, or "" (loginKeys). It returns the user only
// with loginOK; a wrong guess is recorded (login_failed event, metrics)
// here, a success is not (loginSucceeded, once the caller has done its
// part).
func (h *Handler) checkLogin(c echo.Context, username, password, device string) (*models.User, loginCheck) {
	ctx := c.Request().Context()
	ip := c.RealIP()
	// The attempt is counted before the password is checked, so that
	// concurrent guesses cannot all pass a check made before any of them
	// failed (loginKeys says what is counted).
	res, err := h.store.ReserveAttempt(ctx, h.loginKeys(username, ip, device), h.now())
	if te := (*models.ThrottledError)(nil); errors.As(err, &te) {
		h.metrics.Throttled("login")
		// Bounded: only an attempt the throttle refuses is recorded, and
		// the throttle already limits how often that can happen per key.
		h.recordEvent(c, &models.Event{Kind: models.EventLoginThrottled, Username: username, RemoteIP: ip})
		return nil, loginCheck{outcome: loginThrottled, retryAfter: te.RetryAfter}
	}
	if err != nil {
		// Fail closed: a guess that cannot be counted is not evaluated.
		h.serverError(c, "login throttle", err)
		return nil, loginCheck{outcome: loginUncounted}
	}

	user, err := h.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		h.releaseAttempt(c, res) // no password was checked
		h.serverError(c, "login", err)
		return nil, loginCheck{outcome: loginFailed}
	}
	ok, err := h.store.VerifyPassword(ctx, user, password)
	if err != nil {
		// No password-hashing slot freed up in time (models.ErrBusy): a
		// login storm is refused here rather than starving every other
		// request of CPU. No password was checked, so the attempt is given
		// back.
		h.releaseAttempt(c, res)
		if !errors.Is(err, models.ErrBusy) {
			h.serverError(c, "check password", err)
		}
		return nil, loginCheck{outcome: loginBusy}
	}
	if !ok || !user.Active {
		h.recordEvent(c, &models.Event{Kind: models.EventLoginFailed, Username: username, RemoteIP: ip})
		h.metrics.Login(false)
		return nil, loginCheck{outcome: loginWrong}
	}
	h.releaseAttempt(c, res)
	return user, loginCheck{outcome: loginOK}
}

// loginSucceeded records a login checkLogin accepted: the user's last
// login, the login_succeeded event and the metric.
func (h *Handler) loginSucceeded(c echo.Context, user *models.User, now time.Time) {
	ctx := c.Request().Context()
	if err := h.store.RecordLogin(ctx, user.ID, now); err != nil {
		h.log.WarnContext(ctx, "record last login", "err", err)
	}
	h.recordEvent(c, &models.Event{Kind: models.EventLoginSucceeded, Username: user.Username, UserID: &user.ID, RemoteIP: c.RealIP()})
	h.metrics.Login(true)
}

// recordEvent writes the audit log; a failure is logged, not shown, since
// the user's action itself succeeded or failed on its own terms.
func (h *Handler) recordEvent(c echo.Context, e *models.Event) {
	if e.RemoteIP == "" {
		e.RemoteIP = c.RealIP() // the client address (clientIPExtractor)
	}
	if err := h.store.RecordEvent(c.Request().Context(), e); err != nil {
		h.log.WarnContext(c.Request().Context(), "record event", "kind", e.Kind, "err", err)
	}
}

// releaseAttempt gives back a reservation whose attempt was not a wrong
// guess. Failing to leaves it counted, which errs on the safe side.
func (h *Handler) releaseAttempt(c echo.Context, res *models.Reservation) {
	if err := h.store.ReleaseAttempt(c.Request().Context(), res); err != nil {
		h.log.WarnContext(c.Request().Context(), "release login attempt", "err", err)
	}
}
