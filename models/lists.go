package models

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Sort is the order an admin list asks for: the key of one of the list's
// SortColumns and a direction. A key the list does not declare sorts by
// the list's default.
type Sort struct {
	Key  string
	Desc bool
}

// sortColumn is one column an admin list may be ordered by: an SQL
// expression written here, never taken from a request.
type sortColumn struct {
	key  string
	expr string
	// nullable columns sort their NULLs last in both directions, as
	// PostgreSQL and SQLite would otherwise disagree (PostgreSQL puts
	// NULL last ascending, SQLite first).
	nullable bool
	// join is a join the expression needs, or "".
	join string
}

// SortColumns is the allowlist of one admin list's orders; the first is
// the default, newest first.
type SortColumns struct {
	table string
	cols  []sortColumn
}

// Has reports whether key is one of the list's orders.
func (s SortColumns) Has(key string) bool {
	return slices.ContainsFunc(s.cols, func(c sortColumn) bool { return c.key == key })
}

// Default is the list's order when none is asked for.
func (s SortColumns) Default() Sort { return Sort{Key: s.cols[0].key, Desc: true} }

// apply adds ORDER BY for o (or the default) to db, with the table's id
// in the same direction as a tie-break, so that pages neither repeat nor
// skip rows that compare equal.
func (s SortColumns) apply(db *gorm.DB, o Sort) *gorm.DB {
	i := slices.IndexFunc(s.cols, func(c sortColumn) bool { return c.key == o.Key })
	if i < 0 {
		o, i = s.Default(), 0
	}
	c := s.cols[i]
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	if c.join != "" {
		db = db.Joins(c.join).Select(s.table + ".*")
	}
	if c.nullable {
		db = db.Order("CASE WHEN " + c.expr + " IS NULL THEN 1 ELSE 0 END")
	}
	return db.Order(c.expr + dir).Order(s.table + ".id" + dir)
}

// listPage is the end every admin list shares: how many rows db matches,
// and the page p of them in the order o (what names the list in errors).
func listPage[T any](db *gorm.DB, sorts SortColumns, o Sort, p Page, what string) ([]T, int64, error) {
	var total int64
	if err := db.Count(&total).Error; err != nil {
		return nil, 0, notFound(err, "count "+what)
	}
	var out []T
	if err := sorts.apply(db, o).Offset(p.Offset).Limit(p.Limit).Find(&out).Error; err != nil {
		return nil, 0, notFound(err, "list "+what)
	}
	return out, total, nil
}

// The orders of the admin lists.
var (
	ClientSorts = SortColumns{table: "clients", cols: []sortColumn{
		{key: "created", expr: "clients.created_at"},
		{key: "name", expr: "LOWER(clients.name)"},
		{key: "type", expr: "clients.client_type"},
		{key: "client_id", expr: "clients.client_id"},
		// The newest token's id stands for when it was issued: ids grow
		// with time, and the tokens table is indexed by client_id.
		{key: "last_used", expr: "(SELECT MAX(t.id) FROM tokens t WHERE t.client_id = clients.id)", nullable: true},
	}}
	UserSorts = SortColumns{table: "users", cols: []sortColumn{
		{key: "created", expr: "users.created_at"},
		{key: "username", expr: "LOWER(users.username)"},
		{key: "email", expr: "LOWER(users.email)"},
		{key: "name", expr: "LOWER(users.name)"},
		{key: "last_login", expr: "users.last_login", nullable: true},
	}}
	TokenSorts = SortColumns{table: "tokens", cols: []sortColumn{
		{key: "issued", expr: "tokens.created_at"},
		{key: "client", expr: "LOWER(clients.name)", join: "JOIN clients ON clients.id = tokens.client_id"},
		{key: "user", expr: "LOWER(users.username)", nullable: true, join: "LEFT JOIN users ON users.id = tokens.user_id"},
		{key: "expires", expr: "tokens.expires_at"},
		{key: "refresh_expires", expr: "tokens.refresh_expires_at", nullable: true},
	}}
	ConsentSorts = SortColumns{table: "user_consents", cols: []sortColumn{
		{key: "given", expr: "user_consents.given_at"},
		{key: "user", expr: "LOWER(users.username)", join: "JOIN users ON users.id = user_consents.user_id"},
		{key: "client", expr: "LOWER(clients.name)", join: "JOIN clients ON clients.id = user_consents.client_id"},
		{key: "expires", expr: "user_consents.expires_at"},
	}}
	CodeSorts = SortColumns{table: "codes", cols: []sortColumn{
		{key: "created", expr: "codes.created_at"},
		{key: "client", expr: "LOWER(clients.name)", join: "JOIN clients ON clients.id = codes.client_id"},
		{key: "user", expr: "LOWER(users.username)", join: "JOIN users ON users.id = codes.user_id"},
		{key: "expires", expr: "codes.expires_at"},
		{key: "used", expr: "codes.used_at", nullable: true},
	}}
)

// Filter values of the admin lists.
const (
	StatusActive   = "active"
	StatusRevoked  = "revoked"
	StatusExpired  = "expired"
	StatusAll      = "all"
	StatusUsed     = "used"
	StatusUnused   = "unused"
	StatusInactive = "inactive"
	TypeAccess     = "access"
	TypeRefresh    = "refresh"
)

// ClientQuery is what the clients list shows: a search, a client type
// ("" for both) and an order.
type ClientQuery struct {
	Q, Type string
	Sort    Sort
}

// ClientActivity is a client in the admin list with when it last had a
// token issued, if any token is on record (nil otherwise).
type ClientActivity struct {
	Client
	LastUsed *time.Time
}

// ListClientActivity returns a page of clients matching q with when each
// last had a token issued, and how many match in all. The activity is
// read from tokens already written, so nothing on /token or /userinfo
// writes for it.
func (s *Store) ListClientActivity(ctx context.Context, q ClientQuery, p Page) ([]ClientActivity, int64, error) {
	db := s.rd.WithContext(ctx).Model(&Client{})
	if q.Q != "" {
		pat := like(q.Q)
		db = db.Where(`(LOWER(clients.name) LIKE ? ESCAPE '\' OR LOWER(clients.client_id) LIKE ? ESCAPE '\')`, pat, pat)
	}
	if q.Type != "" {
		db = db.Where("clients.client_type = ?", q.Type)
	}
	clients, total, err := listPage[Client](db, ClientSorts, q.Sort, p, "clients")
	if err != nil {
		return nil, 0, err
	}
	out := make([]ClientActivity, len(clients))
	ids := make([]uint, len(clients))
	for i, c := range clients {
		out[i].Client, ids[i] = c, c.ID
	}
	if len(ids) == 0 {
		return out, total, nil
	}
	// The newest token of each client on the page, in one query. Read
	// as a column (not as MAX(created_at)), so that the driver gives a
	// time on SQLite as on PostgreSQL.
	var newest []struct {
		ClientID  uint
		CreatedAt time.Time
	}
	err = s.rd.WithContext(ctx).Model(&Token{}).Select("client_id, created_at").
		Where("id IN (?)", s.rd.Model(&Token{}).Select("MAX(id)").Where("client_id IN ?", ids).Group("client_id")).
		Find(&newest).Error
	if err != nil {
		return nil, 0, notFound(err, "clients' last tokens")
	}
	for _, n := range newest {
		for i := range out {
			if out[i].ID == n.ClientID {
				t := n.CreatedAt
				out[i].LastUsed = &t
			}
		}
	}
	return out, total, nil
}

// ClientName is a client's id and name, for a filter's choices.
type ClientName struct {
	ID   uint
	Name string
}

// ClientNames returns up to limit clients' ids and names, by name.
func (s *Store) ClientNames(ctx context.Context, limit int) ([]ClientName, error) {
	var out []ClientName
	err := s.rd.WithContext(ctx).Model(&Client{}).Select("id, name").Order("LOWER(name)").Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, notFound(err, "client names")
	}
	return out, nil
}

// UserQuery is what the users list shows: a search, active or inactive
// users ("" for both), superusers or not (nil for both) and an order.
type UserQuery struct {
	Q, Status string
	Superuser *bool
	Sort      Sort
}

// ListUsersBy returns a page of users matching q, and how many match in all.
func (s *Store) ListUsersBy(ctx context.Context, q UserQuery, p Page) ([]User, int64, error) {
	db := s.rd.WithContext(ctx).Model(&User{})
	if q.Q != "" {
		pat := like(q.Q)
		db = db.Where(`(LOWER(username) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\')`, pat, pat, pat)
	}
	switch q.Status {
	case StatusActive:
		db = db.Where("active = ?", true)
	case StatusInactive:
		db = db.Where("active = ?", false)
	}
	if q.Superuser != nil {
		db = db.Where("superuser = ?", *q.Superuser)
	}
	return listPage[User](db, UserSorts, q.Sort, p, "users")
}

// TokenQuery is what the tokens list shows: a user or client, a status
// (StatusActive, the default, StatusRevoked, StatusExpired or StatusAll),
// a type (TypeAccess: no refresh token, TypeRefresh, or "" for both) and
// an order.
type TokenQuery struct {
	GrantFilter
	Status, Type string
	Sort         Sort
}

// ListTokens returns a page of tokens matching q at now, with User and
// Client loaded, and how many match in all.
func (s *Store) ListTokens(ctx context.Context, q TokenQuery, now time.Time, p Page) ([]Token, int64, error) {
	db := q.applyTo(s.rd.WithContext(ctx).Model(&Token{}), "tokens")
	switch q.Status {
	case StatusRevoked:
		db = db.Where("tokens.revoked_at IS NOT NULL")
	case StatusExpired:
		db = db.Where("tokens.revoked_at IS NULL AND tokens.expires_at <= ? AND (tokens.refresh_expires_at IS NULL OR tokens.refresh_expires_at <= ?)", now, now)
	case StatusAll:
	default:
		db = db.Where("tokens.revoked_at IS NULL AND (tokens.expires_at > ? OR tokens.refresh_expires_at > ?)", now, now)
	}
	switch q.Type {
	case TypeAccess:
		db = db.Where("tokens.refresh_token_hash IS NULL")
	case TypeRefresh:
		db = db.Where("tokens.refresh_token_hash IS NOT NULL")
	}
	return listPage[Token](db.Preload("User").Preload("Client"), TokenSorts, q.Sort, p, "tokens")
}

// CodeQuery is what the codes list shows: a user or client, a status
// (StatusUnused: unused and unexpired, StatusUsed, StatusExpired: unused
// and expired, or "" for all) and an order.
type CodeQuery struct {
	GrantFilter
	Status string
	Sort   Sort
}

// ListCodesBy returns a page of codes matching q at now, with User and
// Client loaded, and how many match in all.
func (s *Store) ListCodesBy(ctx context.Context, q CodeQuery, now time.Time, p Page) ([]Code, int64, error) {
	db := q.applyTo(s.rd.WithContext(ctx).Model(&Code{}), "codes")
	switch q.Status {
	case StatusUnused:
		db = db.Where("codes.used_at IS NULL AND codes.expires_at > ?", now)
	case StatusUsed:
		db = db.Where("codes.used_at IS NOT NULL")
	case StatusExpired:
		db = db.Where("codes.used_at IS NULL AND codes.expires_at <= ?", now)
	}
	return listPage[Code](db.Preload("User").Preload("Client"), CodeSorts, q.Sort, p, "codes")
}

// ConsentQuery is what the consents list shows: a user or client and an order.
type ConsentQuery struct {
	GrantFilter
	Sort Sort
}

// ListConsentsBy returns a page of consents matching q, with User and
// Client loaded, and how many match in all.
func (s *Store) ListConsentsBy(ctx context.Context, q ConsentQuery, p Page) ([]UserConsent, int64, error) {
	db := q.applyTo(s.rd.WithContext(ctx).Model(&UserConsent{}), "user_consents")
	return listPage[UserConsent](db.Preload("User").Preload("Client"), ConsentSorts, q.Sort, p, "consents")
}

// MaxBulk bounds the rows one bulk admin action changes.
const MaxBulk = 100

// The bulk actions below change their rows one id at a time within one
// transaction: the same few statement texts whatever the number of ids,
// which the transaction statement cache (txstmt.go) keeps once, where an
// IN list would add a text per length.

// RevokeTokensByID revokes the token pairs with the given ids in one
// transaction and returns them as they were, with User and Client
// loaded. Ids of tokens that do not exist or are already revoked are
// skipped: skipped counts them.
func (s *Store) RevokeTokensByID(ctx context.Context, ids []uint, now time.Time) (revoked []Token, skipped int, err error) {
	return each(ctx, s, ids, "revoke tokens by id", func(tx *gorm.DB, id uint) (Token, error) { return revokeToken(tx, id, now) })
}

// RevokeConsents revokes the consents with the given ids in one
// transaction, each as RevokeConsent does (with the tokens and unused
// codes of its user and client), and returns them as they were. Ids of
// consents that do not exist are skipped: skipped counts them.
func (s *Store) RevokeConsents(ctx context.Context, ids []uint, now time.Time) (revoked []UserConsent, skipped int, err error) {
	return each(ctx, s, ids, "revoke consents", func(tx *gorm.DB, id uint) (UserConsent, error) { return revokeConsent(tx, id, now) })
}

// DeleteCodes deletes the authorization codes with the given ids in one
// transaction and returns them as they were. Ids of codes already gone
// are skipped: skipped counts them.
func (s *Store) DeleteCodes(ctx context.Context, ids []uint) (deleted []Code, skipped int, err error) {
	return each(ctx, s, ids, "delete codes", deleteCode)
}

// TokensByID returns the tokens with the given ids that exist, by id,
// with User and Client loaded: what a bulk action's confirmation shows.
func (s *Store) TokensByID(ctx context.Context, ids []uint) ([]Token, error) {
	return byIDs[Token](ctx, s.rd, ids, "tokens by id")
}

// ConsentsByID is TokensByID for consents.
func (s *Store) ConsentsByID(ctx context.Context, ids []uint) ([]UserConsent, error) {
	return byIDs[UserConsent](ctx, s.rd, ids, "consents by id")
}

// CodesByID is TokensByID for authorization codes.
func (s *Store) CodesByID(ctx context.Context, ids []uint) ([]Code, error) {
	return byIDs[Code](ctx, s.rd, ids, "codes by id")
}

func byIDs[T any](ctx context.Context, db *gorm.DB, ids []uint, what string) ([]T, error) {
	var out []T
	if len(ids) == 0 {
		return out, nil
	}
	if err := db.WithContext(ctx).Preload("User").Preload("Client").Where("id IN ?", ids).Order("id").Find(&out).Error; err != nil {
		return nil, notFound(err, what)
	}
	return out, nil
}
