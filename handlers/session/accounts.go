package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"oidcd/models"
)

// Several accounts on one browser (prompt=select_account, "Use another
// account"). Each account keeps a session row of its own, server-side,
// with its own user and login time, so ending a user's sessions ends it
// there too. The browser's cookie names only the current account's
// session; the others are listed in that session's values by their stored
// keys (models.SessionKey), never by id. An account set aside is moved to
// a fresh id nobody is given, so the cookie that named it before opens
// nothing; choosing it again moves it to a new id, as a login would.

// keyOthers lists the stored keys of the accounts set aside on this
// browser, most recent first.
const keyOthers = "others"

// maxAccounts bounds the accounts one browser keeps signed in.
const maxAccounts = 5

// ErrNoAccount is returned by Switch for a user not signed in on this
// browser.
var ErrNoAccount = errors.New("session: no such account on this browser")

// Account is one account signed in on this browser.
type Account struct {
	User     *models.User
	AuthTime time.Time
	Current  bool
}

// Accounts lists the accounts signed in on this browser: the current one
// first, then those set aside, most recent first. Ended, expired and
// deactivated ones are left out.
func (m *Manager) Accounts(c echo.Context) ([]Account, error) {
	var out []Account
	u, at, err := m.User(c)
	if err != nil {
		return nil, err
	}
	if u != nil {
		out = append(out, Account{User: u, AuthTime: at, Current: true})
	}
	s, err := m.Load(c)
	if err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	for _, key := range others(s.Values) {
		values, _, err := m.loadKey(ctx, key)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		uid, ok := values[keyUserID].(uint)
		if !ok {
			continue
		}
		user, err := m.store.UserByID(ctx, uid)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if user.Active && !slices.ContainsFunc(out, func(a Account) bool { return a.User.ID == uid }) {
			out = append(out, Account{User: user, AuthTime: authTimeOf(values)})
		}
	}
	return out, nil
}

// Switch makes the account of userID, set aside on this browser, the
// current one, and sets the current one aside. It returns ErrNoAccount
// when no such account is signed in here.
func (m *Manager) Switch(c echo.Context, userID uint) error {
	s, err := m.Load(c)
	if err != nil {
		return err
	}
	if uid, ok := s.Values[keyUserID].(uint); ok && uid == userID {
		return nil
	}
	ctx := c.Request().Context()
	list := others(s.Values)
	for i, key := range list {
		values, _, err := m.loadKey(ctx, key)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if uid, ok := values[keyUserID].(uint); !ok || uid != userID {
			continue
		}
		rest := slices.Delete(slices.Clone(list), i, i+1)
		if rest, err = m.setAsideCurrent(ctx, s, rest); err != nil {
			return err
		}
		if err := m.store.DeleteSessionKey(ctx, key); err != nil {
			return err
		}
		delete(values, keyOthers)
		if len(rest) > 0 {
			values[keyOthers] = rest
		}
		s.ID = ""
		s.Values = values
		if err := s.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		// The clients the chosen account's session touched follow it
		// to its new id, for back-channel logout.
		if err := m.store.RekeySession(ctx, key, models.SessionKey(s.ID)); err != nil {
			return err
		}
		return m.renewBrowserState(c)
	}
	return ErrNoAccount
}

// SetAside keeps the current account signed in but not current, so that
// the next login adds an account instead of replacing it ("Use another
// account"). The browser is left with an anonymous session that lists
// its accounts.
func (m *Manager) SetAside(c echo.Context) error {
	s, err := m.Load(c)
	if err != nil {
		return err
	}
	if _, ok := s.Values[keyUserID].(uint); !ok {
		return nil
	}
	list, err := m.setAsideCurrent(c.Request().Context(), s, others(s.Values))
	if err != nil {
		return err
	}
	s.ID = ""
	s.Values = map[any]any{keyOthers: list}
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return m.renewBrowserState(c)
}

// setAsideCurrent moves the session s, if someone is signed in on it, to
// a fresh id that nobody is given, deletes its old row, and returns list
// with its key first, at most maxAccounts-1 long (the oldest accounts
// beyond are signed out).
func (m *Manager) setAsideCurrent(ctx context.Context, s *sessions.Session, list []string) ([]string, error) {
	if _, ok := s.Values[keyUserID].(uint); ok {
		values := make(map[any]any, len(s.Values))
		for k, v := range s.Values {
			if k != keyOthers && k != "_flash" {
				values[k] = v
			}
		}
		key, err := m.saveUnnamed(ctx, values)
		if err != nil {
			return nil, err
		}
		if s.ID != "" {
			if err := m.store.RekeySession(ctx, models.SessionKey(s.ID), key); err != nil {
				return nil, err
			}
		}
		list = append([]string{key}, list...)
	}
	if s.ID != "" {
		if err := m.store.DeleteSession(ctx, s.ID); err != nil {
			return nil, err
		}
	}
	for len(list) > maxAccounts-1 {
		if err := m.store.EndSessionKey(ctx, list[len(list)-1], models.EndLogout, m.now()); err != nil {
			return nil, err
		}
		list = list[:len(list)-1]
	}
	return list, nil
}

// withoutUser drops from list the accounts of userID, whose rows it
// deletes (that user is signing in again), and those already gone.
func (m *Manager) withoutUser(ctx context.Context, list []string, userID uint) ([]string, error) {
	var out []string
	for _, key := range list {
		values, _, err := m.loadKey(ctx, key)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if uid, ok := values[keyUserID].(uint); ok && uid == userID {
			if err := m.store.DeleteSessionKey(ctx, key); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, key)
	}
	return out, nil
}

// endOthers ends every account set aside on this browser, queueing
// back-channel logout for the clients each touched.
func (m *Manager) endOthers(ctx context.Context, s *sessions.Session) error {
	for _, key := range others(s.Values) {
		if err := m.store.EndSessionKey(ctx, key, models.EndLogout, m.now()); err != nil {
			return err
		}
	}
	return nil
}

// saveUnnamed stores values as a session under a fresh random id that is
// then forgotten, and returns the row's key.
func (m *Manager) saveUnnamed(ctx context.Context, values map[any]any) (string, error) {
	id := models.NewID()
	data, err := securecookie.EncodeMulti(cookieName, values, m.codecs...)
	if err != nil {
		return "", fmt.Errorf("session: encode: %w", err)
	}
	row := &models.Session{ID: id, Data: data, ExpiresAt: m.now().Add(time.Duration(m.options.MaxAge) * time.Second)}
	if uid, ok := values[keyUserID].(uint); ok {
		row.UserID = &uid
	}
	if err := m.store.SaveSession(ctx, row); err != nil {
		return "", err
	}
	return models.SessionKey(id), nil
}

// loadKey reads the values of the session stored under key.
func (m *Manager) loadKey(ctx context.Context, key string) (map[any]any, *models.Session, error) {
	row, err := m.store.SessionByKey(ctx, key, m.now())
	if err != nil {
		return nil, nil, err
	}
	values := map[any]any{}
	if err := securecookie.DecodeMulti(cookieName, row.Data, &values, m.codecs...); err != nil {
		return nil, nil, models.ErrNotFound
	}
	// The decoded map may be shared with the serializer's cache.
	return maps.Clone(values), row, nil
}

// others is the list of accounts set aside, from a session's values.
func others(values map[any]any) []string {
	list, _ := values[keyOthers].([]string)
	return slices.Clone(list)
}

// authTimeOf reads when a session's user logged in (see User).
func authTimeOf(values map[any]any) time.Time {
	if us, ok := values[keyAuthMicros].(int64); ok {
		return time.UnixMicro(us).UTC()
	}
	if sec, ok := values[keyAuthTime].(int64); ok {
		return time.Unix(sec, 0).UTC()
	}
	return time.Unix(0, 0).UTC()
}
