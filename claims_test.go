package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

// accessAs runs the code flow for the rig's confidential client signing in
// as alice with password, and returns the access token.
func (r *rig) accessAs(password string) string {
	r.t.Helper()
	b := r.env.browser()
	loc := b.authorize(r.authURL(r.conf, nil), testUser, password, "allow")
	code := loc.Query().Get("code")
	if code == "" {
		r.t.Fatalf("no code in %s", loc)
	}
	r.keep(code)
	resp, body := r.postToken(r.codeForm(r.conf, r.secret, code))
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("exchange: got %d %v, want 200", resp.StatusCode, body)
	}
	return body["access_token"].(string)
}

// updatedAt is the updated_at claim /userinfo answers for access.
func updatedAt(t *testing.T, r *rig, access string) int64 {
	t.Helper()
	resp, claims := r.userinfo(access)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: got %d %v, want 200", resp.StatusCode, claims)
	}
	v, ok := claims["updated_at"].(float64)
	if !ok {
		t.Fatalf("userinfo has no numeric updated_at: %v", claims)
	}
	return int64(v)
}

// TestUpdatedAtIsTheProfileChange: updated_at (OpenID Connect Core §5.1)
// is when the profile last changed. Logging in, a password change and a
// save that changes nothing leave it; editing the name moves it to then.
func TestUpdatedAtIsTheProfileChange(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	// A profile last changed long ago, so that anything that touches the
	// row now would show.
	old := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := r.env.store.DB().Exec("UPDATE users SET updated_at = ?, profile_updated_at = ? WHERE id = ?", old, old, r.user.ID).Error; err != nil {
		t.Fatal(err)
	}
	created := updatedAt(t, r, r.accessAs(testPassword))
	if created != old.Unix() {
		t.Fatalf("updated_at %d, want %d", created, old.Unix())
	}

	admin, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	r.env.clock.Advance(5 * time.Minute)
	newPassword := "a brand new password for alice"
	r.keep(newPassword)
	form := csrfFrom(t, admin, path, "user-form-page")
	form.Set("password", newPassword)
	form.Set("password_confirm", newPassword)
	wantLanded(t, admin.post(path+"/password", form), path, "success")
	access := r.accessAs(newPassword) // the old tokens were revoked; a new login
	if got := updatedAt(t, r, access); got != created {
		t.Errorf("after a login and a password change: updated_at %d, want %d (unchanged)", got, created)
	}

	// Saving the form as it is changes no claim.
	r.env.clock.Advance(5 * time.Minute)
	p := admin.get(path)
	form = hiddenFields(p.body)
	for _, f := range models.ClaimFields {
		if f.Kind == models.ClaimBool {
			if strings.Contains(p.body, `name="`+f.Form+`" checked`) {
				form.Set(f.Form, "on")
			}
			continue
		}
		form.Set(f.Form, f.Get(r.user))
	}
	wantLanded(t, admin.post(path, form), path, "success")
	if got := updatedAt(t, r, access); got != created {
		t.Errorf("after a save that changed nothing: updated_at %d, want %d", got, created)
	}

	r.env.clock.Advance(5 * time.Minute)
	form.Set("name", "Alice P. Liddell")
	form.Set("_csrf", hiddenFields(admin.get(path).body).Get("_csrf"))
	wantLanded(t, admin.post(path, form), path, "success")
	got := updatedAt(t, r, access)
	if now := r.env.clock.Now().Unix(); got < now-60 || got > now {
		t.Errorf("after editing the name: updated_at %d, want about %d (the edit)", got, now)
	}
}

// TestAdminUserAttributes: the free-form attributes are edited as
// "key = value" lines in the user form; bad lines are a 422 next to the
// field and nothing is saved.
func TestAdminUserAttributes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	ctx := context.Background()

	form := csrfFrom(t, b, path, "user-form-page")
	form.Set("name", r.user.Name)
	form.Set("attributes", "department = Research\r\n\r\nemployee.id = 42\r\n")
	wantLanded(t, b.post(path, form), path, "success")
	u, err := r.env.store.UserByID(ctx, r.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"department": "Research", "employee.id": "42"}
	if !maps.Equal(u.Attributes, want) {
		t.Errorf("attributes: got %v, want %v", u.Attributes, want)
	}
	if p := b.get(path); !strings.Contains(p.body, "department = Research\nemployee.id = 42\n") {
		t.Errorf("the form does not show the attributes back:\n%.2000s", p.body)
	}

	for _, c := range []struct{ name, text, want string }{
		{"no equals sign", "department Research", "Line 1: write key = value."},
		{"bad key", "2nd = x", "must start with a letter"},
		{"repeated key", "a = 1\na = 2", "is given twice"},
		{"value too long", "a = " + strings.Repeat("x", models.MaxAttributeValue+1), "longer than 1000 bytes"},
		{"too many", strings.Repeat("k = v\n", 1) + func() string {
			var s strings.Builder
			for i := range models.MaxAttributes {
				fmt.Fprintf(&s, "k%d = v\n", i)
			}
			return s.String()
		}(), "At most 50 attributes."},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := csrfFrom(t, b, path, "user-form-page")
			form.Set("name", "Not Saved")
			form.Set("attributes", c.text)
			p := b.post(path, form)
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-attributes"`) || !strings.Contains(p.body, c.want) {
				t.Errorf("got %d, want 422 with %q next to the attributes:\n%.3000s", p.status, c.want, p.body)
			}
			u, err := r.env.store.UserByID(ctx, r.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Name == "Not Saved" || !maps.Equal(u.Attributes, want) {
				t.Errorf("after a refused edit: name %q, attributes %v; want nothing saved", u.Name, u.Attributes)
			}
		})
	}
}

// TestCLICreateUserAttributes: createuser --attr key=value (repeatable)
// sets attributes; a bad one is refused and no user is made.
func TestCLICreateUserAttributes(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	mustRunCLI(t, nil, "createuser", "--db", db, "--username", "alice", "--password", "wonderland-42",
		"--attr", "department=Research", "--attr", "badge=a=b", "--phone-number", "+31 71 555 0100", "--email-verified")
	store := openStore(t, db)
	u, err := store.UserByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"department": "Research", "badge": "a=b"}; !maps.Equal(u.Attributes, want) {
		t.Errorf("attributes: got %v, want %v", u.Attributes, want)
	}
	if u.PhoneNumber != "+31 71 555 0100" || !u.EmailVerified {
		t.Errorf("phone %q, email verified %v; want the flags' values", u.PhoneNumber, u.EmailVerified)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no equals sign", []string{"--attr", "department"}, "write key=value"},
		{"bad key", []string{"--attr", "9lives=x"}, "must start with a letter"},
		{"repeated", []string{"--attr", "a=1", "--attr", "a=2"}, "given twice"},
		{"bad claim", []string{"--birthdate", "yesterday"}, "birthdate: use YYYY-MM-DD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"createuser", "--db", db, "--username", "bob", "--password", "wonderland-42"}, c.args...)
			res := runCLI(t, nil, args...)
			if res.err == nil || !strings.Contains(res.err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", res.err, c.want)
			}
			if _, err := store.UserByUsername(context.Background(), "bob"); err == nil {
				t.Errorf("bob was created")
			}
		})
	}
}
