package main

import (
	"net/http"
	"testing"
)

// TestStaticFolderNotFound: the static folder itself is not a page. It
// used to redirect /static to /static/, which the trailing-slash rule
// turned back into /static: a redirect loop. Files are still served.
func TestStaticFolderNotFound(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/static/", http.StatusNotFound},
		{"/static", http.StatusNotFound},
		{"/static//", http.StatusNotFound},
		{"/static/style.css", http.StatusOK},
		{"/static/style.css/", http.StatusOK},
		{"/static/admin.js", http.StatusOK},
	} {
		resp, err := client.Do(mustRequest(t, http.MethodGet, env.issuer+tt.path, nil))
		if err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want || resp.Header.Get("Location") != "" {
			t.Errorf("GET %s: %d to %q, want %d and no redirect", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.want)
		}
	}
}
