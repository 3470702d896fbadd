package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"oidcd/models"
)

// janitorRows stores, through the Store, rows of every kind the janitor
// looks at, some expired at f.now and some live; it returns the ids that
// must survive a pass, by table.
func janitorRows(t *testing.T, f *fixture, oldEvents int) map[string][]any {
	t.Helper()
	ctx := context.Background()
	now := f.now
	keep := map[string][]any{}
	past, future := now.Add(-time.Minute), now.Add(time.Minute)

	for _, r := range []struct {
		expires time.Time
		live    bool
	}{{past, false}, {now, false}, {future, true}} {
		req := &models.AuthRequest{ClientID: f.client.ID, RedirectURI: "https://rp.example/cb", ResponseType: "code",
			Scope: "openid", CreatedAt: now.Add(-time.Hour), ExpiresAt: r.expires}
		if err := f.store.SaveAuthRequest(ctx, req); err != nil {
			t.Fatalf("save auth request: %v", err)
		}
		sess := &models.Session{ID: models.NewID(), Data: "x", ExpiresAt: r.expires}
		if err := f.store.SaveSession(ctx, sess); err != nil {
			t.Fatalf("save session: %v", err)
		}
		if r.live {
			keep["auth_requests"] = append(keep["auth_requests"], req.ID)
			keep["sessions"] = append(keep["sessions"], models.SessionKey(sess.ID))
		}
	}

	// Codes: unused and expired (goes), live (stays), used and expired
	// with a live token (stays, for replay detection), used and expired
	// with only a dead token (goes, with the token).
	code := func(expires time.Time, used bool) *models.Code {
		c := f.newCode(t)
		upd := map[string]any{"expires_at": expires}
		if used {
			upd["used_at"] = past
		}
		if err := f.store.DB().Model(c).Updates(upd).Error; err != nil {
			t.Fatalf("update code: %v", err)
		}
		return c
	}
	code(past, false)
	keep["codes"] = append(keep["codes"], code(future, false).ID)
	usedLive := code(past, true)
	keep["codes"] = append(keep["codes"], usedLive.ID)
	usedDead := code(past, true)

	// Tokens by access and refresh expiry.
	token := func(access time.Time, refresh *time.Time, codeID *uint, revoked bool) *models.Token {
		tok := f.newToken()
		tok.FamilyID, tok.CodeID, tok.ExpiresAt, tok.RefreshExpiresAt = models.NewID(), codeID, access, refresh
		if revoked {
			tok.RotatedAt, tok.RevokedAt = &past, &past
		}
		if refresh == nil {
			tok.RefreshTokenHash = nil
		}
		if err := f.store.CreateToken(ctx, tok); err != nil {
			t.Fatalf("create token: %v", err)
		}
		return tok
	}
	token(past, &past, &usedDead.ID, false) // both expired: goes
	token(past, nil, nil, false)            // no refresh token, expired: goes
	token(past, &past, nil, true)           // rotated out, refresh expired: goes
	for _, tok := range []*models.Token{
		token(future, &future, nil, false),            // live
		token(past, &future, &usedLive.ID, false),     // refresh still usable
		token(past, &future, nil, true),               // rotated out: kept for reuse detection
		token(future, nil, nil, false),                // live, no refresh token
		token(past.Add(time.Hour), &past, nil, false), // access still live
	} {
		keep["tokens"] = append(keep["tokens"], tok.ID)
	}

	// Events: older than the retention goes, newer stays.
	var old []models.Event
	for range oldEvents {
		old = append(old, models.Event{Kind: models.EventLoginFailed, Username: "x", CreatedAt: now.Add(-91 * 24 * time.Hour)})
	}
	if len(old) > 0 {
		if err := f.store.DB().CreateInBatches(old, 500).Error; err != nil {
			t.Fatalf("old events: %v", err)
		}
	}
	recent := &models.Event{Kind: models.EventLoginFailed, Username: "x", CreatedAt: now.Add(-89 * 24 * time.Hour)}
	if err := f.store.RecordEvent(ctx, recent); err != nil {
		t.Fatalf("recent event: %v", err)
	}
	keep["events"] = []any{recent.ID}
	return keep
}

// wantKept checks that each table holds exactly the ids in keep.
func wantKept(t *testing.T, f *fixture, keep map[string][]any) {
	t.Helper()
	for table, ids := range keep {
		var got []any
		var n int64
		if err := f.store.DB().Table(table).Count(&n).Error; err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		if err := f.store.DB().Table(table).Where("id IN ?", ids).Pluck("id", &got).Error; err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		if n != int64(len(ids)) || len(got) != len(ids) {
			t.Errorf("%s: %d rows, %d of the %d live ones; want exactly the live ones", table, n, len(got), len(ids))
		}
	}
}

// TestCleanupRemovesExpiredRows: one pass removes every expired row, in
// batches where there are many, keeps every live one (rotated refresh
// tokens until their refresh expiry, used codes while their tokens live),
// and a second pass finds nothing.
func TestCleanupRemovesExpiredRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	keep := janitorRows(t, f, 2500)
	got, err := f.store.Cleanup(ctx, f.now, f.now.Add(-90*24*time.Hour))
	if err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	want := models.Removed{AuthRequests: 2, Sessions: 2, Codes: 2, Tokens: 3, Events: 2500}
	if got != want {
		t.Errorf("removed %+v, want %+v", got, want)
	}
	wantKept(t, f, keep)
	if again, err := f.store.Cleanup(ctx, f.now, f.now.Add(-90*24*time.Hour)); err != nil || again.Total() != 0 {
		t.Errorf("second pass removed %+v (%v), want nothing", again, err)
	}
}

// TestCleanupConcurrent: passes run at once, as by several instances,
// fail nowhere and remove each row once.
func TestCleanupConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	keep := janitorRows(t, f, 300)
	const passes = 4
	var wg sync.WaitGroup
	results := make([]models.Removed, passes)
	errs := make([]error, passes)
	for i := range passes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.store.Cleanup(context.Background(), f.now, f.now.Add(-90*24*time.Hour))
		}()
	}
	wg.Wait()
	var total int64
	for i := range passes {
		if errs[i] != nil {
			t.Errorf("pass %d: %v", i, errs[i])
		}
		total += results[i].Total()
	}
	if want := int64(2 + 2 + 2 + 3 + 300); total != want {
		t.Errorf("the passes removed %d rows in all, want %d", total, want)
	}
	wantKept(t, f, keep)
}
