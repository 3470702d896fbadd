package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// settingKeyCheck is a value sealed under the secret key on first start.
// A later start with another key cannot open it and stops, instead of
// sealing new cookie and signing keys beside the old ones.
const settingKeyCheck = "kek_check"

// SessionKey is what the sessions table stores for a session id: its
// SHA-256 in hex. The cookie carries the id itself, so a copy of the
// table opens no session. The id has 130 random bits (NewID), so a fast
// hash suffices, as for tokens and codes.
func SessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// sealAtRest checks the secret key against the database and brings rows
// written before sealing, or under a previous key, up to date: settings,
// private signing keys and kept client secrets sealed under the current
// key. Every start reads them (a few rows) and checks that each opens
// where it is; only when one does not, or is not yet sealed under the
// current key, does it take the write lock and seal them in one
// transaction, so a wrong key writes nothing. Each update compares the
// old value, so an instance starting beside another never overwrites
// what the other wrote meanwhile.
func (s *Store) sealAtRest() error {
	if s.sealedAtRest() {
		return nil
	}
	err := s.db.Transaction(func(tx *gorm.DB) error {
		// The check value first, so a wrong key is reported as such. A
		// fresh database gets one; reading it back after the insert means
		// two instances starting at once with different keys cannot both
		// pass.
		sealed, err := s.box.seal(settingAD(settingKeyCheck), "oidcd")
		if err != nil {
			return err
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&Setting{Name: settingKeyCheck, Value: sealed}).Error; err != nil {
			return err
		}
		var check Setting
		if err := tx.Where("name = ?", settingKeyCheck).Take(&check).Error; err != nil {
			return err
		}
		if !isSealed(check.Value) {
			return fmt.Errorf("models: the %s setting is not sealed", settingKeyCheck)
		}
		if _, _, err := s.box.open(settingAD(settingKeyCheck), check.Value); err != nil {
			return err
		}

		var settings []Setting
		if err := tx.Order("name").Find(&settings).Error; err != nil {
			return err
		}
		for _, st := range settings {
			value, changed, err := s.box.upgrade(settingAD(st.Name), st.Value)
			if err != nil {
				return err
			}
			if changed {
				if err := tx.Exec("UPDATE settings SET value = ? WHERE name = ? AND value = ?", value, st.Name, st.Value).Error; err != nil {
					return err
				}
			}
		}

		var keys []SigningKey
		if err := tx.Order("id").Find(&keys).Error; err != nil {
			return err
		}
		for _, k := range keys {
			value, changed, err := s.box.upgrade(signingKeyAD(k.KID), k.PrivateKeyPEM)
			if err != nil {
				return err
			}
			if changed {
				if err := tx.Exec("UPDATE signing_keys SET private_key_pem = ? WHERE id = ? AND private_key_pem = ?", value, k.ID, k.PrivateKeyPEM).Error; err != nil {
					return err
				}
			}
		}

		var clients []Client
		if err := tx.Select("id", "client_id", "secret_sealed").Where("secret_sealed <> ''").Order("id").Find(&clients).Error; err != nil {
			return err
		}
		for _, c := range clients {
			value, changed, err := s.box.upgrade(clientSecretAD(c.ClientID), c.SecretSealed)
			if err != nil {
				return err
			}
			if changed {
				if err := tx.Exec("UPDATE clients SET secret_sealed = ? WHERE id = ? AND secret_sealed = ?", value, c.ID, c.SecretSealed).Error; err != nil {
					return err
				}
			}
		}

		return nil
	})
	if err != nil {
		if errors.Is(err, ErrWrongSecretKey) {
			return err
		}
		return fmt.Errorf("models: seal secrets at rest: %w", err)
	}
	return nil
}

// sealedAtRest reports whether the check value, every setting, private
// key and kept client secret opens under the current key where it is and
// needs no sealing again: the read-only check of every start. Anything
// else (a wrong key, a plaintext value, a rotation) is left to
// sealAtRest's transaction, which says what is wrong.
func (s *Store) sealedAtRest() bool {
	current := func(ad, value string) bool {
		if !isSealed(value) {
			return false
		}
		_, stale, err := s.box.open(ad, value)
		return err == nil && !stale
	}
	var settings []Setting
	if err := s.rd.Find(&settings).Error; err != nil {
		return false
	}
	checked := false
	for _, st := range settings {
		if !current(settingAD(st.Name), st.Value) {
			return false
		}
		checked = checked || st.Name == settingKeyCheck
	}
	if !checked {
		return false
	}
	var keys []SigningKey
	if err := s.rd.Select("kid", "private_key_pem").Find(&keys).Error; err != nil {
		return false
	}
	for _, k := range keys {
		if !current(signingKeyAD(k.KID), k.PrivateKeyPEM) {
			return false
		}
	}
	var clients []Client
	if err := s.rd.Select("client_id", "secret_sealed").Where("secret_sealed <> ''").Find(&clients).Error; err != nil {
		return false
	}
	for _, c := range clients {
		if !current(clientSecretAD(c.ClientID), c.SecretSealed) {
			return false
		}
	}
	return true
}

// hashSessionIDs replaces session ids stored as themselves, as an older
// oidcd kept them, by their hashes: a migration (migrate). Session ids
// from NewID are 26 characters; a stored hash is 64. Hashing in place
// keeps every signed-in browser signed in.
func hashSessionIDs(tx *gorm.DB) error {
	var ids []string
	if err := tx.Model(&Session{}).Where("LENGTH(id) <> 64").Pluck("id", &ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		if err := tx.Exec("UPDATE sessions SET id = ? WHERE id = ?", SessionKey(id), id).Error; err != nil {
			return err
		}
	}
	return nil
}

// openSetting returns a stored setting's plaintext.
func (s *Store) openSetting(st *Setting) (string, error) {
	value, _, err := s.box.open(settingAD(st.Name), st.Value)
	return value, err
}

// openKey replaces a signing key's sealed private key by its plaintext.
func (s *Store) openKey(k *SigningKey) error {
	pem, _, err := s.box.open(signingKeyAD(k.KID), k.PrivateKeyPEM)
	if err != nil {
		return err
	}
	k.PrivateKeyPEM = pem
	return nil
}
