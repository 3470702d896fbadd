package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"oidcd/models"
)

// Issue 11 point 1: every action that cannot be undone asks first, on a
// page of its own that works without JavaScript, says what the action
// takes with it (with counts from the database), and acts only when its
// danger button is pressed; Cancel, a secondary link, goes back with
// nothing changed.

// confirmFixture is alice holding what the confirmations count: with the
// client "Wiki" (confidential, with a back-channel logout URI), 2 token
// pairs and 1 consent from 2 sign-ins, and 1 unused code from a third,
// so 3 browser sessions; a second RS256 key signs beside the first, so
// one of them may be retired; an admin signed in over HTTP.
type confirmFixture struct {
	*rig
	client *models.Client
	admin  *browser
	// aliceBrowser is signed in as alice (the session of the unused code).
	aliceBrowser *browser
}

func newConfirmFixture(t *testing.T) *confirmFixture {
	t.Helper()
	r := newRig(t)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(rp.Close)
	client, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.Name, c.BackchannelLogoutURI = "Wiki", rp.URL+"/backchannel"
	})
	r.keep(secret)
	for range 2 {
		tok := r.tokens(r.env.browser(), client, secret, nil)
		if _, ok := tok["refresh_token"].(string); !ok {
			t.Fatalf("no refresh token in %v", tok)
		}
		r.keep(tok["access_token"].(string), tok["refresh_token"].(string))
	}
	alice := r.env.browser()
	r.keep(r.codeFor(alice, client, nil))
	k, err := newSigningKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	k.ActivatesAt = r.env.clock.Now()
	if err := r.env.store.AddSigningKey(context.Background(), &k); err != nil {
		t.Fatalf("add key: %v", err)
	}
	admin, _ := signInAdmin(r)
	return &confirmFixture{rig: r, client: client, admin: admin, aliceBrowser: alice}
}

// confirmState is what the destructive actions change, read from the
// database: a confirmation page must leave all of it as it was.
func confirmState(t testing.TB) map[string]string {
	t.Helper()
	db := testDB(t)
	counts := map[string]struct {
		model any
		where string
	}{
		"unrevoked tokens":   {&models.Token{}, "revoked_at IS NULL"},
		"consents":           {&models.UserConsent{}, "1 = 1"},
		"codes":              {&models.Code{}, "1 = 1"},
		"sessions":           {&models.Session{}, "1 = 1"},
		"retired keys":       {&models.SigningKey{}, "retired_at IS NOT NULL"},
		"keys":               {&models.SigningKey{}, "1 = 1"},
		"active users":       {&models.User{}, "active = ?"},
		"users":              {&models.User{}, "1 = 1"},
		"clients":            {&models.Client{}, "1 = 1"},
		"logout deliveries":  {&models.LogoutDelivery{}, "1 = 1"},
		"audit events":       {&models.Event{}, "1 = 1"},
		"session clients":    {&models.SessionClient{}, "1 = 1"},
		"custom scopes":      {&models.CustomScope{}, "1 = 1"},
		"unrevoked by alice": {&models.Token{}, "revoked_at IS NULL AND user_id IS NOT NULL"},
	}
	out := map[string]string{}
	for name, c := range counts {
		var n int64
		q := db.Model(c.model)
		if name == "active users" {
			q = q.Where(c.where, true)
		} else {
			q = q.Where(c.where)
		}
		if err := q.Count(&n).Error; err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		out[name] = fmt.Sprint(n)
	}
	var hashes []string
	if err := db.Model(&models.Client{}).Order("id").Pluck("secret_hash", &hashes).Error; err != nil {
		t.Fatalf("client secrets: %v", err)
	}
	out["client secret hashes"] = strings.Join(hashes, ",")
	return out
}

// wantSameState fails when the database moved since before.
func wantSameState(t testing.TB, before map[string]string, after string) {
	t.Helper()
	now := confirmState(t)
	for k, v := range before {
		if now[k] != v {
			t.Errorf("%s: %s = %s, want %s as before (nothing changed)", after, k, now[k], v)
		}
	}
}

// confirmPage is what a confirmation page offers, read from its markup.
type confirmPage struct {
	heading, body string
	action        string     // the form's action ("" without a form)
	method        string     // the form's method
	fields        url.Values // the form's fields, _csrf among them
	cancel        string     // Cancel's href
	cancelClass   string
	buttonClass   string
}

// readConfirmPage parses a confirmation page.
func readConfirmPage(t *testing.T, body string) confirmPage {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cp := confirmPage{fields: url.Values{}}
	var inForm func(*html.Node) bool
	inForm = func(n *html.Node) bool {
		for p := n.Parent; p != nil; p = p.Parent {
			if p.Type == html.ElementNode && p.Data == "form" && a11yValue(p, "data-testid") == "confirm-form" {
				return true
			}
		}
		return false
	}
	var text strings.Builder
	for n := range doc.Descendants() {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
			continue
		}
		if n.Type != html.ElementNode {
			continue
		}
		switch a11yValue(n, "data-testid") {
		case "confirm-title":
			if n.FirstChild != nil {
				cp.heading = n.FirstChild.Data
			}
		case "confirm-form":
			cp.action, cp.method = a11yValue(n, "action"), a11yValue(n, "method")
		case "confirm-cancel":
			cp.cancel, cp.cancelClass = a11yValue(n, "href"), a11yValue(n, "class")
		case "confirm-submit":
			cp.buttonClass = a11yValue(n, "class")
		}
		if n.Data == "input" && inForm(n) {
			cp.fields.Add(a11yValue(n, "name"), a11yValue(n, "value"))
		}
	}
	cp.body = text.String()
	return cp
}

// TestAdminConfirmPages: each confirmation (GET on the action's path)
// shows what the action takes with it, counted in the database, with a
// form posting to the action with the CSRF token, a danger button and a
// secondary Cancel back where the admin came from; the GET changes
// nothing, passes the admin pages' accessibility checks, and posting its
// form does the action.
func TestAdminConfirmPages(t *testing.T) {
	t.Parallel()
	type row struct {
		// path is the confirmation; action, where its form posts.
		path, action string
		wantHeading  string
		want         []string // in the page's text
		wantCancel   string
		// flash is the flash the landing page shows (flash-success when
		// empty); done checks, after the form was posted, that the action
		// was done.
		flash string
		done  func(t *testing.T, f *confirmFixture)
	}
	alice := func(f *confirmFixture) uint { return f.user.ID }
	rows := []struct {
		name string
		mk   func(t *testing.T, f *confirmFixture) row
	}{
		{"rotate secret", func(t *testing.T, f *confirmFixture) row {
			p := fmt.Sprintf("/admin/clients/%d/secret", f.client.ID)
			return row{path: p, action: p,
				wantHeading: "Rotate the secret of client “Wiki”?",
				want: []string{"the current one stops working at once", "2 access tokens, which stay valid until they expire",
					"2 refresh tokens, usable again with the new secret", "1 unused authorization code, to be exchanged with the new secret", "1 consent"},
				wantCancel: fmt.Sprintf("/admin/clients/%d", f.client.ID), flash: "flash-secret",
				done: func(t *testing.T, f *confirmFixture) {
					cl, err := f.env.store.ClientByID(context.Background(), f.client.ID)
					if err != nil || cl.SecretHash == f.client.SecretHash {
						t.Errorf("secret after the rotation: %v, hash unchanged %v; want a new one", err, err == nil && cl.SecretHash == f.client.SecretHash)
					}
				}}
		}},
		{"revoke all tokens of a client", func(t *testing.T, f *confirmFixture) row {
			return row{path: fmt.Sprintf("/admin/tokens/revoke?client=%d", f.client.ID), action: "/admin/tokens/revoke",
				wantHeading: "Revoke every token of client “Wiki”?",
				want: []string{"2 access tokens, which stop working at once", "2 refresh tokens, which can no longer be used",
					"1 consent: its client can get new tokens without asking again", "1 unused authorization code, which can still be exchanged"},
				wantCancel: fmt.Sprintf("/admin/tokens?client=%d", f.client.ID),
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Token{}, "client_id = ? AND revoked_at IS NULL", f.client.ID); n != 0 {
						t.Errorf("%d tokens of the client left unrevoked, want 0", n)
					}
				}}
		}},
		{"revoke all tokens of a user and client", func(t *testing.T, f *confirmFixture) row {
			q := url.Values{"user": {fmt.Sprint(alice(f))}, "client": {fmt.Sprint(f.client.ID)}}
			return row{path: "/admin/tokens/revoke?" + q.Encode(), action: "/admin/tokens/revoke",
				wantHeading: "Revoke every token of user “alice” and client “Wiki”?",
				want:        []string{"2 access tokens", "2 refresh tokens", "3 browser sessions of the user: they stay signed in"},
				wantCancel:  "/admin/tokens?" + q.Encode(),
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Token{}, "user_id = ? AND revoked_at IS NULL", alice(f)); n != 0 {
						t.Errorf("%d tokens of alice left unrevoked, want 0", n)
					}
				}}
		}},
		{"revoke one token", func(t *testing.T, f *confirmFixture) row {
			id := firstID(t, &models.Token{}, "user_id = ?", alice(f))
			back := fmt.Sprintf("/admin/tokens?user=%d", alice(f))
			return row{path: fmt.Sprintf("/admin/tokens/%d/revoke?back=%s", id, url.QueryEscape(back)),
				action: fmt.Sprintf("/admin/tokens/%d/revoke", id), wantHeading: "Revoke this token?",
				want:       []string{"The token of user alice issued to client “Wiki”", "Its access token, valid until", "Its refresh token, valid until"},
				wantCancel: back,
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Token{}, "id = ? AND revoked_at IS NULL", id); n != 0 {
						t.Errorf("token %d still unrevoked", id)
					}
					if n := countRows(t, &models.Token{}, "user_id = ? AND revoked_at IS NULL", alice(f)); n != 1 {
						t.Errorf("%d other tokens of alice unrevoked, want 1 (only the one revoked)", n)
					}
				}}
		}},
		{"revoke one token, foreign back", func(t *testing.T, f *confirmFixture) row {
			// A Cancel that would leave the site goes to the list instead.
			id := firstID(t, &models.Token{}, "user_id = ?", alice(f))
			return row{path: fmt.Sprintf("/admin/tokens/%d/revoke?back=%s", id, url.QueryEscape("//evil.example/admin/tokens")),
				action: fmt.Sprintf("/admin/tokens/%d/revoke", id), wantHeading: "Revoke this token?", wantCancel: "/admin/tokens",
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Token{}, "id = ? AND revoked_at IS NULL", id); n != 0 {
						t.Errorf("token %d still unrevoked", id)
					}
				}}
		}},
		{"revoke consent", func(t *testing.T, f *confirmFixture) row {
			id := firstID(t, &models.UserConsent{}, "user_id = ?", alice(f))
			return row{path: fmt.Sprintf("/admin/consents/%d/revoke?back=%s", id, url.QueryEscape("/admin/consents?user="+fmt.Sprint(alice(f)))),
				action: fmt.Sprintf("/admin/consents/%d/revoke", id), wantHeading: "Revoke the consent of “alice” to “Wiki”?",
				want: []string{"2 access tokens the client holds for the user", "2 refresh tokens the client holds for the user",
					"1 unused authorization code, which is voided", "it is sent a back-channel logout token", "3 browser sessions of the user: they stay signed in"},
				wantCancel: fmt.Sprintf("/admin/consents?user=%d", alice(f)),
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.UserConsent{}, "id = ?", id); n != 0 {
						t.Errorf("the consent is still there")
					}
					if n := countRows(t, &models.Token{}, "user_id = ? AND revoked_at IS NULL", alice(f)); n != 0 {
						t.Errorf("%d tokens of alice left with the consent gone, want 0", n)
					}
				}}
		}},
		{"delete unused code", func(t *testing.T, f *confirmFixture) row {
			id := firstID(t, &models.Code{}, "used_at IS NULL")
			return row{path: fmt.Sprintf("/admin/codes/%d/delete", id), action: fmt.Sprintf("/admin/codes/%d/delete", id),
				wantHeading: "Delete this authorization code?",
				want:        []string{"can no longer be exchanged for tokens", "0 tokens already issued from it, which stay valid"},
				wantCancel:  "/admin/codes",
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Code{}, "id = ?", id); n != 0 {
						t.Errorf("the code is still there")
					}
				}}
		}},
		{"delete used code", func(t *testing.T, f *confirmFixture) row {
			id := firstID(t, &models.Code{}, "used_at IS NOT NULL")
			return row{path: fmt.Sprintf("/admin/codes/%d/delete", id), action: fmt.Sprintf("/admin/codes/%d/delete", id),
				wantHeading: "Delete this authorization code?",
				want:        []string{"was exchanged", "refused without revoking the tokens issued from it", "1 token already issued from it, which stays valid"},
				wantCancel:  "/admin/codes",
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Code{}, "id = ?", id); n != 0 {
						t.Errorf("the code is still there")
					}
				}}
		}},
		{"retire key", func(t *testing.T, f *confirmFixture) row {
			id := firstID(t, &models.SigningKey{}, "retired_at IS NULL")
			return row{path: fmt.Sprintf("/admin/keys/%d/retire", id), action: fmt.Sprintf("/admin/keys/%d/retire", id),
				want:       []string{"The key stops signing now", "It stays published in /jwks for"},
				wantCancel: "/admin/keys",
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.SigningKey{}, "id = ? AND retired_at IS NOT NULL", id); n != 1 {
						t.Errorf("key %d not retired", id)
					}
				}}
		}},
		{"deactivate user", func(t *testing.T, f *confirmFixture) row {
			p := fmt.Sprintf("/admin/users/%d/deactivate", alice(f))
			return row{path: p, action: p, wantHeading: "Deactivate user “alice”?",
				want: []string{"3 browser sessions, which end", "1 client, sent a back-channel logout token", "2 access tokens, which stop working at once",
					"2 refresh tokens, which can no longer be used", "1 unused authorization code, which is voided", "1 consent, kept for when they are reactivated"},
				wantCancel: fmt.Sprintf("/admin/users/%d", alice(f)),
				done: func(t *testing.T, f *confirmFixture) {
					u, err := f.env.store.UserByID(context.Background(), alice(f))
					if err != nil || u.Active {
						t.Errorf("alice after deactivation: %v, active %v", err, err == nil && u.Active)
					}
					if n := countRows(t, &models.Session{}, "user_id = ?", alice(f)); n != 0 {
						t.Errorf("%d sessions of alice left, want 0", n)
					}
				}}
		}},
		{"end user sessions", func(t *testing.T, f *confirmFixture) row {
			p := fmt.Sprintf("/admin/users/%d/sessions/end", alice(f))
			return row{path: p, action: p, wantHeading: "Sign “alice” out everywhere?",
				want: []string{"3 browser sessions, which end", "1 client, sent a back-channel logout token",
					"2 access tokens, which stay valid", "2 refresh tokens, which stay usable"},
				wantCancel: fmt.Sprintf("/admin/users/%d", alice(f)),
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Session{}, "user_id = ?", alice(f)); n != 0 {
						t.Errorf("%d sessions of alice left, want 0", n)
					}
					if n := countRows(t, &models.Token{}, "user_id = ? AND revoked_at IS NULL", alice(f)); n != 2 {
						t.Errorf("%d tokens of alice unrevoked, want 2 (ending sessions leaves tokens)", n)
					}
				}}
		}},
		{"delete client", func(t *testing.T, f *confirmFixture) row {
			p := fmt.Sprintf("/admin/clients/%d/delete", f.client.ID)
			return row{path: p, action: p, wantHeading: "Delete client “Wiki”?",
				want:       []string{"3 authorization codes", "2 tokens, which stop working at once", "1 consent"},
				wantCancel: fmt.Sprintf("/admin/clients/%d", f.client.ID),
				done: func(t *testing.T, f *confirmFixture) {
					if n := countRows(t, &models.Client{}, "id = ?", f.client.ID); n != 0 {
						t.Errorf("the client is still there")
					}
				}}
		}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			f := newConfirmFixture(t)
			tc := r.mk(t, f)
			before := confirmState(t)
			p := f.admin.get(tc.path)
			if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="confirm-page"`) {
				t.Fatalf("GET %s: %d at %s, want the confirmation page:\n%.1500s", tc.path, p.status, p.url, p.body)
			}
			wantSameState(t, before, "after GET "+tc.path)
			cp := readConfirmPage(t, p.body)
			if tc.wantHeading != "" && cp.heading != tc.wantHeading {
				t.Errorf("heading = %q, want %q", cp.heading, tc.wantHeading)
			}
			for _, w := range tc.want {
				if !strings.Contains(cp.body, w) {
					t.Errorf("the page does not say %q:\n%s", w, cp.body)
				}
			}
			if cp.method != "post" || cp.action != tc.action || cp.fields.Get("_csrf") == "" {
				t.Errorf("form: %s %q with _csrf %q, want post %q with the CSRF token", cp.method, cp.action, cp.fields.Get("_csrf"), tc.action)
			}
			if cp.cancel != tc.wantCancel || strings.Contains(cp.cancelClass, "button") {
				t.Errorf("Cancel: href %q class %q, want %q, a secondary link (not a button)", cp.cancel, cp.cancelClass, tc.wantCancel)
			}
			if cp.buttonClass != "danger" {
				t.Errorf("the button's class = %q, want danger", cp.buttonClass)
			}
			doc, err := html.Parse(strings.NewReader(p.body))
			if err != nil {
				t.Fatal(err)
			}
			for _, problem := range a11yProblems(doc, nil) {
				t.Error(problem)
			}
			// Without the CSRF token the form does nothing.
			forged := url.Values{}
			for k, v := range cp.fields {
				forged[k] = v
			}
			forged.Set("_csrf", "forged")
			if q := f.admin.post(tc.action, forged); q.status != http.StatusForbidden {
				t.Errorf("POST %s with a forged token: %d, want 403", tc.action, q.status)
			}
			wantSameState(t, before, "after a forged POST")

			if tc.flash == "" {
				tc.flash = "flash-success"
			}
			q := f.admin.post(tc.action, cp.fields)
			if q.status != http.StatusOK || !strings.Contains(q.body, `data-testid="`+tc.flash+`"`) {
				t.Fatalf("POST %s: %d at %s, want a page with a success flash:\n%.1500s", tc.action, q.status, q.url, q.body)
			}
			tc.done(t, f)
		})
	}
}

// firstID is the lowest id of model's rows matching where.
func firstID(t *testing.T, model any, where string, args ...any) uint {
	t.Helper()
	var ids []uint
	if err := testDB(t).Model(model).Where(where, args...).Order("id").Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		t.Fatalf("no row of %T where %s: %v", model, where, err)
	}
	return ids[0]
}

// TestAdminConfirmRefusals: a confirmation that cannot be acted on says
// why and offers no button: the last active key of its algorithm, a
// public client's secret, a user deactivated already; and an admin's own
// account is refused before any page.
func TestAdminConfirmRefusals(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, self := signInAdmin(r)
	ctx := context.Background()
	key, err := r.env.store.ActiveSigningKey(ctx, "RS256")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.env.store.DeactivateUser(ctx, r.user.ID, r.env.clock.Now()); err != nil {
		t.Fatal(err)
	}
	before := confirmState(t)
	for _, tc := range []struct{ path, want string }{
		{fmt.Sprintf("/admin/keys/%d/retire", key.ID), "This is the last active key of its algorithm: create a new key before retiring it, or the server could no longer sign ID tokens."},
		{fmt.Sprintf("/admin/clients/%d/secret", r.pub.ID), "A public client has no secret."},
		{fmt.Sprintf("/admin/users/%d/deactivate", r.user.ID), "The user is deactivated already."},
	} {
		p := b.get(tc.path)
		if p.status != http.StatusOK || testIDText(p.body, "confirm-disabled") != tc.want {
			t.Errorf("GET %s: %d, disabled %q; want 200 saying %q:\n%.1200s", tc.path, p.status, testIDText(p.body, "confirm-disabled"), tc.want, p.body)
		}
		if strings.Contains(p.body, `data-testid="confirm-submit"`) || !strings.Contains(p.body, `data-testid="confirm-cancel"`) {
			t.Errorf("GET %s: want no button and a way back", tc.path)
		}
	}
	for _, action := range []string{"deactivate", "sessions/end"} {
		path := fmt.Sprintf("/admin/users/%d/%s", self.ID, action)
		wantLanded(t, b.get(path), fmt.Sprintf("/admin/users/%d", self.ID), "error")
	}
	// Gone already: the list says so.
	wantLanded(t, b.get("/admin/tokens/999999/revoke"), "/admin/tokens", "error")
	wantLanded(t, b.get("/admin/codes/999999/delete"), "/admin/codes", "error")
	if p := b.get("/admin/consents/999999/revoke"); p.status != http.StatusNotFound {
		t.Errorf("GET an unknown consent's confirmation: %d, want 404", p.status)
	}
	wantLanded(t, b.get("/admin/tokens/revoke"), "/admin/tokens", "error")
	wantSameState(t, before, "after the refused confirmations")
}

// TestAccountConfirmEndAllSessions: "Sign out of every session" on the
// account page asks first, counting the sessions that end and the apps
// told; the question changes nothing, and its button signs out.
func TestAccountConfirmEndAllSessions(t *testing.T) {
	t.Parallel()
	f := newConfirmFixture(t)
	before := confirmState(t)
	p := f.aliceBrowser.get("/account/sessions/end")
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="end-sessions-page"`) {
		t.Fatalf("GET /account/sessions/end: %d at %s, want the confirmation", p.status, p.url)
	}
	wantSameState(t, before, "after the GET")
	for _, want := range []string{"You have 3 sessions open", "1 app is told you signed out", "The apps you allowed keep their access"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the confirmation does not say %q:\n%s", want, p.body)
		}
	}
	if !strings.Contains(p.body, `<form method="post" action="/account/sessions/end"`) || hiddenFields(p.body).Get("_csrf") == "" {
		t.Errorf("want a form posting to /account/sessions/end with the CSRF token:\n%s", p.body)
	}
	if !strings.Contains(p.body, `<a href="/account" data-testid="end-sessions-cancel">Cancel</a>`) {
		t.Errorf("want Cancel back to /account")
	}
	if q := f.aliceBrowser.get("/account"); !strings.Contains(q.body, `<form method="get" action="/account/sessions/end">`) {
		t.Errorf("the account page's button does not lead to the confirmation")
	}
	q := f.aliceBrowser.post("/account/sessions/end", url.Values{"_csrf": {hiddenFields(p.body).Get("_csrf")}})
	if !strings.Contains(q.body, `data-testid="logout-done"`) {
		t.Fatalf("confirm: %d at %s, want the signed-out page", q.status, q.url)
	}
	if n := countRows(t, &models.Session{}, "user_id = ?", f.user.ID); n != 0 {
		t.Errorf("%d sessions of alice left, want 0", n)
	}
}

// TestAdminConfirmBrowser clicks, in chromium, the control of every
// action that cannot be undone, on the page that offers it: each shows
// its confirmation page (its question, what it takes with it), and Cancel
// goes back to that page with nothing changed in the database. Then some
// go through: the token, the secret, the user and the admin's own
// sessions. Scripts are off: the pages work without JavaScript.
func TestAdminConfirmBrowser(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	f := newConfirmFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	scope := &models.CustomScope{Name: "groups", Title: "Your groups", Claims: map[string]string{"groups": "attr:teams"}}
	if err := f.env.store.CreateCustomScope(context.Background(), scope); err != nil {
		t.Fatalf("create scope: %v", err)
	}
	alice, client := f.user.ID, f.client.ID
	tokenID := firstID(t, &models.Token{}, "user_id = ?", alice)

	c := newChrome(t, ctx, exe)
	// Without JavaScript: the pages' own script never runs (the test's
	// reads through the DevTools protocol still do).
	if _, err := chromedp.Call(c.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable scripts: %v", err)
	}
	c.do("sign in as the admin",
		chromedp.Navigate(f.env.issuer+"/login?next=%2Fadmin"),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), adminName),
		chromedp.SendKeys(byTestID("password"), adminPassword),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("dashboard-page")),
	)
	before := confirmState(t)
	steps := []struct {
		name string
		// page offers control; Cancel comes back to back, showing backID.
		page, control string
		back, backID  string
		title         string
		takes         []string
	}{
		{name: "rotate-secret", page: fmt.Sprintf("/admin/clients/%d", client), control: "rotate-secret", backID: "client-page",
			title: "Rotate the secret of client “Wiki”?", takes: []string{"2 access tokens, which stay valid until they expire"}},
		{name: "delete-client", page: fmt.Sprintf("/admin/clients/%d", client), control: "delete-client", backID: "client-page",
			title: "Delete client “Wiki”?", takes: []string{"3 authorization codes", "2 tokens, which stop working at once"}},
		{name: "revoke-all-tokens", page: fmt.Sprintf("/admin/tokens?client=%d", client), control: "revoke-all-tokens", backID: "tokens-page",
			title: "Revoke every token of client “Wiki”?", takes: []string{"2 access tokens, which stop working at once", "2 refresh tokens"}},
		{name: "revoke-token", page: fmt.Sprintf("/admin/tokens?user=%d", alice), control: "revoke-token", backID: "tokens-page",
			title: "Revoke this token?", takes: []string{"Its access token, valid until", "Its refresh token, valid until"}},
		{name: "revoke-consent", page: fmt.Sprintf("/admin/consents?client=%d", client), control: "revoke-consent", backID: "consents-page",
			title: "Revoke the consent of “alice” to “Wiki”?", takes: []string{"2 access tokens the client holds for the user", "1 unused authorization code, which is voided"}},
		{name: "delete-code", page: fmt.Sprintf("/admin/codes?user=%d", alice), control: "delete-code", backID: "codes-page",
			title: "Delete this authorization code?", takes: []string{"can no longer be exchanged"}},
		{name: "retire-key", page: "/admin/keys", control: "retire-key", backID: "keys-page",
			takes: []string{"The key stops signing now"}},
		{name: "rotate-keys", page: "/admin/keys", control: "rotate-keys", backID: "keys-page",
			title: "Rotate the signing keys?", takes: []string{"A new key of each of RS256"}},
		{name: "end-user-sessions", page: fmt.Sprintf("/admin/users/%d", alice), control: "end-user-sessions", backID: "user-form-page",
			title: "Sign “alice” out everywhere?", takes: []string{"3 browser sessions, which end", "2 access tokens, which stay valid"}},
		{name: "deactivate-user", page: fmt.Sprintf("/admin/users/%d", alice), control: "deactivate-user", backID: "user-form-page",
			title: "Deactivate user “alice”?", takes: []string{"3 browser sessions, which end", "2 refresh tokens, which can no longer be used", "1 consent, kept"}},
		{name: "delete-user", page: fmt.Sprintf("/admin/users/%d", alice), control: "delete-user", backID: "user-form-page",
			title: "Delete user “alice”?", takes: []string{"2 tokens, which stop working at once", "1 consent"}},
		{name: "delete-scope", page: fmt.Sprintf("/admin/scopes/%d", scope.ID), control: "delete-scope", backID: "scope-form-page",
			title: "Delete scope “groups”?"},
	}
	for _, s := range steps {
		c.do("open "+s.page+" and click "+s.control,
			chromedp.Navigate(f.env.issuer+s.page),
			chromedp.WaitVisible(byTestID(s.control)),
			chromedp.Click(byTestID(s.control)),
			chromedp.WaitVisible(byTestID("confirm-page")),
			screenshot(t, "admin-confirm-"+s.name),
		)
		title := chromeRead(c, "read the title", chromedp.Evaluate[string](`document.querySelector('[data-testid="confirm-title"]').innerText`))
		text := chromeRead(c, "read the page", chromedp.Evaluate[string](`document.querySelector('[data-testid="confirm-page"]').innerText`))
		if s.title != "" && title != s.title {
			t.Errorf("%s: title %q, want %q", s.name, title, s.title)
		}
		for _, w := range s.takes {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the confirmation does not say %q:\n%s", s.name, w, text)
			}
		}
		wantSameState(t, before, s.name+": on the confirmation page")
		c.do(s.name+": cancel",
			chromedp.Click(byTestID("confirm-cancel")),
			chromedp.WaitVisible(byTestID(s.backID)),
		)
		loc := chromeRead(c, "read the location", chromedp.Location())
		if u, err := url.Parse(loc); err != nil || u.RequestURI() != s.page {
			t.Errorf("%s: Cancel went to %s, want back to %s", s.name, loc, s.page)
		}
		wantSameState(t, before, s.name+": after Cancel")
	}

	// On a phone the page fits its card, a key's long kid too.
	c.do("a confirmation on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(f.env.issuer+"/admin/keys"),
		chromedp.Click(byTestID("retire-key")),
		chromedp.WaitVisible(byTestID("confirm-page")),
		screenshot(t, "admin-confirm-retire-key-phone"),
	)
	if over := chromeRead(c, "measure the card", chromedp.Evaluate[int](
		`(s => s.scrollWidth - s.clientWidth)(document.querySelector('[data-testid="confirm-page"]'))`)); over > 0 {
		t.Errorf("the confirmation is %d px wider than its card at 390 px", over)
	}
	c.do("back to the desktop", chromedp.EmulateViewport(1280, 900))

	// The account page's "sign out everywhere", as the admin (a user too).
	c.do("account: click sign out everywhere",
		chromedp.Navigate(f.env.issuer+"/account"),
		chromedp.Click(byTestID("end-sessions")),
		chromedp.WaitVisible(byTestID("end-sessions-page")),
		screenshot(t, "admin-confirm-account-end-sessions"),
		chromedp.Click(byTestID("end-sessions-cancel")),
		chromedp.WaitVisible(byTestID("account-page")),
	)
	wantSameState(t, before, "account: after Cancel")

	// Through: one token goes, the other stays.
	c.do("revoke one token through its confirmation",
		chromedp.Navigate(f.env.issuer+fmt.Sprintf("/admin/tokens/%d/revoke?back=%s", tokenID, url.QueryEscape(fmt.Sprintf("/admin/tokens?user=%d", alice)))),
		chromedp.WaitVisible(byTestID("confirm-page")),
		chromedp.Click(byTestID("confirm-submit")),
		chromedp.WaitVisible(byTestID("flash-success")),
		screenshot(t, "admin-confirm-revoke-token-done"),
	)
	if loc := chromeRead(c, "read the location", chromedp.Location()); !strings.HasSuffix(loc, fmt.Sprintf("/admin/tokens?user=%d", alice)) {
		t.Errorf("after the revocation: at %s, want back at alice's tokens", loc)
	}
	if n := countRows(t, &models.Token{}, "id = ? AND revoked_at IS NULL", tokenID); n != 0 {
		t.Errorf("token %d not revoked", tokenID)
	}
	if n := countRows(t, &models.Token{}, "user_id = ? AND revoked_at IS NULL", alice); n != 1 {
		t.Errorf("%d tokens of alice unrevoked, want 1", n)
	}
	c.do("rotate the secret through its confirmation",
		chromedp.Navigate(f.env.issuer+fmt.Sprintf("/admin/clients/%d", client)),
		chromedp.Click(byTestID("rotate-secret")),
		chromedp.WaitVisible(byTestID("confirm-page")),
		chromedp.Click(byTestID("confirm-submit")),
		chromedp.WaitVisible(byTestID("flash-secret")),
	)
	if cl, err := f.env.store.ClientByID(context.Background(), client); err != nil || cl.SecretHash == f.client.SecretHash {
		t.Errorf("the secret after its rotation: %v; want a new hash", err)
	}
	c.do("deactivate alice through the confirmation",
		chromedp.Navigate(f.env.issuer+fmt.Sprintf("/admin/users/%d", alice)),
		chromedp.Click(byTestID("deactivate-user")),
		chromedp.WaitVisible(byTestID("confirm-page")),
		chromedp.Click(byTestID("confirm-submit")),
		chromedp.WaitVisible(byTestID("flash-success")),
		chromedp.WaitVisible(byTestID("activate-user")),
	)
	if u, err := f.env.store.UserByID(context.Background(), alice); err != nil || u.Active {
		t.Errorf("alice after deactivation: %v, active %v; want inactive", err, err == nil && u.Active)
	}
	if n := countRows(t, &models.Session{}, "user_id = ?", alice); n != 0 {
		t.Errorf("%d sessions of alice left, want 0", n)
	}
	c.do("sign out everywhere through the confirmation",
		chromedp.Navigate(f.env.issuer+"/account"),
		chromedp.Click(byTestID("end-sessions")),
		chromedp.WaitVisible(byTestID("end-sessions-page")),
		chromedp.Click(byTestID("end-sessions-confirm")),
		chromedp.WaitVisible(byTestID("logout-done")),
	)
	admin, err := f.env.store.UserByUsername(context.Background(), adminName)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, &models.Session{}, "user_id = ?", admin.ID); n != 0 {
		t.Errorf("%d sessions of the admin left, want 0", n)
	}
	c.wantNoDialogs()
}
