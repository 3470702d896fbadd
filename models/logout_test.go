package models_test

import (
	"context"
	"testing"
	"time"

	"oidcd/models"
)

// sessionsTouching stores n sessions of the fixture's user, each of which
// got a token for a client with a back-channel logout URI, and returns
// their cookie ids.
func sessionsTouching(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	ctx := context.Background()
	f.client.BackchannelLogoutURI = "http://127.0.0.1/bc"
	if err := f.store.SaveClient(ctx, f.client, nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		id := models.NewID()
		uid := f.user.ID
		if err := f.store.SaveSession(ctx, &models.Session{ID: id, UserID: &uid, Data: "x", ExpiresAt: f.now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		sid := "sid-" + string(rune('a'+i))
		for range 2 { // a repeat is no error and no second row
			if err := f.store.TouchSession(ctx, id, f.client.ID, uid, sid, f.now); err != nil {
				t.Fatalf("touch: %v", err)
			}
		}
		ids = append(ids, id)
	}
	return ids
}

func countOf(t *testing.T, f *fixture, model any) int64 {
	t.Helper()
	var n int64
	if err := f.store.DB().Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEndSessionQueuesLogouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name         string
		end          func(f *fixture, ids []string) error
		wantSessions int64
		wantQueued   int64
	}{
		{"one session", func(f *fixture, ids []string) error { return f.store.EndSession(ctx, ids[0], models.EndLogout, f.now) }, 2, 1},
		{"every session", func(f *fixture, _ []string) error {
			return f.store.EndUserSessions(ctx, f.user.ID, models.EndEverywhere, f.now)
		}, 0, 3},
		{"the others", func(f *fixture, ids []string) error {
			return f.store.EndOtherSessions(ctx, f.user.ID, ids[1], models.EndPassword, f.now)
		}, 1, 2},
		{"an unknown session", func(f *fixture, _ []string) error { return f.store.EndSession(ctx, "nope", models.EndLogout, f.now) }, 3, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ids := sessionsTouching(t, f, 3)
			if err := tt.end(f, ids); err != nil {
				t.Fatal(err)
			}
			if n := countOf(t, f, &models.Session{}); n != tt.wantSessions {
				t.Errorf("%d sessions left, want %d", n, tt.wantSessions)
			}
			if n := countOf(t, f, &models.LogoutDelivery{}); n != tt.wantQueued {
				t.Errorf("%d deliveries queued, want %d", n, tt.wantQueued)
			}
			if n := countOf(t, f, &models.SessionClient{}); n != tt.wantSessions {
				t.Errorf("%d session_clients rows left, want %d (one per live session)", n, tt.wantSessions)
			}
		})
	}
}

// Two claimers at once: each due delivery is claimed by exactly one.
func TestClaimLogoutDeliveriesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	sessionsTouching(t, f, 6)
	if err := f.store.EndUserSessions(ctx, f.user.ID, models.EndEverywhere, f.now); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 2)
	for range 2 {
		go func() {
			d, err := f.store.ClaimLogoutDeliveries(ctx, f.now, f.now.Add(-time.Minute), 10)
			if err != nil {
				t.Error(err)
			}
			got <- len(d)
		}()
	}
	if a, b := <-got, <-got; a+b != 6 {
		t.Errorf("claimed %d and %d, want 6 in all", a, b)
	}
	// Claimed rows are not due again until the claim is stale.
	if d, _ := f.store.ClaimLogoutDeliveries(ctx, f.now, f.now.Add(-time.Minute), 10); len(d) != 0 {
		t.Errorf("claimed %d again, want 0", len(d))
	}
	later := f.now.Add(time.Hour)
	d, err := f.store.ClaimLogoutDeliveries(ctx, later, later.Add(-time.Minute), 10)
	if err != nil || len(d) != 6 || d[0].Attempts != 2 || d[0].Client.ClientID != f.client.ClientID {
		t.Errorf("stale claims taken over: %d rows (%v), want 6 with attempt 2 and the client loaded", len(d), err)
	}
}
