package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/session"
	"oidcd/views"
)

// ShowSelectAccount serves GET /select-account: the accounts signed in on
// this browser and "Use another account", for a request with
// prompt=select_account (OpenID Connect Core §3.1.2.1). With no account
// signed in, it is the login page.
func (h *Handler) ShowSelectAccount(c echo.Context) error {
	req, client, fail := h.parkedRequest(c, c.QueryParam("req"))
	if fail != nil {
		return fail()
	}
	accounts, err := h.sessions.Accounts(c)
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	if len(accounts) == 0 {
		return c.Redirect(http.StatusFound, "/login?req="+url.QueryEscape(req.ID))
	}
	v := views.SelectAccountView{CSRF: session.CSRFToken(c), RequestID: req.ID, ClientName: client.Name}
	for _, a := range accounts {
		v.Accounts = append(v.Accounts, views.SignedInAccount{ID: strconv.FormatUint(uint64(a.User.ID), 10), Username: a.User.Username, Current: a.Current})
	}
	return h.render(c, http.StatusOK, views.SelectAccountPage(v))
}

// SubmitSelectAccount serves POST /select-account: the chosen account
// becomes the current one and the authorization carries on as that user.
func (h *Handler) SubmitSelectAccount(c echo.Context) error {
	p, fail := h.pageForm(c, "account form")
	if fail != nil {
		return fail()
	}
	reqID, _ := p.get("req")
	req, client, fail := h.parkedRequest(c, reqID)
	if fail != nil {
		return fail()
	}
	account, _ := p.get("account")
	uid, err := strconv.ParseUint(account, 10, 0)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "Invalid request", "Choose one of the accounts listed.")
	}
	err = h.sessions.Switch(c, uint(uid))
	if errors.Is(err, session.ErrNoAccount) {
		// Signed out meanwhile: the chooser again, as it is now.
		return c.Redirect(http.StatusSeeOther, "/select-account?req="+url.QueryEscape(req.ID))
	}
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	_, authTime, err := h.sessions.User(c)
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	// The account is chosen: prompt=select_account is satisfied.
	req.Prompt = strings.Join(slices.DeleteFunc(strings.Fields(req.Prompt), func(p string) bool { return p == "select_account" }), " ")
	return h.continueAuthorize(c, req, client, signedInSince(req, authTime))
}

// UseAnotherAccount serves POST /use-another-account ("Not you? Use
// another account" on the consent page, the chooser and the admin site's
// 403 page): the signed-in account is set aside, still signed in, and the
// login page follows, for the parked request or a local page.
func (h *Handler) UseAnotherAccount(c echo.Context) error {
	p, fail := h.pageForm(c, "form")
	if fail != nil {
		return fail()
	}
	if err := h.sessions.SetAside(c); err != nil {
		return h.authorizeServerError(c, err)
	}
	reqID, _ := p.get("req")
	nextParam, _ := p.get("next")
	q := url.Values{}
	if reqID != "" && len(reqID) <= 64 {
		q.Set("req", reqID)
	} else if next := localNext(nextParam); next != "" {
		q.Set("next", next)
	}
	return c.Redirect(http.StatusSeeOther, "/login?"+q.Encode())
}
