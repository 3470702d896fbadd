package main

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// clientIPExtractor is what c.RealIP() answers everywhere: login
// throttling, the audit log and the request log all see this one value.
//
// Without trusted proxies it is the connection's address: headers are the
// client's to forge (Echo's default would believe X-Forwarded-For and
// X-Real-IP from anyone). With trusted proxies (OIDC_TRUSTED_PROXIES) it
// is the right-most address in X-Forwarded-For that is not one of them,
// reading from the connection's address leftwards: each proxy appends the
// address it received from, so only the hops added by trusted proxies are
// believed. Loopback, link-local and private ranges are trusted only when
// listed. A hop that does not parse stops the walk at the connection's
// address, as Echo does.
//
// Whatever comes out is parsed with net/netip and printed canonically
// (zone dropped, IPv4-mapped IPv6 unmapped), so it is short, valid text
// before it is stored, counted or logged; if it does not parse, the
// connection's address is used.
func clientIPExtractor(trusted []netip.Prefix) echo.IPExtractor {
	extract := echo.ExtractIPDirect()
	if len(trusted) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, p := range trusted {
			opts = append(opts, echo.TrustIPRange(&net.IPNet{
				IP:   net.IP(p.Addr().AsSlice()),
				Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
			}))
		}
		extract = echo.ExtractIPFromXFFHeader(opts...)
	}
	return func(r *http.Request) string {
		if a, ok := canonicalIP(extract(r)); ok {
			return a
		}
		a, _ := canonicalIP(connectionIP(r))
		return a
	}
}

// connectionIP is the host part of the connection's address.
func connectionIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// canonicalIP parses an address and prints it in its one canonical form.
func canonicalIP(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	return a.WithZone("").Unmap().String(), true
}
