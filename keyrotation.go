package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"oidcd/handlers"
	"oidcd/handlers/jose"
	"oidcd/models"
)

// Signing key rotation (models.RotateSigningKeys): serve checks the
// schedule (OIDC_KEY_ROTATION_DAYS) shortly after start and then every
// keyRotationEvery; `oidcd rotatekeys`, `oidcd createkey` and the admin
// site rotate on demand. Every instance may check: the check and the new
// key are one transaction under the database's write lock, so one of them
// rotates and the others find its next key.
const (
	keyRotationFirst = time.Minute
	keyRotationEvery = 10 * time.Minute
)

// Actors recorded in the audit log for rotations not made by an admin.
const (
	actorCLI    = "cli"
	actorSystem = "system"
)

// newSigningKey makes a key of alg for the store.
func newSigningKey(alg string) (models.SigningKey, error) {
	m, err := jose.NewKey(alg)
	if err != nil {
		return models.SigningKey{}, err
	}
	return models.SigningKey{KID: m.KID, Alg: m.Alg, PrivateKeyPEM: m.PEM}, nil
}

// rotation is what RotateSigningKeys needs to rotate alg at now for
// actor, with the pre-publication period of cfg (none when signNow); the
// audit log records action (create or rotate).
func rotation(cfg handlers.Config, alg string, now time.Time, actor, action string, signNow bool) models.Rotation {
	r := models.Rotation{
		Alg: alg, Now: now, Prepublish: cfg.KeyPrepublish, NewKey: newSigningKey,
		Event: &models.Event{Kind: models.EventAdminChange, Username: actor, Detail: action + " signing key"},
	}
	if signNow {
		r.Prepublish = 0
		r.Event.Detail += " at once"
	}
	return r
}

// runKeyRotation rotates, after first and then every every until ctx
// ends, each algorithm's key that has signed for cfg.KeyRotation
// (less the pre-publication period, so that the next key signs on time).
func runKeyRotation(ctx context.Context, store *models.Store, cfg handlers.Config, log *slog.Logger,
	now func() time.Time, first, every time.Duration) {
	if cfg.KeyRotation <= 0 {
		return
	}
	repeat(ctx, first, every, func(ctx context.Context) bool {
		rotateDueKeys(ctx, store, cfg, log, now())
		return false
	})
}

// rotateDueKeys is one check of the schedule.
func rotateDueKeys(ctx context.Context, store *models.Store, cfg handlers.Config, log *slog.Logger, now time.Time) {
	for _, alg := range jose.KeyAlgorithms {
		r := rotation(cfg, alg, now, actorSystem, "rotate", false)
		r.Every = cfg.KeyRotation
		k, err := store.RotateSigningKeys(ctx, r)
		switch {
		case err == nil:
			log.InfoContext(ctx, "rotated signing key", "alg", alg, "kid", k.KID, "activates_at", k.ActivatesAt)
		case errors.Is(err, models.ErrNotDue), errors.Is(err, models.ErrKeyPending), errors.Is(err, models.ErrNotFound):
		case ctx.Err() == nil:
			log.WarnContext(ctx, "key rotation", "alg", alg, "err", err)
		}
	}
}

// cmdRotateKeys is `oidcd rotatekeys`: a next key for every algorithm
// that has a key (or --alg's), published now and signing after
// OIDC_KEY_PREPUBLISH; --now makes it sign at once.
func cmdRotateKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, db := newFlagSet("rotatekeys", "[--alg RS256|ES256|EdDSA] [--now] [--db PATH]", getenv, stderr)
	alg := fs.String("alg", "", "rotate only this algorithm's key: "+strings.Join(jose.KeyAlgorithms, ", ")+" (default: every algorithm that has a key)")
	signNow := fs.Bool("now", false, signNowUsage)
	if err := parse(fs, args); err != nil {
		return err
	}
	algs := jose.KeyAlgorithms
	if *alg != "" {
		if !slices.Contains(jose.KeyAlgorithms, *alg) {
			fmt.Fprintf(stderr, "flag --alg must be one of %s, not %q\n", strings.Join(jose.KeyAlgorithms, ", "), *alg)
			fs.Usage()
			return usageError{"bad --alg"}
		}
		algs = []string{*alg}
	}
	cfg, store, err := openWithConfig(*db, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().UTC()
	live, err := liveKeyAlgs(ctx, store, now)
	if err != nil {
		return err
	}
	rotated := 0
	for _, a := range algs {
		if !live[a] {
			if *alg != "" {
				return fmt.Errorf("rotatekeys: no %s key to rotate; create one with oidcd createkey --alg %s", a, a)
			}
			continue
		}
		k, err := store.RotateSigningKeys(ctx, rotation(cfg, a, now, actorCLI, "rotate", *signNow))
		switch {
		case errors.Is(err, models.ErrKeyPending):
			fmt.Fprintf(stdout, "%s: key %s is already next; it signs from %s\n", a, k.KID, k.ActivatesAt.Format(time.RFC3339))
		case err != nil:
			return err
		case !k.ActivatesAt.After(now):
			rotated++
			fmt.Fprintf(stdout, "%s: new key %s signs now\n", a, k.KID)
		default:
			rotated++
			fmt.Fprintf(stdout, "%s: new key %s published now; it signs from %s\n", a, k.KID, k.ActivatesAt.Format(time.RFC3339))
		}
	}
	if rotated == 0 && len(algs) > 1 {
		fmt.Fprintln(stdout, "no key rotated")
	}
	return nil
}

// liveKeyAlgs returns the algorithms that have a key signing at now or
// to sign later.
func liveKeyAlgs(ctx context.Context, store *models.Store, now time.Time) (map[string]bool, error) {
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, k := range keys {
		if k.RetiredAt == nil || k.RetiredAt.After(now) {
			live[k.Alg] = true
		}
	}
	return live, nil
}
