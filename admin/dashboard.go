package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/models"
	"oidcd/views"
)

// chartDays is how many UTC days, today included, the dashboard charts show.
const chartDays = 14

// dashboardCharts are the activity charts, in the order shown.
var dashboardCharts = []struct{ testID, kind, title, unit string }{
	{"chart-logins", models.EventLoginSucceeded, "Logins", "logins"},
	{"chart-failed-logins", models.EventLoginFailed, "Failed logins", "failed logins"},
	{"chart-tokens", models.EventTokenIssued, "Tokens issued", "tokens"},
}

// recentSecurityEvents is how many security events the dashboard lists.
const recentSecurityEvents = 8

// Dashboard serves GET /admin: totals at a glance, the latest security
// events, the health of the signing keys, and the last two weeks of
// logins, failed logins and issued tokens. Each part is one bounded
// query (TestAdminDashboardStatements).
func (a *Admin) Dashboard(c echo.Context) error {
	ctx := c.Request().Context()
	now := a.now()
	counts, err := a.store.CountAll(ctx, now)
	if err != nil {
		return a.serverError(c, "dashboard counts", err)
	}
	v := views.DashboardView{
		AdminChrome: a.chrome(c, "dashboard", "Dashboard"),
		Clients:     counts.Clients, Users: counts.Users, ActiveTokens: counts.ActiveTokens, Consents: counts.Consents,
	}
	for _, ch := range dashboardCharts {
		daily, err := a.store.DailyEventCounts(ctx, ch.kind, chartDays, now)
		if err != nil {
			return a.serverError(c, "dashboard chart", err)
		}
		v.Charts = append(v.Charts, barChart(ch.testID, ch.title, ch.unit, daily, now))
	}
	events, err := a.store.SecurityEvents(ctx, recentSecurityEvents)
	if err != nil {
		return a.serverError(c, "dashboard security events", err)
	}
	for i := range events {
		v.Events = append(v.Events, securityEvent(&events[i]))
	}
	keys, err := a.store.PublishedKeyDates(ctx, now.Add(-a.cfg.KeyPublishFor))
	if err != nil {
		return a.serverError(c, "dashboard key health", err)
	}
	v.Keys = a.keyHealth(keys, now)
	return a.render(c, http.StatusOK, views.DashboardPage(v))
}

// Chart geometry, in SVG user units. The SVG scales to its box: about
// 300 CSS pixels wide on a 390 px phone, and as wide in the three-column
// row of a desktop (style.css, .charts). It is drawn at about that width,
// so a label of chartFont units is drawn at about chartFont pixels, and
// no less than 11 on a phone.
const (
	chartWidth  = 340
	chartHeight = 180
	chartFont   = 14
	chartLeft   = 34 // room for the y labels
	chartRight  = 8
	chartTop    = 10
	chartBottom = 26 // room for the x labels
)

// barChart lays out one bar per day of counts, which end on the UTC day
// of now. Bars scale to the largest count (at least 1, so an empty chart
// is flat rather than undefined).
func barChart(testID, title, unit string, counts []int64, now time.Time) views.ChartView {
	plotW := chartWidth - chartLeft - chartRight
	plotH := chartHeight - chartTop - chartBottom
	base := chartTop + plotH
	var peak, total int64 = 1, 0
	for _, n := range counts {
		peak = max(peak, n)
		total += n
	}
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(len(counts) - 1))
	v := views.ChartView{
		TestID: testID, Title: title, Unit: unit, Width: chartWidth, Height: chartHeight, FontSize: chartFont,
		PlotX: chartLeft, PlotY: chartTop, BaseY: base, PlotW: plotW, Total: total,
		Caption: fmt.Sprintf("%d in the last %d days (UTC)", total, len(counts)),
		Label: fmt.Sprintf("Bar chart of %s per UTC day from %s to %s: %d in all, at most %d on one day.",
			unit, first.Format(dateLayout), today.Format(dateLayout), total, peakOrZero(peak, total)),
	}
	if len(counts) == 0 {
		return v
	}
	slot := plotW / len(counts)
	barW := slot * 7 / 10
	for i, n := range counts {
		h := int(n * int64(plotH) / peak)
		slotX := chartLeft + i*slot
		day := first.AddDate(0, 0, i)
		v.Bars = append(v.Bars, views.BarView{
			X: slotX + (slot-barW)/2, Y: base - h, Width: barW, Height: h,
			SlotX: slotX, SlotWidth: slot, Date: day.Format(dateLayout), Count: n,
		})
		// Every third day is labelled, and always today, so labels of
		// chartFont fit.
		if (len(counts)-1-i)%3 == 0 {
			v.XTicks = append(v.XTicks, views.TickView{X: slotX + slot/2, Y: chartHeight - 8, Text: day.Format("01-02")})
		}
	}
	ticks := []int64{0, peak}
	if peak >= 2 {
		ticks = []int64{0, peak / 2, peak}
	}
	for _, t := range ticks {
		y := base - int(t*int64(plotH)/peak)
		v.YTicks = append(v.YTicks, views.TickView{X: chartLeft - 4, Y: y, Text: strconv.FormatInt(t, 10), GridX2: chartLeft + plotW})
	}
	return v
}

// peakOrZero is the largest daily count, which the scale raised to 1 when
// every day was zero.
func peakOrZero(peak, total int64) int64 {
	if total == 0 {
		return 0
	}
	return peak
}

// securityKinds are the security events in words.
var securityKinds = map[string]string{
	models.EventCodeReplay:       "Authorization code replayed",
	models.EventRefreshReuse:     "Refresh token reused",
	models.EventLoginThrottled:   "Login throttled",
	models.EventClientAuthFailed: "Client authentication failed",
	models.EventTokenRevoked:     "Token revoked by its client",
}

// securityEvent is e as the dashboard lists it, linked to the audit log
// filtered to its kind.
func securityEvent(e *models.EventRow) views.SecurityEventView {
	v := views.SecurityEventView{When: formatTime(&e.CreatedAt), What: securityKinds[e.Kind], Detail: e.Detail, User: e.UserName,
		AuditURL: "/admin/audit?" + url.Values{"kind": {e.Kind}}.Encode()}
	if e.ClientName != "" {
		v.Client = e.ClientName + " (" + e.ClientPublicID + ")"
	}
	if e.IsKeyEvent() {
		// "rotate signing key at once" by root: "Signing key abc rotated
		// at once", by root.
		kid := strings.TrimPrefix(e.Target, "signing key ")
		action, rest, _ := strings.Cut(e.Detail, " signing key")
		v.What, v.Detail = "Signing key "+keyActions[action]+rest, kid
	}
	if v.What == "" {
		v.What = strings.ReplaceAll(e.Kind, "_", " ")
	}
	return v
}

// rotationGrace is how long after a scheduled rotation fell due the
// dashboard waits before it warns that no next key is published: serve
// checks the schedule every few minutes, not at the due moment.
const rotationGrace = time.Hour

// keyActions are the past tenses of the actions recorded on signing keys.
var keyActions = map[string]string{"create": "created", "rotate": "rotated", "retire": "retired"}

// keyHealth sums up keys, the published signing keys newest activation
// first, at now: per algorithm the key that signs and its age, the next
// key or the next scheduled rotation, the keys retiring, and warnings
// when the signing key has outlived the rotation period or the schedule
// was due and no next key is published.
func (a *Admin) keyHealth(keys []models.SigningKey, now time.Time) views.KeyHealthView {
	v := views.KeyHealthView{}
	every := a.cfg.KeyRotation
	if every > 0 {
		v.Rotation = days(every)
	}
	for _, alg := range jose.KeyAlgorithms {
		var signer *models.SigningKey
		h := views.KeyAlgHealth{Alg: alg}
		for i := range keys {
			k := &keys[i]
			if k.Alg != alg {
				continue
			}
			switch k.State(now, a.cfg.KeyPublishFor) {
			case models.KeyNext:
				h.Next = fmt.Sprintf("%s, published now, signs from %s", k.KID, formatTime(&k.ActivatesAt))
			case models.KeyActive:
				// Newest activation first: the first active key signs;
				// others still could (an emergency rotation's old key).
				if signer == nil {
					signer = k
				} else {
					h.Retiring = append(h.Retiring, k.KID+", active until it is retired")
				}
			case models.KeyRetiring:
				until := k.RetiredAt.Add(a.cfg.KeyPublishFor)
				h.Retiring = append(h.Retiring, fmt.Sprintf("%s, published until %s", k.KID, formatTime(&until)))
			}
		}
		if signer == nil {
			continue
		}
		age := now.Sub(signer.ActivatesAt)
		h.KID, h.Since, h.Age = signer.KID, formatTime(&signer.ActivatesAt), ageWords(age)
		if every > 0 {
			due := signer.ActivatesAt.Add(every - a.cfg.KeyPrepublish)
			if h.Next == "" {
				h.NextRotation = fmt.Sprintf("%s: a next key is published then and signs %s later", formatTime(&due), ageWords(a.cfg.KeyPrepublish))
				if !now.Before(due.Add(rotationGrace)) {
					h.Warnings = append(h.Warnings, fmt.Sprintf(
						"No next key is published, though the scheduled rotation was due on %s. Is the server running its rotation? Rotate the keys by hand from the signing keys page.", formatTime(&due)))
				}
			}
			if age > every {
				h.Warnings = append(h.Warnings, fmt.Sprintf("This key has signed for %s, longer than the rotation period of %s.", ageWords(age), ageWords(every)))
			}
		}
		v.Algs = append(v.Algs, h)
	}
	if len(v.Algs) == 0 {
		v.Warnings = append(v.Warnings, "No key signs: the server cannot issue ID tokens. Create a key on the signing keys page.")
	}
	return v
}

// ageWords is d in whole days, hours or minutes.
func ageWords(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + one + "s"
	}
	switch {
	case d >= 24*time.Hour:
		return unit(int(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return unit(int(d/time.Hour), "hour")
	}
	return unit(int(d/time.Minute), "minute")
}
