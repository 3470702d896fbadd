package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Back-channel logout (OpenID Back-Channel Logout 1.0) in the database:
// which clients each login session touched (SessionClient), and an outbox
// of logout tokens to deliver (LogoutDelivery). Every end of a session
// writes its deliveries in the transaction that ends it, so a logout that
// happened is never lost to a crash, and a background worker on any
// instance delivers them (ClaimLogoutDeliveries).

// SessionClient records that a login session issued a code or token to a
// client with a back-channel logout URI. SessionKey is the session row's
// id (the hash of the cookie's id); SID is the sid the client's ID tokens
// carry, neither the cookie value nor its hash.
// A row whose session is gone (expired, or replaced at a new login) is
// the janitor's.
type SessionClient struct {
	ID         uint   `gorm:"primaryKey"`
	SessionKey string `gorm:"size:64;not null;uniqueIndex:idx_session_client"`
	ClientID   uint   `gorm:"not null;uniqueIndex:idx_session_client;index"`
	Client     Client `gorm:"constraint:OnDelete:CASCADE"`
	UserID     uint   `gorm:"not null;index"`
	SID        string `gorm:"column:sid;size:64;not null"`
	CreatedAt  time.Time
}

// LogoutDelivery is a logout token waiting to be POSTed to a client's
// back-channel logout URI. The token is signed at each attempt, from
// Subject and SID; the row holds nothing secret. ClaimedAt marks a row a
// worker is delivering; a claim older than the stale bound is taken over.
type LogoutDelivery struct {
	ID            uint   `gorm:"primaryKey"`
	ClientID      uint   `gorm:"not null;index"`
	Client        Client `gorm:"constraint:OnDelete:CASCADE"`
	UserID        *uint
	Subject       string    `gorm:"size:64;not null"`
	SID           string    `gorm:"column:sid;size:64;not null;default:''"`
	Reason        string    `gorm:"size:40;not null;default:''"`
	Attempts      int       `gorm:"not null;default:0"`
	NextAttemptAt time.Time `gorm:"not null;index"`
	ClaimedAt     *time.Time
	LastError     string `gorm:"type:text;not null;default:''"`
	CreatedAt     time.Time
}

// Why a session ended: the Reason of its deliveries and of nothing else.
const (
	EndLogout      = "logout"            // the user at /logout or /end-session
	EndAdmin       = "admin"             // an admin ended the user's sessions
	EndDeactivated = "deactivated"       // the user was deactivated
	EndPassword    = "password_changed"  // the user's password was changed
	EndConsent     = "consent_withdrawn" // the user's consent to the client was withdrawn
	EndDeleted     = "user_deleted"      // the user was deleted
	EndEverywhere  = "signed_out_everywhere"
)

// TouchSession records that the session with cookie id sessionID, of
// user userID and sid, got a code or token for clientID; a repeat is no
// error. The caller records only clients with a back-channel logout URI:
// nothing else reads these rows.
func (s *Store) TouchSession(ctx context.Context, sessionID string, clientID, userID uint, sid string, now time.Time) error {
	err := s.db.WithContext(ctx).Exec(`INSERT INTO session_clients (session_key, client_id, user_id, sid, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_key, client_id) DO NOTHING`,
		SessionKey(sessionID), clientID, userID, sid, now).Error
	if err != nil {
		return notFound(err, "touch session")
	}
	return nil
}

// enqueueLogouts writes, within tx, a delivery for every session_clients
// row matching where (over alias sc) whose client has a back-channel
// logout URI, and deletes the rows matched.
func enqueueLogouts(tx *gorm.DB, reason string, now time.Time, where string, args ...any) error {
	now = dbTime(now)
	insert := `INSERT INTO logout_deliveries (client_id, user_id, subject, sid, reason, attempts, next_attempt_at, last_error, created_at)
		SELECT sc.client_id, sc.user_id, u.subject, sc.sid, ?, 0, ?, '', ?
		FROM session_clients sc JOIN users u ON u.id = sc.user_id JOIN clients c ON c.id = sc.client_id
		WHERE c.backchannel_logout_uri <> '' AND ` + where
	if err := tx.Exec(insert, append([]any{reason, now, now}, args...)...).Error; err != nil {
		return err
	}
	return tx.Exec("DELETE FROM session_clients WHERE "+strings.ReplaceAll(where, "sc.", ""), args...).Error
}

// EndSession ends the login session with cookie id id: its row goes and,
// in the same transaction, a logout token is queued for every client it
// touched. A missing session is no error.
func (s *Store) EndSession(ctx context.Context, id, reason string, now time.Time) error {
	return s.EndSessionKey(ctx, SessionKey(id), reason, now)
}

// EndSessionKey is EndSession for the session stored under key (an
// account set aside on a browser, whose id nobody holds).
func (s *Store) EndSessionKey(ctx context.Context, key, reason string, now time.Time) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := enqueueLogouts(tx, reason, now, "sc.session_key = ?", key); err != nil {
			return err
		}
		return tx.Delete(&Session{}, "id = ?", key).Error
	})
	if err != nil {
		return notFound(err, "end session")
	}
	return nil
}

// RekeySession moves the record of the clients a session touched from
// the session's old key to its new one, when the session itself moves to
// a new id (an account set aside or chosen again on a browser), so that
// ending it later still reaches those clients.
func (s *Store) RekeySession(ctx context.Context, oldKey, newKey string) error {
	err := s.db.WithContext(ctx).Model(&SessionClient{}).Where("session_key = ?", oldKey).Update("session_key", newKey).Error
	if err != nil {
		return notFound(err, "rekey session")
	}
	return nil
}

// EndUserSessions ends every login session of a user and queues the
// logout tokens for the clients they touched, in one transaction. It is
// the seam for "sign out everywhere" (reason EndEverywhere) and an admin
// ending the user's sessions (EndAdmin).
func (s *Store) EndUserSessions(ctx context.Context, userID uint, reason string, now time.Time) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error { return endUserSessions(tx, userID, reason, now) })
	if err != nil {
		return notFound(err, "end user sessions")
	}
	return nil
}

func endUserSessions(tx *gorm.DB, userID uint, reason string, now time.Time) error {
	if err := enqueueLogouts(tx, reason, now, "sc.user_id = ?", userID); err != nil {
		return err
	}
	return tx.Delete(&Session{}, "user_id = ?", userID).Error
}

// ClaimLogoutDeliveries claims up to limit deliveries due at now, each
// with one conditional UPDATE, so that of several instances exactly one
// delivers a row; a claim made before staleBefore (a worker that died) is
// taken over. Each claim counts an attempt. Client is loaded.
func (s *Store) ClaimLogoutDeliveries(ctx context.Context, now, staleBefore time.Time, limit int) ([]LogoutDelivery, error) {
	now, staleBefore = dbTime(now), dbTime(staleBefore)
	const due = "next_attempt_at <= ? AND (claimed_at IS NULL OR claimed_at < ?)"
	var ids []uint
	db := s.db.WithContext(ctx)
	if err := db.Model(&LogoutDelivery{}).Where(due, now, staleBefore).Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return nil, notFound(err, "claim logout deliveries")
	}
	var out []LogoutDelivery
	for _, id := range ids {
		res := db.Exec("UPDATE logout_deliveries SET claimed_at = ?, attempts = attempts + 1 WHERE id = ? AND "+due,
			now, id, now, staleBefore)
		if res.Error != nil {
			return out, notFound(res.Error, "claim logout delivery")
		}
		if res.RowsAffected != 1 {
			continue // another worker has it
		}
		var d LogoutDelivery
		if err := db.Preload("Client").Take(&d, id).Error; err != nil {
			return out, notFound(err, "claimed logout delivery")
		}
		out = append(out, d)
	}
	return out, nil
}

// FinishLogoutDelivery records an attempt's outcome: delivered or given
// up (retryAt nil), the row goes and event, when set, is recorded in the
// same transaction; otherwise it is released for another attempt at
// retryAt, with lastError kept.
func (s *Store) FinishLogoutDelivery(ctx context.Context, id uint, retryAt *time.Time, lastError string, event *Event) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if retryAt != nil {
			return tx.Exec("UPDATE logout_deliveries SET claimed_at = NULL, next_attempt_at = ?, last_error = ? WHERE id = ?",
				dbTime(*retryAt), lastError, id).Error
		}
		if err := tx.Delete(&LogoutDelivery{}, id).Error; err != nil {
			return err
		}
		if event != nil {
			return recordEvent(tx, event)
		}
		return nil
	})
	if err != nil {
		return notFound(err, "finish logout delivery")
	}
	return nil
}

// PendingLogoutDeliveries counts the deliveries not yet done.
func (s *Store) PendingLogoutDeliveries(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rd.WithContext(ctx).Model(&LogoutDelivery{}).Count(&n).Error; err != nil {
		return 0, notFound(err, "pending logout deliveries")
	}
	return n, nil
}

// EndOtherSessions ends every login session of a user but the one with
// cookie id keepID, queuing logout tokens as EndUserSessions does: for a
// user who changes their own password and stays signed in here.
func (s *Store) EndOtherSessions(ctx context.Context, userID uint, keepID, reason string, now time.Time) error {
	key := SessionKey(keepID)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := enqueueLogouts(tx, reason, now, "sc.user_id = ? AND sc.session_key <> ?", userID, key); err != nil {
			return err
		}
		return tx.Delete(&Session{}, "user_id = ? AND id <> ?", userID, key).Error
	})
	if err != nil {
		return notFound(err, "end other sessions")
	}
	return nil
}
