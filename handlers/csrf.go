package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// CSRFContextKey is where the CSRF middleware leaves the form token.
const CSRFContextKey = "csrf"

// csrfToken is the token to put in a form's _csrf field.
func csrfToken(c echo.Context) string {
	s, _ := c.Get(CSRFContextKey).(string)
	return s
}

// CSRF protects every browser form: Fetch Metadata where the browser sends
// it, and a double-submit token in the _csrf field otherwise.
func (h *Handler) CSRF() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:_csrf",
		ContextKey:     CSRFContextKey,
		CookieName:     "oidcd_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   h.cfg.SecureCookies(),
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return h.errorPage(c, http.StatusForbidden, "Form expired", "This form could not be verified (missing or invalid CSRF token). Go back, reload the page and try again.")
		},
	})
}
