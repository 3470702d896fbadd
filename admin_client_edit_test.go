package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// TestClientEditKeepsRotatedSecret: saving a client's edit form writes
// only the fields the form owns, so it never undoes a secret rotation made
// while the form was open, nor one made while the save itself was under
// way (between the save reading the client and writing it back).
func TestClientEditKeepsRotatedSecret(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	// A rotation that lands inside the save: armed just before the form is
	// posted, it runs right after the save's handler has read the client,
	// as a second admin's rotation could.
	var armed atomic.Bool
	meanwhile := make(chan string, 1)
	var clientID uint
	// Reads go to the store's read pool (on SQLite, apart from DB's writer).
	rotateMeanwhile := func(tx *gorm.DB) {
		if tx.Statement.Table != "clients" || !armed.CompareAndSwap(true, false) {
			return
		}
		secret := oauth.NewToken()
		if err := env.store.SetClientSecret(context.Background(), clientID, oauth.HashToken(secret), ""); err != nil {
			t.Errorf("rotate meanwhile: %v", err)
		}
		meanwhile <- secret
	}
	for _, db := range []*gorm.DB{testDB(t), env.store.ReadDB()} {
		if err := db.Callback().Query().After("gorm:query").Register("test:rotate_meanwhile", rotateMeanwhile); err != nil {
			t.Fatalf("register callback: %v", err)
		}
	}
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	client, first := env.createClient(models.ClientConfidential, []string{rpRedirect})
	clientID = client.ID
	editPath := fmt.Sprintf("/admin/clients/%d", client.ID)

	// The form is loaded, then the secret rotated, then the form saved.
	if p := b.get(editPath + "/edit"); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="client-form-page"`) {
		t.Fatalf("edit page: %d", p.status)
	}
	p := b.post(editPath+"/secret", url.Values{"_csrf": {csrf}})
	rotated := oneTimeSecret(p.body)
	if rotated == "" || rotated == first {
		t.Fatalf("rotate: %d, no new secret on the page", p.status)
	}
	form := clientFields("Edited RP", rpRedirect)
	form.Set("_csrf", csrf)
	if p := b.postMultipart(editPath, form, nil); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("save the edit: %d, want the client page with a success flash", p.status)
	}
	wantClientSecret(t, env, client.ClientID, rotated, first)

	// A rotation between the save's read and its write.
	form.Set("name", "Edited again RP")
	armed.Store(true)
	if p := b.postMultipart(editPath, form, nil); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("save the edit: %d, want the client page with a success flash", p.status)
	}
	var during string
	select {
	case during = <-meanwhile:
	default:
		t.Fatalf("the save never read the client, so nothing was rotated meanwhile")
	}
	wantClientSecret(t, env, client.ClientID, during, rotated)
	if cl, err := env.store.ClientByID(context.Background(), client.ID); err != nil || cl.Name != "Edited again RP" {
		t.Errorf("after the second edit: %+v, %v; want the new name saved", cl, err)
	}
}

// wantClientSecret checks at /token that the client authenticates with
// secret and not with old. A refresh grant with an unknown token tells
// the two apart without a code: invalid_grant once the client is
// authenticated, invalid_client before.
func wantClientSecret(t *testing.T, env *testEnv, clientID, secret, old string) {
	t.Helper()
	for _, tc := range []struct {
		secret, want string
	}{{secret, "invalid_grant"}, {old, "invalid_client"}} {
		_, body := postForm(t, env.issuer+"/token", url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {oauth.NewToken()},
			"client_id": {clientID}, "client_secret": {tc.secret},
		})
		if body["error"] != tc.want {
			t.Errorf("at /token with the %s secret: %v, want %s", map[bool]string{true: "current", false: "old"}[tc.secret == secret], body, tc.want)
		}
	}
}
