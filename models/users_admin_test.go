package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"oidcd/models"
)

// addToken stores a fresh token pair of the fixture's user for client.
func (f *fixture) addToken(t *testing.T, client *models.Client) *models.Token {
	t.Helper()
	tok := f.newToken()
	tok.ClientID, tok.FamilyID = client.ID, models.NewID()
	if err := f.store.CreateToken(context.Background(), tok); err != nil {
		t.Fatalf("create token: %v", err)
	}
	return tok
}

// otherClient registers a second client.
func (f *fixture) otherClient(t *testing.T) *models.Client {
	t.Helper()
	c := *f.client
	c.ID, c.ClientID, c.Name = 0, models.NewID(), "Other RP"
	if err := f.store.CreateClient(context.Background(), &c); err != nil {
		t.Fatalf("create client: %v", err)
	}
	return &c
}

func TestListUsersSearch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, u := range []*models.User{
		{Username: "bob_smith", Email: "bob@example.org", Active: true},
		{Username: "carol", Name: "Carol 100% Real", Active: true},
	} {
		if err := f.store.CreateUser(ctx, u, "a password 123"); err != nil {
			t.Fatalf("create user: %v", err)
		}
	}
	for _, tc := range []struct {
		q    string
		want int64
	}{
		{"", 3}, {"ALICE", 1}, {"example.org", 1}, {"real", 1}, {"%", 1}, {"_", 1}, {"b_b", 0}, {"nobody", 0},
	} {
		users, total, err := f.store.ListUsers(ctx, tc.q, models.Page{Limit: 2})
		if err != nil {
			t.Fatalf("ListUsers(%q): %v", tc.q, err)
		}
		if total != tc.want || int64(len(users)) != min(tc.want, 2) {
			t.Errorf("ListUsers(%q): got %d rows of %d, want %d of %d", tc.q, len(users), total, min(tc.want, 2), tc.want)
		}
	}
}

func TestRevokeConsentRevokesThePairOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other := f.otherClient(t)
	for _, c := range []*models.Client{f.client, other} {
		if err := f.store.GrantConsent(ctx, f.user.ID, c.ID, []string{"openid"}, f.now, f.now.Add(time.Hour)); err != nil {
			t.Fatalf("grant consent: %v", err)
		}
	}
	mine, theirs := f.addToken(t, f.client), f.addToken(t, other)
	unused := f.newCode(t)
	consent, err := f.store.ConsentFor(ctx, f.user.ID, f.client.ID)
	if err != nil {
		t.Fatalf("consent: %v", err)
	}
	got, err := f.store.RevokeConsent(ctx, consent.ID, f.now)
	if err != nil {
		t.Fatalf("RevokeConsent: %v", err)
	}
	if got.User.Username != "alice" || got.Client.ID != f.client.ID {
		t.Errorf("RevokeConsent returned user %q client %d, want alice and %d", got.User.Username, got.Client.ID, f.client.ID)
	}
	f.wantActive(t, "token of the revoked pair", mine, false)
	f.wantActive(t, "token of another client", theirs, true)
	if _, err := f.store.ConsentFor(ctx, f.user.ID, f.client.ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("consent after revoke: got %v, want ErrNotFound", err)
	}
	if _, err := f.store.ConsentFor(ctx, f.user.ID, other.ID); err != nil {
		t.Errorf("other client's consent after revoke: got %v, want it kept", err)
	}
	if _, err := f.store.RedeemCode(ctx, unused.CodeHash, f.now, accept, f.mintFamily); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("redeem an unused code of the revoked pair: got %v, want ErrNotFound", err)
	}
	if _, err := f.store.RevokeConsent(ctx, consent.ID, f.now); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("revoke twice: got %v, want ErrNotFound", err)
	}
}

func TestDeactivateAndDeleteUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tok := f.addToken(t, f.client)
	unused, used := f.newCode(t), f.newCode(t)
	fromUsed := f.redeem(t, used)
	sess := &models.Session{ID: models.NewID(), UserID: &f.user.ID, Data: "{}", ExpiresAt: f.now.Add(time.Hour)}
	if err := f.store.SaveSession(ctx, sess); err != nil {
		t.Fatalf("save session: %v", err)
	}
	if err := f.store.DeactivateUser(ctx, f.user.ID, f.now); err != nil {
		t.Fatalf("DeactivateUser: %v", err)
	}
	f.wantActive(t, "token of a deactivated user", tok, false)
	f.wantActive(t, "token from a code of a deactivated user", fromUsed, false)
	if _, err := f.store.SessionByID(ctx, sess.ID, f.now); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("session of a deactivated user: got %v, want ErrNotFound", err)
	}
	if u, _ := f.store.UserByID(ctx, f.user.ID); u == nil || u.Active {
		t.Errorf("user after DeactivateUser: %+v, want inactive", u)
	}
	// Reactivated while the unused code is unexpired, the user must not
	// find it exchangeable again; the used code stays, so that a replay
	// is still seen as one.
	if err := f.store.SetUserActive(ctx, f.user.ID, true); err != nil {
		t.Fatalf("SetUserActive: %v", err)
	}
	if _, err := f.store.RedeemCode(ctx, unused.CodeHash, f.now, accept, f.mintFamily); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("redeem a code issued before deactivation, after reactivation: got %v, want ErrNotFound", err)
	}
	if _, err := f.store.RedeemCode(ctx, used.CodeHash, f.now, accept, f.mintFamily); !errors.Is(err, models.ErrCodeReused) {
		t.Errorf("redeem a used code after deactivation: got %v, want ErrCodeReused", err)
	}

	f.newCode(t)
	f.addToken(t, f.client)
	if err := f.store.GrantConsent(ctx, f.user.ID, f.client.ID, []string{"openid"}, f.now, f.now.Add(time.Hour)); err != nil {
		t.Fatalf("grant consent: %v", err)
	}
	deps, err := f.store.UserDependents(ctx, f.user.ID)
	if err != nil || deps != (models.Dependents{Codes: 2, Tokens: 3, Consents: 1}) {
		t.Errorf("UserDependents: got %+v, %v; want 2 codes (a used one and a new one), 3 tokens, 1 consent", deps, err)
	}
	if err := f.store.DeleteUser(ctx, f.user.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	deps, err = f.store.UserDependents(ctx, f.user.ID)
	if err != nil || deps != (models.Dependents{}) {
		t.Errorf("UserDependents after delete: got %+v, %v; want none", deps, err)
	}
	if err := f.store.DeleteUser(ctx, f.user.ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("delete twice: got %v, want ErrNotFound", err)
	}
}

func TestRevokeTokensNeedsAFilter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tok := f.addToken(t, f.client)
	if _, err := f.store.RevokeTokens(ctx, models.GrantFilter{}, f.now); err == nil {
		t.Errorf("RevokeTokens without a filter: got nil error, want one")
	}
	f.wantActive(t, "token after an unfiltered revoke", tok, true)
	n, err := f.store.RevokeTokens(ctx, models.GrantFilter{ClientID: f.client.ID}, f.now)
	if err != nil || n != 1 {
		t.Errorf("RevokeTokens of the client: got %d, %v; want 1", n, err)
	}
	f.wantActive(t, "token after revoking the client's", tok, false)
}

// TestListEventsFindsAdminChanges: the audit log's user and client filters
// find admin changes made to a user or client (named by the event's target,
// or for a grant by its client), not only those made by an admin, and do
// not mistake one for the other.
func TestListEventsFindsAdminChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	acme, zed := f.otherClient(t), f.otherClient(t)
	for c, name := range map[*models.Client]string{acme: "Acme Portal", zed: "Zed Tool"} {
		c.Name = name
		if err := f.store.SaveClient(ctx, c, nil); err != nil {
			t.Fatalf("rename client: %v", err)
		}
	}
	change := func(detail, target string, clientID *uint) models.Event {
		return models.Event{Kind: models.EventAdminChange, Username: "root", Detail: detail, Target: target, ClientID: clientID}
	}
	for _, e := range []models.Event{
		change("update user", "user alice", nil),
		change("update client", "client "+acme.ClientID, nil),
		change("revoke token", "token 7 of user alice", &acme.ID),
		change("delete client", "client GONE2CLIENT", nil),
		change("delete user", "user bob", nil),
		change("update client", "client "+zed.ClientID, nil),
		change("create signing key", "signing key K1", nil),
		{Kind: models.EventLoginSucceeded, Username: "alice", UserID: &f.user.ID},
	} {
		if err := f.store.RecordEvent(ctx, &e); err != nil {
			t.Fatalf("record event: %v", err)
		}
	}
	for _, tc := range []struct {
		name   string
		filter models.EventFilter
		want   []string // details, newest first
	}{
		{"user: changes to them and their own events", models.EventFilter{Username: "alice"},
			[]string{"", "revoke token", "update user"}},
		{"user: admin changes only", models.EventFilter{Username: "ALI", Kind: models.EventAdminChange},
			[]string{"revoke token", "update user"}},
		{"user since deleted", models.EventFilter{Username: "bob"}, []string{"delete user"}},
		{"user: the admin who made the changes", models.EventFilter{Username: "root"}, []string{
			"create signing key", "update client", "delete user", "delete client", "revoke token", "update client", "update user"}},
		{"user: not a client's name", models.EventFilter{Username: "acme portal"}, nil},
		{"user: not the words before one", models.EventFilter{Username: "of"}, nil},
		{"client by name", models.EventFilter{Client: "acme portal"}, []string{"revoke token", "update client"}},
		{"client by client_id", models.EventFilter{Client: acme.ClientID}, []string{"revoke token", "update client"}},
		{"another client", models.EventFilter{Client: "zed tool"}, []string{"update client"}},
		{"client since deleted", models.EventFilter{Client: "gone2client"}, []string{"delete client"}},
		{"client: not a user", models.EventFilter{Client: "alice"}, nil},
		{"client: not a key", models.EventFilter{Client: "k1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, total, err := f.store.ListEvents(ctx, tc.filter, models.Page{Limit: 20})
			if err != nil {
				t.Fatalf("ListEvents: %v", err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.Detail)
			}
			if !slices.Equal(got, tc.want) || total != int64(len(tc.want)) {
				t.Errorf("got %q (%d in all), want %q", got, total, tc.want)
			}
		})
	}
}
