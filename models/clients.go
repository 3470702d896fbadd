package models

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// CreateClient stores c. The caller has set ClientID, SecretHash and
// SecretSealed (SealClientSecret).
func (s *Store) CreateClient(ctx context.Context, c *Client) error {
	defer s.clientsChanged()
	if err := s.db.WithContext(ctx).Create(c).Error; err != nil {
		return notFound(err, "create client")
	}
	return nil
}

// ClientByClientID finds a client by its public client_id.
func (s *Store) ClientByClientID(ctx context.Context, clientID string) (*Client, error) {
	var c Client
	if err := s.rd.WithContext(ctx).Where("client_id = ?", clientID).Take(&c).Error; err != nil {
		return nil, notFound(err, "client by client_id")
	}
	return &c, nil
}

// ClientByID finds a client by primary key.
func (s *Store) ClientByID(ctx context.Context, id uint) (*Client, error) {
	var c Client
	if err := s.rd.WithContext(ctx).Take(&c, id).Error; err != nil {
		return nil, notFound(err, "client by id")
	}
	return &c, nil
}

// PublicRedirectURIs lists the redirect URIs of every public client: the
// origins a browser may call /token and /userinfo from are theirs (CORS).
func (s *Store) PublicRedirectURIs(ctx context.Context) ([]string, error) {
	var rows []Client
	if err := s.rd.WithContext(ctx).Select("redirect_uris").Where("client_type = ?", ClientPublic).Find(&rows).Error; err != nil {
		return nil, notFound(err, "public redirect uris")
	}
	var out []string
	for _, c := range rows {
		out = append(out, c.RedirectURIs...)
	}
	return out, nil
}

// Page asks for one page of a list: Offset rows skipped, Limit returned.
type Page struct {
	Offset, Limit int
}

// like builds a case-insensitive LIKE pattern that matches q anywhere,
// with LIKE's wildcards in q escaped.
func like(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(q)) + "%"
}

// ListClients returns a page of clients whose name or client_id contains
// q, newest first, and how many match in all.
func (s *Store) ListClients(ctx context.Context, q string, p Page) ([]Client, int64, error) {
	rows, total, err := s.ListClientActivity(ctx, ClientQuery{Q: q}, p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Client, len(rows))
	for i, r := range rows {
		out[i] = r.Client
	}
	return out, total, nil
}

// SaveClient creates c (when c.ID is 0) or saves the fields an admin
// edits (editedClientFields), together with its logo, in one transaction:
// the client is stored with the logo it was sent with or not at all. An
// edit never writes the secret, the type or the client_id, so saving a
// copy loaded before a secret rotation cannot undo the rotation. A non-nil
// logo replaces the stored one, and the caller has pointed c.Logo at it.
// When c.Logo is "" any stored logo is deleted, so that GET
// /logos/:client_id stops serving a logo the client no longer has.
func (s *Store) SaveClient(ctx context.Context, c *Client, logo *ClientLogo) error {
	defer s.clientsChanged()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if c.ID == 0 {
			if err := tx.Create(c).Error; err != nil {
				return err
			}
		} else {
			// Not Save: it would create the row again when an admin deleted
			// the client while another edited it.
			res := tx.Model(c).Select(editedClientFields).Updates(c)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return gorm.ErrRecordNotFound
			}
		}
		switch {
		case logo != nil:
			logo.ClientID = c.ID
			return tx.Omit("Client").Save(logo).Error
		case c.Logo == "":
			return tx.Where("client_id = ?", c.ID).Delete(&ClientLogo{}).Error
		}
		return nil
	})
	if err != nil {
		return notFound(err, "save client")
	}
	return nil
}

// editedClientFields are the columns the admin's client form owns.
var editedClientFields = []string{
	"Name", "ResponseTypes", "GrantTypes", "RedirectURIs", "PostLogoutRedirectURIs", "Scopes", "JWTAlg",
	"RequireConsent", "ReuseConsent", "WebsiteURL", "TermsURL", "ContactEmail", "Logo",
	"BackchannelLogoutURI", "BackchannelLogoutSessionRequired", "UpdatedAt",
}

// SetClientSecret replaces the client's secret hash and sealed secret
// (SealClientSecret): the old secret stops working at once.
func (s *Store) SetClientSecret(ctx context.Context, id uint, secretHash, secretSealed string) error {
	defer s.clientsChanged()
	res := s.db.WithContext(ctx).Model(&Client{}).Where("id = ?", id).
		Updates(map[string]any{"secret_hash": secretHash, "secret_sealed": secretSealed})
	if res.Error != nil {
		return notFound(res.Error, "set client secret")
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// SealClientSecret seals a confidential client's secret for
// Client.SecretSealed, bound to its client_id so a sealed value copied to
// another client's row does not open. Every confidential client's secret
// is kept, not only an HS256 client's, so that an admin can switch a
// client to HS256 without a rotation; a copy of the database opens none of
// them without the secret key, which also opens the signing keys.
func (s *Store) SealClientSecret(clientID, secret string) (string, error) {
	return s.box.seal(clientSecretAD(clientID), secret)
}

// ClientSecret opens c's kept secret; "" when none is kept.
func (s *Store) ClientSecret(c *Client) (string, error) {
	if c.SecretSealed == "" {
		return "", nil
	}
	secret, _, err := s.box.open(clientSecretAD(c.ClientID), c.SecretSealed)
	return secret, err
}

// Dependents counts what goes with a client or user when it is deleted.
type Dependents struct {
	Codes, Tokens, Consents int64
}

// ClientDependents counts the client's codes, tokens and consents.
func (s *Store) ClientDependents(ctx context.Context, id uint) (Dependents, error) {
	return s.dependents(ctx, "client_id", id)
}

func (s *Store) dependents(ctx context.Context, column string, id uint) (Dependents, error) {
	var d Dependents
	db := s.rd.WithContext(ctx)
	for model, n := range map[any]*int64{&Code{}: &d.Codes, &Token{}: &d.Tokens, &UserConsent{}: &d.Consents} {
		if err := db.Model(model).Where(column+" = ?", id).Count(n).Error; err != nil {
			return d, notFound(err, "count dependents")
		}
	}
	return d, nil
}

// DeleteClient removes a client and, by cascade, its codes, tokens,
// consents, parked requests and logo.
func (s *Store) DeleteClient(ctx context.Context, id uint) error {
	defer s.clientsChanged()
	res := s.db.WithContext(ctx).Delete(&Client{}, id)
	if res.Error != nil {
		return notFound(res.Error, "delete client")
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ClientLogoByClientID finds the logo of a client by its public client_id,
// only while the client has one (its Logo is set).
func (s *Store) ClientLogoByClientID(ctx context.Context, clientID string) (*ClientLogo, error) {
	var l ClientLogo
	err := s.rd.WithContext(ctx).Joins("JOIN clients ON clients.id = client_logos.client_id").
		Where("clients.client_id = ? AND clients.logo <> ''", clientID).Take(&l).Error
	if err != nil {
		return nil, notFound(err, "client logo")
	}
	return &l, nil
}
