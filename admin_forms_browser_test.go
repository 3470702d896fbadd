package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oidcd/models"
)

// sectionBox is where a form section is drawn.
type sectionBox struct {
	ID                       string
	Left, Right, Top, Bottom float64
}

// readSections reads the boxes of the page's sections, in document order.
func readSections(c *chrome) []sectionBox {
	return chromeRead(c, "read the sections", chromedp.Evaluate[[]sectionBox](`Array.from(document.querySelectorAll('[data-section]')).map(s => {
		const r = s.getBoundingClientRect();
		return {ID: s.dataset.section, Left: r.left, Right: r.right, Top: r.top + scrollY, Bottom: r.bottom + scrollY};
	})`))
}

// columns counts the distinct left edges of the sections.
func columns(boxes []sectionBox) int {
	var lefts []int
	for _, b := range boxes {
		if l := int(b.Left); !slices.Contains(lefts, l) {
			lefts = append(lefts, l)
		}
	}
	return len(lefts)
}

// TestBrowserAdminFormSections: on a 1280 px screen the user page's
// sections sit in two columns and the page is far shorter than the one
// column of every claim it was (3,175 px tall at 1280 × 900 before
// sections); on a phone they stack in one column inside the screen; the
// section links jump to their section. The client and new-user forms get
// two columns too.
func TestBrowserAdminFormSections(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	env := newTestEnv(t)
	env.createUser("root", "admin password 1", func(u *models.User) { u.Superuser = true })
	alice := env.createUser("alice", "alice password 1", func(u *models.User) {
		u.Name, u.GivenName, u.FamilyName = "Alice Liddell", "Alice", "Liddell"
		u.Email, u.EmailVerified, u.PhoneNumber = "alice@example.org", true, "+31 71 555 0100"
		u.AddressLocality, u.AddressCountry = "Oxford", "GB"
	})
	cl, _ := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/rp/cb"})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newChrome(t, ctx, exe)

	userPage := fmt.Sprintf("%s/admin/users/%d", env.issuer, alice.ID)
	c.do("sign in and open a user",
		chromedp.Navigate(userPage),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), "root"),
		chromedp.SendKeys(byTestID("password"), "admin password 1"),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("user-form")),
		screenshot(t, "admin-user-form"),
	)
	width := chromeRead(c, "read the viewport width", chromedp.Evaluate[int](`document.documentElement.clientWidth`))
	height := chromeRead(c, "measure the page", chromedp.Evaluate[int](`document.documentElement.scrollHeight`))
	t.Logf("user page at %d px wide: %d px tall", width, height)
	// 3,175 px before the sections; about 2,000 with them. The bound
	// leaves room for other changes to the page, not for one column.
	if height > 2400 {
		t.Errorf("user page is %d px tall at %d px wide, want at most 2400", height, width)
	}
	boxes := readSections(c)
	var ids []string
	for _, b := range boxes {
		ids = append(ids, b.ID)
	}
	if want := []string{"account", "profile", "contact", "address", "attributes", "security"}; !slices.Equal(ids, want) {
		t.Fatalf("sections %q, want %q", ids, want)
	}
	if n := columns(boxes); n != 2 {
		t.Errorf("user sections in %d columns at %d px, want 2: %+v", n, width, boxes)
	}

	c.do("follow the link to Address",
		chromedp.Click(`[data-testid="section-nav"] a[href="#section-address"]`))
	chromeRead(c, "wait for Address at the top",
		chromedp.Poll[bool](`Math.abs(document.getElementById('section-address').getBoundingClientRect().top) < 40`))

	c.do("the same page on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(userPage),
		chromedp.WaitVisible(byTestID("user-form")),
		screenshot(t, "admin-user-form-phone"),
	)
	boxes = readSections(c)
	phoneWidth := chromeRead(c, "read the phone width", chromedp.Evaluate[float64](`document.documentElement.clientWidth`))
	if n := columns(boxes); n != 1 {
		t.Errorf("user sections in %d columns on a phone, want 1: %+v", n, boxes)
	}
	for _, b := range boxes {
		if b.Left < 0 || b.Right > phoneWidth {
			t.Errorf("section %s spans %.0f–%.0f px, want inside the %.0f px screen", b.ID, b.Left, b.Right, phoneWidth)
		}
	}

	c.do("the client form",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(fmt.Sprintf("%s/admin/clients/%d/edit", env.issuer, cl.ID)),
		chromedp.WaitVisible(byTestID("client-form")),
		screenshot(t, "admin-client-form-sections"),
	)
	boxes = readSections(c)
	ids = ids[:0]
	for _, b := range boxes {
		ids = append(ids, b.ID)
	}
	if want := []string{"basics", "redirects", "grants", "branding"}; !slices.Equal(ids, want) {
		t.Errorf("client sections %q, want %q", ids, want)
	}
	if n := columns(boxes); n != 2 {
		t.Errorf("client sections in %d columns, want 2: %+v", n, boxes)
	}

	c.do("the new-user form",
		chromedp.Navigate(env.issuer+"/admin/users/new"),
		chromedp.WaitVisible(byTestID("user-form")),
		screenshot(t, "admin-new-user-form"),
	)
	if n := columns(readSections(c)); n != 2 {
		t.Errorf("new-user sections in %d columns, want 2", n)
	}
	c.wantNoDialogs()
}
