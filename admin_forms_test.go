package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"oidcd/models"
)

// The long admin forms come in sections (issue 11, as Django's
// fieldsets): these tests read the pages as HTML and check that the
// sections come in order, that each field sits in its own section and
// none outside one, and that a form sent back as a browser sends it
// saves every field.

// formPage is an admin page parsed.
type formPage struct {
	t   *testing.T
	doc *html.Node
}

func parseFormPage(t *testing.T, p page, path string) formPage {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200:\n%.800s", path, p.status, p.body)
	}
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatalf("GET %s: parse: %v", path, err)
	}
	return formPage{t: t, doc: doc}
}

// sections are the page's sections (elements with data-section), in
// document order.
func (fp formPage) sections() []string {
	var ids []string
	for n := range fp.doc.Descendants() {
		if id, ok := a11yAttr(n, "data-section"); ok && n.Type == html.ElementNode {
			ids = append(ids, id)
		}
	}
	return ids
}

// sectionOf is the data-section of n's nearest section ancestor, or "".
func sectionOf(n *html.Node) string {
	for p := n.Parent; p != nil; p = p.Parent {
		if id, ok := a11yAttr(p, "data-section"); ok && p.Type == html.ElementNode {
			return id
		}
	}
	return ""
}

// byAttr is the one element whose attribute key is val.
func (fp formPage) byAttr(key, val string) *html.Node {
	fp.t.Helper()
	var found []*html.Node
	for n := range fp.doc.Descendants() {
		if v, ok := a11yAttr(n, key); ok && v == val && n.Type == html.ElementNode {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		fp.t.Fatalf("%d elements with %s=%q, want 1", len(found), key, val)
	}
	return found[0]
}

// controls are the named form controls inside root, hidden ones left out,
// by name: the sections each name's controls sit in.
func controls(root *html.Node) map[string][]string {
	in := map[string][]string{}
	for n := range root.Descendants() {
		if n.Type != html.ElementNode || (n.Data != "input" && n.Data != "select" && n.Data != "textarea") {
			continue
		}
		name := a11yValue(n, "name")
		if name == "" || a11yValue(n, "type") == "hidden" {
			continue
		}
		if s := sectionOf(n); !slices.Contains(in[name], s) {
			in[name] = append(in[name], s)
		}
	}
	return in
}

// wantControlsIn checks that the controls inside root are exactly those
// of want, each in its own section only.
func wantControlsIn(t *testing.T, what string, root *html.Node, want map[string]string) {
	t.Helper()
	got := controls(root)
	for name, sections := range got {
		if w, ok := want[name]; !ok {
			t.Errorf("%s: field %s in sections %q is in no section the test knows", what, name, sections)
		} else if !slices.Equal(sections, []string{w}) {
			t.Errorf("%s: field %s in sections %q, want only in %q", what, name, sections, w)
		}
	}
	for name, w := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: no field %s (want it in %s)", what, name, w)
		}
	}
}

// wantSectionLinks checks the links at the top of the page name the
// sections, in order, by their element ids.
func (fp formPage) wantSectionLinks(want []string) {
	fp.t.Helper()
	nav := fp.byAttr("data-testid", "section-nav")
	var got []string
	for n := range nav.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			href := a11yValue(n, "href")
			target := fp.byAttr("id", strings.TrimPrefix(href, "#"))
			got = append(got, a11yValue(target, "data-section"))
		}
	}
	if !slices.Equal(got, want) {
		fp.t.Errorf("section links lead to %q, want %q", got, want)
	}
}

// userFormWant is where the user edit form's fields belong: each claim in
// the section the claims table names.
func userFormWant() map[string]string {
	want := map[string]string{"attributes": "attributes"}
	for _, f := range models.ClaimFields {
		want[f.Form] = string(f.Section)
	}
	return want
}

// TestAdminUserEditSections: the user page is Account, Profile, Contact,
// Address, Attributes, then Security & sessions, which holds the password
// form, the session and account actions (posting where they always did)
// and the last login.
func TestAdminUserEditSections(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	fp := parseFormPage(t, b.get(path), path)

	wantOrder := []string{"account", "profile", "contact", "address", "attributes", "security"}
	if got := fp.sections(); !slices.Equal(got, wantOrder) {
		t.Errorf("sections %q, want %q", got, wantOrder)
	}
	fp.wantSectionLinks(wantOrder)
	wantControlsIn(t, "claims form", fp.byAttr("data-testid", "user-form"), userFormWant())
	wantControlsIn(t, "password form", fp.byAttr("data-testid", "password-form"),
		map[string]string{"password": "security", "password_confirm": "security"})

	for testid, want := range map[string]string{
		"user-tokens": "account", "user-consents": "account",
		"user-last-login": "security", "set-password": "security", "end-user-sessions": "security",
		"deactivate-user": "security", "delete-user": "security",
	} {
		if got := sectionOf(fp.byAttr("data-testid", testid)); got != want {
			t.Errorf("%s in section %q, want %q", testid, got, want)
		}
	}
	// The security forms post where they did before the page had sections.
	var actions []string
	for n := range fp.byAttr("data-section", "security").Descendants() {
		if n.Type == html.ElementNode && n.Data == "form" {
			actions = append(actions, a11yValue(n, "action"))
		}
	}
	if want := []string{path + "/password", path + "/sessions/end", path + "/deactivate"}; !slices.Equal(actions, want) {
		t.Errorf("security forms post to %q, want %q", actions, want)
	}
}

// TestAdminNewUserSections: the new-user form is Account, Profile and
// Contact, and every field sits in one of them.
func TestAdminNewUserSections(t *testing.T) {
	t.Parallel()
	b := newTestEnv(t).signInAdmin()
	fp := parseFormPage(t, b.get("/admin/users/new"), "/admin/users/new")
	if got, want := fp.sections(), []string{"account", "profile", "contact"}; !slices.Equal(got, want) {
		t.Errorf("sections %q, want %q", got, want)
	}
	wantControlsIn(t, "new user form", fp.byAttr("data-testid", "user-form"), map[string]string{
		"username": "account", "password": "account", "password_confirm": "account", "active": "account", "superuser": "account",
		"given_name": "profile", "family_name": "profile", "name": "profile",
		"email": "contact", "email_verified": "contact",
	})
}

// clientFormWant is where the client form's fields belong.
var clientFormWant = map[string]string{
	"name": "basics", "client_type": "basics",
	"redirect_uris": "redirects", "post_logout_redirect_uris": "redirects",
	"backchannel_logout_uri": "redirects", "backchannel_logout_session_required": "redirects",
	"response_types": "grants", "grant_types": "grants", "scopes": "grants", "jwt_alg": "grants",
	"require_consent": "grants", "reuse_consent": "grants",
	"website_url": "branding", "terms_url": "branding", "contact_email": "branding", "logo": "branding", "remove_logo": "branding",
}

// TestAdminClientFormSections: the client form, new and edited, is
// Basics, Redirects and logout, Grants and tokens, and Branding, and every
// field sits in its own.
func TestAdminClientFormSections(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	cl, _ := env.createClient(models.ClientConfidential, []string{rpRedirect}, func(c *models.Client) { c.Logo = "/logo/x.png" })
	edit := fmt.Sprintf("/admin/clients/%d/edit", cl.ID)
	for _, tc := range []struct {
		path string
		omit []string // fields the page has no reason to show
	}{
		{"/admin/clients/new", []string{"remove_logo"}},
		{edit, []string{"client_type"}}, // the type is chosen once
	} {
		t.Run(tc.path, func(t *testing.T) {
			fp := parseFormPage(t, b.get(tc.path), tc.path)
			wantOrder := []string{"basics", "redirects", "grants", "branding"}
			if got := fp.sections(); !slices.Equal(got, wantOrder) {
				t.Errorf("sections %q, want %q", got, wantOrder)
			}
			fp.wantSectionLinks(wantOrder)
			want := map[string]string{}
			for k, v := range clientFormWant {
				if !slices.Contains(tc.omit, k) {
					want[k] = v
				}
			}
			wantControlsIn(t, "client form", fp.byAttr("data-testid", "client-form"), want)
		})
	}
}

// formValues is what a browser sends for the form: the successful
// controls (HTML §4.10.21.4) and their values.
func formValues(form *html.Node) url.Values {
	v := url.Values{}
	for n := range form.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		name := a11yValue(n, "name")
		if name == "" {
			continue
		}
		if _, disabled := a11yAttr(n, "disabled"); disabled {
			continue
		}
		switch n.Data {
		case "input":
			switch a11yValue(n, "type") {
			case "checkbox", "radio":
				if _, on := a11yAttr(n, "checked"); on {
					val, ok := a11yAttr(n, "value")
					if !ok {
						val = "on"
					}
					v.Add(name, val)
				}
			case "file", "submit", "button", "reset", "image":
			default:
				v.Add(name, a11yValue(n, "value"))
			}
		case "textarea":
			var text strings.Builder
			for c := range n.Descendants() {
				if c.Type == html.TextNode {
					text.WriteString(c.Data)
				}
			}
			v.Add(name, text.String())
		case "select":
			var first, chosen *html.Node
			for o := range n.Descendants() {
				if o.Type != html.ElementNode || o.Data != "option" {
					continue
				}
				if first == nil {
					first = o
				}
				if _, sel := a11yAttr(o, "selected"); sel && chosen == nil {
					chosen = o
				}
			}
			if chosen == nil {
				chosen = first
			}
			if chosen != nil {
				v.Add(name, a11yValue(chosen, "value"))
			}
		}
	}
	return v
}

// claimSample is a valid value of a claim, its own for each field.
func claimSample(f models.ClaimField) string {
	switch f.Kind {
	case models.ClaimBool:
		return "on"
	case models.ClaimEmail:
		return f.Form + "@example.org"
	case models.ClaimURL:
		return "https://example.org/" + f.Form
	case models.ClaimPhone:
		return "+31 71 555 0100"
	case models.ClaimDate:
		return "1852-05-04"
	case models.ClaimLocale:
		return "en-GB"
	case models.ClaimZoneinfo:
		return "Europe/London"
	}
	return "v " + f.Form
}

// TestAdminUserFormRoundTrip fills every claim in the sectioned form as a
// browser would send it, and reads each back from the store and from the
// form shown again.
func TestAdminUserFormRoundTrip(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	fp := parseFormPage(t, b.get(path), path)
	form := formValues(fp.byAttr("data-testid", "user-form"))
	if form.Get("_csrf") == "" {
		t.Fatal("the claims form sends no CSRF token")
	}
	for _, f := range models.ClaimFields {
		form.Set(f.Form, claimSample(f))
	}
	form.Set("attributes", "department = Research")
	wantLanded(t, b.post(path, form), path, "success")

	u, err := r.env.store.UserByID(context.Background(), r.user.ID)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	again := formValues(parseFormPage(t, b.get(path), path).byAttr("data-testid", "user-form"))
	for _, f := range models.ClaimFields {
		want := claimSample(f)
		stored := f.Get(u)
		if f.Kind == models.ClaimBool {
			want = "true"
		}
		if stored != want {
			t.Errorf("%s: stored %q, want %q", f.Form, stored, want)
		}
		if got := again.Get(f.Form); got != claimSample(f) {
			t.Errorf("%s: shown again as %q, want %q", f.Form, got, claimSample(f))
		}
	}
	if got := u.Attributes["department"]; got != "Research" {
		t.Errorf("attribute department = %v, want Research", got)
	}

	// The form sent back untouched changes nothing.
	before := *u
	wantLanded(t, b.post(path, again), path, "success")
	after, err := r.env.store.UserByID(context.Background(), r.user.ID)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	for _, f := range models.ClaimFields {
		if f.Get(after) != f.Get(&before) {
			t.Errorf("%s: %q after an untouched save, want %q", f.Form, f.Get(after), f.Get(&before))
		}
	}
	if !after.ProfileUpdatedAt.Equal(before.ProfileUpdatedAt) {
		t.Errorf("updated_at moved from %v to %v on an untouched save", before.ProfileUpdatedAt, after.ProfileUpdatedAt)
	}
}

// TestAdminClientFormRoundTrip sends the sectioned client form back
// untouched, as a browser would: every field keeps its value.
func TestAdminClientFormRoundTrip(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	cl, _ := env.createClient(models.ClientConfidential, []string{rpRedirect, "http://127.0.0.1/rp/cb2"}, func(c *models.Client) {
		c.Name = "Round trip RP"
		c.ResponseTypes = []string{"code", "code id_token"}
		c.GrantTypes = []string{"authorization_code", "client_credentials"}
		c.PostLogoutRedirectURIs = []string{"http://127.0.0.1/rp/bye"}
		c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = "http://127.0.0.1/rp/bc", true
		c.Scopes = []string{"openid", "email"}
		c.JWTAlg = "ES256"
		c.RequireConsent, c.ReuseConsent = true, false
		c.WebsiteURL, c.TermsURL, c.ContactEmail = "https://rp.example/", "https://rp.example/terms", "ops@rp.example"
	})
	edit := fmt.Sprintf("/admin/clients/%d/edit", cl.ID)
	form := formValues(parseFormPage(t, b.get(edit), edit).byAttr("data-testid", "client-form"))
	p := b.postMultipart(fmt.Sprintf("/admin/clients/%d", cl.ID), form, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("save: %d, want the client page with a success flash:\n%.800s", p.status, p.body)
	}
	got, err := env.store.ClientByID(context.Background(), cl.ID)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"Name", got.Name, cl.Name},
		{"ClientType", got.ClientType, cl.ClientType},
		{"ResponseTypes", got.ResponseTypes, cl.ResponseTypes},
		{"GrantTypes", got.GrantTypes, cl.GrantTypes},
		{"RedirectURIs", got.RedirectURIs, cl.RedirectURIs},
		{"PostLogoutRedirectURIs", got.PostLogoutRedirectURIs, cl.PostLogoutRedirectURIs},
		{"BackchannelLogoutURI", got.BackchannelLogoutURI, cl.BackchannelLogoutURI},
		{"BackchannelLogoutSessionRequired", got.BackchannelLogoutSessionRequired, true},
		{"Scopes", got.Scopes, cl.Scopes},
		{"JWTAlg", got.JWTAlg, cl.JWTAlg},
		{"RequireConsent", got.RequireConsent, true},
		{"ReuseConsent", got.ReuseConsent, false},
		{"WebsiteURL", got.WebsiteURL, cl.WebsiteURL},
		{"TermsURL", got.TermsURL, cl.TermsURL},
		{"ContactEmail", got.ContactEmail, cl.ContactEmail},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v after an untouched save, want %#v", c.field, c.got, c.want)
		}
	}
}
