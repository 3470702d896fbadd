package handlers

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// maxParamLen bounds any single protocol parameter. Real values (URIs,
// state, nonce, PKCE) are far shorter; a longer one is refused rather than
// stored or echoed.
const maxParamLen = 4096

// errBodyTooLarge is a body over the size limit that came without a
// Content-Length, so the limit struck only while it was read.
var errBodyTooLarge = errors.New("the request body is too large")

// params is a request's protocol parameters, checked once: well-formed
// encoding, valid UTF-8, bounded length.
type params struct {
	values url.Values
}

// readParams reads parameters from the query on GET and from the
// form-encoded body on POST (OpenID Connect Core §3.1.2.1).
func readParams(c echo.Context) (params, error) {
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead:
		return readQuery(c)
	}
	return readBody(c)
}

// readQuery reads the query string, refusing a malformed one rather than
// silently dropping what does not decode.
func readQuery(c echo.Context) (params, error) {
	v, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return params{}, fmt.Errorf("malformed query string")
	}
	return checkValues(v)
}

// readBody reads an application/x-www-form-urlencoded body.
func readBody(c echo.Context) (params, error) {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationForm {
		return params{}, fmt.Errorf("the request body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return params{}, errBodyTooLarge
		}
		return params{}, fmt.Errorf("malformed request body")
	}
	return checkValues(r.PostForm)
}

func checkValues(v url.Values) (params, error) {
	for name, vals := range v {
		if !utf8.ValidString(name) {
			return params{}, fmt.Errorf("parameter names must be UTF-8")
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				return params{}, fmt.Errorf("parameter %s is not valid UTF-8", name)
			}
			if len(s) > maxParamLen {
				return params{}, fmt.Errorf("parameter %s is too long", name)
			}
			if !cleanValue(s) {
				return params{}, fmt.Errorf("parameter %s contains a control character", name)
			}
		}
	}
	return params{values: v}, nil
}

// cleanValue reports whether s is free of ASCII control characters other
// than tab, CR and LF. No protocol value holds one, and a NUL is refused
// by PostgreSQL outright, so it is a client error here, not a server
// error later.
func cleanValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			return false
		}
	}
	return true
}

// get returns a parameter's single value; a parameter sent more than once
// is an error (RFC 6749 §3.1, §3.2).
func (p params) get(name string) (string, error) {
	vals := p.values[name]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", fmt.Errorf("parameter %s was sent more than once", name)
}

// has reports whether the parameter was sent at all.
func (p params) has(name string) bool { _, ok := p.values[name]; return ok }

// repeated returns the first of names that was sent more than once.
func (p params) repeated(names ...string) (string, bool) {
	for _, n := range names {
		if len(p.values[n]) > 1 {
			return n, true
		}
	}
	return "", false
}

// singleValued checks every parameter the endpoint reads.
func (p params) singleValued() error {
	for name, vals := range p.values {
		if len(vals) > 1 {
			return fmt.Errorf("parameter %s was sent more than once", name)
		}
	}
	return nil
}

// pageForm reads the POST form of one of the pages (sign-in, consent,
// account chooser, account): every field sent once. A body that cannot be
// read, or a field sent twice, gets fail, a 400 page naming form.
func (h *Handler) pageForm(c echo.Context, form string) (params, func() error) {
	p, err := readBody(c)
	if err == nil {
		err = p.singleValued()
	}
	if err != nil {
		return p, func() error {
			return h.errorPage(c, http.StatusBadRequest, "Invalid request", "The "+form+" was malformed.")
		}
	}
	return p, nil
}
