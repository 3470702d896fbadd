package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"oidcd/handlers"
)

// TestLoadHandlerConfig checks every setting of the README's table: its
// default with an empty environment, that a valid other value takes
// effect, and that a malformed value stops start-up with an error naming
// the variable.
func TestLoadHandlerConfig(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		env       string
		field     func(handlers.Config) any
		def       any    // the README's default
		value     string // a valid value other than the default
		want      any    // what value sets
		malformed []string
	}{
		{"OIDC_CODE_EXPIRE", func(c handlers.Config) any { return c.CodeExpire },
			600 * time.Second, "45", 45 * time.Second, []string{"abc", "-1", "0", "1.5", "10s"}},
		{"OIDC_TOKEN_EXPIRE", func(c handlers.Config) any { return c.TokenExpire },
			3600 * time.Second, "7200", 7200 * time.Second, []string{"abc", "-1", "0", "1h"}},
		{"OIDC_IDTOKEN_EXPIRE", func(c handlers.Config) any { return c.IDTokenExpire },
			600 * time.Second, "1234", 1234 * time.Second, []string{"abc", "-1", "0"}},
		{"OIDC_REFRESH_TOKEN_EXPIRE", func(c handlers.Config) any { return c.RefreshTokenExpire },
			30 * day, "86400", day, []string{"abc", "-1", "0"}},
		{"OIDC_SKIP_CONSENT_EXPIRE", func(c handlers.Config) any { return c.SkipConsentExpire },
			90 * day, "7", 7 * day, []string{"abc", "-1", "0", "7d"}},
		{"OIDC_SESSION_EXPIRE", func(c handlers.Config) any { return c.SessionExpire },
			14 * day, "3600", time.Hour, []string{"abc", "-1", "0"}},
		{"OIDC_IDTOKEN_INCLUDE_CLAIMS", func(c handlers.Config) any { return c.IDTokenIncludeClaims },
			false, "true", true, []string{"abc", "yes", "2"}},
		{"OIDC_USERINFO_QUERY_TOKEN", func(c handlers.Config) any { return c.UserinfoQueryToken },
			true, "false", false, []string{"abc", "no", "-1"}},
		{"OIDC_LOGIN_MAX_FAILURES", func(c handlers.Config) any { return c.LoginMaxFailures },
			5, "12", 12, []string{"abc", "-1", "0", "2.5"}},
		{"OIDC_LOGIN_THROTTLE_WINDOW", func(c handlers.Config) any { return c.LoginThrottleWindow },
			900 * time.Second, "60", time.Minute, []string{"abc", "-1", "0"}},
		{"OIDC_TRUSTED_PROXIES", func(c handlers.Config) any { return fmt.Sprint(c.TrustedProxies) },
			"[]", "10.0.0.0/8, ::1", "[10.0.0.0/8 ::1/128]", []string{"10.0.0.0/33", "proxy.example", "10.0.0.0/8;"}},
		{"OIDC_METRICS_TOKEN", func(c handlers.Config) any { return c.MetricsToken },
			"", "0123456789abcdef0123", "0123456789abcdef0123", []string{"short", "0123456789 abcdef0123"}},
		{"OIDC_DISCOVERY_CACHE_ENABLE", func(c handlers.Config) any { return c.DiscoveryCache },
			false, "true", true, []string{"abc", "on", "2"}},
		{"OIDC_DISCOVERY_CACHE_EXPIRE", func(c handlers.Config) any { return c.DiscoveryCacheExpire },
			7200 * time.Second, "60", time.Minute, []string{"abc", "-1", "0", "2h", "31536001"}},
	}
	const issuer = "https://id.example.org"
	load := func(vars map[string]string) (handlers.Config, error) {
		return loadHandlerConfig(issuer, func(k string) string { return vars[k] })
	}

	defaults, err := load(nil)
	if err != nil {
		t.Fatalf("empty environment: got error %v, want the defaults", err)
	}
	if defaults.Issuer != issuer {
		t.Errorf("Issuer = %q, want %q", defaults.Issuer, issuer)
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if got := tt.field(defaults); got != tt.def {
				t.Errorf("default: got %v, want %v", got, tt.def)
			}

			cfg, err := load(map[string]string{tt.env: tt.value})
			if err != nil {
				t.Fatalf("%s=%q: got error %v, want it accepted", tt.env, tt.value, err)
			}
			if got := tt.field(cfg); got != tt.want {
				t.Errorf("%s=%q: got %v, want %v", tt.env, tt.value, got, tt.want)
			}
			// Setting one variable leaves every other at its default.
			for _, other := range tests {
				if other.env != tt.env {
					if got, want := other.field(cfg), other.field(defaults); got != want {
						t.Errorf("%s=%q changed %s: got %v, want %v", tt.env, tt.value, other.env, got, want)
					}
				}
			}

			for _, bad := range tt.malformed {
				_, err := load(map[string]string{tt.env: bad})
				if err == nil {
					t.Errorf("%s=%q: got no error, want one", tt.env, bad)
					continue
				}
				if !strings.Contains(err.Error(), tt.env) {
					t.Errorf("%s=%q: got error %q, want it to name %s", tt.env, bad, err, tt.env)
				}
			}
		})
	}
}
