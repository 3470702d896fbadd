package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// The end user's own page, /account: the apps they allowed, with a way to
// withdraw each; signing out of every session; changing their password.
// Every form is CSRF-protected (routes.go) and works without JavaScript.

// accountPath is the account page, where its forms return.
const accountPath = "/account"

// accountUser returns the signed-in user and when they signed in. With no
// user it has answered the request itself, with a redirect to the login
// page that comes back here, or an error page; the caller returns err.
func (h *Handler) accountUser(c echo.Context) (*models.User, time.Time, error) {
	user, authTime, err := h.sessions.User(c)
	if err != nil {
		h.serverError(c, "account: session", err)
		return nil, time.Time{}, h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not read your session. Try again in a moment.")
	}
	if user == nil {
		return nil, time.Time{}, c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(accountPath))
	}
	return user, authTime, nil
}

// ShowAccount serves GET /account.
func (h *Handler) ShowAccount(c echo.Context) error {
	user, _, err := h.accountUser(c)
	if user == nil {
		return err
	}
	return h.renderAccount(c, http.StatusOK, user, nil)
}

// renderAccount shows the account page, with the password form's errors
// if any.
func (h *Handler) renderAccount(c echo.Context, status int, user *models.User, errs views.FieldErrors) error {
	ctx := c.Request().Context()
	consents, err := h.store.UserConsents(ctx, user.ID)
	if err != nil {
		h.serverError(c, "account: consents", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not load your account. Try again in a moment.")
	}
	v := views.AccountView{CSRF: session.CSRFToken(c), Username: user.Username, PasswordErrors: errs}
	now := h.now()
	for _, cs := range consents {
		scopes, err := h.scopeViews(ctx, strings.Fields(cs.Scope))
		if err != nil {
			h.serverError(c, "account: scopes", err)
			return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not load your account. Try again in a moment.")
		}
		v.Consents = append(v.Consents, views.AccountConsent{
			ClientName: cs.Client.Name, LogoURL: cs.Client.Logo, Scopes: scopes,
			Given: displayDate(cs.GivenAt), GivenISO: cs.GivenAt.UTC().Format(time.RFC3339),
			Expires: displayDate(cs.ExpiresAt), ExpiresISO: cs.ExpiresAt.UTC().Format(time.RFC3339),
			Expired:     !now.Before(cs.ExpiresAt),
			WithdrawURL: withdrawPath(cs.ID),
		})
	}
	for _, f := range h.sessions.Flashes(c) {
		v.Flashes = append(v.Flashes, views.FlashView{Kind: f.Kind, Message: f.Message})
	}
	return h.render(c, status, views.AccountPage(v))
}

// displayDate is how the account page shows a date: the day and minute,
// in UTC, which it says.
func displayDate(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

func withdrawPath(id uint) string { return fmt.Sprintf("%s/consents/%d/withdraw", accountPath, id) }

// accountConsent is the consent the path's :id names, if it is the user's.
// Without one it has answered the request (404 for another user's
// consent too, which says nothing of whether it exists).
func (h *Handler) accountConsent(c echo.Context, user *models.User) (*models.UserConsent, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 32)
	var cs *models.UserConsent
	if err == nil {
		cs, err = h.store.UserConsent(c.Request().Context(), user.ID, uint(id))
	}
	switch {
	case err == nil:
		return cs, nil
	case errors.Is(err, models.ErrNotFound) || errors.Is(err, strconv.ErrSyntax) || errors.Is(err, strconv.ErrRange):
		return nil, h.errorPage(c, http.StatusNotFound, "Not found",
			"You have no such app among the apps you allowed. It may have been withdrawn already.")
	}
	h.serverError(c, "account: consent", err)
	return nil, h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not load the app. Try again in a moment.")
}

// ConfirmWithdrawConsent serves GET /account/consents/:id/withdraw: what
// the app loses, and a button (a confirmation that needs no script).
func (h *Handler) ConfirmWithdrawConsent(c echo.Context) error {
	user, _, err := h.accountUser(c)
	if user == nil {
		return err
	}
	cs, err := h.accountConsent(c, user)
	if cs == nil {
		return err
	}
	scopes, err := h.scopeViews(c.Request().Context(), strings.Fields(cs.Scope))
	if err != nil {
		h.serverError(c, "account: scopes", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not load the app. Try again in a moment.")
	}
	return h.render(c, http.StatusOK, views.WithdrawConsentPage(views.WithdrawConsentView{
		CSRF: session.CSRFToken(c), ClientName: cs.Client.Name, LogoURL: cs.Client.Logo, Scopes: scopes,
		Action: withdrawPath(cs.ID),
	}))
}

// WithdrawConsent serves POST /account/consents/:id/withdraw. The consent
// goes and, in the same transaction, every token the client holds for
// the user (models.Store.RevokeConsent, as the admin site revokes one):
// withdrawing consent withdraws what it granted.
func (h *Handler) WithdrawConsent(c echo.Context) error {
	user, _, err := h.accountUser(c)
	if user == nil {
		return err
	}
	cs, err := h.accountConsent(c, user)
	if cs == nil {
		return err
	}
	// A consent's id never passes to another user (a new consent is a
	// new row), so the one found above is still the user's here.
	revoked, err := h.store.RevokeConsent(c.Request().Context(), cs.ID, h.now())
	if errors.Is(err, models.ErrNotFound) {
		// Withdrawn meanwhile, in another tab: what was asked is done.
		return h.accountDone(c, "success", fmt.Sprintf("The access of %q was already withdrawn.", cs.Client.Name))
	}
	if err != nil {
		h.serverError(c, "account: withdraw consent", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not withdraw the access. Try again in a moment.")
	}
	h.recordEvent(c, &models.Event{Kind: models.EventConsentRevoked, Username: user.Username, UserID: &user.ID,
		ClientID: &revoked.ClientID, Detail: "withdrawn by the user on the account page"})
	return h.accountDone(c, "success", fmt.Sprintf("The access of %q is withdrawn: the tokens it held no longer work.", revoked.Client.Name))
}

// ConfirmEndAllSessions serves GET /account/sessions/end: how many
// sessions end and apps are told, and the button that does it
// (EndAllSessions).
func (h *Handler) ConfirmEndAllSessions(c echo.Context) error {
	user, _, err := h.accountUser(c)
	if user == nil {
		return err
	}
	g, err := h.store.CountGrants(c.Request().Context(), models.GrantFilter{UserID: user.ID}, h.now())
	if err != nil {
		h.serverError(c, "account: count sessions", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not load your sessions. Try again in a moment.")
	}
	return h.render(c, http.StatusOK, views.EndAllSessionsPage(views.EndAllSessionsView{
		CSRF: session.CSRFToken(c), Sessions: g.Sessions, Apps: g.LogoutClients,
	}))
}

// EndAllSessions serves POST /account/sessions/end: every session of the
// user ends, this browser's too, and the clients they touched get a
// back-channel logout token (models.Store.EndUserSessions, as the admin
// site ends them). A withdrawn consent (RevokeConsent) and a changed
// password (SetUserPassword) queue theirs in the store too.
func (h *Handler) EndAllSessions(c echo.Context) error {
	user, _, err := h.accountUser(c)
	if user == nil {
		return err
	}
	if err := h.store.EndUserSessions(c.Request().Context(), user.ID, models.EndEverywhere, h.now()); err != nil {
		h.serverError(c, "account: end sessions", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not sign you out. Try again in a moment.")
	}
	// This browser's row went with the others; End drops its cookie.
	if err := h.sessions.End(c); err != nil {
		h.serverError(c, "account: end this session", err)
	}
	h.recordEvent(c, &models.Event{Kind: models.EventLogout, Username: user.Username, UserID: &user.ID,
		Detail: "signed out of every session on the account page"})
	return c.Redirect(http.StatusSeeOther, "/logout?done=1")
}

// ChangePassword serves POST /account/password. The current password is
// checked as a login is (checkLogin: the same throttle, so a wrong one
// counts as a failed login for this user and address, the same password
// limiter, the same audit trail); the new one by the one password rule
// (models.CheckPassword). The change ends every other session and
// revokes the user's tokens (models.Store.SetUserPassword, as an admin's
// reset does); this browser stays signed in under a new session id. The
// profile's updated_at does not move: a password is not a claim.
func (h *Handler) ChangePassword(c echo.Context) error {
	user, authTime, err := h.accountUser(c)
	if user == nil {
		return err
	}
	p, fail := h.pageForm(c, "password form")
	if fail != nil {
		return fail()
	}
	current, _ := p.get("current_password")
	password, _ := p.get("password")
	confirm, _ := p.get("password_confirm")
	errs := views.FieldErrors{}
	if current == "" {
		errs["current_password"] = "Enter your current password."
	}
	checkNewPassword(errs, password, confirm)
	if len(errs) > 0 {
		return h.renderAccount(c, http.StatusUnprocessableEntity, user, errs)
	}

	_, check := h.checkLogin(c, user.Username, current, h.deviceFor(c, user.Username))
	switch check.outcome {
	case loginThrottled:
		c.Response().Header().Set("Retry-After", retryAfter(check.retryAfter))
		return h.renderAccount(c, http.StatusTooManyRequests, user, views.FieldErrors{
			"current_password": "Too many wrong passwords. Wait a few minutes and try again."})
	case loginUncounted, loginBusy, loginFailed:
		return h.loginUnavailable(c, check, "Password change")
	case loginWrong:
		return h.renderAccount(c, http.StatusUnprocessableEntity, user, views.FieldErrors{
			"current_password": "Your current password is not correct."})
	}

	ctx := c.Request().Context()
	err = h.store.SetUserPassword(ctx, user.ID, password, h.now())
	if errors.Is(err, models.ErrBusy) {
		return h.loginUnavailable(c, loginCheck{outcome: loginBusy}, "Password change")
	}
	if err != nil {
		h.serverError(c, "account: change password", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not change your password. Try again in a moment.")
	}
	h.recordEvent(c, &models.Event{Kind: models.EventPasswordChanged, Username: user.Username, UserID: &user.ID,
		Detail: "changed by the user on the account page"})
	// SetUserPassword ended this session with the others; it starts again
	// under a new id, with the time the user signed in (typing the
	// password here does not make a login for max_age or auth_time).
	if err := h.sessions.Start(c, user, authTime); err != nil {
		h.serverError(c, "account: renew session", err)
		return h.errorPage(c, http.StatusInternalServerError, "Password changed",
			"Your password is changed, but the server could not keep you signed in. Sign in again with the new password.")
	}
	return h.accountDone(c, "success", "Your password is changed. Your other sessions have ended, and apps must sign you in again.")
}

// checkNewPassword puts what is wrong with a new password under its
// field: the rule is models.CheckPassword's, as on the admin site.
func checkNewPassword(errs views.FieldErrors, password, confirm string) {
	var fe *models.FieldError
	switch err := models.CheckPassword(password); {
	case errors.As(err, &fe):
		errs[fe.Field] = fe.Message
	case password != confirm:
		errs["password_confirm"] = "The passwords do not match."
	}
}

// accountDone goes back to the account page with a message
// (POST-redirect-GET).
func (h *Handler) accountDone(c echo.Context, kind, message string) error {
	if err := h.sessions.AddFlash(c, session.Flash{Kind: kind, Message: message}); err != nil {
		h.log.WarnContext(c.Request().Context(), "account: flash", "err", err)
	}
	return c.Redirect(http.StatusSeeOther, accountPath)
}
