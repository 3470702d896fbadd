package models

import (
	"fmt"
	"net/url"
	"strings"
)

// MaxRedirectURILength bounds a registered redirect URI. Browsers and
// proxies cut URLs somewhere past 2000 characters, and a redirect URI
// travels inside the authorize URL, so a longer one could never work.
const MaxRedirectURILength = 2000

// refusedSchemes are schemes that run or reveal something in the browser
// instead of handing the response to a client. A code or token sent to
// one of them goes to whatever page the user is on, or to no one.
var refusedSchemes = []string{"javascript", "vbscript", "data", "file", "about", "blob", "filesystem"}

// RedirectURIError says why a URI may not be registered as a redirect or
// post-logout redirect URI. Reason reads after the URI ("must not ...").
type RedirectURIError struct {
	URI    string
	Reason string
}

func (e *RedirectURIError) Error() string {
	return fmt.Sprintf("redirect URI %q %s", e.URI, e.Reason)
}

// CheckRedirectURI reports whether s may be registered as a client's
// redirect URI or post-logout redirect URI. The rules:
//   - absolute, with no fragment (RFC 6749 §3.1.2), at most
//     MaxRedirectURILength characters;
//   - no user information (RFC 3986 §3.2.1): it would only serve to
//     disguise where the user is sent;
//   - never a scheme the browser runs itself (javascript:, data:, ...);
//   - http and https need a host;
//   - any other scheme is a native app's private-use scheme (RFC 8252
//     §7.1, "com.example.app:/oauth2redirect") and needs a path. An
//     authority instead of a path ("myapp://callback") is accepted too:
//     many apps register that form.
//
// The error is a *RedirectURIError.
func CheckRedirectURI(s string) error {
	fail := func(reason string) error { return &RedirectURIError{URI: s, Reason: reason} }
	if len(s) > MaxRedirectURILength {
		return fail(fmt.Sprintf("must be at most %d characters", MaxRedirectURILength))
	}
	u, err := url.Parse(s)
	// url.Parse drops an empty fragment ("cb#"), so look for '#' itself.
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(s, "#") {
		return fail("must be absolute and have no fragment")
	}
	scheme := strings.ToLower(u.Scheme)
	for _, bad := range refusedSchemes {
		if scheme == bad {
			return fail(fmt.Sprintf("must not use the %s: scheme", bad))
		}
	}
	if u.User != nil {
		return fail("must not contain a user name or password")
	}
	switch scheme {
	case "http", "https":
		if u.Opaque != "" || u.Hostname() == "" {
			return fail("must name a host (" + scheme + "://host/path)")
		}
	default:
		if u.Opaque == "" && strings.Trim(u.Path, "/") == "" && u.Host == "" {
			return fail("must have a path after the scheme (such as " + scheme + ":/callback)")
		}
	}
	return nil
}

// CheckBackchannelLogoutURI reports whether s may be registered as a
// client's backchannel_logout_uri (Back-Channel Logout 1.0 §2.2): an
// absolute http or https URL with a host and no fragment, no user
// information, at most MaxRedirectURILength characters. Private and
// loopback hosts are allowed on purpose (an admin registers it).
func CheckBackchannelLogoutURI(s string) error {
	fail := func(reason string) error { return fmt.Errorf("backchannel logout URI %q %s", s, reason) }
	if len(s) > MaxRedirectURILength {
		return fail(fmt.Sprintf("must be at most %d characters", MaxRedirectURILength))
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(s, "#") {
		return fail("must be absolute and have no fragment")
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "http" && scheme != "https" {
		return fail("must be http or https")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fail("must name a host")
	}
	if u.User != nil {
		return fail("must not contain a user name or password")
	}
	return nil
}
