// Package models owns oidcd's persistent state: the GORM models, the Store
// that reads and writes them, and the schema migration. Every query here is
// plain SQL that SQLite and PostgreSQL both run, so several stateless
// instances can share one PostgreSQL database.
package models

import (
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrNotFound is returned by Store lookups that match no row.
var ErrNotFound = errors.New("models: not found")

// ErrConflict is returned when a write would break a uniqueness rule (a
// username or client_id that is already taken).
var ErrConflict = errors.New("models: conflict")

// Client types (RFC 6749 §2.1).
const (
	ClientConfidential = "confidential"
	ClientPublic       = "public"
)

// User is an end user who logs in at oidcd. Subject is the stable, opaque
// `sub` claim; it never changes, unlike the username.
type User struct {
	ID           uint   `gorm:"primaryKey"`
	Subject      string `gorm:"size:64;uniqueIndex;not null"`
	Username     string `gorm:"size:150;uniqueIndex;not null"`
	PasswordHash string `gorm:"size:255;not null"`

	Email               string
	EmailVerified       bool
	Name                string
	GivenName           string
	FamilyName          string
	MiddleName          string
	Nickname            string
	PreferredUsername   string
	Profile             string
	Picture             string
	Website             string
	Gender              string
	Birthdate           string
	Zoneinfo            string
	Locale              string
	PhoneNumber         string
	PhoneNumberVerified bool
	AddressFormatted    string
	AddressStreet       string
	AddressLocality     string
	AddressRegion       string
	AddressPostalCode   string
	AddressCountry      string
	// Attributes are the user's free-form attributes, beside the standard
	// claims: what a custom scope can release (CustomScope.Claims). Keys
	// and sizes are bounded by CheckAttributes.
	Attributes map[string]string `gorm:"serializer:json;type:text"`
	// ProfileUpdatedAt is when a claim or an attribute last changed: the
	// updated_at claim (OpenID Connect Core §5.1). Unlike UpdatedAt, a
	// login or a password change leaves it. Nullable only so that the
	// column could be added to a table with rows; migration 5 fills it.
	ProfileUpdatedAt time.Time

	// Active has no `default:true` tag: GORM writes a tag default in place
	// of a false field on create, so an inactive user could not be stored.
	Active    bool `gorm:"not null"`
	Superuser bool `gorm:"not null;default:false"`
	LastLogin *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Client is a relying party registered at oidcd (PARITY §7). The secret is
// kept only as a SHA-256 hash: it is a 256-bit random value, so a fast hash
// is as strong as a slow one and keeps /token quick.
type Client struct {
	ID         uint   `gorm:"primaryKey"`
	ClientID   string `gorm:"size:64;uniqueIndex;not null"`
	Name       string `gorm:"size:200;not null"`
	Owner      string
	ClientType string `gorm:"size:20;not null"`
	SecretHash string `gorm:"size:64"`
	// SecretSealed is the client secret itself, sealed at rest (secretBox,
	// bound to the client_id): HS256 ID tokens are signed with it. Empty
	// for public clients and for secrets made before it was kept.
	SecretSealed  string   `gorm:"type:text;not null;default:''"`
	ResponseTypes []string `gorm:"serializer:json;not null"`
	// GrantTypes are the grant types the client may use at /token (RFC
	// 6749 §5.2 unauthorized_client otherwise). The column takes NULL only
	// so that it could be added to a table with rows; migration 4 gives
	// those rows DefaultGrantTypes, and BeforeCreate gives them to a new
	// client created without any.
	GrantTypes             []string `gorm:"serializer:json"`
	RedirectURIs           []string `gorm:"serializer:json;not null"`
	PostLogoutRedirectURIs []string `gorm:"serializer:json;not null"`
	Scopes                 []string `gorm:"serializer:json;not null"`
	JWTAlg                 string   `gorm:"size:10;not null;default:RS256"`
	RequireConsent         bool     `gorm:"not null"` // no default tag: see User.Active
	ReuseConsent           bool     `gorm:"not null"`
	WebsiteURL             string
	TermsURL               string
	ContactEmail           string
	Logo                   string
	// BackchannelLogoutURI is where a logout_token is POSTed when a
	// session that used the client ends (Back-Channel Logout 1.0 §2.2);
	// empty: none. BackchannelLogoutSessionRequired asks for sid in it.
	BackchannelLogoutURI             string `gorm:"not null;default:''"`
	BackchannelLogoutSessionRequired bool   `gorm:"not null;default:false"`
	CreatedAt                        time.Time
	UpdatedAt                        time.Time
}

// DefaultGrantTypes are the grant types of a client created without any,
// and of every client made before clients had grant types: what every
// client could use then.
var DefaultGrantTypes = []string{"authorization_code", "refresh_token"}

// BeforeCreate gives a client created without grant types the default
// ones (gorm calls it on Create).
func (c *Client) BeforeCreate(*gorm.DB) error {
	if c.GrantTypes == nil {
		c.GrantTypes = slices.Clone(DefaultGrantTypes)
	}
	return nil
}

// AllowsGrantType reports whether the client may use grantType at /token.
func (c *Client) AllowsGrantType(grantType string) bool {
	return slices.Contains(c.GrantTypes, grantType)
}

// IsPublic reports whether the client cannot keep a secret (RFC 6749 §2.1).
func (c *Client) IsPublic() bool { return c.ClientType == ClientPublic }

// HasRedirectURI reports whether uri is registered, by exact string match.
func (c *Client) HasRedirectURI(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// AllowsResponseType reports whether the client may use responseType.
func (c *Client) AllowsResponseType(responseType string) bool {
	return slices.Contains(c.ResponseTypes, responseType)
}

// AuthRequest is a validated authorization request parked while the user
// logs in or decides on consent. Keeping it in the database rather than in
// the process lets any instance resume it.
type AuthRequest struct {
	ID           string `gorm:"size:64;primaryKey"`
	ClientID     uint   `gorm:"not null;index"`
	Client       Client `gorm:"constraint:OnDelete:CASCADE"`
	RedirectURI  string `gorm:"not null"`
	ResponseType string `gorm:"not null"`
	// ResponseMode is the mode the response goes back in; "" (a request
	// parked before it was kept) means the response type's default.
	ResponseMode        string
	Scope               string `gorm:"not null"`
	State               string
	Nonce               string
	Prompt              string
	MaxAge              *int
	CodeChallenge       string
	CodeChallengeMethod string
	LoginHint           string
	CreatedAt           time.Time
	ExpiresAt           time.Time `gorm:"not null;index"`
}

// Code is an authorization code. Only its SHA-256 hash is stored.
type Code struct {
	ID                  uint   `gorm:"primaryKey"`
	CodeHash            string `gorm:"size:64;uniqueIndex;not null"`
	ClientID            uint   `gorm:"not null;index"`
	Client              Client `gorm:"constraint:OnDelete:CASCADE"`
	UserID              uint   `gorm:"not null;index"`
	User                User   `gorm:"constraint:OnDelete:CASCADE"`
	RedirectURI         string `gorm:"not null"`
	Scope               string `gorm:"not null"`
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time `gorm:"not null"`
	// SID is the login session's sid (session.Manager.SID), for the ID
	// token the code is exchanged for; "" for none.
	SID       string    `gorm:"column:sid;size:64;not null;default:''"`
	ExpiresAt time.Time `gorm:"not null;index"` // the janitor's lookup
	UsedAt    *time.Time
	CreatedAt time.Time
}

// Token is one access token, with the refresh token issued beside it.
// Tokens from one authorization share a FamilyID so that refresh-token
// reuse can revoke the whole line (RFC 9700 §4.14.2).
type Token struct {
	ID               uint    `gorm:"primaryKey;index:idx_tokens_client_newest,priority:2"`
	AccessTokenHash  string  `gorm:"size:64;uniqueIndex;not null"`
	RefreshTokenHash *string `gorm:"size:64;uniqueIndex"`
	// (client_id, id): a client's tokens, and its newest (MAX(id)) read
	// from the index alone, for the admin's "last token issued".
	ClientID uint   `gorm:"not null;index:idx_tokens_client_newest,priority:1"`
	Client   Client `gorm:"constraint:OnDelete:CASCADE"`
	UserID   *uint  `gorm:"index"`
	User     *User  `gorm:"constraint:OnDelete:CASCADE"`
	CodeID   *uint  `gorm:"index"`
	FamilyID string `gorm:"size:64;not null;index"`
	Scope    string `gorm:"not null"`
	AuthTime time.Time
	// SID is the sid of the login session the token family began in,
	// kept through refreshes for their ID tokens; "" for none.
	SID              string    `gorm:"column:sid;size:64;not null;default:''"`
	ExpiresAt        time.Time `gorm:"not null;index"` // the janitor's lookup
	RefreshExpiresAt *time.Time
	RotatedAt        *time.Time
	RevokedAt        *time.Time
	CreatedAt        time.Time
}

// ScopeList splits the space-separated scope.
func (t *Token) ScopeList() []string { return strings.Fields(t.Scope) }

// UserConsent records that a user let a client have some scopes.
type UserConsent struct {
	ID        uint   `gorm:"primaryKey"`
	UserID    uint   `gorm:"not null;uniqueIndex:idx_consent_user_client"`
	User      User   `gorm:"constraint:OnDelete:CASCADE"`
	ClientID  uint   `gorm:"not null;uniqueIndex:idx_consent_user_client"`
	Client    Client `gorm:"constraint:OnDelete:CASCADE"`
	Scope     string `gorm:"not null"`
	GivenAt   time.Time
	ExpiresAt time.Time
}

// Covers reports whether the consent is unexpired at now and includes
// every scope in want.
func (c *UserConsent) Covers(want []string, now time.Time) bool {
	if !now.Before(c.ExpiresAt) {
		return false
	}
	have := strings.Fields(c.Scope)
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// SigningKey is a private key that signs ID tokens. It is published in
// /jwks from its creation; the newest key of an algorithm whose
// ActivatesAt has come signs, until RetiredAt; retired keys stay published
// until what they signed has expired (State, keys.go).
type SigningKey struct {
	ID            uint   `gorm:"primaryKey"`
	KID           string `gorm:"column:kid;size:100;uniqueIndex;not null"`
	Alg           string `gorm:"size:10;not null"`
	PrivateKeyPEM string `gorm:"type:text;not null"` // sealed at rest (secretBox)
	CreatedAt     time.Time
	// ActivatesAt is when the key may begin to sign: after CreatedAt by
	// the pre-publication period for a rotated-in key. Keys made before
	// it existed got their CreatedAt (migration 6).
	ActivatesAt time.Time
	RetiredAt   *time.Time
}

// Session is a browser login session. The cookie holds only the signed
// session id; the values live here so every instance sees the same session
// and an admin can end it. The row's ID is the SHA-256 (hex) of the
// session id (sessionKey), never the id itself.
type Session struct {
	ID        string    `gorm:"size:64;primaryKey"`
	UserID    *uint     `gorm:"index"`
	Data      string    `gorm:"type:text;not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Setting is a named value the server needs on every instance, such as the
// session cookie keys. Value is sealed at rest (secretBox).
type Setting struct {
	Name      string `gorm:"size:100;primaryKey"`
	Value     string `gorm:"type:text;not null"`
	CreatedAt time.Time
}

// Event kinds recorded in the audit log.
const (
	EventLoginSucceeded = "login_succeeded"
	EventLoginFailed    = "login_failed"
	EventConsentGranted = "consent_granted"
	EventConsentDenied  = "consent_denied"
	EventTokenIssued    = "token_issued"
	EventLogout         = "logout"
	EventConsentRevoked = "consent_revoked"
	EventAdminChange    = "admin_change"
	EventTokenRevoked   = "token_revoked" // by its client at /revoke (RFC 7009)
	// EventPasswordChanged: the user changed their own password on the
	// account page (an admin setting it is an admin_change).
	EventPasswordChanged = "password_changed"
	// Back-channel logout deliveries (Back-Channel Logout 1.0): one
	// delivered, and one given up after its last attempt.
	EventBackchannelLogout       = "backchannel_logout"
	EventBackchannelLogoutFailed = "backchannel_logout_failed"
	// Security events, recorded on failure paths only (each one bounded by
	// the throttle or the revocation it comes with):
	// EventCodeReplay: an authorization code presented again; the tokens
	// it issued are revoked (RFC 6749 §4.1.2).
	EventCodeReplay = "code_replay"
	// EventRefreshReuse: a rotated-out refresh token presented again; its
	// family is revoked (RFC 9700 §4.14.2).
	EventRefreshReuse = "refresh_reuse"
	// EventLoginThrottled: the login throttle refused an attempt.
	EventLoginThrottled = "login_throttled"
	// EventClientAuthFailed: a counted failed client authentication at
	// /token, /revoke or /introspect (the client_id as sent, never the
	// secret).
	EventClientAuthFailed = "client_auth_failed"
)

// EventKinds lists every kind, for the audit log's filter.
var EventKinds = []string{
	EventLoginSucceeded, EventLoginFailed, EventConsentGranted, EventConsentDenied,
	EventConsentRevoked, EventTokenIssued, EventTokenRevoked, EventLogout, EventAdminChange,
	EventPasswordChanged,
	EventBackchannelLogout, EventBackchannelLogoutFailed,
	EventCodeReplay, EventRefreshReuse, EventLoginThrottled, EventClientAuthFailed,
}

// Event is one entry in the audit log. Login throttling does not read
// it (see Throttle): the log records, it does not decide.
type Event struct {
	ID       uint   `gorm:"primaryKey"`
	Kind     string `gorm:"size:40;not null;index:idx_event_kind_time"`
	Username string `gorm:"size:150;index"`
	UserID   *uint  `gorm:"index"`
	ClientID *uint  `gorm:"index"`
	RemoteIP string `gorm:"size:64"`
	Detail   string
	// Target, Before and After describe an admin change: what was changed
	// ("client 7") and its state before and after, as JSON without secrets.
	Target string
	Before string `gorm:"type:text"`
	After  string `gorm:"type:text"`
	// Also indexed alone for the janitor's retention (created_at < ?).
	CreatedAt time.Time `gorm:"index:idx_event_kind_time;index"`
}

// EventDay counts the events of one kind recorded on one UTC day, so that
// the dashboard's charts read a row per day instead of every event. It is
// kept in the transaction that records the event (recordEvent) and is not
// touched by the janitor: deleting old events leaves the charts as they
// were.
type EventDay struct {
	Day  string `gorm:"size:10;primaryKey"` // UTC, 2006-01-02
	Kind string `gorm:"size:40;primaryKey"`
	N    int64  `gorm:"not null"`
}

// ClientLogo is an uploaded logo, kept in the database so that every
// instance can serve it.
type ClientLogo struct {
	ClientID    uint   `gorm:"primaryKey"`
	Client      Client `gorm:"constraint:OnDelete:CASCADE"`
	ContentType string `gorm:"size:50;not null"`
	Data        []byte `gorm:"not null"`
	UpdatedAt   time.Time
}

func allModels() []any {
	return []any{
		&User{}, &Client{}, &AuthRequest{}, &Code{}, &Token{}, &UserConsent{},
		&SigningKey{}, &Session{}, &Setting{}, &Event{}, &ClientLogo{},
		&Throttle{}, &EventDay{}, &CustomScope{}, &SessionClient{}, &LogoutDelivery{},
	}
}
