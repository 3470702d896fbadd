package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// Back-channel logout delivery (OpenID Back-Channel Logout 1.0 §2.5): the
// outbox rows an ended session left (models.LogoutDelivery) are claimed,
// a logout token is signed for each and POSTed to the client's
// backchannel_logout_uri, off the request path. 200 and 204 are success
// (§2.8); anything else, or no answer within BackchannelTimeout, is
// retried with a doubling delay, up to BackchannelAttempts attempts, and
// then given up and recorded in the audit log.
//
// The targets are URIs an admin registered, so private and loopback
// addresses are delivered to on purpose: a small team's apps live there.
// (An SSRF filter belongs to dynamic registration, which oidcd has not.)

// backchannelEvent is the one member of a logout token's events claim
// (§2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenLifetime is a logout token's exp after iat: it is used at
// once (§2.4 asks for a short one).
const logoutTokenLifetime = 2 * time.Minute

// logoutBatch is how many deliveries one pass claims.
const logoutBatch = 20

// logoutRetryBase is the delay before the second attempt; each later one
// waits twice as long, up to logoutRetryMax.
const (
	logoutRetryBase = 10 * time.Second
	logoutRetryMax  = 10 * time.Minute
)

// logoutRetryDelay is the wait after the attempts-th failed attempt.
func logoutRetryDelay(attempts int) time.Duration {
	d := logoutRetryBase
	for i := 1; i < attempts && d < logoutRetryMax; i++ {
		d *= 2
	}
	return min(d, logoutRetryMax)
}

// LogoutDeliverer delivers logout tokens; DeliverLogouts is one pass.
// Several instances may run it on one database: each row is claimed by
// one of them (models.Store.ClaimLogoutDeliveries).
type LogoutDeliverer struct {
	h      *Handler
	client *http.Client
}

// NewLogoutDeliverer builds the deliverer over the store, with its own
// key cache (stale by at most cfg.KeyCacheTTL, as every instance's is):
// it needs no browser session, so serve runs it beside the routes and a
// test can drive one pass at a time.
func NewLogoutDeliverer(store *models.Store, cfg Config, log *slog.Logger, now func() time.Time) *LogoutDeliverer {
	local := now
	now = func() time.Time { return local().UTC() }
	h := &Handler{store: store, keys: NewKeyCache(store, cfg, now), cfg: cfg, log: log, now: now}
	return h.logoutDeliverer()
}

func (h *Handler) logoutDeliverer() *LogoutDeliverer {
	timeout := h.cfg.BackchannelTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &LogoutDeliverer{h: h, client: &http.Client{
		Timeout: timeout,
		// A redirect is not a delivery (§2.8 wants 200).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// DeliverLogouts makes one pass: it claims the deliveries due now and
// attempts each once. It returns how many it attempted.
func (d *LogoutDeliverer) DeliverLogouts(ctx context.Context) (int, error) {
	h := d.h
	now := h.now()
	// A claim is stale after a whole attempt could have run twice.
	stale := now.Add(-2*d.client.Timeout - time.Minute)
	claimed, err := h.store.ClaimLogoutDeliveries(ctx, now, stale, logoutBatch)
	for i := range claimed {
		d.deliver(ctx, &claimed[i])
	}
	return len(claimed), err
}

func (d *LogoutDeliverer) deliver(ctx context.Context, row *models.LogoutDelivery) {
	h := d.h
	err := d.post(ctx, row)
	if err == nil {
		ev := &models.Event{Kind: models.EventBackchannelLogout, ClientID: &row.ClientID, UserID: row.UserID, Detail: row.Reason}
		if ferr := h.store.FinishLogoutDelivery(ctx, row.ID, nil, "", ev); ferr != nil {
			h.log.WarnContext(ctx, "backchannel logout: finish", "err", ferr)
		}
		return
	}
	attempts := max(1, h.cfg.BackchannelAttempts)
	if row.Attempts < attempts {
		retry := h.now().Add(logoutRetryDelay(row.Attempts))
		if ferr := h.store.FinishLogoutDelivery(ctx, row.ID, &retry, err.Error(), nil); ferr != nil {
			h.log.WarnContext(ctx, "backchannel logout: release", "err", ferr)
		}
		return
	}
	h.log.WarnContext(ctx, "backchannel logout failed", "client_id", row.Client.ClientID, "attempts", row.Attempts, "err", err)
	ev := &models.Event{Kind: models.EventBackchannelLogoutFailed, ClientID: &row.ClientID, UserID: row.UserID,
		Detail: fmt.Sprintf("%s; %d attempts; last: %s", row.Reason, row.Attempts, err)}
	if ferr := h.store.FinishLogoutDelivery(ctx, row.ID, nil, "", ev); ferr != nil {
		h.log.WarnContext(ctx, "backchannel logout: give up", "err", ferr)
	}
}

// post signs a logout token for row and POSTs it (§2.5).
func (d *LogoutDeliverer) post(ctx context.Context, row *models.LogoutDelivery) error {
	client := &row.Client
	if client.BackchannelLogoutURI == "" {
		return errors.New("the client has no backchannel_logout_uri any more")
	}
	token, err := d.h.logoutToken(ctx, client, row.Subject, row.SID)
	if err != nil {
		return err
	}
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, client.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("answered %d", resp.StatusCode)
	}
	return nil
}

// logoutToken is a Logout Token (Back-Channel Logout 1.0 §2.4): iss,
// aud, iat, a short exp, jti, the events claim, sub and sid (sid when the
// session had one), and never a nonce; signed as the client's ID tokens
// are, with typ logout+jwt.
func (h *Handler) logoutToken(ctx context.Context, client *models.Client, subject, sid string) (string, error) {
	now := h.now()
	claims := map[string]any{
		"iss":    h.cfg.Issuer,
		"aud":    client.ClientID,
		"iat":    now.Unix(),
		"exp":    now.Add(logoutTokenLifetime).Unix(),
		"jti":    oauth.NewToken(),
		"events": map[string]any{backchannelEvent: map[string]any{}},
		"sub":    subject,
	}
	if sid != "" {
		claims["sid"] = sid
	}
	if client.JWTAlg == jose.HS256 {
		secret, err := h.store.ClientSecret(client)
		if err != nil {
			return "", err
		}
		return jose.SignHS256Logout(secret, claims)
	}
	k, err := h.keys.Signer(ctx, client.JWTAlg)
	if err != nil {
		return "", err
	}
	return k.SignLogout(claims)
}

// DeliverDue is one pass of DeliverLogouts for a background loop: a
// failure is logged, and it reports whether the pass claimed a full batch,
// so that the loop runs again at once and a burst drains quickly.
func (d *LogoutDeliverer) DeliverDue(ctx context.Context) (more bool) {
	n, err := d.DeliverLogouts(ctx)
	if err != nil && ctx.Err() == nil {
		d.h.log.WarnContext(ctx, "backchannel logout", "err", err)
	}
	return n == logoutBatch
}
