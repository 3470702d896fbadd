package models

import (
	"context"

	"gorm.io/gorm/clause"
)

// Setting returns the named setting, first storing generate() when there
// is none. Insert-if-absent then read means instances starting at the same
// moment still agree on one value.
func (s *Store) Setting(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	var st Setting
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&st).Error
	if err == nil {
		return st.Value, nil
	}
	if err = notFound(err, "setting"); err != ErrNotFound {
		return "", err
	}
	value, err := generate()
	if err != nil {
		return "", err
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&Setting{Name: name, Value: value}).Error
	if err != nil {
		return "", notFound(err, "create setting")
	}
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&st).Error; err != nil {
		return "", notFound(err, "setting")
	}
	return st.Value, nil
}
