package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// fakeKeys makes keys with unique kids; models never parses the PEM.
func fakeKeys() func(alg string) (models.SigningKey, error) {
	var n atomic.Int64
	return func(alg string) (models.SigningKey, error) {
		return models.SigningKey{KID: fmt.Sprintf("%s-%d-%d", alg, time.Now().UnixNano(), n.Add(1)), Alg: alg, PrivateKeyPEM: "pem"}, nil
	}
}

func kidAt(t *testing.T, s *models.Store, alg string, at time.Time) string {
	t.Helper()
	k, err := s.SigningKeyAt(context.Background(), alg, at)
	if err != nil {
		t.Fatalf("signing key at %v: %v", at, err)
	}
	return k.KID
}

// TestSigningKeyStates: a rotation publishes a next key, which signs
// from its activation, when the key it replaces retires; the retired key
// is retiring for publishFor, then retired.
func TestSigningKeyStates(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const pre, publishFor = time.Hour, 10 * time.Minute
	first, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: "RS256", Now: t0, Prepublish: pre, NewKey: fakeKeys()})
	if err != nil || !first.ActivatesAt.Equal(t0) {
		t.Fatalf("first key: %+v, %v; want one signing at once (the algorithm had none)", first, err)
	}
	t1 := t0.Add(time.Minute)
	next, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: "RS256", Now: t1, Prepublish: pre, NewKey: fakeKeys()})
	if err != nil || !next.ActivatesAt.Equal(t1.Add(pre)) {
		t.Fatalf("rotation: %+v, %v; want a key activating at %v", next, err, t1.Add(pre))
	}
	keys := map[string]*models.SigningKey{}
	reload := func() {
		l, err := s.ListSigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range l {
			keys[l[i].KID] = &l[i]
		}
	}
	reload()
	for _, tc := range []struct {
		at                 time.Time
		wantFirst, wantNew string
		wantSigner         string
	}{
		{t1, models.KeyActive, models.KeyNext, first.KID},
		{t1.Add(pre - time.Second), models.KeyActive, models.KeyNext, first.KID},
		{t1.Add(pre), models.KeyRetiring, models.KeyActive, next.KID},
		{t1.Add(pre + publishFor - time.Second), models.KeyRetiring, models.KeyActive, next.KID},
		{t1.Add(pre + publishFor), models.KeyRetired, models.KeyActive, next.KID},
	} {
		if got := keys[first.KID].State(tc.at, publishFor); got != tc.wantFirst {
			t.Errorf("at %v: first key %s, want %s", tc.at, got, tc.wantFirst)
		}
		if got := keys[next.KID].State(tc.at, publishFor); got != tc.wantNew {
			t.Errorf("at %v: new key %s, want %s", tc.at, got, tc.wantNew)
		}
		if got := kidAt(t, s, "RS256", tc.at); got != tc.wantSigner {
			t.Errorf("at %v: signer %s, want %s", tc.at, got, tc.wantSigner)
		}
	}

	// A second rotation while the next key waits keeps it.
	again, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: "RS256", Now: t1.Add(time.Minute), Prepublish: pre, NewKey: fakeKeys()})
	if !errors.Is(err, models.ErrKeyPending) || again == nil || again.KID != next.KID {
		t.Errorf("rotating again: %+v, %v; want ErrKeyPending and the pending key", again, err)
	}
	// The first key, whose successor is pending, cannot be retired:
	// nothing would sign until the successor activates.
	if _, err := s.RetireSigningKey(ctx, first.ID, t1.Add(2*time.Minute)); !errors.Is(err, models.ErrLastSigningKey) {
		t.Errorf("retire the signer while its successor waits: %v, want ErrLastSigningKey", err)
	}
	// Dropping the next key cancels the first key's retirement.
	if _, err := s.RetireSigningKey(ctx, next.ID, t1.Add(2*time.Minute)); err != nil {
		t.Fatalf("drop the next key: %v", err)
	}
	if got := kidAt(t, s, "RS256", t1.Add(10*pre)); got != first.KID {
		t.Errorf("after the next key was dropped the signer is %s, want the first key %s for good", got, first.KID)
	}
	reload()
	if keys[first.KID].RetiredAt != nil {
		t.Errorf("first key retires at %v after its successor was dropped, want never", keys[first.KID].RetiredAt)
	}
}

// TestRotateSigningKeysSchedule: on a schedule a key rotates once it has
// signed Every less the pre-publication period; an emergency rotation
// signs at once and drops a pending key.
func TestRotateSigningKeysSchedule(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const pre, every = 24 * time.Hour, 90 * 24 * time.Hour
	sched := func(at time.Time) models.Rotation {
		return models.Rotation{Alg: "ES256", Now: at, Prepublish: pre, Every: every, NewKey: fakeKeys()}
	}
	if _, err := s.RotateSigningKeys(ctx, sched(t0)); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("schedule without a key: %v, want ErrNotFound (serve makes the first key)", err)
	}
	first, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: "ES256", Now: t0, Prepublish: pre, NewKey: fakeKeys()})
	if err != nil {
		t.Fatal(err)
	}
	due := t0.Add(every - pre)
	if k, err := s.RotateSigningKeys(ctx, sched(due.Add(-time.Second))); !errors.Is(err, models.ErrNotDue) || k.KID != first.KID {
		t.Errorf("a second early: %v, %v; want ErrNotDue", k, err)
	}
	next, err := s.RotateSigningKeys(ctx, sched(due))
	if err != nil || !next.ActivatesAt.Equal(t0.Add(every)) {
		t.Fatalf("due: %+v, %v; want a key signing from %v", next, err, t0.Add(every))
	}
	if _, err := s.RotateSigningKeys(ctx, sched(due.Add(time.Hour))); !errors.Is(err, models.ErrKeyPending) {
		t.Errorf("due again while the next key waits: %v, want ErrKeyPending", err)
	}
	// An emergency: signs now, the pending key is dropped, the first key
	// stays (not signing) until someone retires it.
	at := due.Add(2 * time.Hour)
	urgent, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: "ES256", Now: at, NewKey: fakeKeys()})
	if err != nil || !urgent.ActivatesAt.Equal(at) {
		t.Fatalf("emergency: %+v, %v; want a key signing at %v", urgent, err, at)
	}
	for _, when := range []time.Time{at, t0.Add(every + time.Hour)} {
		if got := kidAt(t, s, "ES256", when); got != urgent.KID {
			t.Errorf("signer at %v = %s, want the emergency key %s", when, got, urgent.KID)
		}
	}
	if k, err := s.SigningKeyByID(ctx, next.ID); err != nil || k.RetiredAt == nil || !k.RetiredAt.Equal(at) {
		t.Errorf("the pending key after the emergency: %+v, %v; want retired at %v", k, err, at)
	}
	if _, err := s.RetireSigningKey(ctx, first.ID, at); err != nil {
		t.Errorf("retire the replaced key after the emergency: %v", err)
	}
}

// TestRotateSigningKeysRacing: instances sharing the database (two
// stores, several goroutines each) rotate once: one new key, the others
// find it pending.
func TestRotateSigningKeysRacing(t *testing.T) {
	t.Parallel()
	a := openStore(t)
	b := modelstest.DatabaseOf(t, a).Open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for _, tc := range []struct {
		alg   string
		every time.Duration
	}{{"RS256", 0}, {"ES256", 90 * 24 * time.Hour}} { // on demand, then due on a schedule
		alg, every := tc.alg, tc.every
		if _, err := a.RotateSigningKeys(ctx, models.Rotation{Alg: alg, Now: now.Add(-100 * 24 * time.Hour), NewKey: fakeKeys()}); err != nil {
			t.Fatal(err)
		}
		before, err := a.ListSigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var rotated, pending atomic.Int64
		for i := range 8 {
			s := []*models.Store{a, b}[i%2]
			wg.Go(func() {
				_, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: alg, Now: now, Prepublish: time.Hour, Every: every, NewKey: fakeKeys()})
				switch {
				case err == nil:
					rotated.Add(1)
				case errors.Is(err, models.ErrKeyPending):
					pending.Add(1)
				default:
					t.Errorf("rotate: %v", err)
				}
			})
		}
		wg.Wait()
		after, err := a.ListSigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Load() != 1 || pending.Load() != 7 || len(after) != len(before)+1 {
			t.Errorf("%s every %v: %d rotated, %d found a pending key, %d keys from %d; want 1, 7 and one more key",
				alg, every, rotated.Load(), pending.Load(), len(after), len(before))
		}
	}
}
