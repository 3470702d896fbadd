package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/views"
)

// OpenID Session Management 1.0, behind Config.SessionManagement.
//
// session_state (§3) is sha256(client_id + " " + origin + " " +
// browser_state + " " + salt) in hex, then "." and the salt, where origin
// is that of the redirect URI the response goes to (a registered one, so
// the origin check against the client's redirect URIs happens here, when
// the value is issued) and browser_state the browser-state cookie
// (session.Manager.BrowserState), which changes at every sign-in and
// sign-out on the browser. The check_session_iframe recomputes it from
// the message's own origin (MessageEvent.origin, which the browser sets
// and the sender cannot choose) and the cookie: a page on an origin that
// is not one of the client's never gets "unchanged", and the iframe
// embeds nothing about any client, so it can be served to every relying
// party alike.

// CheckSessionPath is where the check_session_iframe is served.
const CheckSessionPath = "/check-session-iframe"

// sessionState computes the session_state for an authorization response
// to redirectURI of clientID.
func (h *Handler) sessionState(c echo.Context, clientID, redirectURI string) (string, error) {
	bs, err := h.sessions.BrowserState(c)
	if err != nil {
		return "", err
	}
	origin, _ := oauth.Origin(redirectURI)
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return sessionStateFor(clientID, origin, bs, hex.EncodeToString(salt)), nil
}

// sessionStateFor is session_state's formula, which static/checksession.js
// computes the same way.
func sessionStateFor(clientID, origin, browserState, salt string) string {
	sum := sha256.Sum256([]byte(clientID + " " + origin + " " + browserState + " " + salt))
	return hex.EncodeToString(sum[:]) + "." + salt
}

// CheckSessionIframe serves GET /check-session-iframe (Session Management
// §3.2). Relying parties frame it, so this page alone may be framed by
// any origin: the security headers' X-Frame-Options DENY and
// frame-ancestors 'none' are replaced here. It holds no secret and
// answers only a parent whose message carries a session_state issued
// for that parent's origin.
func (h *Handler) CheckSessionIframe(c echo.Context) error {
	hdr := c.Response().Header()
	hdr.Del("X-Frame-Options")
	hdr.Set(echo.HeaderContentSecurityPolicy, "default-src 'none'; script-src 'self'; frame-ancestors *; base-uri 'none'")
	return h.render(c, http.StatusOK, views.CheckSessionPage(views.CheckSessionView{Cookie: h.sessions.BrowserStateCookie()}))
}
