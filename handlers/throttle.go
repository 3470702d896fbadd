package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"

	"oidcd/models"
)

// Password guessing is throttled with these keys (models.Throttle holds
// their state), all counted in one transaction BEFORE the password is
// checked, so that concurrent guesses are counted too; a correct password
// gives the attempt back. With L = OIDC_LOGIN_MAX_FAILURES and W =
// OIDC_LOGIN_THROTTLE_WINDOW:
//
//   - username + address: L attempts per W, then a lock of W that doubles
//     with each repeated lockout, up to 24 hours. It stops one attacker
//     guessing one account, and the lock never reaches the owner at
//     another address.
//   - address: 4×L attempts per W across usernames (password spraying).
//   - username: 10×L attempts per W from all addresses, a ceiling that
//     slows a distributed attack on one account. So that it cannot lock
//     the owner out, a browser that has signed in as that username before
//     carries a device cookie (OWASP's "device cookies": signed and
//     encrypted with a key kept in the database's settings, HttpOnly,
//     SameSite=Lax, Secure under an https issuer) and is counted under
//     its own key instead (L per W with growing locks, like a pair), so
//     a stolen device cookie is throttled too.
//
// If the attempt cannot be counted, the login is refused (fail closed).
func (h *Handler) loginKeys(username, ip, device string) []models.ThrottleKey {
	l, w := h.cfg.LoginMaxFailures, h.cfg.LoginThrottleWindow
	keys := []models.ThrottleKey{
		{Kind: models.ThrottleLogin, Subject: username, Address: ip, Limit: l, Window: w, Growing: true, ClearOnSuccess: true},
		{Kind: models.ThrottleLoginAddress, Address: ip, Limit: 4 * l, Window: w},
	}
	if device != "" {
		return append(keys, models.ThrottleKey{Kind: models.ThrottleLoginDevice, Subject: username, Device: device,
			Limit: l, Window: w, Growing: true, ClearOnSuccess: true})
	}
	return append(keys, models.ThrottleKey{Kind: models.ThrottleLoginUser, Subject: username, Limit: 10 * l, Window: w})
}

// clientKeys throttle failed client authentication at /token the same
// way: per client_id + address (growing locks) and per address, where
// unknown client_ids count too. A success gives nothing back: the success
// path only reads (see authenticateClient).
func (h *Handler) clientKeys(clientID, ip string) (pair, address models.ThrottleKey) {
	l, w := h.cfg.LoginMaxFailures, h.cfg.LoginThrottleWindow
	return models.ThrottleKey{Kind: models.ThrottleClient, Subject: clientID, Address: ip, Limit: l, Window: w, Growing: true},
		models.ThrottleKey{Kind: models.ThrottleClientAddress, Address: ip, Limit: 4 * l, Window: w}
}

// retryAfter is a Retry-After value (RFC 9110 §10.2.3): whole seconds,
// rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

const (
	// settingDeviceKey holds the device cookie's keys: 32 bytes to sign
	// (HMAC-SHA256), 32 to encrypt (AES-256).
	settingDeviceKey = "device_cookie_key"
	deviceMaxAge     = 365 * 24 * time.Hour
)

// deviceCookies signs and reads the device cookie. Its key is loaded from
// the database's settings on first use, so every instance accepts every
// device cookie.
type deviceCookies struct {
	mu    sync.Mutex
	codec securecookie.Codec
}

// device is what a device cookie says: this browser signed in as
// Username; ID tells it apart from the user's other browsers.
type device struct {
	Username string `json:"u"`
	ID       string `json:"d"`
}

func (h *Handler) deviceCodec(ctx context.Context) (securecookie.Codec, error) {
	h.devices.mu.Lock()
	defer h.devices.mu.Unlock()
	if h.devices.codec != nil {
		return h.devices.codec, nil
	}
	key, err := h.store.KeySetting(ctx, settingDeviceKey, 64)
	if err != nil {
		return nil, fmt.Errorf("handlers: device cookie: %w", err)
	}
	codec := securecookie.New(key[:32], key[32:])
	codec.SetSerializer(securecookie.JSONEncoder{})
	codec.MaxAge(int(deviceMaxAge / time.Second))
	h.devices.codec = codec
	return codec, nil
}

// deviceCookieName gets the __Host- prefix under an https issuer: the
// cookie is then Secure, host-only and for the whole site, so a sibling
// domain cannot plant one.
func (h *Handler) deviceCookieName() string {
	if h.cfg.SecureCookies() {
		return "__Host-oidcd_device"
	}
	return "oidcd_device"
}

// deviceFor returns the id of the request's device cookie when it is
// valid and names username, or "".
func (h *Handler) deviceFor(c echo.Context, username string) string {
	cookie, err := c.Cookie(h.deviceCookieName())
	if err != nil {
		return ""
	}
	codec, err := h.deviceCodec(c.Request().Context())
	if err != nil {
		h.log.WarnContext(c.Request().Context(), "device cookie", "err", err)
		return ""
	}
	var d device
	if err := codec.Decode(h.deviceCookieName(), cookie.Value, &d); err != nil || d.Username != username || d.ID == "" {
		return ""
	}
	return d.ID
}

// issueDevice gives the browser a device cookie for username after a
// correct password. Failing to is logged: the login itself succeeded.
func (h *Handler) issueDevice(c echo.Context, username string) {
	codec, err := h.deviceCodec(c.Request().Context())
	if err == nil {
		var value string
		value, err = codec.Encode(h.deviceCookieName(), device{Username: username, ID: models.NewID()})
		if err == nil {
			c.SetCookie(&http.Cookie{
				Name: h.deviceCookieName(), Value: value, Path: "/", MaxAge: int(deviceMaxAge / time.Second),
				HttpOnly: true, Secure: h.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode,
			})
			return
		}
	}
	h.log.WarnContext(c.Request().Context(), "issue device cookie", "err", err)
}
