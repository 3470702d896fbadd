package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"oidcd/handlers"
)

// setting is one environment variable: its name, default and what it sets.
type setting struct {
	name  string
	def   string
	apply func(c *handlers.Config, value string) error
}

// seconds sets a duration given in whole seconds (or, with unit, another
// whole unit), as the seed system's settings are.
func seconds(unit time.Duration, field func(*handlers.Config) *time.Duration) func(*handlers.Config, string) error {
	return func(c *handlers.Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("must be a positive whole number")
		}
		*field(c) = time.Duration(n) * unit
		return nil
	}
}

func boolean(field func(*handlers.Config) *bool) func(*handlers.Config, string) error {
	return func(c *handlers.Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		*field(c) = b
		return nil
	}
}

// settings lists every environment setting, with the names and defaults
// of the system we rebuild where it had one; the README's settings table
// documents each.
var settings = []setting{
	{"OIDC_CODE_EXPIRE", "600", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.CodeExpire })},
	{"OIDC_TOKEN_EXPIRE", "3600", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.TokenExpire })},
	{"OIDC_IDTOKEN_EXPIRE", "600", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.IDTokenExpire })},
	{"OIDC_SKIP_CONSENT_EXPIRE", "90", seconds(24*time.Hour, func(c *handlers.Config) *time.Duration { return &c.SkipConsentExpire })},
	{"OIDC_REFRESH_TOKEN_EXPIRE", "2592000", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.RefreshTokenExpire })},
	{"OIDC_SESSION_EXPIRE", "1209600", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.SessionExpire })},
	{"OIDC_IDTOKEN_INCLUDE_CLAIMS", "false", boolean(func(c *handlers.Config) *bool { return &c.IDTokenIncludeClaims })},
	{"OIDC_USERINFO_QUERY_TOKEN", "true", boolean(func(c *handlers.Config) *bool { return &c.UserinfoQueryToken })},
	{"OIDC_INTROSPECTION_VALIDATE_AUDIENCE_SCOPE", "false", boolean(func(c *handlers.Config) *bool { return &c.IntrospectionValidateAudience })},
	{"OIDC_INTROSPECTION_RESPONSE_SCOPE_ENABLE", "false", boolean(func(c *handlers.Config) *bool { return &c.IntrospectionResponseScope })},
	{"OIDC_LOGIN_MAX_FAILURES", "5", func(c *handlers.Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return fmt.Errorf("must be a positive whole number")
		}
		c.LoginMaxFailures = n
		return nil
	}},
	{"OIDC_LOGIN_THROTTLE_WINDOW", "900", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.LoginThrottleWindow })},
	{"OIDC_TRUSTED_PROXIES", "", func(c *handlers.Config, v string) (err error) {
		c.TrustedProxies, err = parseTrustedProxies(v)
		return err
	}},
	{"OIDC_KEY_CACHE_SECONDS", "30", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.KeyCacheTTL })},
	// Signing key rotation (checkKeyRotation).
	{"OIDC_KEY_PREPUBLISH", "86400", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.KeyPrepublish })},
	{"OIDC_KEY_ROTATION_DAYS", "90", func(c *handlers.Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 || n > 3650 {
			return fmt.Errorf("must be a whole number of days from 0 (no automatic rotation) to 3650")
		}
		c.KeyRotation = time.Duration(n) * 24 * time.Hour
		return nil
	}},
	// Back-channel logout delivery (handlers/backchannel.go).
	{"OIDC_BACKCHANNEL_LOGOUT_TIMEOUT", "5", seconds(time.Second, func(c *handlers.Config) *time.Duration { return &c.BackchannelTimeout })},
	{"OIDC_BACKCHANNEL_LOGOUT_ATTEMPTS", "5", func(c *handlers.Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 || n > 20 {
			return fmt.Errorf("must be a whole number from 1 to 20")
		}
		c.BackchannelAttempts = n
		return nil
	}},
	{"OIDC_EVENT_RETENTION_DAYS", "90", seconds(24*time.Hour, func(c *handlers.Config) *time.Duration { return &c.EventRetention })},
	{"OIDC_METRICS_TOKEN", "", func(c *handlers.Config, v string) error {
		// A guessable token would open the metrics to anyone: at least 16
		// characters, no spaces (it travels in an Authorization header).
		if v != "" && (len(v) < 16 || strings.ContainsFunc(v, unicode.IsSpace)) {
			return fmt.Errorf("must be at least 16 characters without spaces")
		}
		c.MetricsToken = v
		return nil
	}},
	{"OIDC_GRANT_TYPES", "", func(c *handlers.Config, v string) error {
		// Comma- or space-separated; empty serves every grant this
		// server has. A grant left out is unsupported_grant_type.
		for _, g := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			if !slices.Contains(handlers.GrantTypes(), g) {
				return fmt.Errorf("%q is not one of %s", g, strings.Join(handlers.GrantTypes(), ", "))
			}
			c.GrantTypes = append(c.GrantTypes, g)
		}
		return nil
	}},
	// OpenID Session Management 1.0, off by default as in the seed system.
	{"OIDC_SESSION_MANAGEMENT_ENABLE", "false", boolean(func(c *handlers.Config) *bool { return &c.SessionManagement })},
	{"OIDC_GRANT_TYPE_PASSWORD_ENABLE", "false", boolean(func(c *handlers.Config) *bool { return &c.PasswordGrant })},
	// The seed system's discovery cache: off by default, 7200 s when on.
	{"OIDC_DISCOVERY_CACHE_ENABLE", "false", boolean(func(c *handlers.Config) *bool { return &c.DiscoveryCache })},
	{"OIDC_DISCOVERY_CACHE_EXPIRE", "7200", func(c *handlers.Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n > 31536000 {
			return fmt.Errorf("must be a whole number of seconds from 1 to 31536000 (a year)")
		}
		c.DiscoveryCacheExpire = time.Duration(n) * time.Second
		return nil
	}},
	{"OIDC_CLIENT_CACHE_SECONDS", "5", func(c *handlers.Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 || n > 3600 {
			return fmt.Errorf("must be a whole number of seconds from 0 (no cache) to 3600")
		}
		c.ClientCacheTTL = time.Duration(n) * time.Second
		return nil
	}},
}

// parseTrustedProxies reads a comma- or space-separated list of CIDRs (a
// bare address is a single-address range).
func parseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			return nil, fmt.Errorf("%q: write IPv4 ranges in IPv4 form", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// loadHandlerConfig reads the settings from the environment. A malformed
// value stops start-up with a message naming the variable.
func loadHandlerConfig(issuer string, getenv func(string) string) (handlers.Config, error) {
	iss, err := normaliseIssuer(issuer)
	if err != nil {
		return handlers.Config{}, err
	}
	cfg := handlers.Config{Issuer: iss}
	for _, s := range settings {
		v := getenv(s.name)
		if v == "" {
			v = s.def
		}
		if err := s.apply(&cfg, v); err != nil {
			return handlers.Config{}, fmt.Errorf("setting %s=%q: %w", s.name, v, err)
		}
	}
	if slices.Contains(cfg.GrantTypes, "password") && !cfg.PasswordGrant {
		return handlers.Config{}, fmt.Errorf("setting OIDC_GRANT_TYPES lists password: set OIDC_GRANT_TYPE_PASSWORD_ENABLE=true to serve it")
	}
	if err := checkKeyRotation(cfg); err != nil {
		return handlers.Config{}, err
	}
	return cfg, nil
}

// checkKeyRotation checks the key rotation settings against each other.
// A rotated-in key must be in every verifier's copy of the JWK Set before
// it signs: this instance's key cache may see it OIDC_KEY_CACHE_SECONDS
// late, and a verifier may hold /jwks for its max-age, so the
// pre-publication period must be longer than the two together. And a key
// must sign for a while before it is replaced.
func checkKeyRotation(cfg handlers.Config) error {
	if least := cfg.KeyCacheTTL + handlers.JWKSMaxAge; cfg.KeyPrepublish <= least {
		return fmt.Errorf("setting OIDC_KEY_PREPUBLISH=%d: must be longer than %d seconds: the /jwks cache lifetime (max-age %d) plus OIDC_KEY_CACHE_SECONDS (%d), or relying parties meet tokens signed by a key they have not fetched yet",
			int(cfg.KeyPrepublish.Seconds()), int(least.Seconds()), int(handlers.JWKSMaxAge.Seconds()), int(cfg.KeyCacheTTL.Seconds()))
	}
	if cfg.KeyRotation > 0 && cfg.KeyRotation <= 2*cfg.KeyPrepublish {
		return fmt.Errorf("setting OIDC_KEY_ROTATION_DAYS=%d: must be 0 (off) or longer than twice OIDC_KEY_PREPUBLISH (%d seconds)",
			int(cfg.KeyRotation/(24*time.Hour)), int(cfg.KeyPrepublish.Seconds()))
	}
	return nil
}

// issuerFromEnv is the issuer the environment names: OIDC_ISSUER, else
// SITE_URL (the seed system's name for the site's URL, which it made the
// issuer), else http://localhost:8000. OIDC_ISSUER wins when both are set;
// a --issuer flag wins over both.
func issuerFromEnv(getenv func(string) string) string {
	return envOr(getenv, "OIDC_ISSUER", envOr(getenv, "SITE_URL", "http://localhost:8000"))
}

// normaliseIssuer checks the issuer is an http(s) URL with no query or
// fragment (OpenID Connect Discovery §3) and drops a trailing slash.
func normaliseIssuer(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("issuer %q must be an http or https URL without query or fragment", issuer)
	}
	return strings.TrimRight(issuer, "/"), nil
}
