package main

import (
	"go/version"
	"runtime"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestToolchainHasNoKnownVulnerabilities pins the floors below which
// govulncheck reported reachable vulnerabilities (issue 7, finding 14):
// Go's standard library before 1.27.3 (net/http, mime/multipart,
// crypto/x509) and Echo before 4.16.5. `task vulncheck` runs govulncheck
// itself.
func TestToolchainHasNoKnownVulnerabilities(t *testing.T) {
	t.Parallel()
	if got := runtime.Version(); version.Compare(got, "go1.27.3") < 0 {
		t.Errorf("built with %s, want go1.27.3 or later (GOTOOLCHAIN=go1.27.3)", got)
	}
	// go/version orders release numbers; Echo's "4.16.5" reads as one.
	if version.Compare("go"+echo.Version, "go4.16.5") < 0 {
		t.Errorf("echo %s, want 4.16.5 or later", echo.Version)
	}
}
