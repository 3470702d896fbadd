package models

import "context"

// CreateClient stores c. The caller has set ClientID and SecretHash.
func (s *Store) CreateClient(ctx context.Context, c *Client) error {
	if err := s.db.WithContext(ctx).Create(c).Error; err != nil {
		return notFound(err, "create client")
	}
	return nil
}

// ClientByClientID finds a client by its public client_id.
func (s *Store) ClientByClientID(ctx context.Context, clientID string) (*Client, error) {
	var c Client
	if err := s.db.WithContext(ctx).Where("client_id = ?", clientID).Take(&c).Error; err != nil {
		return nil, notFound(err, "client by client_id")
	}
	return &c, nil
}

// ClientByID finds a client by primary key.
func (s *Store) ClientByID(ctx context.Context, id uint) (*Client, error) {
	var c Client
	if err := s.db.WithContext(ctx).Take(&c, id).Error; err != nil {
		return nil, notFound(err, "client by id")
	}
	return &c, nil
}
