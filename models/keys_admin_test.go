package models_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"oidcd/models"
)

func TestDailyEventCountsBuckets(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	at := func(d time.Time, kind string) {
		t.Helper()
		if err := s.RecordEvent(ctx, &models.Event{Kind: kind, CreatedAt: d}); err != nil {
			t.Fatalf("record: %v", err)
		}
	}
	at(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), models.EventLoginSucceeded)    // today, first instant
	at(time.Date(2026, 3, 10, 23, 59, 59, 0, time.UTC), models.EventLoginSucceeded) // today, later than now
	at(time.Date(2026, 3, 9, 23, 59, 59, 0, time.UTC), models.EventLoginSucceeded)  // yesterday's last second
	at(time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), models.EventLoginSucceeded)     // first day of 3
	at(time.Date(2026, 3, 7, 23, 59, 59, 0, time.UTC), models.EventLoginSucceeded)  // before the window
	at(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), models.EventLoginSucceeded)    // tomorrow
	at(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), models.EventLoginFailed)      // other kind
	got, err := s.DailyEventCounts(ctx, models.EventLoginSucceeded, 3, now)
	if err != nil {
		t.Fatalf("daily counts: %v", err)
	}
	if want := []int64{1, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRetireSigningKeyKeepsOneActive(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	var ids []uint
	for _, kid := range []string{"k1", "k2", "k3"} {
		k := &models.SigningKey{KID: kid, Alg: "RS256", PrivateKeyPEM: "x"}
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("add key: %v", err)
		}
		ids = append(ids, k.ID)
	}
	// Retiring all three at once: exactly two win, one key stays active.
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Go(func() { _, errs[i] = s.RetireSigningKey(ctx, id, time.Now()) })
	}
	wg.Wait()
	var ok, refused int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, models.ErrLastSigningKey):
			refused++
		default:
			t.Errorf("retire: %v", err)
		}
	}
	if ok != 2 || refused != 1 {
		t.Errorf("got %d retired and %d refused, want 2 and 1", ok, refused)
	}
	if _, err := s.ActiveSigningKey(ctx, "RS256"); err != nil {
		t.Errorf("active key after retirements: %v, want one", err)
	}
	if _, err := s.RetireSigningKey(ctx, ids[0]+100, time.Now()); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("retire unknown key: got %v, want ErrNotFound", err)
	}
}
