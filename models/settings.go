package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"gorm.io/gorm/clause"
)

// Settings are sealed at rest (secretBox): the Store seals a value on
// write and opens it on read, so callers only ever see plaintext.

// Setting returns the named setting, first storing generate() when there
// is none. Insert-if-absent then read means instances starting at the same
// moment still agree on one value.
func (s *Store) Setting(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	var st Setting
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&st).Error
	if err == nil {
		return s.openSetting(&st)
	}
	if err = notFound(err, "setting"); err != ErrNotFound {
		return "", err
	}
	value, err := generate()
	if err != nil {
		return "", err
	}
	sealed, err := s.box.seal(settingAD(name), value)
	if err != nil {
		return "", err
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&Setting{Name: name, Value: sealed}).Error
	if err != nil {
		return "", notFound(err, "create setting")
	}
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&st).Error; err != nil {
		return "", notFound(err, "setting")
	}
	return s.openSetting(&st)
}

// PutSetting stores a setting, replacing any earlier value.
func (s *Store) PutSetting(ctx context.Context, name, value string) error {
	sealed, err := s.box.seal(settingAD(name), value)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"value"}),
	}).Create(&Setting{Name: name, Value: sealed}).Error
	if err != nil {
		return notFound(err, "put setting")
	}
	return nil
}

// LookupSetting returns a setting's value, or ErrNotFound.
func (s *Store) LookupSetting(ctx context.Context, name string) (string, error) {
	var st Setting
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&st).Error; err != nil {
		return "", notFound(err, "setting")
	}
	return s.openSetting(&st)
}

// KeySetting returns the random key of size bytes kept as the named
// setting (base64), generating it on first use: the cookie, CSRF and
// device keys every instance must share.
func (s *Store) KeySetting(ctx context.Context, name string, size int) ([]byte, error) {
	encoded, err := s.Setting(ctx, name, func() (string, error) {
		key := make([]byte, size)
		if _, err := rand.Read(key); err != nil {
			return "", fmt.Errorf("models: generate %s: %w", name, err)
		}
		return base64.StdEncoding.EncodeToString(key), nil
	})
	if err != nil {
		return nil, fmt.Errorf("models: key %s: %w", name, err)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) != size {
		return nil, fmt.Errorf("models: the %s setting is malformed", name)
	}
	return key, nil
}
