package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oidcd/admin"
	"oidcd/models"
)

// Issue 11, point 2: every admin page as a phone shows it (390×844 CSS
// pixels, chromium's mobile emulation), filled with realistic data: long
// client names and redirect URIs, long usernames and emails, more rows
// than a page holds. The page body must not scroll sideways (a wide table
// scrolls inside its own card), every section of the navigation must be on
// screen, the dashboard charts' labels must be readable, and the tables
// behind the charts, there for screen readers, must not add blank scroll.

const (
	phoneWidth  = 390
	phoneHeight = 844
)

// seedPhoneData fills env with the kind of data that overflows a narrow
// screen and returns the ids of one client, user and scope.
func seedPhoneData(t *testing.T, env *testEnv) (clientID, userID, scopeID uint) {
	t.Helper()
	ctx := context.Background()
	now := env.clock.Now()
	var clients []*models.Client
	for i := range 30 {
		cl, _ := env.createClient(models.ClientConfidential, []string{
			fmt.Sprintf("https://erp-portal-production-eu-west-1.internal.acme-corporation.example.com/oauth2/callback/openid-connect/authorization-code-flow?tenant=acme-enterprise-%02d", i),
			"http://127.0.0.1/phone/cb",
		}, func(c *models.Client) {
			c.Name = fmt.Sprintf("Acme Corporation Enterprise Resource Planning Portal %02d (production, eu-west-1, SAML bridge)", i)
			c.PostLogoutRedirectURIs = []string{"https://erp-portal-production-eu-west-1.internal.acme-corporation.example.com/signed-out/goodbye-and-thank-you"}
		})
		clients = append(clients, cl)
	}
	var users []*models.User
	for i := range 30 {
		users = append(users, env.createUser(fmt.Sprintf("maximiliane.von-hohenzollern-sigmaringen.%02d", i), userPassword, func(u *models.User) {
			u.Email = fmt.Sprintf("maximiliane.von-hohenzollern-sigmaringen.%02d@research-department.example-university.example.org", i)
			u.GivenName, u.FamilyName = "Maximiliane", "von Hohenzollern-Sigmaringen"
			u.Name = "Maximiliane von Hohenzollern-Sigmaringen"
		}))
	}
	for i := range 30 {
		cl, u := clients[i%len(clients)], users[i%len(users)]
		h := models.NewID()
		tok := &models.Token{
			AccessTokenHash: models.NewID(), RefreshTokenHash: &h, ClientID: cl.ID, UserID: &u.ID, FamilyID: models.NewID(),
			Scope: "openid profile email phone address offline_access", AuthTime: now,
			ExpiresAt: now.Add(time.Hour), RefreshExpiresAt: ptr(now.Add(30 * 24 * time.Hour)),
		}
		if err := env.store.CreateToken(ctx, tok); err != nil {
			t.Fatalf("create token: %v", err)
		}
		if err := env.store.GrantConsent(ctx, u.ID, cl.ID, []string{"openid", "profile", "email", "phone", "address", "offline_access"},
			now, now.Add(365*24*time.Hour)); err != nil {
			t.Fatalf("grant consent: %v", err)
		}
		code := &models.Code{CodeHash: models.NewID(), ClientID: cl.ID, UserID: u.ID, RedirectURI: cl.RedirectURIs[0],
			Scope: "openid profile email phone address offline_access", AuthTime: now, ExpiresAt: now.Add(time.Minute)}
		if err := env.store.CreateCode(ctx, code); err != nil {
			t.Fatalf("create code: %v", err)
		}
	}
	scope := &models.CustomScope{Name: "erp_department_membership_and_cost_centre", Title: "Your department membership and cost centre in the enterprise resource planning system",
		Description: "Lets the application read which departments and cost centres you belong to, as recorded by human resources.",
		Claims:      map[string]string{"department_membership_and_cost_centre": "attr:department_membership_and_cost_centre"}}
	if err := env.store.CreateCustomScope(ctx, scope); err != nil {
		t.Fatalf("create scope: %v", err)
	}
	// Failed logins under a long username: throttles and audit rows.
	b := env.browser()
	for range 3 {
		b.submitLogin(b.get("/login"), "someone.with.an.exceptionally.long.username.from.the.research.department@example.org", "wrong password 1")
	}
	for i := range 30 {
		recordEvent(t, env, models.Event{Kind: models.EventClientAuthFailed, ClientID: &clients[i].ID, RemoteIP: "2001:db8:85a3:8d3:1319:8a2e:370:7348",
			Detail: "client_id erp-portal-production-eu-west-1-acme-corporation-enterprise-resource-planning sent a wrong secret", CreatedAt: now})
	}
	return clients[0].ID, users[0].ID, scope.ID
}

func ptr[T any](v T) *T { return &v }

// phoneMeasure is what the page measures of itself.
type phoneMeasure struct {
	Inner, Doc, Body int
	// NavLinks and Clipped: the navigation's links, and those not wholly
	// on screen inside the navigation.
	NavLinks int
	Clipped  []string
	// Wide lists elements that reach past the viewport outside any
	// scrolling box, to say what overflows.
	Wide []string
}

// phoneMeasureJS measures against the phone's width, not innerWidth: a
// mobile browser widens its layout viewport to fit content that
// overflows, so innerWidth grows with the fault.
var phoneMeasureJS = `(() => {
	const w = ` + fmt.Sprint(phoneWidth) + `;
	const nav = document.querySelector('nav[aria-label="Admin sections"]');
	const links = nav ? Array.from(nav.querySelectorAll('a')) : [];
	const nr = nav ? nav.getBoundingClientRect() : null;
	const clipped = links.filter(a => {
		const r = a.getBoundingClientRect();
		return r.width === 0 || r.height === 0 || r.left < -0.5 || r.right > w + 0.5 ||
			r.left < nr.left - 0.5 || r.right > nr.right + 0.5 || r.top < nr.top - 0.5 || r.bottom > nr.bottom + 0.5;
	}).map(a => a.textContent.trim());
	if (nav && nav.scrollWidth > nav.clientWidth + 1) clipped.push('(the navigation scrolls sideways: ' + nav.scrollWidth + ' > ' + nav.clientWidth + ')');
	const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; } return false; };
	const wide = Array.from(document.body.querySelectorAll('*')).filter(e => e.getBoundingClientRect().right > w + 1 && !scrolls(e))
		.slice(0, 6).map(e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
			(e.dataset.testid ? '[' + e.dataset.testid + ']' : '') + ' right=' + Math.round(e.getBoundingClientRect().right));
	return {Inner: w, Doc: document.documentElement.scrollWidth, Body: document.body.scrollWidth,
		NavLinks: links.length, Clipped: clipped, Wide: wide};
})()`

// chartMeasure is what the dashboard measures of its charts.
type chartMeasure struct {
	Labels int
	// MinFont is the smallest label's font size as drawn, in CSS pixels
	// (the SVG's font size times its scale).
	MinFont float64
	// Tables: the charts' hidden tables; TallestTable, the height of the
	// tallest box that hides one; Height and HeightWithout, the page's scroll
	// height with them and with them taken out of the page.
	Tables                int
	TallestTable          float64
	Height, HeightWithout int
}

const chartMeasureJS = `(() => {
	let min = 1e9, n = 0;
	for (const svg of document.querySelectorAll('figure.chart svg')) {
		const vb = svg.viewBox.baseVal, scale = vb && vb.width ? svg.getBoundingClientRect().width / vb.width : 1;
		for (const t of svg.querySelectorAll('text')) {
			n++;
			min = Math.min(min, parseFloat(getComputedStyle(t).fontSize) * scale);
		}
	}
	const tables = Array.from(document.querySelectorAll('figure.chart table'));
	let tallest = 0;
	// The box that hides a table: the table itself, or the box it is in.
	for (const t of tables) tallest = Math.max(tallest, (t.closest('.visually-hidden') || t).getBoundingClientRect().height);
	const height = document.documentElement.scrollHeight;
	const shown = tables.map(t => t.style.display);
	tables.forEach(t => t.style.display = 'none');
	const without = document.documentElement.scrollHeight;
	tables.forEach((t, i) => t.style.display = shown[i]);
	return {Labels: n, MinFont: n ? min : 0, Tables: tables.length, TallestTable: tallest, Height: height, HeightWithout: without};
})()`

// TestAdminPhoneLayout opens every admin page at 390×844.
func TestAdminPhoneLayout(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	env := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	setupToken, err := admin.PrepareSetup(ctx, env.store)
	if err != nil || setupToken == "" {
		t.Fatalf("PrepareSetup = %q, %v", setupToken, err)
	}
	c := newChrome(t, ctx, exe)
	c.do("phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))

	// The setup page is for a server without an administrator: first.
	c.do("setup page", chromedp.Navigate(env.issuer+"/admin/setup?token="+url.QueryEscape(setupToken)), chromedp.WaitVisible(byTestID("setup-form")))
	checkPhonePage(t, c, "/admin/setup", false)

	clientID, userID, scopeID := seedPhoneData(t, env)
	env.createUser(adminName, adminPassword, func(u *models.User) { u.Superuser = true })
	c.do("sign in",
		chromedp.Navigate(env.issuer+"/admin"),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), adminName),
		chromedp.SendKeys(byTestID("password"), adminPassword),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("dashboard-page")),
	)
	pages := adminPages(t, env, map[string]uint{"clients": clientID, "users": userID, "scopes": scopeID})
	for _, path := range pages {
		c.do("open "+path, chromedp.Navigate(env.issuer+path), chromedp.WaitVisible(`main#main`))
		checkPhonePage(t, c, path, true)
	}

	c.do("back to the dashboard", chromedp.Navigate(env.issuer+"/admin"), chromedp.WaitVisible(byTestID("dashboard-page")))
	m := chromeRead(c, "measure the charts", chromedp.Evaluate[chartMeasure](chartMeasureJS))
	if m.Labels == 0 || m.Tables != 3 {
		t.Fatalf("dashboard at %d px: %d chart labels and %d chart tables, want labels and 3 tables", phoneWidth, m.Labels, m.Tables)
	}
	if m.MinFont < 11 {
		t.Errorf("dashboard at %d px: smallest chart label is %.1f px, want at least 11", phoneWidth, m.MinFont)
	}
	if m.Height != m.HeightWithout || m.TallestTable > 1 {
		t.Errorf("dashboard at %d px: page is %d px tall with the charts' hidden tables and %d px without (tallest table box %.0f px); want them to add nothing",
			phoneWidth, m.Height, m.HeightWithout, m.TallestTable)
	}
	// (TestAdminBrowserFlow saves admin-dashboard and
	// admin-dashboard-phone of its own, emptier, server.)
	c.do("phone screenshots",
		screenshot(t, "admin-phone-dashboard"),
		chromedp.Navigate(env.issuer+"/admin/clients"), chromedp.WaitVisible(`main#main`),
		screenshot(t, "admin-phone-clients"),
		chromedp.Navigate(env.issuer+fmt.Sprintf("/admin/users/%d", userID)), chromedp.WaitVisible(`main#main`),
		screenshot(t, "admin-phone-user"),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(env.issuer+"/admin"), chromedp.WaitVisible(byTestID("security-events")),
		screenshot(t, "admin-dashboard-events"),
	)
	c.wantNoDialogs()
}

// checkPhonePage measures the open page; admin pages have the navigation.
func checkPhonePage(t *testing.T, c *chrome, path string, withNav bool) {
	t.Helper()
	m := chromeRead(c, "measure "+path, chromedp.Evaluate[phoneMeasure](phoneMeasureJS))
	if m.Inner != phoneWidth || m.Doc > phoneWidth || m.Body > phoneWidth {
		t.Errorf("%s: page is %d px wide (body %d px, window.innerWidth %d) on a %d px phone; overflowing: %s",
			path, m.Doc, m.Body, m.Inner, phoneWidth, strings.Join(m.Wide, ", "))
	}
	if withNav {
		if m.NavLinks != 10 {
			t.Errorf("%s: %d navigation links, want 10", path, m.NavLinks)
		}
		if len(m.Clipped) > 0 {
			t.Errorf("%s: navigation links off screen or clipped: %q", path, m.Clipped)
		}
	}
}

// adminPages is every GET page under /admin from the app's route table
// (the setup page apart), with :id filled in from ids by the section it
// names, or from the section's first row in the database: a page added
// later is checked without being listed here.
func adminPages(t *testing.T, env *testEnv, ids map[string]uint) []string {
	t.Helper()
	tables := map[string]any{"clients": &models.Client{}, "users": &models.User{}, "scopes": &models.CustomScope{},
		"consents": &models.UserConsent{}, "tokens": &models.Token{}, "codes": &models.Code{}, "keys": &models.SigningKey{}}
	var pages []string
	for _, r := range env.app.Routes() {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.Path, "/admin") || r.Path == "/admin/setup" {
			continue
		}
		path := r.Path
		if strings.Contains(path, ":id") {
			section := strings.Split(path, "/")[2]
			id, ok := ids[section]
			if !ok {
				model, known := tables[section]
				if !known {
					t.Fatalf("%s: no rows to open it with; add its section to adminPages", path)
				}
				if err := testDB(t).Model(model).Order("id").Limit(1).Pluck("id", &id).Error; err != nil || id == 0 {
					t.Fatalf("%s: no %s row to open it with (%v)", path, section, err)
				}
			}
			path = strings.Replace(path, ":id", fmt.Sprint(id), 1)
		}
		if strings.Contains(path, ":") {
			t.Fatalf("%s: a parameter adminPages does not fill", path)
		}
		pages = append(pages, path)
	}
	slices.Sort(pages)
	pages = slices.Compact(pages)
	t.Logf("%d admin pages: %s", len(pages), strings.Join(pages, " "))
	if len(pages) < 21 {
		t.Fatalf("only %d admin pages in the route table: %v", len(pages), pages)
	}
	return pages
}
