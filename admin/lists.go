package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// listSpec declares what one admin list may be asked: its orders (an
// allowlist the store turns into ORDER BY), its filters, and whether it
// has a search. A request is read against it once (parseList) and the
// result renders every link of the page back, so that the pager, the
// column headers and the filter form each keep what the others chose.
type listSpec struct {
	path   string
	sorts  models.SortColumns
	search bool
	// searchHint says what the search looks in.
	searchHint string
	filters    []listFilter
}

// listFilter is one filter of a list: a query parameter whose value is
// one of choices, or, for the user and client filters (ref), the id of
// a user or client.
type listFilter struct {
	name, label string
	// choices are the values allowed besides "" (no filter); the first
	// option, with Value "", says what "" means.
	choices []views.Option
	// def is what the list shows when the parameter is absent.
	def string
	ref bool
}

var (
	clientList = listSpec{path: "/admin/clients", sorts: models.ClientSorts, search: true, searchHint: "Name or client_id", filters: []listFilter{
		{name: "type", label: "Type", choices: []views.Option{{Value: "", Label: "Any type"},
			{Value: models.ClientConfidential, Label: "Confidential"}, {Value: models.ClientPublic, Label: "Public"}}},
	}}
	userList = listSpec{path: "/admin/users", sorts: models.UserSorts, search: true, searchHint: "Username, email or name", filters: []listFilter{
		{name: "status", label: "Status", choices: []views.Option{{Value: "", Label: "Active or not"},
			{Value: models.StatusActive, Label: "Active"}, {Value: models.StatusInactive, Label: "Inactive"}}},
		{name: "role", label: "Role", choices: []views.Option{{Value: "", Label: "Any role"},
			{Value: "admin", Label: "Administrators"}, {Value: "user", Label: "Not administrators"}}},
	}}
	tokenList = listSpec{path: "/admin/tokens", sorts: models.TokenSorts, filters: []listFilter{
		{name: "status", label: "Status", def: models.StatusActive, choices: []views.Option{{Value: models.StatusActive, Label: "Active"},
			{Value: models.StatusRevoked, Label: "Revoked"}, {Value: models.StatusExpired, Label: "Expired"}, {Value: models.StatusAll, Label: "All"}}},
		{name: "type", label: "Type", choices: []views.Option{{Value: "", Label: "Any type"},
			{Value: models.TypeAccess, Label: "Access only"}, {Value: models.TypeRefresh, Label: "With refresh token"}}},
		{name: "client", label: "Client", ref: true},
		{name: "user", label: "User", ref: true},
	}}
	consentList = listSpec{path: "/admin/consents", sorts: models.ConsentSorts, filters: []listFilter{
		{name: "client", label: "Client", ref: true},
		{name: "user", label: "User", ref: true},
	}}
	codeList = listSpec{path: "/admin/codes", sorts: models.CodeSorts, filters: []listFilter{
		{name: "status", label: "Status", choices: []views.Option{{Value: "", Label: "Any status"},
			{Value: models.StatusUnused, Label: "Unused"}, {Value: models.StatusUsed, Label: "Used"}, {Value: models.StatusExpired, Label: "Expired"}}},
		{name: "client", label: "Client", ref: true},
		{name: "user", label: "User", ref: true},
	}}
)

// listParams is one request's list parameters, read once.
type listParams struct {
	spec *listSpec
	// Q is the search; Sort the order asked for (Key "" for the default).
	Q    string
	Sort models.Sort
	// values holds the filters that are set, by name.
	values map[string]string
	Page   int
	// username is the user filter typed by name in the filter form
	// (?username=), resolved to an id by grantQuery.
	username string
}

// errBadList is a list parameter no list allows: a 400 page, not a 5xx.
type errBadList struct{ msg string }

func (e errBadList) Error() string { return e.msg }

// parseList reads the list parameters of c against spec. A sort or
// filter value the list does not allow is an errBadList; parameters the
// list does not know are ignored.
func parseList(c echo.Context, spec *listSpec) (listParams, error) {
	q := c.QueryParams()
	p := listParams{spec: spec, values: map[string]string{}, Q: strings.TrimSpace(q.Get("q"))}
	p.Page, _ = pageOf(c)
	if s := q.Get("sort"); s != "" {
		key, desc := strings.CutPrefix(s, "-")
		if !spec.sorts.Has(key) {
			return p, errBadList{fmt.Sprintf("This list cannot be sorted by %q.", s)}
		}
		p.Sort = models.Sort{Key: key, Desc: desc}
	}
	for _, f := range spec.filters {
		v := strings.TrimSpace(q.Get(f.name))
		if v == "" {
			continue
		}
		if f.ref {
			if n, err := strconv.ParseUint(v, 10, 32); err != nil || n == 0 {
				return p, errBadList{fmt.Sprintf("The %s filter %q is not a %s id.", strings.ToLower(f.label), v, strings.ToLower(f.label))}
			}
		} else if !slices.ContainsFunc(f.choices, func(o views.Option) bool { return o.Value == v }) {
			return p, errBadList{fmt.Sprintf("%q is not a %s this list can be filtered by.", v, strings.ToLower(f.label))}
		}
		if v != f.def {
			p.values[f.name] = v
		}
	}
	if p.has("user") {
		p.username = strings.TrimSpace(q.Get("username"))
	}
	return p, nil
}

// has reports whether the list has a filter called name.
func (p listParams) has(name string) bool {
	return slices.ContainsFunc(p.spec.filters, func(f listFilter) bool { return f.name == name })
}

// get is filter name's value, or its default.
func (p listParams) get(name string) string {
	if v, ok := p.values[name]; ok {
		return v
	}
	for _, f := range p.spec.filters {
		if f.name == name {
			return f.def
		}
	}
	return ""
}

// id is the user or client filter's id, or 0.
func (p listParams) id(name string) uint {
	n, _ := strconv.ParseUint(p.values[name], 10, 32)
	return uint(n)
}

// query is the parameters as a query string, page 1 left out.
func (p listParams) query() url.Values {
	q := url.Values{}
	if p.Q != "" {
		q.Set("q", p.Q)
	}
	if p.Sort.Key != "" {
		q.Set("sort", sortParam(p.Sort))
	}
	for name, v := range p.values {
		q.Set(name, v)
	}
	if p.Page > 1 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	return q
}

// url is the list's URL with these parameters after edit.
func (p listParams) url(edit func(q url.Values)) string {
	q := p.query()
	if edit != nil {
		edit(q)
	}
	if len(q) == 0 {
		return p.spec.path
	}
	return p.spec.path + "?" + q.Encode()
}

// self is this very page: where an action on it returns to.
func (p listParams) self() string { return p.url(nil) }

func sortParam(s models.Sort) string {
	if s.Desc {
		return "-" + s.Key
	}
	return s.Key
}

// pager links the neighbours of the page, keeping the search, the
// filters and the order.
func (p listParams) pager(total int64) views.Pager {
	pages := int((total + perPage - 1) / perPage)
	v := views.Pager{Page: p.Page, Pages: max(pages, 1), Total: total}
	link := func(k int) string {
		return p.url(func(q url.Values) {
			q.Del("page")
			if k > 1 {
				q.Set("page", strconv.Itoa(k))
			}
		})
	}
	if p.Page > 1 {
		v.PrevURL = link(p.Page - 1)
	}
	if p.Page < pages {
		v.NextURL = link(p.Page + 1)
	}
	return v
}

// modelPage is the store's request for the page.
func (p listParams) modelPage() models.Page {
	return models.Page{Offset: (p.Page - 1) * perPage, Limit: perPage}
}

// column is a sortable column header: a link that sorts by key (from
// page 1), ascending first and the other way when it already sorts, and
// aria-sort on the column that sorts (WAI-ARIA 1.2 aria-sort).
func (p listParams) column(key, label string) views.Column {
	active := p.Sort
	if active.Key == "" {
		active = p.spec.sorts.Default()
	}
	col := views.Column{Label: label, Key: key}
	next := models.Sort{Key: key}
	if active.Key == key {
		col.Sort = "ascending"
		if active.Desc {
			col.Sort = "descending"
		}
		next.Desc = !active.Desc
	}
	col.URL = p.url(func(q url.Values) {
		q.Del("page")
		q.Set("sort", sortParam(next))
	})
	return col
}

// filterForm is the list's filter form: the filters, the search, and the
// order as a hidden field, so that filtering keeps the order.
func (p listParams) filterForm(clients []views.Option, username string) views.ListFilterForm {
	f := views.ListFilterForm{Action: p.spec.path, Search: p.spec.search, Hint: p.spec.searchHint, Q: p.Q, ClearURL: p.spec.path}
	if p.Sort.Key != "" {
		f.Sort = sortParam(p.Sort)
	}
	for _, lf := range p.spec.filters {
		field := views.ListFilterField{Name: lf.name, Label: lf.label}
		switch {
		case lf.name == "client":
			field.Options = append([]views.Option{{Value: "", Label: "Any client"}}, clients...)
			for i := range field.Options {
				field.Options[i].Selected = field.Options[i].Value == p.values["client"]
			}
		case lf.name == "user":
			// Typed by name; a link from a row filters by id.
			field.Name, field.Text, field.Value = "username", true, username
			if p.username != "" {
				field.Value = p.username // a name that matched no one, to correct
			}
		default:
			cur := p.get(lf.name)
			for _, o := range lf.choices {
				o.Selected = o.Value == cur
				field.Options = append(field.Options, o)
			}
		}
		f.Fields = append(f.Fields, field)
	}
	f.Active = p.Q != "" || len(p.values) > 0 || p.username != ""
	return f
}

// badList answers an errBadList with a 400 page, anything else as a
// server error.
func (a *Admin) badList(c echo.Context, where string, err error) error {
	var bad errBadList
	if errors.As(err, &bad) {
		return a.errorPage(c, http.StatusBadRequest, "Cannot show this list", bad.msg+" Go back to the list and choose from its headers and filters.")
	}
	return a.serverError(c, where, err)
}

// grantFilter resolves the user and client filters of a consents, tokens
// or codes list: the ids, the names to show, and whether a user typed by
// name exists (none=true: the list is empty).
func (a *Admin) grantFilter(ctx context.Context, p *listParams) (f models.GrantFilter, fv views.GrantFilterView, none bool, err error) {
	if p.username != "" {
		u, err := a.store.UserByUsername(ctx, p.username)
		switch {
		case err == nil:
			p.values["user"] = strconv.FormatUint(uint64(u.ID), 10)
			p.username = ""
		case errors.Is(err, models.ErrNotFound):
			none = true
		default:
			return f, fv, false, err
		}
	}
	f = models.GrantFilter{UserID: p.id("user"), ClientID: p.id("client")}
	fv = views.GrantFilterView{UserID: f.UserID, ClientID: f.ClientID, ClearURL: p.spec.path}
	if none {
		fv.NoSuchUser = p.username
	}
	if f.UserID != 0 {
		fv.Username = fmt.Sprintf("#%d (deleted)", f.UserID)
		u, err := a.store.UserByID(ctx, f.UserID)
		switch {
		case err == nil:
			fv.Username = u.Username
		case !errors.Is(err, models.ErrNotFound):
			return f, fv, false, err
		}
	}
	if f.ClientID != 0 {
		fv.ClientName = fmt.Sprintf("#%d (deleted)", f.ClientID)
		cl, err := a.store.ClientByID(ctx, f.ClientID)
		switch {
		case err == nil:
			fv.ClientName = cl.Name
		case !errors.Is(err, models.ErrNotFound):
			return f, fv, false, err
		}
	}
	return f, fv, none, nil
}

// clientOptions are the clients a list can be filtered by, by name.
func (a *Admin) clientOptions(ctx context.Context) ([]views.Option, error) {
	clients, err := a.store.ClientNames(ctx, maxClientOptions)
	if err != nil {
		return nil, err
	}
	out := make([]views.Option, len(clients))
	for i, c := range clients {
		out[i] = views.Option{Value: strconv.FormatUint(uint64(c.ID), 10), Label: c.Name}
	}
	return out, nil
}

// maxClientOptions bounds the client filter's choices; a client beyond
// them is still filtered by from its row's link.
const maxClientOptions = 500
