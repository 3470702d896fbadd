package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"oidcd/models"
)

const (
	sessionCookie  = "oidcd_session"
	keyUserID      = "uid"
	keyAuthTime    = "auth_time"
	ctxSessionKey  = "oidcd.session"
	settingHashKey = "session_hash_key"
)

// sessionStore is a gorilla/sessions Store whose values live in the
// database and whose cookie carries only the signed session id. The signing
// key is a database setting, so every instance accepts every cookie, and an
// admin can end a session by deleting its row.
type sessionStore struct {
	store   *models.Store
	codecs  []securecookie.Codec
	options sessions.Options
	now     func() time.Time
}

func newSessionStore(ctx context.Context, store *models.Store, cfg Config, now func() time.Time) (*sessionStore, error) {
	encoded, err := store.Setting(ctx, settingHashKey, func() (string, error) {
		return base64.StdEncoding.EncodeToString(securecookie.GenerateRandomKey(64)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("handlers: session key: %w", err)
	}
	hashKey, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(hashKey) < 32 {
		return nil, fmt.Errorf("handlers: session key setting is malformed")
	}
	maxAge := int(cfg.SessionExpire / time.Second)
	codec := securecookie.New(hashKey, nil)
	codec.MaxAge(maxAge)
	codec.MaxLength(0)
	return &sessionStore{
		store:  store,
		codecs: []securecookie.Codec{codec},
		options: sessions.Options{
			Path:     "/",
			MaxAge:   maxAge,
			HttpOnly: true,
			Secure:   cfg.SecureCookies(),
			SameSite: http.SameSiteLaxMode,
		},
		now: now,
	}, nil
}

// Get returns the request's session (sessions.Store).
func (s *sessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return s.New(r, name)
}

// New loads the session named by the request's cookie, or starts an empty
// one when the cookie is missing, forged, expired or unknown
// (sessions.Store).
func (s *sessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := s.options
	session.Options = &opts
	session.IsNew = true
	cookie, err := r.Cookie(name)
	if err != nil {
		return session, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, cookie.Value, &id, s.codecs...); err != nil {
		return session, nil
	}
	row, err := s.store.SessionByID(r.Context(), id, s.now())
	if errors.Is(err, models.ErrNotFound) {
		return session, nil
	}
	if err != nil {
		return session, err
	}
	if err := securecookie.DecodeMulti(name, row.Data, &session.Values, s.codecs...); err != nil {
		return session, nil
	}
	session.ID = id
	session.IsNew = false
	return session, nil
}

// Save writes the session row and the cookie; a negative MaxAge deletes
// both (sessions.Store).
func (s *sessionStore) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	if session.Options.MaxAge < 0 {
		if session.ID != "" {
			if err := s.store.DeleteSession(r.Context(), session.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(session.Name(), "", session.Options))
		return nil
	}
	if session.ID == "" {
		session.ID = models.NewID()
	}
	data, err := securecookie.EncodeMulti(session.Name(), session.Values, s.codecs...)
	if err != nil {
		return fmt.Errorf("handlers: encode session: %w", err)
	}
	row := &models.Session{
		ID:        session.ID,
		Data:      data,
		ExpiresAt: s.now().Add(time.Duration(session.Options.MaxAge) * time.Second),
	}
	if uid, ok := session.Values[keyUserID].(uint); ok {
		row.UserID = &uid
	}
	if err := s.store.SaveSession(r.Context(), row); err != nil {
		return err
	}
	cookieValue, err := securecookie.EncodeMulti(session.Name(), session.ID, s.codecs...)
	if err != nil {
		return fmt.Errorf("handlers: encode session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), cookieValue, session.Options))
	return nil
}

// session returns the request's login session, loaded once per request.
func (h *Handler) session(c echo.Context) (*sessions.Session, error) {
	if s, ok := c.Get(ctxSessionKey).(*sessions.Session); ok {
		return s, nil
	}
	s, err := h.sessions.New(c.Request(), sessionCookie)
	if err != nil {
		return nil, fmt.Errorf("handlers: load session: %w", err)
	}
	c.Set(ctxSessionKey, s)
	return s, nil
}

// sessionUser returns the signed-in, active user and when they
// authenticated, or a nil user.
func (h *Handler) sessionUser(c echo.Context) (*models.User, time.Time, error) {
	s, err := h.session(c)
	if err != nil {
		return nil, time.Time{}, err
	}
	uid, ok := s.Values[keyUserID].(uint)
	if !ok {
		return nil, time.Time{}, nil
	}
	authUnix, _ := s.Values[keyAuthTime].(int64)
	u, err := h.store.UserByID(c.Request().Context(), uid)
	if errors.Is(err, models.ErrNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if !u.Active {
		return nil, time.Time{}, nil
	}
	return u, time.Unix(authUnix, 0), nil
}

// startSession signs the user in under a new session id: the old row is
// deleted, so a session id planted before login is worthless after it.
func (h *Handler) startSession(c echo.Context, u *models.User, at time.Time) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	if s.ID != "" {
		if err := h.store.DeleteSession(c.Request().Context(), s.ID); err != nil {
			return err
		}
	}
	s.ID = ""
	s.Values = map[any]any{keyUserID: u.ID, keyAuthTime: at.Unix()}
	return s.Save(c.Request(), c.Response())
}

// endSession signs the user out and deletes the session.
func (h *Handler) endSession(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	s.Options.MaxAge = -1
	return s.Save(c.Request(), c.Response())
}
