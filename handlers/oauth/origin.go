package oauth

import (
	"net/url"
	"strings"
)

// Origin is the web origin of an http or https redirect URI as a browser
// sends it in an Origin header (RFC 6454 §6.1): scheme://host, with the
// port only when it is not the scheme's default. Other URIs (a native
// app's custom scheme) have none.
func Origin(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// HasOrigin reports whether origin, an Origin header's value, is the
// origin of one of the redirect URIs.
func HasOrigin(redirectURIs []string, origin string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	for _, uri := range redirectURIs {
		if o, ok := Origin(uri); ok && o == origin {
			return true
		}
	}
	return false
}
