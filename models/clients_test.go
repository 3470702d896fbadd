package models_test

import (
	"context"
	"testing"
)

// TestSaveClientKeepsRotatedSecret: saving a copy of a client loaded
// before its secret was rotated keeps the new secret (and the type and
// client_id, which no edit changes) while saving the edited fields.
func TestSaveClientKeepsRotatedSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	stale, err := f.store.ClientByID(ctx, f.client.ID)
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	if err := f.store.SetClientSecret(ctx, f.client.ID, "rotated", ""); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	stale.Name, stale.Scopes, stale.RequireConsent = "Renamed", []string{"openid"}, false
	stale.ClientID, stale.ClientType = "changed", "public"
	if err := f.store.SaveClient(ctx, stale, nil); err != nil {
		t.Fatalf("save: %v", err)
	}
	got, err := f.store.ClientByID(ctx, f.client.ID)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got.SecretHash != "rotated" || got.ClientID != f.client.ClientID || got.ClientType != f.client.ClientType {
		t.Errorf("secret hash, client_id, type = %q, %q, %q; want %q, %q, %q (kept)",
			got.SecretHash, got.ClientID, got.ClientType, "rotated", f.client.ClientID, f.client.ClientType)
	}
	if got.Name != "Renamed" || len(got.Scopes) != 1 || got.RequireConsent {
		t.Errorf("name, scopes, require consent = %q, %v, %v; want the edit saved", got.Name, got.Scopes, got.RequireConsent)
	}
}
