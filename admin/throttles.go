package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// throttleKinds names each kind of throttle for the page.
var throttleKinds = map[string]string{
	models.ThrottleLogin:         "sign-ins: username from address",
	models.ThrottleLoginAddress:  "sign-ins: address, any username",
	models.ThrottleLoginUser:     "sign-ins: username, any address",
	models.ThrottleLoginDevice:   "sign-ins: username from a trusted browser",
	models.ThrottleClient:        "client authentication: client from address",
	models.ThrottleClientAddress: "client authentication: address, any client",
}

// ListThrottles serves GET /admin/throttles: the login and client
// authentication throttles in force, locked ones first.
func (a *Admin) ListThrottles(c echo.Context) error {
	now := a.now()
	n, page := pageOf(c)
	rows, total, err := a.store.ListThrottles(c.Request().Context(), now, page)
	if err != nil {
		return a.serverError(c, "list throttles", err)
	}
	v := views.ThrottleListView{
		AdminChrome: a.chrome(c, "throttles", "Throttles"), Pager: pager(c, n, total),
		Back: c.Request().URL.RequestURI(),
	}
	for _, t := range rows {
		row := views.ThrottleRow{
			ID: t.ID, Kind: throttleKind(t.Kind), Subject: t.Subject, Address: t.Address,
			Failures: t.Failures, WindowEnds: formatTime(windowEnd(&t, now)),
		}
		if t.Locked(now) {
			row.LockedUntil = formatTime(t.LockedUntilTime())
		}
		v.Throttles = append(v.Throttles, row)
	}
	return a.render(c, http.StatusOK, views.ThrottleListPage(v))
}

func throttleKind(kind string) string {
	if s, ok := throttleKinds[kind]; ok {
		return s
	}
	return kind
}

// windowEnd is when the throttle's open window ends, or nil when its
// window is over (a lock outlasting it).
func windowEnd(t *models.Throttle, now time.Time) *time.Time {
	if t.WindowEnd <= now.UnixMilli() {
		return nil
	}
	at := time.UnixMilli(t.WindowEnd).UTC()
	return &at
}

// throttleState is a throttle as the audit log records it.
type throttleState struct {
	Kind        string
	Subject     string `json:",omitempty"`
	Address     string `json:",omitempty"`
	Failures    int
	LockedUntil string `json:",omitempty"`
}

// ClearThrottle serves POST /admin/throttles/:id/clear: the throttle's
// failures, lock and lockout history are forgotten, so a locked-out user
// or client can try again at once.
func (a *Admin) ClearThrottle(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "throttle")
	}
	t, err := a.store.ClearThrottle(c.Request().Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return a.redirectWith(c, backTo(c, "/admin/throttles"), "error", "That throttle is already gone.")
	}
	if err != nil {
		return a.serverError(c, "clear throttle", err)
	}
	before := throttleState{Kind: t.Kind, Subject: t.Subject, Address: t.Address, Failures: t.Failures}
	if t.Locked(a.now()) {
		before.LockedUntil = formatTime(t.LockedUntilTime())
	}
	a.audit(c, "clear throttle", throttleTarget(t), before, nil)
	return a.redirectWith(c, backTo(c, "/admin/throttles"), "success", "Throttle cleared.")
}

// throttleTarget names a throttle so that the audit log's user filter
// finds the clearing of a user's throttle ("... of user <username>").
func throttleTarget(t *models.Throttle) string {
	target := fmt.Sprintf("throttle %d", t.ID)
	switch {
	case t.Subject != "" && strings.HasPrefix(t.Kind, "login"):
		target += " of user " + t.Subject
	case t.Subject != "":
		target += " of client " + t.Subject
	case t.Address != "":
		target += " of address " + t.Address
	}
	return target
}
