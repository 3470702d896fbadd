package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// Home serves GET /: who is signed in, and a way out.
func (h *Handler) Home(c echo.Context) error {
	user, _, err := h.sessions.User(c)
	if err != nil {
		// A session that cannot be read shows as signed out; the failure
		// is logged, and the page still works.
		h.serverError(c, "home", err)
	}
	v := views.HomeView{CSRF: session.CSRFToken(c)}
	if user != nil {
		v.Username = user.Username
	}
	return h.render(c, http.StatusOK, views.HomePage(v))
}

// ShowLogout serves GET /logout: a confirmation, because a GET that signs
// people out can be triggered by any page that embeds it.
func (h *Handler) ShowLogout(c echo.Context) error {
	user, _, err := h.sessions.User(c)
	if err != nil {
		// A session that cannot be read shows as signed out; the failure
		// is logged, and the page still works.
		h.serverError(c, "logout", err)
	}
	v := views.LogoutView{CSRF: session.CSRFToken(c)}
	if user != nil {
		v.Username = user.Username
	}
	// After POST /logout the browser lands here (POST-redirect-GET); the
	// "signed out" note is shown only to someone who really is.
	v.Done = user == nil && c.QueryParam("done") != ""
	return h.render(c, http.StatusOK, views.LogoutPage(v))
}

// SubmitLogout serves POST /logout: the session row and cookie are deleted.
func (h *Handler) SubmitLogout(c echo.Context) error {
	user, _, err := h.sessions.User(c)
	if err != nil {
		// A session that cannot be read shows as signed out; the failure
		// is logged, and the page still works.
		h.serverError(c, "logout", err)
	}
	if err := h.sessions.End(c); err != nil {
		h.serverError(c, "end session", err)
		return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not sign you out. Try again in a moment.")
	}
	if user != nil {
		h.recordEvent(c, &models.Event{Kind: models.EventLogout, Username: user.Username, UserID: &user.ID})
	}
	return c.Redirect(http.StatusSeeOther, "/logout?done=1")
}
