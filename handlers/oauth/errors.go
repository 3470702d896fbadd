// Package oauth holds the parts of the OAuth 2.0 and OpenID Connect protocol
// that need neither HTTP nor a database: error values, PKCE, scopes and
// their claims, token generation and hashing. It imports only the standard
// library.
package oauth

import (
	"fmt"
	"net/http"
)

// Error codes from RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1 and
// OpenID Connect Core §3.1.2.6.
const (
	InvalidRequest          = "invalid_request"
	InvalidClient           = "invalid_client"
	InvalidGrant            = "invalid_grant"
	UnauthorizedClient      = "unauthorized_client"
	UnsupportedGrantType    = "unsupported_grant_type"
	UnsupportedResponseType = "unsupported_response_type"
	InvalidScope            = "invalid_scope"
	AccessDenied            = "access_denied"
	ServerError             = "server_error"
	TemporarilyUnavailable  = "temporarily_unavailable"
	InvalidToken            = "invalid_token"
	InsufficientScope       = "insufficient_scope"
	LoginRequired           = "login_required"
	ConsentRequired         = "consent_required"
	InteractionRequired     = "interaction_required"
	RequestNotSupported     = "request_not_supported"
	RequestURINotSupported  = "request_uri_not_supported"
)

// Error is an OAuth error as a value: the code and description are safe to
// show the client; Cause is for the log only.
type Error struct {
	Code        string
	Description string
	Status      int
	Cause       error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("oauth: %s: %s: %v", e.Code, e.Description, e.Cause)
	}
	return fmt.Sprintf("oauth: %s: %s", e.Code, e.Description)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error with the status RFC 6749 §5.2 gives its code.
func Errorf(code, format string, args ...any) *Error {
	status := http.StatusBadRequest
	switch code {
	case InvalidClient, InvalidToken:
		status = http.StatusUnauthorized
	case InsufficientScope:
		status = http.StatusForbidden
	case ServerError:
		status = http.StatusInternalServerError
	case TemporarilyUnavailable:
		status = http.StatusServiceUnavailable
	}
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}
