package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"oidcd/models"
)

// TestReserveWhileCleared: reservations racing releases that clear the
// same key (successful logins of one user at once) all succeed. On
// PostgreSQL a release could delete the row between a reservation's
// insert and its locking read, and the login failed closed with a 503.
func TestReserveWhileCleared(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	now := time.Now()
	keys := []models.ThrottleKey{
		{Kind: models.ThrottleLogin, Subject: "alice", Address: "192.0.2.7", Limit: 1000, Window: time.Hour, Growing: true, ClearOnSuccess: true},
	}
	const workers, rounds = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				res, err := store.ReserveAttempt(context.Background(), keys, now)
				if err != nil {
					errs <- err
					continue
				}
				if err := store.ReleaseAttempt(context.Background(), res); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reserve or release while others clear the key: %v", err)
	}
}
