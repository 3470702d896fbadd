package models

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// The hot paths (code exchange, refresh, userinfo, the audit row) read
// and write their rows with plain SQL and scan them here, column by
// column, instead of through gorm's per-call reflection. The column lists
// are the models' (TestRowColumnsMatchModels keeps them so); the SQL runs
// on SQLite and PostgreSQL alike (gorm binds the ? placeholders).

var (
	// userColumns: the claims' columns are named by the claims table
	// (their form names are the column names).
	userColumns = slices.Concat([]string{"id", "subject", "username", "password_hash"}, claimFieldColumns(),
		[]string{"attributes", "profile_updated_at", "active", "superuser", "last_login", "created_at", "updated_at"})
	clientColumns = []string{"id", "client_id", "name", "owner", "client_type", "secret_hash",
		"secret_sealed", "response_types", "grant_types", "redirect_uris", "post_logout_redirect_uris", "scopes",
		"jwt_alg", "require_consent", "reuse_consent", "website_url", "terms_url", "contact_email",
		"logo", "backchannel_logout_uri", "backchannel_logout_session_required", "created_at", "updated_at"}
	codeColumns = []string{"id", "code_hash", "client_id", "user_id", "redirect_uri", "scope", "nonce",
		"code_challenge", "code_challenge_method", "auth_time", "sid", "expires_at", "used_at", "created_at"}
	tokenColumns = []string{"id", "access_token_hash", "refresh_token_hash", "client_id", "user_id",
		"code_id", "family_id", "scope", "auth_time", "sid", "expires_at", "refresh_expires_at", "rotated_at",
		"revoked_at", "created_at"}
)

// columnsOf is "alias.c1, alias.c2, …".
func columnsOf(alias string, columns []string) string {
	return alias + "." + strings.Join(columns, ", "+alias+".")
}

// orZero scans a nullable column into a plain field: NULL is the zero
// value, as gorm reads it.
type orZero[T any] struct{ p *T }

func (z orZero[T]) Scan(v any) error {
	var n sql.Null[T]
	if err := n.Scan(v); err != nil {
		return err
	}
	*z.p = n.V
	return nil
}

func zeroOr[T any](p *T) orZero[T] { return orZero[T]{p} }

// userTargets are the scan targets of userColumns; id goes to *id, so
// that a LEFT JOIN that found no user leaves it nil.
func userTargets(u *User, id **uint) []any {
	t := make([]any, 0, len(userColumns))
	t = append(t, id, zeroOr(&u.Subject), zeroOr(&u.Username), zeroOr(&u.PasswordHash))
	for _, f := range ClaimFields {
		if f.Kind == ClaimBool {
			t = append(t, zeroOr(f.Bool(u)))
		} else {
			t = append(t, zeroOr(f.Str(u)))
		}
	}
	return append(t, jsonMap{&u.Attributes}, zeroOr(&u.ProfileUpdatedAt), zeroOr(&u.Active), zeroOr(&u.Superuser), &u.LastLogin, zeroOr(&u.CreatedAt), zeroOr(&u.UpdatedAt))
}

// jsonMap scans a string map stored by gorm's json serializer; NULL, ""
// and "null" leave it nil.
type jsonMap struct{ p *map[string]string }

func (j jsonMap) Scan(v any) error {
	var text []byte
	switch x := v.(type) {
	case nil:
	case string:
		text = []byte(x)
	case []byte:
		text = x
	default:
		return fmt.Errorf("models: scan %T as a JSON map", v)
	}
	*j.p = nil
	if len(text) == 0 || string(text) == "null" {
		return nil
	}
	return json.Unmarshal(text, j.p)
}

// claimFieldColumns are the columns of the claims table's fields, in its
// order.
func claimFieldColumns() []string {
	cols := make([]string, len(ClaimFields))
	for i, f := range ClaimFields {
		cols[i] = f.Form
	}
	return cols
}

// clientRow is a Client as scanned: its JSON lists still text.
type clientRow struct {
	c                                                           Client
	id                                                          *uint
	responseTypes, grantTypes, redirectURIs, postLogout, scopes string
}

func (r *clientRow) targets() []any {
	c := &r.c
	return []any{&r.id, zeroOr(&c.ClientID), zeroOr(&c.Name), zeroOr(&c.Owner), zeroOr(&c.ClientType),
		zeroOr(&c.SecretHash), zeroOr(&c.SecretSealed), zeroOr(&r.responseTypes), zeroOr(&r.grantTypes), zeroOr(&r.redirectURIs),
		zeroOr(&r.postLogout), zeroOr(&r.scopes), zeroOr(&c.JWTAlg), zeroOr(&c.RequireConsent),
		zeroOr(&c.ReuseConsent), zeroOr(&c.WebsiteURL), zeroOr(&c.TermsURL), zeroOr(&c.ContactEmail),
		zeroOr(&c.Logo), zeroOr(&c.BackchannelLogoutURI), zeroOr(&c.BackchannelLogoutSessionRequired), zeroOr(&c.CreatedAt), zeroOr(&c.UpdatedAt)}
}

// defaultGrantTypesJSON is DefaultGrantTypes as the json serializer
// writes them.
var defaultGrantTypesJSON = func() string {
	b, _ := json.Marshal(DefaultGrantTypes)
	return string(b)
}()

// client finishes the scan: the JSON lists decoded as gorm's json
// serializer does (an empty value leaves the list nil).
func (r *clientRow) client() (Client, error) {
	if r.id != nil {
		r.c.ID = *r.id
	}
	// Most clients have the default grant types: copied, not decoded.
	if r.grantTypes == defaultGrantTypesJSON {
		r.c.GrantTypes, r.grantTypes = slices.Clone(DefaultGrantTypes), ""
	}
	for _, l := range []struct {
		text string
		list *[]string
	}{{r.responseTypes, &r.c.ResponseTypes}, {r.grantTypes, &r.c.GrantTypes}, {r.redirectURIs, &r.c.RedirectURIs},
		{r.postLogout, &r.c.PostLogoutRedirectURIs}, {r.scopes, &r.c.Scopes}} {
		if l.text == "" {
			continue
		}
		if err := json.Unmarshal([]byte(l.text), l.list); err != nil {
			return Client{}, fmt.Errorf("models: client %d: %w", r.c.ID, err)
		}
	}
	return r.c, nil
}

func codeTargets(c *Code) []any {
	return []any{&c.ID, &c.CodeHash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope,
		zeroOr(&c.Nonce), zeroOr(&c.CodeChallenge), zeroOr(&c.CodeChallengeMethod), &c.AuthTime,
		zeroOr(&c.SID), &c.ExpiresAt, &c.UsedAt, zeroOr(&c.CreatedAt)}
}

func tokenTargets(t *Token) []any {
	return []any{&t.ID, &t.AccessTokenHash, &t.RefreshTokenHash, &t.ClientID, &t.UserID, &t.CodeID,
		&t.FamilyID, &t.Scope, zeroOr(&t.AuthTime), zeroOr(&t.SID), &t.ExpiresAt, &t.RefreshExpiresAt, &t.RotatedAt,
		&t.RevokedAt, zeroOr(&t.CreatedAt)}
}

// insertTokenSQL stores a token and returns its id.
var insertTokenSQL = "INSERT INTO tokens (" + strings.Join(tokenColumns[1:], ", ") + ") VALUES (?" +
	strings.Repeat(", ?", len(tokenColumns)-2) + ") RETURNING id"

// tokenValues are the values of insertTokenSQL.
func tokenValues(t *Token) []any {
	return []any{t.AccessTokenHash, t.RefreshTokenHash, t.ClientID, t.UserID, t.CodeID, t.FamilyID,
		t.Scope, t.AuthTime, t.SID, t.ExpiresAt, t.RefreshExpiresAt, t.RotatedAt, t.RevokedAt, t.CreatedAt}
}

// scanOne runs q and scans its first row into dest; no row is
// gorm.ErrRecordNotFound. (Not gorm's Row: with prepared statements it
// hands back an empty *sql.Row, which panics on Scan, when the prepare
// fails.)
func scanOne(q *gorm.DB, dest ...any) error {
	rows, err := q.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return gorm.ErrRecordNotFound
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// scanJoined scans one row of own columns followed by a client's and a
// user's (either may be left out), and sets them.
func scanJoined(q *gorm.DB, own []any, client *Client, user **User) error {
	targets := own
	var cr clientRow
	if client != nil {
		targets = append(targets, cr.targets()...)
	}
	var u User
	var uid *uint
	if user != nil {
		targets = append(targets, userTargets(&u, &uid)...)
	}
	if err := scanOne(q, targets...); err != nil {
		return err
	}
	if client != nil {
		c, err := cr.client()
		if err != nil {
			return err
		}
		*client = c
	}
	if user != nil {
		*user = nil
		if uid != nil {
			u.ID = *uid
			*user = &u
		}
	}
	return nil
}
