package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// dateLayout is the filter's date format, as <input type="date"> sends it.
const dateLayout = "2006-01-02"

// auditFilter reads the audit log's filter from the query. Dates are UTC
// days and both ends are inclusive; errors are by field.
func auditFilter(c echo.Context) (views.AuditFilterValues, models.EventFilter, views.FieldErrors) {
	v := views.AuditFilterValues{
		Kind:   c.QueryParam("kind"),
		User:   strings.TrimSpace(c.QueryParam("user")),
		Client: strings.TrimSpace(c.QueryParam("client")),
		From:   strings.TrimSpace(c.QueryParam("from")),
		To:     strings.TrimSpace(c.QueryParam("to")),
	}
	f := models.EventFilter{Kind: v.Kind, Username: v.User, Client: v.Client}
	errs := views.FieldErrors{}
	if v.Kind != "" && !slices.Contains(models.EventKinds, v.Kind) {
		errs["kind"] = "Choose a kind from the list."
	}
	for field, value := range map[string]string{"user": v.User, "client": v.Client} {
		if len(value) > 200 {
			errs[field] = "Use at most 200 characters."
		}
	}
	if v.From != "" {
		d, err := time.Parse(dateLayout, v.From)
		if err != nil {
			errs["from"] = "Enter a date as YYYY-MM-DD."
		}
		f.From = d
	}
	if v.To != "" {
		d, err := time.Parse(dateLayout, v.To)
		if err != nil {
			errs["to"] = "Enter a date as YYYY-MM-DD."
		}
		f.Until = d.AddDate(0, 0, 1) // through the end of that day
	}
	if errs["from"] == "" && errs["to"] == "" && !f.From.IsZero() && !f.Until.IsZero() && !f.From.Before(f.Until) {
		errs["to"] = "The end date must not be before the start date."
	}
	return v, f, errs
}

// ListEvents serves GET /admin/audit: the audit log, newest first, with
// filters by kind, user, client and date range.
func (a *Admin) ListEvents(c echo.Context) error {
	values, filter, errs := auditFilter(c)
	v := views.AuditListView{AdminChrome: a.chrome(c, "audit", "Audit log"), Filter: values, Errors: errs}
	for _, k := range models.EventKinds {
		v.KindChoices = append(v.KindChoices, views.Option{Value: k, Label: strings.ReplaceAll(k, "_", " "), Selected: k == values.Kind})
	}
	if len(errs) > 0 {
		return a.render(c, http.StatusUnprocessableEntity, views.AuditListPage(v))
	}
	n, page := pageOf(c)
	events, total, err := a.store.ListEvents(c.Request().Context(), filter, page)
	if err != nil {
		return a.serverError(c, "list events", err)
	}
	v.Pager = pager(c, n, total)
	for _, e := range events {
		row := views.EventRow{
			When: formatTime(&e.CreatedAt), Kind: e.Kind, Username: e.UserName, ClientID: e.ClientPublicID,
			ClientName: e.ClientName, RemoteIP: e.RemoteIP, Detail: e.Detail, Target: e.Target,
			Before: indentJSON(e.Before), After: indentJSON(e.After),
		}
		if e.ClientID != nil && e.ClientPublicID != "" {
			row.ClientURL = "/admin/clients/" + strconv.FormatUint(uint64(*e.ClientID), 10)
		} else if e.ClientID != nil {
			row.ClientName = "deleted client"
		}
		v.Events = append(v.Events, row)
	}
	return a.render(c, http.StatusOK, views.AuditListPage(v))
}

// indentJSON shows an audit state readably; anything not JSON as is.
func indentJSON(s string) string {
	if s == "" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s
	}
	return buf.String()
}
