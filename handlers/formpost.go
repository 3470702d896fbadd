package handlers

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/views"
)

// formPost answers an authorization request in the form_post response
// mode (OAuth 2.0 Form Post Response Mode §2): a page whose form posts v
// to redirectURI, a registered redirect URI. The page carries codes and
// tokens, so it is never cached (§5: no-store), and its CSP lets the
// form post to that URI and nowhere else.
func (h *Handler) formPost(c echo.Context, redirectURI string, v url.Values) error {
	fields := make([]views.FormField, 0, len(v))
	for _, name := range slices.Sorted(maps.Keys(v)) {
		fields = append(fields, views.FormField{Name: name, Value: v.Get(name)})
	}
	hdr := c.Response().Header()
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; form-action "+
		formActionSource(redirectURI)+"; frame-ancestors 'none'; base-uri 'none'")
	return h.render(c, http.StatusOK, views.FormPostPage(views.FormPostView{Action: redirectURI, Fields: fields}))
}

// formActionSource is the CSP source expression that matches uri: its
// origin and path (CSP3 §6.7.2.12), the query left out as the grammar
// requires; the origin alone when the path has characters a source
// expression cannot hold; the scheme alone for a URI with no host (an
// app's private-use scheme, RFC 8252 §7.1).
func formActionSource(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return "'none'"
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	src := u.Scheme + "://" + u.Host
	if p := u.EscapedPath(); p != "" && !strings.ContainsAny(p, ";, '") {
		src += p
	}
	return src
}
