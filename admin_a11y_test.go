package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"oidcd/admin"
)

// The admin forms as a screen reader meets them: a field's error message
// (<p class="field-error" id="NAME-error">) is named by its control's
// aria-describedby, the control says aria-invalid="true", controls without
// an error say neither, and every control has a label (WCAG 2.2 SC 1.3.1,
// 3.3.1, 4.1.2).

// TestAdminFormErrorsA11y submits each admin form with errors and checks
// the page that comes back; one untouched form shows the no-error case.
func TestAdminFormErrorsA11y(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		submit     func(t *testing.T) page
		wantStatus int
		wantErrors []string // fields with a message on the page
	}{
		{
			name: "new client form, untouched",
			submit: func(t *testing.T) page {
				b := newTestEnv(t).signInAdmin()
				return b.get("/admin/clients/new")
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "new client",
			submit: func(t *testing.T) page {
				b := newTestEnv(t).signInAdmin()
				csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
				form := clientFields("  ", "not a uri")
				form.Del("response_types")
				form.Set("_csrf", csrf)
				return b.postMultipart("/admin/clients", form, nil)
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantErrors: []string{"name", "redirect_uris", "response_types"},
		},
		{
			name: "new user",
			submit: func(t *testing.T) page {
				r := newRig(t)
				b, _ := signInAdmin(r)
				r.keep("bob's password")
				form := csrfFrom(t, b, "/admin/users/new", "user-form-page")
				form.Set("username", "")
				form.Set("email", "not an email")
				form.Set("password", "bob's password")
				form.Set("password_confirm", "something else")
				return b.post("/admin/users", form)
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantErrors: []string{"username", "email", "password_confirm"},
		},
		{
			name: "user claims",
			submit: func(t *testing.T) page {
				r := newRig(t)
				b, _ := signInAdmin(r)
				path := fmt.Sprintf("/admin/users/%d", r.user.ID)
				form := csrfFrom(t, b, path, "user-form-page")
				form.Set("birthdate", "yesterday")
				form.Set("website", "javascript:alert(1)")
				return b.post(path, form)
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantErrors: []string{"birthdate", "website"},
		},
		{
			// The claims form on the same page has no errors: its
			// controls must say nothing.
			name: "user password",
			submit: func(t *testing.T) page {
				r := newRig(t)
				b, _ := signInAdmin(r)
				path := fmt.Sprintf("/admin/users/%d", r.user.ID)
				form := csrfFrom(t, b, path, "set-password")
				form.Set("password", "short")
				form.Set("password_confirm", "short")
				return b.post(path+"/password", form)
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantErrors: []string{"password"},
		},
		{
			name: "first-run setup",
			submit: func(t *testing.T) page {
				env := newTestEnv(t)
				token, err := admin.PrepareSetup(context.Background(), env.store)
				if err != nil {
					t.Fatalf("PrepareSetup: %v", err)
				}
				b := env.browser()
				form := setupForm(t, b, token, "bad name", "long enough 1")
				form.Set("email", "nope")
				form.Set("password_confirm", "long enough 2")
				return b.post("/admin/setup", form)
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantErrors: []string{"username", "email", "password_confirm"},
		},
		{
			name: "audit log filter",
			submit: func(t *testing.T) page {
				b := newTestEnv(t).signInAdmin()
				return b.get("/admin/audit?" + url.Values{"kind": {"nope"}, "from": {"2026-13-40"}}.Encode())
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantErrors: []string{"kind", "from"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.submit(t)
			if p.status != tc.wantStatus {
				t.Fatalf("got %d, want %d:\n%.800s", p.status, tc.wantStatus, p.body)
			}
			doc, err := html.Parse(strings.NewReader(p.body))
			if err != nil {
				t.Fatalf("parse the page: %v", err)
			}
			for _, problem := range a11yProblems(doc, tc.wantErrors) {
				t.Error(problem)
			}
		})
	}
}

// a11yProblems lists what is wrong with the forms in doc, whose field
// errors should be exactly those of the fields in wantErrors.
func a11yProblems(doc *html.Node, wantErrors []string) []string {
	var problems []string
	var all []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode {
			all = append(all, n)
		}
	}

	ids := map[string]int{}
	labelled := map[string]bool{}
	var errorIDs []string
	for _, n := range all {
		if id, ok := a11yAttr(n, "id"); ok {
			ids[id]++
		}
		if n.Data == "label" {
			if f, ok := a11yAttr(n, "for"); ok {
				labelled[f] = true
			}
		}
		if n.Data == "p" && slices.Contains(strings.Fields(a11yValue(n, "class")), "field-error") {
			errorIDs = append(errorIDs, a11yValue(n, "id"))
		}
	}
	for id, count := range ids {
		if count > 1 {
			problems = append(problems, fmt.Sprintf("id %q: got %d elements, want 1", id, count))
		}
	}
	var wantIDs []string
	for _, f := range wantErrors {
		wantIDs = append(wantIDs, f+"-error")
	}
	slices.Sort(wantIDs)
	if got := slices.Sorted(slices.Values(errorIDs)); !slices.Equal(got, wantIDs) {
		problems = append(problems, fmt.Sprintf("field errors: got %v, want %v", got, wantIDs))
	}

	// Each error is described on exactly one control, its own field's (or
	// the fieldset of its checkboxes), and that control is aria-invalid.
	for _, errID := range errorIDs {
		field := strings.TrimSuffix(errID, "-error")
		var described []*html.Node
		for _, n := range all {
			if slices.Contains(strings.Fields(a11yValue(n, "aria-describedby")), errID) {
				described = append(described, n)
			}
		}
		if len(described) != 1 {
			problems = append(problems, fmt.Sprintf("%s: got %d elements with it in aria-describedby, want 1", errID, len(described)))
			continue
		}
		c := described[0]
		if !a11yIsFieldControl(c, field) {
			problems = append(problems, fmt.Sprintf("%s: described on <%s id=%q name=%q>, want the %s control", errID, c.Data, a11yValue(c, "id"), a11yValue(c, "name"), field))
		}
		if v, _ := a11yAttr(c, "aria-invalid"); v != "true" {
			problems = append(problems, fmt.Sprintf("%s: its control has aria-invalid=%q, want \"true\"", errID, v))
		}
	}

	// Nothing else is invalid, and aria-describedby names only what is on
	// the page.
	for _, n := range all {
		described := strings.Fields(a11yValue(n, "aria-describedby"))
		for _, id := range described {
			if ids[id] == 0 {
				problems = append(problems, fmt.Sprintf("<%s id=%q>: aria-describedby names %q, which is not on the page", n.Data, a11yValue(n, "id"), id))
			}
		}
		if v, ok := a11yAttr(n, "aria-invalid"); ok {
			if !slices.ContainsFunc(described, func(id string) bool { return slices.Contains(errorIDs, id) }) {
				problems = append(problems, fmt.Sprintf("<%s id=%q>: aria-invalid=%q but aria-describedby names no field error, want no aria-invalid", n.Data, a11yValue(n, "id"), v))
			}
		}
	}

	// Every control has a label.
	for _, n := range all {
		if n.Data != "input" && n.Data != "select" && n.Data != "textarea" {
			continue
		}
		switch a11yValue(n, "type") {
		case "hidden", "submit", "button", "reset", "image":
			continue
		}
		if strings.TrimSpace(a11yValue(n, "aria-label")) != "" {
			continue
		}
		if id := a11yValue(n, "id"); id == "" || !labelled[id] {
			problems = append(problems, fmt.Sprintf("<%s id=%q name=%q>: no <label for> and no aria-label", n.Data, id, a11yValue(n, "name")))
		}
	}
	return problems
}

// a11yIsFieldControl reports whether n is the control for field: an
// input, select or textarea named field, or a fieldset holding such
// controls (a group of checkboxes).
func a11yIsFieldControl(n *html.Node, field string) bool {
	switch n.Data {
	case "input", "select", "textarea":
		return a11yValue(n, "name") == field
	case "fieldset":
		for d := range n.Descendants() {
			if d.Type == html.ElementNode && d.Data == "input" && a11yValue(d, "name") == field {
				return true
			}
		}
	}
	return false
}

func a11yAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func a11yValue(n *html.Node, key string) string {
	v, _ := a11yAttr(n, key)
	return v
}
