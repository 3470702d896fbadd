package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"oidcd/views"
)

// Dashboard serves GET /admin: totals at a glance.
func (a *Admin) Dashboard(c echo.Context) error {
	counts, err := a.store.CountAll(c.Request().Context(), a.now())
	if err != nil {
		return a.serverError(c, "dashboard counts", err)
	}
	v := views.DashboardView{
		AdminChrome: a.chrome(c, "dashboard", "Dashboard"),
		Clients:     counts.Clients, Users: counts.Users, ActiveTokens: counts.ActiveTokens, Consents: counts.Consents,
	}
	return a.render(c, http.StatusOK, views.DashboardPage(v))
}
