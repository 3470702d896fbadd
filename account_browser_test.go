package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"oidcd/models"
)

// TestAccountBrowser walks the account page in chromium (issue 10's
// "Must show"): alice allows a relying party, which gets tokens; on the
// account page she withdraws that consent through its confirmation page,
// and the RP's access token fails at /userinfo and its refresh token at
// /token. Then she changes her password (a wrong current password first),
// which ends her session in another browser but not in this one, and
// signs out of every session. The pages carry no script: every step is a
// link or a form.
func TestAccountBrowser(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	r := newRig(t)
	const newPassword = "alice's new browser passphrase"
	r.keep(newPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The RP's redirect is held and failed by Fetch interception, so the
	// browser never loads it; its code is read from the held URL.
	c := newChrome(t, ctx, exe)
	pattern := []*fetch.RequestPattern{{URLPattern: cbURI + "*", RequestStage: fetch.RequestStageRequest}}
	if _, err := chromedp.Call(c.ctx, fetch.Enable, fetch.EnableParams{Patterns: pattern}); err != nil {
		t.Fatalf("enable fetch interception: %v", err)
	}
	c.do("sign in and allow the RP",
		chromedp.Navigate(r.env.issuer+r.authURL(r.conf, nil)),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), testUser),
		chromedp.SendKeys(byTestID("password"), testPassword),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("consent-allow")),
		chromedp.Click(byTestID("consent-allow")),
	)
	var code string
	select {
	case p := <-c.paused:
		if _, err := chromedp.Call(c.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: p.id, ErrorReason: network.ErrorReasonAborted}); err != nil {
			t.Errorf("fail the held request: %v", err)
		}
		back, err := url.Parse(p.url)
		if err != nil {
			t.Fatalf("redirect %q: %v", p.url, err)
		}
		code = back.Query().Get("code")
	case <-ctx.Done():
		t.Fatalf("no redirect to the RP after Allow: %v", ctx.Err())
	}
	if code == "" {
		t.Fatalf("no code in the redirect to the RP")
	}
	r.keep(code)
	resp, tok := r.postToken(r.codeForm(r.conf, r.secret, code))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, tok)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	if got := r.userinfoStatus(access); got != http.StatusOK {
		t.Fatalf("userinfo before withdrawing: %d, want 200", got)
	}

	c.do("open the account page from the home page",
		chromedp.Navigate(r.env.issuer+"/"),
		chromedp.Click(byTestID("account-link")),
		chromedp.WaitVisible(byTestID("account-page")),
		screenshot(t, "account"),
	)
	items := chromeRead(c, "read the listed apps",
		chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="consent-item"]')).map(li => li.innerText)`))
	if len(items) != 1 || !strings.Contains(items[0], "Test RP") || !strings.Contains(items[0], "Basic profile") || !strings.Contains(items[0], "Email") {
		t.Fatalf("listed apps = %q, want Test RP with Basic profile and Email", items)
	}
	if n := chromeRead(c, "count scripts", chromedp.Evaluate[int](`document.scripts.length`)); n != 0 {
		t.Errorf("the account page has %d scripts, want none (it works without JavaScript)", n)
	}

	c.do("withdraw through the confirmation page",
		chromedp.Click(byTestID("consent-withdraw")),
		chromedp.WaitVisible(byTestID("withdraw-page")),
		screenshot(t, "account-withdraw"),
		chromedp.Click(byTestID("withdraw-confirm")),
		chromedp.WaitVisible(byTestID("flash-success")),
		chromedp.WaitVisible(byTestID("no-consents")),
	)
	resp, body := r.userinfo(access)
	wantUserinfo(t, resp, body, http.StatusUnauthorized, "invalid_token", "")
	if resp, body := r.refresh(refresh); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after withdrawing: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
	if n := countRows(t, &models.UserConsent{}, "user_id = ?", r.user.ID); n != 0 {
		t.Errorf("%d consents of alice left, want 0", n)
	}

	// Another browser, signed in as alice.
	there := r.env.browser()
	r.login(there)
	c.do("a wrong current password is refused",
		chromedp.SendKeys(byTestID("current-password"), "not the password"),
		chromedp.SendKeys(byTestID("new-password"), newPassword),
		chromedp.SendKeys(byTestID("new-password-confirm"), newPassword),
		chromedp.Click(byTestID("password-submit")),
		chromedp.WaitVisible(byTestID("error-current_password")),
		screenshot(t, "account-password-error"),
	)
	if got := chromeRead(c, "read aria-invalid", chromedp.Evaluate[string](`document.getElementById('current_password').getAttribute('aria-invalid')`)); got != "true" {
		t.Errorf("the refused field's aria-invalid = %q, want true", got)
	}
	c.do("change the password",
		chromedp.SendKeys(byTestID("current-password"), testPassword),
		chromedp.SendKeys(byTestID("new-password"), newPassword),
		chromedp.SendKeys(byTestID("new-password-confirm"), newPassword),
		chromedp.Click(byTestID("password-submit")),
		chromedp.WaitVisible(byTestID("flash-success")),
		chromedp.Navigate(r.env.issuer+accountPath),
		chromedp.WaitVisible(byTestID("account-page")),
	)
	if p := there.get(r.authURL(r.conf, nil)); !isLoginPage(p) {
		t.Errorf("the other browser after the change: %d at %s, want the login page", p.status, p.url)
	}
	if u, err := r.env.store.UserByID(ctx, r.user.ID); err != nil || !verifyPassword(t, r.env.store, u, newPassword) {
		t.Errorf("the new password does not work (%v)", err)
	}

	c.do("sign out of every session, through its confirmation",
		chromedp.Click(byTestID("end-sessions")),
		chromedp.WaitVisible(byTestID("end-sessions-page")),
		screenshot(t, "account-end-sessions"),
		chromedp.Click(byTestID("end-sessions-confirm")),
		chromedp.WaitVisible(byTestID("logout-done")),
		chromedp.Navigate(r.env.issuer+accountPath),
		chromedp.WaitVisible(byTestID("login-form")),
	)
	if n := countRows(t, &models.Session{}, "user_id = ?", r.user.ID); n != 0 {
		t.Errorf("%d sessions of alice left, want 0", n)
	}
	c.wantNoDialogs()
}
