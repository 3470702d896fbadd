package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrRefreshReused is returned when a refresh token that was already
// rotated out is presented again; its whole family has been revoked.
var ErrRefreshReused = errors.New("models: refresh token reused")

// CreateToken stores a token (hashes are set by the caller).
func (s *Store) CreateToken(ctx context.Context, t *Token) error {
	if err := s.db.WithContext(ctx).Create(t).Error; err != nil {
		return notFound(err, "create token")
	}
	return nil
}

// ActiveAccessToken finds an access token that is neither expired nor
// revoked, with its User loaded (nil for client tokens).
func (s *Store) ActiveAccessToken(ctx context.Context, accessHash string, now time.Time) (*Token, error) {
	var t Token
	// The user comes by JOIN, in the same statement.
	err := scanJoined(s.rd.WithContext(ctx).Raw(activeAccessTokenSQL, accessHash, now), tokenTargets(&t), nil, &t.User)
	if err != nil {
		return nil, notFound(err, "active access token")
	}
	return &t, nil
}

var (
	activeAccessTokenSQL = "SELECT " + columnsOf("tokens", tokenColumns) + ", " + columnsOf("u", userColumns) +
		" FROM tokens LEFT JOIN users u ON u.id = tokens.user_id" +
		" WHERE tokens.access_token_hash = ? AND tokens.revoked_at IS NULL AND tokens.expires_at > ?"
	selectRefreshSQL = "SELECT " + columnsOf("tokens", tokenColumns) + ", " + columnsOf("c", clientColumns) + ", " +
		columnsOf("u", userColumns) + " FROM tokens LEFT JOIN clients c ON c.id = tokens.client_id" +
		" LEFT JOIN users u ON u.id = tokens.user_id WHERE tokens.refresh_token_hash = ?"
)

// insertToken stores t within tx (gorm's Create without associations).
func insertToken(tx *gorm.DB, t *Token) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = tx.NowFunc()
	}
	return scanOne(tx.Raw(insertTokenSQL, tokenValues(t)...), &t.ID)
}

// RotateRefreshToken exchanges a refresh token for a new token pair. check
// sees the old token (Client and User loaded) and may refuse it, leaving it
// usable; mint builds the successor. The old pair is revoked and the new one
// stored in one transaction. A refresh token that was rotated out before is
// reuse (RFC 9700 §4.14.2): every token of its family is revoked and
// ErrRefreshReused returned. A revoked or unknown one is ErrNotFound. The
// audit events, which mint may fill in, are recorded in the same
// transaction.
func (s *Store) RotateRefreshToken(ctx context.Context, refreshHash string, now time.Time,
	check func(*Token) error, mint func(*Token) (*Token, error), audit ...*Event) (*Token, error) {
	var next *Token
	var reusedFamily string
	var reuse *Event
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var old Token
		// One statement: the client and user come by JOIN.
		if err := scanJoined(tx.Raw(selectRefreshSQL, refreshHash), tokenTargets(&old), &old.Client, &old.User); err != nil {
			return err
		}
		if old.RotatedAt != nil {
			reusedFamily, reuse = old.FamilyID, reuseEvent(EventRefreshReuse, old.ClientID, old.UserID, audit)
			return ErrRefreshReused
		}
		if old.RevokedAt != nil {
			return gorm.ErrRecordNotFound
		}
		if err := check(&old); err != nil {
			return err
		}
		res := tx.Exec("UPDATE tokens SET rotated_at = ?, revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, now, old.ID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			reusedFamily, reuse = old.FamilyID, reuseEvent(EventRefreshReuse, old.ClientID, old.UserID, audit)
			return ErrRefreshReused
		}
		t, err := mint(&old)
		if err != nil {
			return err
		}
		// The successor keeps the code it descends from, so that reuse of
		// that code revokes it too (RFC 6749 §4.1.2).
		t.FamilyID, t.CodeID = old.FamilyID, old.CodeID
		if err := insertToken(tx, t); err != nil {
			return err
		}
		for _, e := range audit {
			if err := recordEvent(tx, e); err != nil {
				return err
			}
		}
		next = t
		return nil
	})
	if reusedFamily != "" {
		if rerr := s.revokeWhere(ctx, now, reuse, "family_id = ?", reusedFamily); rerr != nil {
			return nil, rerr
		}
		return nil, ErrRefreshReused
	}
	if err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("models: rotate refresh token: %w", err)
	}
	return next, nil
}

// revokeWhere revokes every unrevoked token matching the condition and,
// when ev is not nil, records it in the same transaction with the number
// of tokens revoked appended to its detail.
func (s *Store) revokeWhere(ctx context.Context, now time.Time, ev *Event, cond string, args ...any) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Token{}).Where("revoked_at IS NULL").Where(cond, args...).Update("revoked_at", now)
		if res.Error != nil || ev == nil {
			return res.Error
		}
		noun := "tokens"
		if res.RowsAffected == 1 {
			noun = "token"
		}
		ev.Detail = strings.TrimSpace(fmt.Sprintf("%s %d %s revoked", ev.Detail, res.RowsAffected, noun))
		return recordEvent(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("models: revoke tokens: %w", err)
	}
	return nil
}

// reuseEvent is the audit event of a replayed code or reused refresh
// token, recorded with the revocation it causes. It carries the remote
// address of the events the caller gave for the success path.
func reuseEvent(kind string, clientID uint, userID *uint, audit []*Event) *Event {
	e := &Event{Kind: kind, ClientID: &clientID, UserID: userID}
	if len(audit) > 0 && audit[0] != nil {
		e.RemoteIP = audit[0].RemoteIP
	}
	return e
}

// TokensByCode returns every token issued from a code or refreshed from
// one, revoked or not, oldest first.
func (s *Store) TokensByCode(ctx context.Context, codeID uint) ([]Token, error) {
	var out []Token
	if err := s.rd.WithContext(ctx).Where("code_id = ?", codeID).Order("id").Find(&out).Error; err != nil {
		return nil, notFound(err, "tokens by code")
	}
	return out, nil
}

// IssueToken stores a token that comes from no code or refresh token
// (client_credentials), with its audit events, in one transaction: an
// authorization with no code (IssueAuthorization).
func (s *Store) IssueToken(ctx context.Context, t *Token, audit ...*Event) error {
	return s.IssueAuthorization(ctx, nil, t, audit...)
}

// RevokeByValue revokes the token whose access or refresh token hashes to
// hash, when it was issued to clientID (RFC 7009 §2.1): both kinds are
// looked up, whatever the caller's hint. An access token revokes its row,
// so the refresh token issued beside it too (§2.1 allows it); a refresh
// token revokes its whole family, the pairs rotated from it included. A
// token of another client, or none, revokes nothing: revoked is false.
func (s *Store) RevokeByValue(ctx context.Context, clientID uint, hash string, now time.Time, audit *Event) (revoked bool, err error) {
	var t Token
	err = s.db.WithContext(ctx).Select("id", "client_id", "user_id", "family_id", "refresh_token_hash").
		Where("access_token_hash = ? OR refresh_token_hash = ?", hash, hash).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("models: revoke by value: %w", err)
	}
	if t.ClientID != clientID {
		return false, nil
	}
	cond, arg, kind := "id = ?", any(t.ID), "access_token"
	if t.RefreshTokenHash != nil && *t.RefreshTokenHash == hash {
		cond, arg, kind = "family_id = ?", any(t.FamilyID), "refresh_token"
	}
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Token{}).Where("revoked_at IS NULL").Where(cond, arg).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 || audit == nil {
			return nil // already revoked: nothing new to record
		}
		audit.ClientID, audit.UserID = &t.ClientID, t.UserID
		audit.Detail = fmt.Sprintf("%s, %d token(s)", kind, res.RowsAffected)
		return recordEvent(tx, audit)
	})
	if err != nil {
		return false, fmt.Errorf("models: revoke tokens: %w", err)
	}
	return true, nil
}

// TokenByValue finds the token whose access or refresh token hashes to
// hash, whatever its state, with its Client and User loaded, in one
// statement (RFC 7662 §2.1: both kinds are looked up, token_type_hint is
// only a hint). The caller decides whether it is active. Deleting a
// client deletes its tokens, so a token found has its client.
func (s *Store) TokenByValue(ctx context.Context, hash string) (*Token, error) {
	var t Token
	if err := scanJoined(s.rd.WithContext(ctx).Raw(tokenByValueSQL, hash, hash), tokenTargets(&t), &t.Client, &t.User); err != nil {
		return nil, notFound(err, "token by value")
	}
	return &t, nil
}

var tokenByValueSQL = "SELECT " + columnsOf("tokens", tokenColumns) + ", " + columnsOf("c", clientColumns) + ", " +
	columnsOf("u", userColumns) + " FROM tokens JOIN clients c ON c.id = tokens.client_id" +
	" LEFT JOIN users u ON u.id = tokens.user_id WHERE tokens.access_token_hash = ? OR tokens.refresh_token_hash = ?"
