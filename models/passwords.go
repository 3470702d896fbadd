package models

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ErrBusy is returned when no password-hashing slot freed up within
// Options.PasswordWait: the caller answers 503 with Retry-After rather
// than queue without end.
var ErrBusy = errors.New("models: password hashing is busy")

// dummySaltAndHash is the salt and digest of a real bcrypt hash (of "not a
// password"). CheckPassword compares an unknown username's password
// against it at the store's cost, so that a failed login takes as long
// whether or not the username exists; bcrypt reads the cost from the hash,
// so no hash needs computing at start-up (it used to be, and at a high
// cost that delayed every start).
const dummySaltAndHash = "lixNgsa4nJRM6BFOsHl.lel7RUcnwj6lzkVDK96fP3ooCtiPxygXq"

// dummyHash is a bcrypt hash at cost that no password matches in practice.
func dummyHash(cost int) []byte { return fmt.Appendf(nil, "$2a$%02d$%s", cost, dummySaltAndHash) }

// passwordLimiter bounds how many bcrypt evaluations run at once. bcrypt
// is CPU-bound by design (~40 ms a hash at the default cost): unbounded,
// a login storm takes every core and token and userinfo requests queue
// behind it. Bounded, the rest of the server keeps CPU, and a login that
// finds no slot within wait is refused (ErrBusy) rather than queued.
type passwordLimiter struct {
	slots chan struct{}
	wait  time.Duration

	inFlight atomic.Int64
	peak     atomic.Int64
	busy     atomic.Uint64
}

func newPasswordLimiter(slots int, wait time.Duration) *passwordLimiter {
	if slots <= 0 {
		// Half the cores: the other half stays for everything else.
		slots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if wait <= 0 {
		wait = DefaultPasswordWait
	}
	return &passwordLimiter{slots: make(chan struct{}, slots), wait: wait}
}

// DefaultPasswordWait is how long a password check waits for a slot when
// Options.PasswordWait is zero: a queue of a few seconds' logins, no more.
const DefaultPasswordWait = 5 * time.Second

// do runs f in a slot, waiting for one at most l.wait and no longer than
// ctx lives.
func (l *passwordLimiter) do(ctx context.Context, f func()) error {
	select {
	case l.slots <- struct{}{}:
	default:
		timer := time.NewTimer(l.wait)
		defer timer.Stop()
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("models: wait for a password slot: %w", ctx.Err())
		case <-timer.C:
			l.busy.Add(1)
			return ErrBusy
		}
	}
	n := l.inFlight.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	defer func() {
		l.inFlight.Add(-1)
		<-l.slots
	}()
	f()
	return nil
}

// PasswordStats describe the password-hashing slots, for metrics and tests.
type PasswordStats struct {
	Slots    int    // how many bcrypt evaluations may run at once
	InFlight int64  // running now
	Peak     int64  // the most that ever ran at once
	Busy     uint64 // checks refused with ErrBusy
}

// PasswordStats reports the password-hashing slots' use.
func (s *Store) PasswordStats() PasswordStats {
	l := s.passwords
	return PasswordStats{Slots: cap(l.slots), InFlight: l.inFlight.Load(), Peak: l.peak.Load(), Busy: l.busy.Load()}
}

// HashPassword hashes a password with bcrypt at the store's cost, in a
// password slot. Passwords over 72 bytes are refused rather than silently
// truncated.
func (s *Store) HashPassword(ctx context.Context, password string) (string, error) {
	var h []byte
	var err error
	if serr := s.passwords.do(ctx, func() { h, err = bcrypt.GenerateFromPassword([]byte(password), s.passwordCost) }); serr != nil {
		return "", serr
	}
	if err != nil {
		return "", fmt.Errorf("models: hash password: %w", err)
	}
	return string(h), nil
}

// VerifyPassword reports whether password matches the user's hash, in a
// password slot (ErrBusy when none frees up in time). A nil user still
// costs one bcrypt comparison at the store's cost, so that a failed login
// takes as long whether or not the username exists.
func (s *Store) VerifyPassword(ctx context.Context, u *User, password string) (bool, error) {
	hash := s.dummyHash
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	var ok bool
	err := s.passwords.do(ctx, func() { ok = bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil })
	return ok && u != nil, err
}
