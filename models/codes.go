package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrCodeReused is returned when a code that was already exchanged is
// presented again; the tokens it issued have been revoked.
var ErrCodeReused = errors.New("models: authorization code reused")

// CreateCode stores an authorization code (its hash is set by the caller).
func (s *Store) CreateCode(ctx context.Context, c *Code) error {
	if err := insertCode(s.db.WithContext(ctx), c); err != nil {
		return notFound(err, "create code")
	}
	return nil
}

// insertCode stores c within db, setting its ID.
func insertCode(db *gorm.DB, c *Code) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.NowFunc()
	}
	return scanOne(db.Raw(insertCodeSQL, c.CodeHash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, c.AuthTime, c.SID, c.ExpiresAt, c.UsedAt, c.CreatedAt), &c.ID)
}

// IssueAuthorization stores, in one transaction, what an implicit or
// hybrid authorization response returns: the code when there is one (nil
// otherwise), the access token t, tied to the code so that the code's
// reuse revokes it too (RFC 6749 §4.1.2), and the audit events.
func (s *Store) IssueAuthorization(ctx context.Context, code *Code, t *Token, audit ...*Event) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if code != nil {
			if err := insertCode(tx, code); err != nil {
				return err
			}
			t.CodeID = &code.ID
		}
		if err := insertToken(tx, t); err != nil {
			return err
		}
		for _, e := range audit {
			if err := recordEvent(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("models: issue authorization: %w", err)
	}
	return nil
}

var (
	insertCodeSQL = "INSERT INTO codes (" + strings.Join(codeColumns[1:], ", ") + ") VALUES (?" +
		strings.Repeat(", ?", len(codeColumns)-2) + ") RETURNING id"
	selectCodeSQL = "SELECT " + columnsOf("codes", codeColumns) + ", " + columnsOf("c", clientColumns) + ", " +
		columnsOf("u", userColumns) + " FROM codes LEFT JOIN clients c ON c.id = codes.client_id" +
		" LEFT JOIN users u ON u.id = codes.user_id WHERE codes.code_hash = ?"
)

// RedeemCode exchanges an authorization code for a token, atomically.
// check sees the code (with Client and User loaded) and may refuse it,
// leaving it unused; mint builds the token to store. The code is marked used
// and the token stored in one transaction, and the mark is a conditional
// UPDATE, so of many concurrent redemptions exactly one wins on SQLite and
// PostgreSQL alike. A second use returns ErrCodeReused and revokes every
// token the code issued (RFC 6749 §4.1.2). The audit events, which mint
// may fill in, are recorded in the same transaction: a token is issued
// with its audit row or not at all, in one write transaction.
func (s *Store) RedeemCode(ctx context.Context, codeHash string, now time.Time,
	check func(*Code) error, mint func(*Code) (*Token, error), audit ...*Event) (*Token, error) {
	var tok *Token
	var reused *Code
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var c Code
		// One statement: the client and user come by JOIN.
		var u *User
		if err := scanJoined(tx.Raw(selectCodeSQL, codeHash), codeTargets(&c), &c.Client, &u); err != nil {
			return err
		}
		if u != nil {
			c.User = *u
		}
		if c.UsedAt != nil {
			reused = &c
			return ErrCodeReused
		}
		if err := check(&c); err != nil {
			return err
		}
		res := tx.Exec("UPDATE codes SET used_at = ? WHERE id = ? AND used_at IS NULL", now, c.ID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			reused = &c
			return ErrCodeReused
		}
		t, err := mint(&c)
		if err != nil {
			return err
		}
		t.CodeID = &c.ID
		if err := insertToken(tx, t); err != nil {
			return err
		}
		for _, e := range audit {
			if err := recordEvent(tx, e); err != nil {
				return err
			}
		}
		tok = t
		return nil
	})
	if reused != nil {
		if rerr := s.revokeWhere(ctx, now, reuseEvent(EventCodeReplay, reused.ClientID, &reused.UserID, audit), "code_id = ?", reused.ID); rerr != nil {
			return nil, rerr
		}
		return nil, ErrCodeReused
	}
	if err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("models: redeem code: %w", err)
	}
	return tok, nil
}
