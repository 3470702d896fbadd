package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// ShowConsent serves GET /consent: who asks, for what, Allow or Deny
// (OpenID Connect Core §3.1.2.4).
func (h *Handler) ShowConsent(c echo.Context) error {
	reqID := c.QueryParam("req")
	req, client, fail := h.parkedRequest(c, reqID)
	if fail != nil {
		return fail()
	}
	user, authTime, err := h.sessions.User(c)
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	if user == nil || h.needsFreshLogin(req, authTime, signedInSince(req, authTime)) {
		return c.Redirect(http.StatusFound, "/login?req="+url.QueryEscape(req.ID))
	}
	v := views.ConsentView{
		CSRF:       session.CSRFToken(c),
		RequestID:  req.ID,
		Username:   user.Username,
		ClientName: client.Name,
		LogoURL:    client.Logo,
		WebsiteURL: client.WebsiteURL,
		TermsURL:   client.TermsURL,
	}
	if v.Scopes, err = h.scopeViews(c.Request().Context(), strings.Fields(req.Scope)); err != nil {
		return h.authorizeServerError(c, err)
	}
	return h.render(c, http.StatusOK, views.ConsentPage(v))
}

// SubmitConsent serves POST /consent. It validates the parked request
// again, stores an Allow, and answers the client either way.
func (h *Handler) SubmitConsent(c echo.Context) error {
	p, fail := h.pageForm(c, "consent form")
	if fail != nil {
		return fail()
	}
	reqID, _ := p.get("req")
	req, client, fail := h.parkedRequest(c, reqID)
	if fail != nil {
		return fail()
	}
	user, authTime, err := h.sessions.User(c)
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	// The consent page is reachable by URL, so it cannot skip the fresh
	// login a request asked for: it checks again, as /authorize does.
	if user == nil || h.needsFreshLogin(req, authTime, signedInSince(req, authTime)) {
		return c.Redirect(http.StatusFound, "/login?req="+url.QueryEscape(req.ID))
	}
	ctx := c.Request().Context()
	allow, deny := p.has("allow"), p.has("deny")
	if allow == deny {
		return h.errorPage(c, http.StatusBadRequest, "Invalid request", "Choose Allow or Deny.")
	}
	if deny {
		h.recordEvent(c, &models.Event{Kind: models.EventConsentDenied, Username: user.Username, UserID: &user.ID, ClientID: &client.ID})
		if err := h.store.DeleteAuthRequest(ctx, req.ID); err != nil {
			h.log.WarnContext(ctx, "delete denied auth request", "err", err)
		}
		return h.redirectError(c, redirectTo(req, oauth.AccessDenied, "the user denied the request"))
	}
	now := h.now()
	if err := h.store.GrantConsent(ctx, user.ID, client.ID, strings.Fields(req.Scope), now, now.Add(h.cfg.SkipConsentExpire)); err != nil {
		return h.authorizeServerError(c, err)
	}
	h.recordEvent(c, &models.Event{Kind: models.EventConsentGranted, Username: user.Username, UserID: &user.ID, ClientID: &client.ID, Detail: req.Scope})
	return h.respond(c, req, client, user, authTime)
}
