package admin

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

func listContext(query string) echo.Context {
	req := httptest.NewRequest("GET", "/admin/tokens?"+query, nil)
	return echo.New().NewContext(req, httptest.NewRecorder())
}

// TestParseList: a list's parameters are read against its allowlist and
// rendered back in one canonical form that keeps them all.
func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		query string
		// self is the page's canonical URL; bad, that the query is refused.
		self string
		bad  bool
	}{
		{query: "", self: "/admin/tokens"},
		{query: "sort=client", self: "/admin/tokens?sort=client"},
		{query: "sort=-client&page=3", self: "/admin/tokens?page=3&sort=-client"},
		// The default status is left out; unknown parameters are dropped.
		{query: "status=active&colour=red", self: "/admin/tokens"},
		{query: "status=revoked&type=refresh&client=7&user=9&page=0", self: "/admin/tokens?client=7&status=revoked&type=refresh&user=9"},
		{query: "client=+7+", self: "/admin/tokens?client=7"},
		{query: "sort=bogus", bad: true},
		{query: "sort=-", bad: true},
		{query: "sort=--client", bad: true},
		{query: "sort=access_token_hash", bad: true},
		{query: "status=used", bad: true},
		{query: "type=ID", bad: true},
		{query: "client=0", bad: true},
		{query: "user=x", bad: true},
		{query: "user=4294967296", bad: true},
	} {
		p, err := parseList(listContext(tc.query), &tokenList)
		var bad errBadList
		if tc.bad {
			if !errors.As(err, &bad) || bad.msg == "" {
				t.Errorf("parseList(%q): got %v, want an errBadList with a message", tc.query, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseList(%q): %v", tc.query, err)
			continue
		}
		if got := p.self(); got != tc.self {
			t.Errorf("parseList(%q).self() = %q, want %q", tc.query, got, tc.self)
		}
	}
}

// TestListColumnsAndPager: a header sorts its way from page 1 keeping the
// filters, the other way when it sorts already; the pager keeps it all.
func TestListColumnsAndPager(t *testing.T) {
	p, err := parseList(listContext("sort=-user&client=7&page=2"), &tokenList)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, url, sort string
	}{
		{"user", "/admin/tokens?client=7&sort=user", "descending"},
		{"client", "/admin/tokens?client=7&sort=client", ""},
	} {
		c := p.column(tc.key, "x")
		if c.URL != tc.url || c.Sort != tc.sort {
			t.Errorf("column %s: got %q %q, want %q %q", tc.key, c.URL, c.Sort, tc.url, tc.sort)
		}
	}
	pg := p.pager(60)
	if pg.PrevURL != "/admin/tokens?client=7&sort=-user" || pg.NextURL != "/admin/tokens?client=7&page=3&sort=-user" || pg.Pages != 3 {
		t.Errorf("pager: got %+v", pg)
	}
	// With no order asked for, the default column (newest first) says
	// so, and its link sorts oldest first.
	p, _ = parseList(listContext(""), &tokenList)
	if c := p.column("issued", "Issued"); c.Sort != "descending" || c.URL != "/admin/tokens?sort=issued" {
		t.Errorf("default column: got %+v, want descending, linking to sort=issued", c)
	}
}
