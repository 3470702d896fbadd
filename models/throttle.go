package models

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Throttle kinds: what a throttle row counts failures of.
const (
	// ThrottleLogin is one username from one address. It locks at the
	// limit, and each repeated lockout doubles the lock (capped).
	ThrottleLogin = "login"
	// ThrottleLoginAddress is every username from one address: password
	// spraying.
	ThrottleLoginAddress = "login_address"
	// ThrottleLoginUser is one username from every address: a ceiling that
	// slows a distributed attack. A browser with a device cookie for the
	// username is counted under ThrottleLoginDevice instead, so the
	// ceiling cannot lock the owner out.
	ThrottleLoginUser = "login_user"
	// ThrottleLoginDevice is one username from one trusted browser (a
	// device cookie), so that a stolen device cookie is throttled too.
	ThrottleLoginDevice = "login_device"
	// ThrottleClient is one client_id from one address at /token.
	ThrottleClient = "client"
	// ThrottleClientAddress is every client_id from one address at /token,
	// unknown client_ids included.
	ThrottleClientAddress = "client_address"
)

// Bounds of the stored throttle values: what a client sends is cut to
// these (and made valid UTF-8), so that no input can make an insert fail.
const (
	throttleSubjectSize = 150
	throttleAddressSize = 64
	// MaxThrottleLock caps a growing lock; a window longer than it is the
	// cap instead.
	MaxThrottleLock = 24 * time.Hour
)

// Throttle is the state of one throttle key: failed attempts within the
// current window and, once they reach the key's limit, a lock. Attempts
// are counted before they are evaluated (ReserveAttempt), so concurrent
// guesses cannot all slip under the limit, and the count lives in the
// database, so the limit holds across instances.
//
// Times are Unix milliseconds (UTC by definition): the reservation compares
// them as integers, the same on SQLite and PostgreSQL whatever zone either
// stores times in.
type Throttle struct {
	ID uint `gorm:"primaryKey"`
	// KeyHash is SHA-256 of the kind, subject and address, in hex: bounded
	// whatever the client sent, and distinct for distinct inputs.
	KeyHash string `gorm:"size:64;uniqueIndex;not null"`
	Kind    string `gorm:"size:20;not null"`
	// Subject (a username or client_id) and Address are for display,
	// bounded and valid UTF-8; the key is KeyHash.
	Subject string `gorm:"size:150;not null"`
	Address string `gorm:"size:64;not null"`
	// Failures counts attempts reserved in the window ending at WindowEnd.
	Failures  int   `gorm:"not null"`
	WindowEnd int64 `gorm:"not null"`
	// LockedUntil refuses every attempt before it; Lockouts counts the
	// locks of a growing key, which each double the next.
	LockedUntil int64 `gorm:"not null"`
	Lockouts    int   `gorm:"not null"`
	// ExpiresAt is when the row stops mattering and may be deleted.
	ExpiresAt int64 `gorm:"not null;index"`
}

// Locked reports whether the throttle refuses attempts at now.
func (t *Throttle) Locked(now time.Time) bool { return now.UnixMilli() < t.LockedUntil }

// LockedUntilTime is LockedUntil as a time, or nil when never locked.
func (t *Throttle) LockedUntilTime() *time.Time {
	if t.LockedUntil == 0 {
		return nil
	}
	at := time.UnixMilli(t.LockedUntil).UTC()
	return &at
}

// ThrottleKey names one throttle and its rule. Limit attempts per Window
// are allowed; the attempt that reaches the limit locks the key until the
// window ends or, when Growing, for Window doubled at each lockout since
// the key was last quiet for MaxThrottleLock (capped at MaxThrottleLock).
type ThrottleKey struct {
	Kind    string
	Subject string // a username or client_id, or ""
	Address string // the client address, or ""
	// Device distinguishes a device cookie's key; it is hashed into the
	// key and never stored as text.
	Device  string
	Limit   int
	Window  time.Duration
	Growing bool
	// ClearOnSuccess forgets the key's failures on a correct attempt
	// (ReleaseAttempt); other keys only give back the attempt's own count.
	ClearOnSuccess bool
}

func (k ThrottleKey) hash() string {
	sum := sha256.Sum256([]byte(k.Kind + "\x00" + k.Subject + "\x00" + k.Address + "\x00" + k.Device))
	return hex.EncodeToString(sum[:])
}

// ThrottledError is ReserveAttempt's refusal: a key is locked.
type ThrottledError struct {
	Kind       string
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("models: throttled by %s for %s", e.Kind, e.RetryAfter)
}

// Reservation is an attempt counted by ReserveAttempt, to be given back
// by ReleaseAttempt when it turns out correct.
type Reservation struct {
	keys []ThrottleKey
	// windows is the WindowEnd each key's attempt was counted in, so that
	// a release after the window rolled over gives back nothing.
	windows map[string]int64
}

// ReserveAttempt counts one attempt against every key, in one
// transaction, before the attempt is evaluated: either every key counts
// it, or a locked key refuses it (a *ThrottledError, and nothing is
// counted). Each row is locked while it is read and written (SELECT ...
// FOR UPDATE on PostgreSQL; on SQLite the transaction holds the write
// lock from its start), in key order, so concurrent reservations queue
// and never deadlock. Any other error means the attempt could not be
// counted: the caller must refuse it (fail closed).
func (s *Store) ReserveAttempt(ctx context.Context, keys []ThrottleKey, now time.Time) (*Reservation, error) {
	ctx, cancel := landing(ctx)
	defer cancel()
	keys = sortedKeys(keys)
	res := &Reservation{keys: keys, windows: map[string]int64{}}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		rows := make([]Throttle, len(keys))
		for i, k := range keys {
			row, err := lockThrottle(tx, k)
			if err != nil {
				return err
			}
			rows[i] = *row
		}
		var refused *ThrottledError
		for i, k := range keys {
			if rows[i].Locked(now) {
				wait := time.Duration(rows[i].LockedUntil-now.UnixMilli()) * time.Millisecond
				if refused == nil || wait > refused.RetryAfter {
					refused = &ThrottledError{Kind: k.Kind, RetryAfter: wait}
				}
			}
		}
		if refused != nil {
			return refused
		}
		for i, k := range keys {
			reserve(&rows[i], k, now)
			if err := saveThrottle(tx, &rows[i]); err != nil {
				return err
			}
			res.windows[rows[i].KeyHash] = rows[i].WindowEnd
		}
		return nil
	})
	if te := (*ThrottledError)(nil); errors.As(err, &te) {
		return nil, te
	}
	if err != nil {
		return nil, fmt.Errorf("models: reserve attempt: %w", err)
	}
	return res, nil
}

// ReleaseAttempt gives back a reservation whose attempt was correct: keys
// marked ClearOnSuccess forget their failures and locks, the others
// uncount this one attempt (and unlock if that takes them under the
// limit).
func (s *Store) ReleaseAttempt(ctx context.Context, r *Reservation) error {
	ctx, cancel := landing(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for _, k := range r.keys {
			h := k.hash()
			if k.ClearOnSuccess {
				if err := tx.Where("key_hash = ?", h).Delete(&Throttle{}).Error; err != nil {
					return err
				}
				continue
			}
			var row Throttle
			err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("key_hash = ?", h).Take(&row).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				continue // cleared meanwhile
			}
			if err != nil {
				return err
			}
			if row.WindowEnd != r.windows[h] || row.Failures == 0 {
				continue // the window this attempt was counted in is over
			}
			row.Failures--
			if !k.Growing && row.Failures < k.Limit {
				row.LockedUntil = 0
			}
			if err := saveThrottle(tx, &row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("models: release attempt: %w", err)
	}
	return nil
}

// ThrottleWait reads the keys without counting anything: it returns how
// long the longest lock among them still holds, or 0 when none is locked.
// It suits checks whose failures are recorded afterwards (client
// authentication at /token, where a bounded overshoot is harmless).
func (s *Store) ThrottleWait(ctx context.Context, keys []ThrottleKey, now time.Time) (time.Duration, error) {
	hashes := make([]string, len(keys))
	for i, k := range keys {
		hashes[i] = k.hash()
	}
	var until int64
	err := scanOne(s.rd.WithContext(ctx).Raw("SELECT COALESCE(MAX(locked_until), 0) FROM throttles WHERE key_hash IN ?", hashes), &until)
	if err != nil {
		return 0, fmt.Errorf("models: read throttle: %w", err)
	}
	if wait := until - now.UnixMilli(); wait > 0 {
		return time.Duration(wait) * time.Millisecond, nil
	}
	return 0, nil
}

// ListThrottles returns a page of the throttles in force at now (failures
// in an open window, or a lock), locked ones first, and how many there are.
func (s *Store) ListThrottles(ctx context.Context, now time.Time, p Page) ([]Throttle, int64, error) {
	ms := now.UnixMilli()
	q := s.rd.WithContext(ctx).Model(&Throttle{}).
		Where("locked_until > ? OR (failures > 0 AND window_end > ?)", ms, ms)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, notFound(err, "count throttles")
	}
	var out []Throttle
	if err := q.Order("locked_until DESC, window_end DESC, id DESC").Offset(p.Offset).Limit(p.Limit).Find(&out).Error; err != nil {
		return nil, 0, notFound(err, "list throttles")
	}
	return out, total, nil
}

// ClearThrottle deletes a throttle, failures, lock and lockout history,
// and returns it as it was.
func (s *Store) ClearThrottle(ctx context.Context, id uint) (*Throttle, error) {
	var t Throttle
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Take(&t, id).Error; err != nil {
			return err
		}
		return tx.Delete(&Throttle{}, id).Error
	})
	if err != nil {
		return nil, notFound(err, "clear throttle")
	}
	return &t, nil
}

// sortedKeys orders keys by hash and drops repeats, so that every
// transaction locks rows in the same order.
func sortedKeys(keys []ThrottleKey) []ThrottleKey {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b ThrottleKey) int { return cmp.Compare(a.hash(), b.hash()) })
	return slices.CompactFunc(out, func(a, b ThrottleKey) bool { return a.hash() == b.hash() })
}

// lockThrottle makes sure the key's row exists and reads it under a row
// lock. On PostgreSQL a concurrent insert of the same key waits for the
// first to commit; SQLite runs one writing transaction at a time.
func lockThrottle(tx *gorm.DB, k ThrottleKey) (*Throttle, error) {
	h := k.hash()
	row := &Throttle{KeyHash: h, Kind: k.Kind, Subject: boundText(k.Subject, throttleSubjectSize), Address: boundText(k.Address, throttleAddressSize)}
	// One statement inserts the row or, when it exists, locks it (the
	// no-op update takes the row lock) and returns it. An insert that
	// did nothing followed by a locking read raced on PostgreSQL: a
	// release clearing the key (ClearOnSuccess) could delete the row in
	// between, and the read found nothing.
	err := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key_hash"}},
		DoUpdates: clause.Assignments(map[string]any{"key_hash": gorm.Expr("excluded.key_hash")}),
	}, clause.Returning{}).Create(row).Error
	if err != nil {
		return nil, err
	}
	return row, nil
}

func saveThrottle(tx *gorm.DB, t *Throttle) error {
	return tx.Model(&Throttle{}).Where("id = ?", t.ID).Updates(map[string]any{
		"failures": t.Failures, "window_end": t.WindowEnd, "locked_until": t.LockedUntil,
		"lockouts": t.Lockouts, "expires_at": t.ExpiresAt,
	}).Error
}

// reserve counts one attempt on an unlocked row: a new window when the
// last one is over, and a lock when the count reaches the limit. The
// attempt that reaches the limit is still evaluated; the next is refused.
func reserve(t *Throttle, k ThrottleKey, now time.Time) {
	ms := now.UnixMilli()
	maxLock := max(MaxThrottleLock, k.Window)
	if ms >= t.WindowEnd {
		t.Failures, t.WindowEnd = 0, ms+k.Window.Milliseconds()
	}
	// A growing key forgets its lockouts once it has been quiet for as
	// long as the longest lock.
	if t.LockedUntil != 0 && ms >= t.LockedUntil+maxLock.Milliseconds() {
		t.Lockouts = 0
	}
	t.Failures++
	if t.Failures >= k.Limit {
		if k.Growing {
			t.LockedUntil = ms + growingLock(k.Window, t.Lockouts, maxLock).Milliseconds()
			t.Lockouts++
		} else {
			t.LockedUntil = t.WindowEnd
		}
	}
	t.ExpiresAt = max(t.WindowEnd, t.LockedUntil)
	if k.Growing {
		t.ExpiresAt = max(t.ExpiresAt, t.LockedUntil+maxLock.Milliseconds())
	}
}

// growingLock is window doubled once per earlier lockout, at most maxLock.
func growingLock(window time.Duration, lockouts int, maxLock time.Duration) time.Duration {
	d := window
	for i := 0; i < lockouts && d < maxLock; i++ {
		d *= 2
	}
	return min(d, maxLock)
}
