package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// CustomScope is a scope an administrator defines beside the standard
// ones (OpenID Connect Core §5.4): the consent page shows its title and
// description, and when it is granted the ID token (as the standard
// claims, Core §5.4) and /userinfo release its claims. The system oidcd
// rebuilds defined these in code (a ScopeClaims class); here they are
// rows, edited in the admin site.
type CustomScope struct {
	ID          uint   `gorm:"primaryKey"`
	Name        string `gorm:"size:100;uniqueIndex;not null"`
	Title       string `gorm:"size:200;not null"`
	Description string `gorm:"type:text;not null"`
	// Claims maps each claim the scope releases to the user attribute it
	// is read from: a standard claim field's form name ("given_name",
	// "address_country") or "attr:" and a key of User.Attributes
	// (CheckAttributeRef).
	Claims    map[string]string `gorm:"serializer:json;type:text;not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AttributePrefix marks a reference to one of User.Attributes in
// CustomScope.Claims: "attr:department".
const AttributePrefix = "attr:"

// CheckAttributeRef returns why ref names no user attribute a custom
// scope can release, or "".
func CheckAttributeRef(ref string) string {
	if key, ok := strings.CutPrefix(ref, AttributePrefix); ok {
		return CheckAttributeKey(key)
	}
	if _, ok := ClaimFieldByForm(ref); ok {
		return ""
	}
	return fmt.Sprintf("%q is no user attribute: use a standard field (such as given_name) or %skey", ref, AttributePrefix)
}

// AttributeValue is the value of the user attribute ref names, and
// whether it has one (an empty string or an unset key has none).
func AttributeValue(u *User, ref string) (any, bool) {
	if key, ok := strings.CutPrefix(ref, AttributePrefix); ok {
		v, ok := u.Attributes[key]
		return v, ok && v != ""
	}
	f, ok := ClaimFieldByForm(ref)
	switch {
	case !ok:
		return nil, false
	case f.Kind == ClaimBool:
		return *f.Bool(u), true
	default:
		v := *f.Str(u)
		return v, v != ""
	}
}

// Claims a custom scope releases: at most maxScopeClaims, named like the
// standard ones.
const maxScopeClaims = 30

var customClaimRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:\-]{0,63}$`)

// CheckCustomClaims returns why claims cannot be a custom scope's, or "";
// reserved are the claim names no custom scope may release (the standard
// and the ID token's own).
func CheckCustomClaims(claims map[string]string, reserved []string) string {
	if len(claims) > maxScopeClaims {
		return fmt.Sprintf("at most %d claims", maxScopeClaims)
	}
	for _, name := range slices.Sorted(maps.Keys(claims)) {
		switch {
		case !customClaimRE.MatchString(name):
			return fmt.Sprintf("claim %q must start with a letter and hold at most 64 letters, digits, '_', '.', ':' or '-'", name)
		case slices.Contains(reserved, name):
			return fmt.Sprintf("claim %q is a standard claim; name it otherwise", name)
		}
		if msg := CheckAttributeRef(claims[name]); msg != "" {
			return fmt.Sprintf("claim %s: %s", name, msg)
		}
	}
	return ""
}

// ListCustomScopes returns every custom scope, by name.
func (s *Store) ListCustomScopes(ctx context.Context) ([]CustomScope, error) {
	var out []CustomScope
	if err := s.rd.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, notFound(err, "list custom scopes")
	}
	return out, nil
}

// CustomScopeByID finds a custom scope by primary key.
func (s *Store) CustomScopeByID(ctx context.Context, id uint) (*CustomScope, error) {
	var cs CustomScope
	if err := s.rd.WithContext(ctx).Take(&cs, id).Error; err != nil {
		return nil, notFound(err, "custom scope by id")
	}
	return &cs, nil
}

// CreateCustomScope stores a new custom scope; a name already taken is
// ErrConflict.
func (s *Store) CreateCustomScope(ctx context.Context, cs *CustomScope) error {
	defer s.scopesChanged()
	if cs.Claims == nil {
		cs.Claims = map[string]string{}
	}
	if err := s.db.WithContext(ctx).Create(cs).Error; err != nil {
		return notFound(err, "create custom scope")
	}
	return nil
}

// SaveCustomScope saves every field of an existing custom scope.
func (s *Store) SaveCustomScope(ctx context.Context, cs *CustomScope) error {
	defer s.scopesChanged()
	if cs.Claims == nil {
		cs.Claims = map[string]string{}
	}
	res := s.db.WithContext(ctx).Model(cs).Select("name", "title", "description", "claims", "updated_at").Updates(cs)
	if res.Error != nil {
		return notFound(res.Error, "save custom scope")
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteCustomScope removes a custom scope. Clients that list it and
// tokens that carry it keep the name, which then releases nothing and is
// dropped from new requests as any unknown scope is.
func (s *Store) DeleteCustomScope(ctx context.Context, id uint) error {
	defer s.scopesChanged()
	res := s.db.WithContext(ctx).Delete(&CustomScope{}, id)
	if res.Error != nil {
		return notFound(res.Error, "delete custom scope")
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ClientsWithScope names the clients that list the scope, for the delete
// confirmation.
func (s *Store) ClientsWithScope(ctx context.Context, name string) ([]string, error) {
	var clients []Client
	if err := s.rd.WithContext(ctx).Select("client_id", "name", "scopes").Find(&clients).Error; err != nil {
		return nil, notFound(err, "clients with scope")
	}
	var out []string
	for _, c := range clients {
		if slices.Contains(c.Scopes, name) {
			out = append(out, c.Name)
		}
	}
	return out, nil
}

// scopesChanged marks the custom scopes every ScopeCache of this Store
// holds stale; the methods that write them call it after their write.
func (s *Store) scopesChanged() { s.scopeGen.Add(1) }

// ScopeCache holds the custom scopes in memory for the endpoints that
// read them on a request (/authorize, the consent page, /token,
// /userinfo). They are few and small, so it holds the whole list. Its
// staleness is bounded as ClientCache's is: the list is used for at most
// ttl after it was read, so a scope created, changed or deleted through
// another instance is honoured within ttl; a change through this
// process's Store is honoured at once.
type ScopeCache struct {
	s   *Store
	ttl time.Duration
	now func() time.Time

	mu     sync.RWMutex
	loaded bool
	list   map[string]CustomScope
	at     time.Time
	gen    uint64
}

// NewScopeCache returns a cache of s's custom scopes whose list lasts at
// most ttl by the clock now; a ttl of zero or less reads the database
// every time.
func (s *Store) NewScopeCache(ttl time.Duration, now func() time.Time) *ScopeCache {
	return &ScopeCache{s: s, ttl: ttl, now: now}
}

// All returns the custom scopes by name. The map is shared: read only.
func (sc *ScopeCache) All(ctx context.Context) (map[string]CustomScope, error) {
	sc.mu.RLock()
	loaded, list, at, gen := sc.loaded, sc.list, sc.at, sc.gen
	sc.mu.RUnlock()
	if age := sc.now().Sub(at); loaded && gen == sc.s.scopeGen.Load() && age >= 0 && age < sc.ttl {
		return list, nil
	}
	// As ClientCache.load: the generation and the time are taken before
	// the read.
	gen, at = sc.s.scopeGen.Load(), sc.now()
	scopes, err := sc.s.ListCustomScopes(ctx)
	if err != nil {
		return nil, err
	}
	list = make(map[string]CustomScope, len(scopes))
	for _, cs := range scopes {
		list[cs.Name] = cs
	}
	if sc.ttl > 0 {
		sc.mu.Lock()
		sc.loaded, sc.list, sc.at, sc.gen = true, list, at, gen
		sc.mu.Unlock()
	}
	return list, nil
}

// UnknownClientScope returns the first of scopes that names nothing the
// server knows, or "": known lists the names the caller knows (the
// standard scopes and the reserved ones), and beyond them a scope may be
// a custom scope or, for introspection's audience check, a registered
// client_id. The admin client form and createclient both ask it.
func (s *Store) UnknownClientScope(ctx context.Context, scopes, known []string) (string, error) {
	var custom []CustomScope
	loaded := false
	for _, name := range scopes {
		if slices.Contains(known, name) {
			continue
		}
		if !loaded {
			var err error
			if custom, err = s.ListCustomScopes(ctx); err != nil {
				return "", err
			}
			loaded = true
		}
		if slices.ContainsFunc(custom, func(cs CustomScope) bool { return cs.Name == name }) {
			continue
		}
		if _, err := s.ClientByClientID(ctx, name); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return "", err
		}
		return name, nil
	}
	return "", nil
}
