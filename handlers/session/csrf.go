package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"oidcd/models"
)

// settingCSRFKey names the key that derives CSRF tokens from session ids.
const settingCSRFKey = "csrf_key"

// maxFormMemory bounds a multipart form's in-memory part; the body itself
// is bounded before it gets here (the application's body limits).
const maxFormMemory = 1 << 20

// csrfToken is the session's CSRF token: base64url(HMAC-SHA256(key, id)).
// It is bound to the session, not to a cookie of its own: a token is only
// good together with the session cookie it was derived from, and a new
// session id at login (Start) makes every earlier token worthless.
func (m *Manager) csrfToken(id string) string {
	mac := hmac.New(sha256.New, m.csrfKey)
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ensureID returns the request's session id, first giving a browser that
// has none an anonymous session: a fresh id in the signed cookie and no
// database row, since there is nothing to keep yet.
func (m *Manager) ensureID(c echo.Context) (string, error) {
	s, err := m.Load(c)
	if err != nil {
		return "", err
	}
	if s.ID == "" {
		s.ID = models.NewID()
		if err := m.setCookie(c.Response(), s); err != nil {
			return "", err
		}
	}
	return s.ID, nil
}

// CSRF protects every browser form (OWASP CSRF Prevention Cheat Sheet:
// synchronizer token plus Fetch Metadata). Safe methods only make sure
// the browser has a session and expose its token (CSRFToken). An unsafe
// method is refused, through onFail, when the browser says the request
// comes from another site or a sibling subdomain (Sec-Fetch-Site
// same-site or cross-site: W3C Fetch Metadata), when there is no
// session, or when the form's _csrf is not the session's token. Nothing
// falls back to a cookie a sibling subdomain could plant.
func CSRF(m *Manager, onFail func(c echo.Context) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// The page carries a per-session token: no shared cache may
			// serve it to another browser.
			c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
			r := c.Request()
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				id, err := m.ensureID(c)
				if err != nil {
					return err
				}
				c.Set(ctxCSRFKey, m.csrfToken(id))
				return next(c)
			}
			// Absent from non-browser clients and older browsers, where
			// the token alone decides; any value but these two is a
			// request another site started.
			switch r.Header.Get(echo.HeaderSecFetchSite) {
			case "", "same-origin", "none":
			default:
				return onFail(c)
			}
			s, err := m.Load(c)
			if err != nil {
				return err
			}
			if s.ID == "" {
				return onFail(c)
			}
			got, err := formToken(r)
			if err != nil {
				return err
			}
			want := m.csrfToken(s.ID)
			if !hmac.Equal([]byte(got), []byte(want)) {
				return onFail(c)
			}
			c.Set(ctxCSRFKey, want)
			return next(c)
		}
	}
}

// formToken reads _csrf from the request body only (never the query
// string, which ends up in logs and Referer headers). A body over the
// size limit stays the application's 413; one that cannot be read, such
// as a body cut short by a client that went away, is the client's 400.
func formToken(r *http.Request) (string, error) {
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt == echo.MIMEMultipartForm {
		err = r.ParseMultipartForm(maxFormMemory)
	} else {
		err = r.ParseForm()
	}
	if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
		return "", echo.ErrStatusRequestEntityTooLarge
	}
	if err != nil {
		return "", echo.NewHTTPError(http.StatusBadRequest, "the form could not be read").SetInternal(err)
	}
	return r.PostForm.Get("_csrf"), nil
}

// CSRFToken is the token to put in a form's _csrf field.
func CSRFToken(c echo.Context) string {
	s, _ := c.Get(ctxCSRFKey).(string)
	return s
}

// FormToken is the CSRF token for a form on a page the CSRF middleware
// does not serve: RP-initiated logout arrives as a cross-site POST too,
// and its confirmation form posts back to a protected route.
func (m *Manager) FormToken(c echo.Context) (string, error) {
	id, err := m.ensureID(c)
	if err != nil {
		return "", err
	}
	return m.csrfToken(id), nil
}
