package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"oidcd/models"
)

// reserveOutcome reserves one attempt and says whether it was allowed,
// failing the test on anything but an allowance or a ThrottledError.
func reserveOutcome(t *testing.T, store *models.Store, keys []models.ThrottleKey, now time.Time) (*models.Reservation, *models.ThrottledError) {
	t.Helper()
	res, err := store.ReserveAttempt(context.Background(), keys, now)
	var te *models.ThrottledError
	if errors.As(err, &te) {
		return nil, te
	}
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	return res, nil
}

// TestReserveAttemptConcurrent: 30 reservations at once on one key with a
// limit of 5 allow exactly 5; a check made before counting (the old
// CountFailedLogins) let them all through.
func TestReserveAttemptConcurrent(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	now := time.Now()
	key := models.ThrottleKey{Kind: models.ThrottleLogin, Subject: "alice", Address: "192.0.2.1", Limit: 5, Window: 15 * time.Minute, Growing: true}
	spray := models.ThrottleKey{Kind: models.ThrottleLoginAddress, Address: "192.0.2.1", Limit: 20, Window: 15 * time.Minute}
	const n = 30
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = store.ReserveAttempt(context.Background(), []models.ThrottleKey{spray, key}, now)
		})
	}
	wg.Wait()
	allowed := 0
	for i, err := range errs {
		var te *models.ThrottledError
		switch {
		case err == nil:
			allowed++
		case errors.As(err, &te):
			if te.RetryAfter <= 0 {
				t.Errorf("attempt %d: RetryAfter %v, want positive", i, te.RetryAfter)
			}
		default:
			t.Errorf("attempt %d: %v, want an allowance or a ThrottledError", i, err)
		}
	}
	if allowed != 5 {
		t.Errorf("allowed %d of %d concurrent attempts, want exactly the limit 5", allowed, n)
	}
	// Refused attempts counted nothing: the address key saw only the 5.
	var failures []int
	store.DB().Table("throttles").Where("kind = ?", models.ThrottleLoginAddress).Pluck("failures", &failures)
	if len(failures) != 1 || failures[0] != 5 {
		t.Errorf("address failures = %v, want [5]", failures)
	}
}

// TestReserveAttemptRules walks one pair key and one address key through
// a window: the limit, the lock, the growing lock, release on success.
func TestReserveAttemptRules(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	ctx := context.Background()
	w := 10 * time.Minute
	pair := models.ThrottleKey{Kind: models.ThrottleLogin, Subject: "alice", Address: "192.0.2.1", Limit: 3, Window: w, Growing: true, ClearOnSuccess: true}
	addr := models.ThrottleKey{Kind: models.ThrottleLoginAddress, Address: "192.0.2.1", Limit: 12, Window: w}
	keys := []models.ThrottleKey{pair, addr}
	t0 := time.Now()

	for i := range 3 {
		if _, te := reserveOutcome(t, store, keys, t0); te != nil {
			t.Fatalf("attempt %d: refused %v, want allowed up to the limit 3", i+1, te)
		}
	}
	_, te := reserveOutcome(t, store, keys, t0)
	if te == nil || te.Kind != models.ThrottleLogin || te.RetryAfter != w {
		t.Fatalf("4th attempt: %+v, want refused by the pair for the window %v", te, w)
	}
	// The lock holds to its end, then the pair has a fresh window...
	if _, te := reserveOutcome(t, store, keys, t0.Add(w-time.Second)); te == nil {
		t.Errorf("just before the lock ends: allowed, want refused")
	}
	t1 := t0.Add(w)
	for i := range 3 {
		if _, te := reserveOutcome(t, store, keys, t1); te != nil {
			t.Fatalf("after the first lock, attempt %d: refused %v", i+1, te)
		}
	}
	// ...and the second lockout lasts twice as long.
	if _, te := reserveOutcome(t, store, keys, t1); te == nil || te.RetryAfter != 2*w {
		t.Errorf("second lockout: %+v, want a lock of %v", te, 2*w)
	}

	// Another username from the address is not locked by alice's pair,
	// and a correct attempt clears its own pair and gives back its one
	// attempt on the address.
	bob := models.ThrottleKey{Kind: models.ThrottleLogin, Subject: "bob", Address: "192.0.2.1", Limit: 3, Window: w, Growing: true, ClearOnSuccess: true}
	t2 := t1.Add(time.Second)
	if _, te := reserveOutcome(t, store, []models.ThrottleKey{bob, addr}, t2); te != nil {
		t.Fatalf("bob's first attempt: refused %v", te)
	}
	res, te := reserveOutcome(t, store, []models.ThrottleKey{bob, addr}, t2)
	if te != nil {
		t.Fatalf("bob's second attempt: refused %v", te)
	}
	var before, after int
	store.DB().Table("throttles").Where("kind = ?", models.ThrottleLoginAddress).Select("failures").Scan(&before)
	if err := store.ReleaseAttempt(ctx, res); err != nil {
		t.Fatalf("release: %v", err)
	}
	store.DB().Table("throttles").Where("kind = ?", models.ThrottleLoginAddress).Select("failures").Scan(&after)
	if after != before-1 {
		t.Errorf("address failures after release: %d, want %d", after, before-1)
	}
	var bobRows int64
	store.DB().Table("throttles").Where("kind = ? AND subject = ?", models.ThrottleLogin, "bob").Count(&bobRows)
	if bobRows != 0 {
		t.Errorf("bob's pair after a correct attempt: %d rows, want it cleared", bobRows)
	}
}

// TestReleaseUnlocksCountingKey: the attempt that reached a counting
// key's limit locked it; when that attempt proves correct, the key is
// unlocked again.
func TestReleaseUnlocksCountingKey(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	now := time.Now()
	user := models.ThrottleKey{Kind: models.ThrottleLoginUser, Subject: "alice", Limit: 2, Window: time.Hour}
	keys := []models.ThrottleKey{user}
	reserveOutcome(t, store, keys, now)
	res, te := reserveOutcome(t, store, keys, now)
	if te != nil {
		t.Fatalf("2nd attempt: refused %v", te)
	}
	if _, te := reserveOutcome(t, store, keys, now); te == nil {
		t.Fatalf("3rd attempt while the 2nd is pending: allowed, want refused")
	}
	if err := store.ReleaseAttempt(context.Background(), res); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, te := reserveOutcome(t, store, keys, now); te != nil {
		t.Errorf("after the 2nd proved correct: refused %v, want one more attempt", te)
	}
}

// TestThrottleStoresAnyInput: whatever a client sends as a username or
// client_id (long, invalid UTF-8, NUL) is counted, bounded in storage,
// and long inputs that share a prefix stay distinct keys.
func TestThrottleStoresAnyInput(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	now := time.Now()
	long := strings.Repeat("é", 5000)
	for _, subject := range []string{long + "a", long + "b", "bad\xffname\x00", strings.Repeat("x", 10_000)} {
		k := models.ThrottleKey{Kind: models.ThrottleClient, Subject: subject, Address: "2001:db8::1", Limit: 1, Window: time.Hour}
		if _, te := reserveOutcome(t, store, []models.ThrottleKey{k}, now); te != nil {
			t.Errorf("first attempt for a %d-byte subject: refused %v", len(subject), te)
		}
		if _, te := reserveOutcome(t, store, []models.ThrottleKey{k}, now); te == nil {
			t.Errorf("second attempt for a %d-byte subject: allowed, want the limit of 1 to hold", len(subject))
		}
	}
	rows, total, err := store.ListThrottles(context.Background(), now, models.Page{Limit: 10})
	if err != nil || total != 4 {
		t.Fatalf("list: %d rows, %v; want 4", total, err)
	}
	for _, r := range rows {
		if len(r.Subject) > 150 || !utf8.ValidString(r.Subject) || strings.ContainsRune(r.Subject, 0) {
			t.Errorf("stored subject %q: want at most 150 bytes of valid UTF-8 without NUL", r.Subject)
		}
	}
}

// TestThrottleListClearExpire: the admin's view and the clean-up.
func TestThrottleListClearExpire(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	ctx := context.Background()
	now := time.Now()
	locked := models.ThrottleKey{Kind: models.ThrottleLogin, Subject: "alice", Address: "192.0.2.1", Limit: 1, Window: time.Minute, Growing: true}
	counting := models.ThrottleKey{Kind: models.ThrottleLoginAddress, Address: "192.0.2.2", Limit: 10, Window: time.Minute}
	reserveOutcome(t, store, []models.ThrottleKey{locked}, now)
	reserveOutcome(t, store, []models.ThrottleKey{counting}, now)

	rows, total, err := store.ListThrottles(ctx, now, models.Page{Limit: 10})
	if err != nil || total != 2 || len(rows) != 2 {
		t.Fatalf("list: %d rows (%d in all), %v; want 2", len(rows), total, err)
	}
	if rows[0].Subject != "alice" || !rows[0].Locked(now) || rows[1].Locked(now) {
		t.Errorf("list order: %+v; want alice's locked pair first", rows)
	}
	// After the window the counting key is no longer in force; the lock
	// still is until it ends.
	later := now.Add(time.Minute + time.Second)
	if _, total, _ := store.ListThrottles(ctx, later, models.Page{Limit: 10}); total != 0 {
		t.Errorf("in force after both ended: %d, want 0", total)
	}

	cleared, err := store.ClearThrottle(ctx, rows[0].ID)
	if err != nil || cleared.Subject != "alice" {
		t.Fatalf("clear: %+v, %v", cleared, err)
	}
	if _, err := store.ClearThrottle(ctx, rows[0].ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("clear again: %v, want ErrNotFound", err)
	}
	if _, te := reserveOutcome(t, store, []models.ThrottleKey{locked}, now); te != nil {
		t.Errorf("after clearing: refused %v", te)
	}

	// The counting key expires with its window; the growing pair is kept
	// a day past its lock, to remember its lockouts. The janitor's pass
	// removes each once it has expired.
	r, err := store.Cleanup(ctx, later, later.Add(-time.Hour))
	if err != nil || r.Throttles != 1 {
		t.Errorf("clean up after the window: %d throttles, %v; want 1", r.Throttles, err)
	}
	day := now.Add(models.MaxThrottleLock + 2*time.Minute)
	r, err = store.Cleanup(ctx, day, day.Add(-time.Hour))
	if err != nil || r.Throttles != 1 {
		t.Errorf("clean up a day later: %d throttles, %v; want 1", r.Throttles, err)
	}
}
