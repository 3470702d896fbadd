package session

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"
)

// The browser state of OpenID Session Management 1.0 §3: an opaque value
// that changes whenever someone signs in or out on this browser, in a
// cookie the OP's check_session_iframe reads from JavaScript. It is
// therefore not HttpOnly; it says nothing about who is signed in and
// opens nothing (the session cookie stays HttpOnly). The iframe runs in a
// relying party's page, a third-party context for a relying party on
// another site, where a browser sends a cookie only if it is
// SameSite=None, which needs Secure: so under an https issuer it is
// SameSite=None; Secure, and over plain http (development) Lax, which
// reaches the iframe only when the relying party is on the same site
// (another port of the same host). Browsers that block third-party
// cookies hide it from the iframe whatever its attributes.

const (
	browserStateCookie = "oidcd_browser_state"
	ctxBrowserStateKey = "oidcd.browser_state"
)

// EnableBrowserState makes sign-ins and sign-outs set the browser-state
// cookie (OIDC_SESSION_MANAGEMENT_ENABLE). Call it before serving.
func (m *Manager) EnableBrowserState() { m.browserState = true }

// BrowserStateCookie is the browser-state cookie's name, which the
// check_session_iframe's script reads.
func (m *Manager) BrowserStateCookie() string {
	if m.options.Secure {
		return "__Host-" + browserStateCookie
	}
	return browserStateCookie
}

// BrowserState returns this browser's state, the one set during this
// request if any, else the cookie's; a browser without one is given one.
func (m *Manager) BrowserState(c echo.Context) (string, error) {
	if v, ok := c.Get(ctxBrowserStateKey).(string); ok {
		return v, nil
	}
	if ck, err := c.Cookie(m.BrowserStateCookie()); err == nil && validBrowserState(ck.Value) {
		return ck.Value, nil
	}
	if err := m.renewBrowserState(c); err != nil {
		return "", err
	}
	v, _ := c.Get(ctxBrowserStateKey).(string)
	return v, nil
}

// renewBrowserState gives the browser a new state, when session
// management is on.
func (m *Manager) renewBrowserState(c echo.Context) error {
	if !m.browserState {
		return nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	ck := &http.Cookie{Name: m.BrowserStateCookie(), Value: v, Path: "/", MaxAge: m.options.MaxAge, Secure: m.options.Secure, SameSite: http.SameSiteLaxMode}
	if m.options.Secure {
		ck.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(c.Response(), ck)
	c.Set(ctxBrowserStateKey, v)
	return nil
}

func validBrowserState(v string) bool {
	if len(v) != 32 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}
