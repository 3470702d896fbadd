// Package session owns the browser side of oidcd: the login session (a
// gorilla/sessions Store whose values live in the database), flash
// messages, and CSRF protection for forms. The end-user handlers and the
// admin site both use it; neither imports the other.
package session

import (
	"context"
	"encoding/json"
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
	// cookieName is the session cookie's name over plain http, and the
	// name its signed value is bound to whatever the cookie is called.
	cookieName     = "oidcd_session"
	keyUserID      = "uid"
	keyAuthTime    = "auth_time"
	ctxSessionKey  = "oidcd.session"
	ctxUserKey     = "oidcd.session.user"
	ctxCSRFKey     = "csrf"
	settingHashKey = "session_hash_key"
	// secretCookie carries a one-time secret to the next page, encrypted
	// with the settingBlockKey, so that it is never written to the
	// database, not even inside a session row.
	secretCookie    = "oidcd_secret"
	settingBlockKey = "secret_cookie_key"
	secretMaxAge    = 5 * time.Minute
)

// keyAuthMicros is when the user logged in, in Unix microseconds: whole
// seconds would let a login in the same second as a request count as made
// after it (prompt=login, max_age). keyAuthTime holds Unix seconds in
// sessions started before, still read.
const keyAuthMicros = "auth_time_us"

// keySID is the session's sid (OpenID Back-Channel Logout 1.0 §2.1): a
// random id made at login, neither the cookie's value nor the row's key,
// so an ID token's sid names the session without opening it.
const keySID = "sid"

// Manager loads, saves and ends login sessions. The cookie holds only the
// signed session id; the signing key is a database setting, so every
// instance accepts every cookie, and an admin can end a session by
// deleting its row.
type Manager struct {
	store   *models.Store
	codecs  []securecookie.Codec
	options sessions.Options
	now     func() time.Time
	// secrets encrypts and signs the one-time secret cookie.
	secrets securecookie.Codec
	// name and secretName are the cookies' names (cookieNames).
	name, secretName string
	// csrfKey derives a session's CSRF token (csrf.go).
	csrfKey []byte
	// browserState sets the browser-state cookie (browserstate.go).
	browserState bool
}

// cookieNames gives the session and secret cookies their names. Under an
// https issuer the session cookie is __Host-: a browser then keeps it only
// when this very host set it Secure, at Path=/ and without a Domain, so a
// sibling subdomain can neither plant nor overwrite it (RFC 6265bis
// §4.1.3.2). The secret cookie is scoped to /admin, which __Host- forbids,
// so it is __Secure- (§4.1.3.1).
func cookieNames(secure bool) (session, secret string) {
	if secure {
		return "__Host-" + cookieName, "__Secure-" + secretCookie
	}
	return cookieName, secretCookie
}

// New makes the session manager. maxAge is the session lifetime; secure
// sets the cookies' Secure flag (true whenever the issuer is https).
func New(ctx context.Context, store *models.Store, maxAge time.Duration, secure bool, now func() time.Time) (*Manager, error) {
	hashKey, err := store.KeySetting(ctx, settingHashKey, 64)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	blockKey, err := store.KeySetting(ctx, settingBlockKey, 32)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	csrfKey, err := store.KeySetting(ctx, settingCSRFKey, 32)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	secrets := securecookie.New(hashKey, blockKey)
	secrets.MaxAge(int(secretMaxAge / time.Second))
	seconds := int(maxAge / time.Second)
	codec := securecookie.New(hashKey, nil)
	codec.MaxAge(seconds)
	codec.MaxLength(0)
	codec.SetSerializer(&gobSerializer{})
	name, secretName := cookieNames(secure)
	return &Manager{
		name:       name,
		secretName: secretName,
		csrfKey:    csrfKey,
		store:      store,
		codecs:     []securecookie.Codec{codec},
		options: sessions.Options{
			Path:     "/",
			MaxAge:   seconds,
			HttpOnly: true,
			Secure:   secure,
			SameSite: http.SameSiteLaxMode,
		},
		now:     now,
		secrets: secrets,
	}, nil
}

// Get returns the request's session (sessions.Store).
func (m *Manager) Get(r *http.Request, name string) (*sessions.Session, error) {
	return m.New(r, name)
}

// New loads the session named by the request's cookie, or starts an empty
// one when the cookie is missing, forged, expired or unknown
// (sessions.Store). An unknown id from a valid cookie is kept: it is an
// anonymous session, which has no row, and its id is what the CSRF token
// is derived from.
func (m *Manager) New(r *http.Request, name string) (*sessions.Session, error) {
	s := sessions.NewSession(m, name)
	opts := m.options
	s.Options = &opts
	s.IsNew = true
	cookie, err := r.Cookie(name)
	if err != nil {
		return s, nil
	}
	var id string
	if err := securecookie.DecodeMulti(cookieName, cookie.Value, &id, m.codecs...); err != nil || id == "" {
		return s, nil
	}
	s.ID = id
	row, err := m.store.SessionByID(r.Context(), id, m.now())
	if errors.Is(err, models.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := securecookie.DecodeMulti(cookieName, row.Data, &s.Values, m.codecs...); err != nil {
		return s, nil
	}
	s.IsNew = false
	return s, nil
}

// Save writes the session row and the cookie; a negative MaxAge deletes
// both (sessions.Store).
func (m *Manager) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	if s.Options.MaxAge < 0 {
		if s.ID != "" {
			if err := m.store.DeleteSession(r.Context(), s.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(s.Name(), "", s.Options))
		return nil
	}
	if s.ID == "" {
		s.ID = models.NewID()
	}
	data, err := securecookie.EncodeMulti(cookieName, s.Values, m.codecs...)
	if err != nil {
		return fmt.Errorf("session: encode: %w", err)
	}
	row := &models.Session{
		ID:        s.ID,
		Data:      data,
		ExpiresAt: m.now().Add(time.Duration(s.Options.MaxAge) * time.Second),
	}
	if uid, ok := s.Values[keyUserID].(uint); ok {
		row.UserID = &uid
	}
	if err := m.store.SaveSession(r.Context(), row); err != nil {
		return err
	}
	return m.setCookie(w, s)
}

// setCookie writes the cookie that carries the session's signed id.
func (m *Manager) setCookie(w http.ResponseWriter, s *sessions.Session) error {
	cookieValue, err := securecookie.EncodeMulti(cookieName, s.ID, m.codecs...)
	if err != nil {
		return fmt.Errorf("session: encode cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(s.Name(), cookieValue, s.Options))
	return nil
}

// Load returns the request's login session, loaded once per request.
func (m *Manager) Load(c echo.Context) (*sessions.Session, error) {
	if s, ok := c.Get(ctxSessionKey).(*sessions.Session); ok {
		return s, nil
	}
	s, err := m.New(c.Request(), m.name)
	if err != nil {
		return nil, fmt.Errorf("session: load: %w", err)
	}
	c.Set(ctxSessionKey, s)
	return s, nil
}

// User returns the signed-in, active user and when they authenticated, or
// a nil user.
func (m *Manager) User(c echo.Context) (*models.User, time.Time, error) {
	s, err := m.Load(c)
	if err != nil {
		return nil, time.Time{}, err
	}
	uid, ok := s.Values[keyUserID].(uint)
	if !ok {
		return nil, time.Time{}, nil
	}
	authTime := time.Unix(0, 0).UTC()
	if us, ok := s.Values[keyAuthMicros].(int64); ok {
		authTime = time.UnixMicro(us).UTC()
	} else if sec, ok := s.Values[keyAuthTime].(int64); ok {
		authTime = time.Unix(sec, 0).UTC()
	}
	// Read once per request (a resumed authorization asks twice); a
	// user signed in during the request is another uid, read afresh.
	if got, ok := c.Get(ctxUserKey).(*models.User); ok && got.ID == uid {
		return got, authTime, nil
	}
	u, err := m.store.UserByID(c.Request().Context(), uid)
	if errors.Is(err, models.ErrNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if !u.Active {
		return nil, time.Time{}, nil
	}
	c.Set(ctxUserKey, u)
	return u, authTime, nil
}

// Start signs the user in under a new session id: the old row is deleted,
// so a session id planted before login is worthless after it. An account
// signed in on it before is set aside under an id nobody holds
// (accounts.go).
func (m *Manager) Start(c echo.Context, u *models.User, at time.Time) error {
	s, err := m.Load(c)
	if err != nil {
		return err
	}
	// The account signed in until now stays signed in, set aside
	// (accounts.go); u's own older sessions on this browser end.
	ctx := c.Request().Context()
	list := others(s.Values)
	if uid, ok := s.Values[keyUserID].(uint); ok && uid == u.ID {
		delete(s.Values, keyUserID)
	}
	if list, err = m.setAsideCurrent(ctx, s, list); err != nil {
		return err
	}
	if list, err = m.withoutUser(ctx, list, u.ID); err != nil {
		return err
	}
	s.ID = ""
	s.Values = map[any]any{keyUserID: u.ID, keyAuthMicros: at.UnixMicro(), keySID: models.NewID()}
	if len(list) > 0 {
		s.Values[keyOthers] = list
	}
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return m.renewBrowserState(c)
}

// End signs every account on this browser out: their session rows go and
// a logout token is queued for every client each touched
// (models.Store.EndSession).
func (m *Manager) End(c echo.Context) error {
	s, err := m.Load(c)
	if err != nil {
		return err
	}
	if err := m.endOthers(c.Request().Context(), s); err != nil {
		return err
	}
	if s.ID != "" {
		if err := m.store.EndSession(c.Request().Context(), s.ID, models.EndLogout, m.now()); err != nil {
			return err
		}
	}
	s.Options.MaxAge = -1
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return m.renewBrowserState(c)
}

// Current returns the request's session id (what the cookie carries) and
// sid, or empty strings when there is no signed-in session. A session
// begun before sids were kept has none.
func (m *Manager) Current(c echo.Context) (id, sid string) {
	s, err := m.Load(c)
	if err != nil || s.IsNew {
		return "", ""
	}
	sid, _ = s.Values[keySID].(string)
	return s.ID, sid
}

// Flash is a one-time message shown on the next page. Secret marks a value
// (a new client secret) to be shown once with a copy button.
type Flash struct {
	Kind    string // "success", "error" or "secret"
	Message string
	Secret  string
}

// storedFlash is a Flash as the session row holds it: never the secret,
// only whether one waits in the secret cookie.
type storedFlash struct {
	Kind      string `json:"kind"`
	Message   string `json:"message"`
	HasSecret bool   `json:"has_secret,omitempty"`
}

// AddFlash queues a message for the next page the user sees. It needs a
// signed-in session; the message is stored with it. A Secret goes in an
// encrypted cookie of its own instead, scoped to the admin site and
// short-lived, so it is never written to the database: nothing secret is
// stored usable at rest.
func (m *Manager) AddFlash(c echo.Context, f Flash) error {
	s, err := m.Load(c)
	if err != nil {
		return err
	}
	if f.Secret != "" {
		value, err := m.secrets.Encode(secretCookie, f.Secret)
		if err != nil {
			return fmt.Errorf("session: encode secret: %w", err)
		}
		http.SetCookie(c.Response(), m.secretCookie(value, int(secretMaxAge/time.Second)))
	}
	b, err := json.Marshal(storedFlash{Kind: f.Kind, Message: f.Message, HasSecret: f.Secret != ""})
	if err != nil {
		return fmt.Errorf("session: encode flash: %w", err)
	}
	s.AddFlash(string(b))
	return s.Save(c.Request(), c.Response())
}

// Flashes returns and clears the queued messages.
func (m *Manager) Flashes(c echo.Context) []Flash {
	s, err := m.Load(c)
	if err != nil || s.IsNew {
		return nil
	}
	raw := s.Flashes()
	if len(raw) == 0 {
		return nil
	}
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return nil
	}
	out := make([]Flash, 0, len(raw))
	for _, r := range raw {
		var f storedFlash
		if str, ok := r.(string); !ok || json.Unmarshal([]byte(str), &f) != nil {
			continue
		}
		flash := Flash{Kind: f.Kind, Message: f.Message}
		if f.HasSecret {
			flash.Secret = m.takeSecret(c)
			if flash.Secret == "" {
				flash.Kind = "error"
				flash.Message += " (it could not be shown: this browser did not keep it; rotate the secret to get a new one)"
			}
		}
		out = append(out, flash)
	}
	return out
}

// takeSecret reads the one-time secret cookie and deletes it.
func (m *Manager) takeSecret(c echo.Context) string {
	cookie, err := c.Cookie(m.secretName)
	if err != nil {
		return ""
	}
	http.SetCookie(c.Response(), m.secretCookie("", -1))
	var secret string
	if err := m.secrets.Decode(secretCookie, cookie.Value, &secret); err != nil {
		return ""
	}
	return secret
}

func (m *Manager) secretCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: m.secretName, Value: value, Path: "/admin", MaxAge: maxAge,
		HttpOnly: true, Secure: m.options.Secure, SameSite: http.SameSiteStrictMode,
	}
}
