package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

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

// Dashboard serves GET /admin: totals at a glance, and the last two weeks
// of logins, failed logins and issued tokens.
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
