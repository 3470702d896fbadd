package main

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// TestCLICreateClientResponseTypes: createclient --response-type takes
// every response type served, its values in any order, stored in their
// normal order, and the client can use them at /authorize.
func TestCLICreateClientResponseTypes(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	r := mustRunCLI(t, nil, "createclient", "--db", db, "--name", "SPA", "--type", "public",
		"--redirect-uri", "http://127.0.0.1/cb", "--response-type", "token id_token", "--response-type", "code",
		"--response-type", "id_token  code", "--response-type", "id_token", "--response-type", "token code id_token",
		"--response-type", "token code", "--json")
	c, err := openStore(t, db).ClientByClientID(context.Background(), clientJSON(t, r.stdout)["client_id"])
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	want := []string{"id_token token", "code", "code id_token", "id_token", "code id_token token", "code token"}
	if !slices.Equal(c.ResponseTypes, want) {
		t.Errorf("response types = %q, want %q", c.ResponseTypes, want)
	}
	for _, rt := range oauth.ResponseTypes {
		if !c.AllowsResponseType(rt) {
			t.Errorf("the client may not use %q, want every served response type", rt)
		}
	}
}

// TestAdminClientResponseTypes: the admin client form offers every served
// response type, stores what is ticked, and the client then uses it.
func TestAdminClientResponseTypes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	form := b.get("/admin/clients/new")
	for _, rt := range oauth.ResponseTypes {
		if !strings.Contains(form.body, `name="response_types" value="`+rt+`"`) {
			t.Errorf("the client form offers no %q", rt)
		}
	}
	if strings.Contains(form.body, `name="response_types" value="token"`) {
		t.Errorf("the client form offers plain token, which is not served")
	}
	f := clientFields("Hybrid RP", "http://127.0.0.1/rp/cb")
	f.Set("_csrf", csrf)
	f["response_types"] = []string{"id_token token", "code id_token"}
	id := clientPK(t, b.postMultipart("/admin/clients", f, nil))
	c, err := env.store.ClientByID(context.Background(), id)
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	if want := []string{"id_token token", "code id_token"}; !slices.Equal(c.ResponseTypes, want) {
		t.Errorf("response types = %q, want %q", c.ResponseTypes, want)
	}
	// The stored client is refused code alone and given an implicit
	// response: one the admin ticked, the other not.
	user := env.browser()
	env.createUser("hana", "hana password 1")
	v := frontChannelParams(c, "code")
	v.Set("redirect_uri", "http://127.0.0.1/rp/cb")
	p := user.get("/authorize?" + v.Encode())
	if loc := p.location(); p.status != http.StatusFound || loc == nil || loc.Query().Get("error") != oauth.UnauthorizedClient {
		t.Errorf("code for a client without it: %d %v, want unauthorized_client", p.status, loc)
	}
	v.Set("response_type", "token id_token")
	back := user.authorize("/authorize?"+v.Encode(), "hana", "hana password 1", "allow")
	if !strings.Contains(back.Fragment, "access_token=") || !strings.Contains(back.Fragment, "id_token=") {
		t.Errorf("redirect %s, want an access token and an ID token in the fragment", back)
	}
	// A value that is not served is refused, and so is the same one twice.
	for _, types := range [][]string{{"token"}, {"code id_token", "id_token code"}} {
		f["response_types"] = types
		f.Set("name", "Refused RP")
		p := b.postMultipart("/admin/clients", f, nil)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-response_types"`) {
			t.Errorf("response types %q: got %d, want 422 with error-response_types", types, p.status)
		}
	}
	var n int64
	if err := testDB(t).Model(&models.Client{}).Where("name = ?", "Refused RP").Count(&n).Error; err != nil || n != 0 {
		t.Errorf("refused clients stored: %d, %v; want none", n, err)
	}
}
