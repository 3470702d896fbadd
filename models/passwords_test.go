package models

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestOpenHashesNothing: Open computes no bcrypt hash. At the highest cost
// one hash takes hours, so before the fix this Open never returned; the
// comparison hash for unknown usernames carries the store's cost.
func TestOpenHashesNothing(t *testing.T) {
	t.Parallel()
	key := make([]byte, SecretKeySize)
	s, err := Open(filepath.Join(t.TempDir(), "oidcd.db"), Options{SecretKey: key, PasswordCost: bcrypt.MaxCost})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if cost, err := bcrypt.Cost(s.dummyHash); err != nil || cost != bcrypt.MaxCost {
		t.Errorf("dummy hash cost = %d, %v; want %d", cost, err, bcrypt.MaxCost)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "other.db"), Options{SecretKey: key, PasswordCost: bcrypt.MaxCost + 1}); err == nil {
		t.Errorf("Open with cost %d succeeded, want a refusal", bcrypt.MaxCost+1)
	}
}

// TestDummyHashParses: an unknown username's check runs a full bcrypt
// comparison at the given cost (a hash that did not parse would return at
// once and tell usernames apart by timing).
func TestDummyHashParses(t *testing.T) {
	t.Parallel()
	for _, cost := range []int{bcrypt.MinCost, bcrypt.DefaultCost, 14} {
		if got, err := bcrypt.Cost(dummyHash(cost)); err != nil || got != cost {
			t.Errorf("dummyHash(%d): cost %d, %v", cost, got, err)
		}
	}
	err := bcrypt.CompareHashAndPassword(dummyHash(bcrypt.MinCost), []byte("anything"))
	if !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Errorf("comparing against the dummy hash: %v, want a mismatch (a full comparison)", err)
	}
}

// TestPasswordLimiter: with every slot taken, a check waits its bound and
// gets ErrBusy, or stops with its context; once a slot frees, checks run.
func TestPasswordLimiter(t *testing.T) {
	t.Parallel()
	l := newPasswordLimiter(1, 50*time.Millisecond)
	hold, held := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- l.do(context.Background(), func() { close(held); <-hold }) }()
	<-held
	if err := l.do(context.Background(), func() { t.Error("ran without a slot") }); !errors.Is(err, ErrBusy) {
		t.Errorf("do with no slot free = %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.do(ctx, func() { t.Error("ran without a slot") }); !errors.Is(err, context.Canceled) {
		t.Errorf("do with a canceled context = %v, want context.Canceled", err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatalf("holder: %v", err)
	}
	ran := false
	if err := l.do(context.Background(), func() { ran = true }); err != nil || !ran {
		t.Errorf("do with a free slot = %v (ran %v)", err, ran)
	}
	if l.peak.Load() != 1 || l.busy.Load() != 1 || l.inFlight.Load() != 0 {
		t.Errorf("peak %d, busy %d, in flight %d; want 1, 1, 0", l.peak.Load(), l.busy.Load(), l.inFlight.Load())
	}
}
