package handlers

// Metrics counts what the handlers do, for the operator's /metrics. The
// labels are fixed words, never a username, client_id or token: metrics
// must say how the server is doing, not who used it.
type Metrics interface {
	// TokenIssued counts tokens issued by grant type
	// ("authorization_code", "refresh_token", "client_credentials",
	// "password").
	TokenIssued(grant string)
	// Login counts a password login that succeeded or failed.
	Login(ok bool)
	// Throttled counts an attempt refused by a throttle: "login" at
	// POST /login and the password grant, "client" for client
	// authentication at /token.
	Throttled(what string)
}

// noMetrics is the Metrics of a Handler built without any.
type noMetrics struct{}

func (noMetrics) TokenIssued(string) {}
func (noMetrics) Login(bool)         {}
func (noMetrics) Throttled(string)   {}
