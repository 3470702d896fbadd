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

// PutSetting stores a setting, replacing any earlier value.
func (s *Store) PutSetting(ctx context.Context, name, value string) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"value"}),
	}).Create(&Setting{Name: name, Value: value}).Error
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
	return st.Value, nil
}
