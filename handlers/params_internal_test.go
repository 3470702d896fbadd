package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestReadParams: protocol parameters come from the query on GET and HEAD
// and from a form-encoded body on POST (Core §3.1.2.1, RFC 6749 §3.2);
// what does not decode cleanly is refused, never silently dropped.
func TestReadParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		method      string
		query       string
		contentType string
		body        string
		want        url.Values // nil: an error
	}{
		{"GET query", http.MethodGet, "a=1&b=x%20y", "", "", url.Values{"a": {"1"}, "b": {"x y"}}},
		{"HEAD query", http.MethodHead, "a=1", "", "", url.Values{"a": {"1"}}},
		{"GET ignores a body", http.MethodGet, "a=1", echo.MIMEApplicationForm, "b=2", url.Values{"a": {"1"}}},
		{"GET empty query", http.MethodGet, "", "", "", url.Values{}},
		{"GET malformed escape", http.MethodGet, "a=%zz", "", "", nil},
		{"GET semicolon", http.MethodGet, "a=1;b=2", "", "", nil},
		{"GET invalid UTF-8", http.MethodGet, "a=%FF", "", "", nil},
		{"GET NUL", http.MethodGet, "a=x%00y", "", "", nil},
		{"POST form", http.MethodPost, "", echo.MIMEApplicationForm, "a=1&b=2", url.Values{"a": {"1"}, "b": {"2"}}},
		{"POST form with a charset", http.MethodPost, "", echo.MIMEApplicationForm + "; charset=UTF-8", "a=1", url.Values{"a": {"1"}}},
		{"POST reads the body, not the query", http.MethodPost, "q=1", echo.MIMEApplicationForm, "a=1", url.Values{"a": {"1"}}},
		{"POST JSON", http.MethodPost, "", echo.MIMEApplicationJSON, `{"a":"1"}`, nil},
		{"POST no content type", http.MethodPost, "", "", "a=1", nil},
		{"POST malformed content type", http.MethodPost, "", "application/x-www-form-urlencoded; =", "a=1", nil},
		{"POST malformed escape", http.MethodPost, "", echo.MIMEApplicationForm, "a=%zz", nil},
		{"POST invalid UTF-8 name", http.MethodPost, "", echo.MIMEApplicationForm, "%FF=1", nil},
		{"POST control character", http.MethodPost, "", echo.MIMEApplicationForm, "a=x%1By", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/x"
			if tt.query != "" {
				target += "?" + tt.query
			}
			req := httptest.NewRequest(tt.method, target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set(echo.HeaderContentType, tt.contentType)
			}
			p, err := readParams(echo.New().NewContext(req, httptest.NewRecorder()))
			switch {
			case tt.want == nil && err == nil:
				t.Errorf("readParams = %v, want an error", p.values)
			case tt.want != nil && err != nil:
				t.Errorf("readParams: %v, want %v", err, tt.want)
			case tt.want != nil && !equalValues(p.values, tt.want):
				t.Errorf("readParams = %v, want %v", p.values, tt.want)
			}
		})
	}
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || strings.Join(va, "\x00") != strings.Join(vb, "\x00") {
			return false
		}
	}
	return true
}

// TestCheckValues: each value is UTF-8, at most maxParamLen bytes and free
// of control characters other than tab, CR and LF.
func TestCheckValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values url.Values
		ok     bool
	}{
		{"empty", url.Values{}, true},
		{"plain", url.Values{"state": {"abc"}}, true},
		{"tab, CR and LF", url.Values{"a": {"x\ty\r\nz"}}, true},
		{"non-ASCII UTF-8", url.Values{"a": {"Grüße ✓"}}, true},
		{"at the length limit", url.Values{"a": {strings.Repeat("x", maxParamLen)}}, true},
		{"over the length limit", url.Values{"a": {strings.Repeat("x", maxParamLen+1)}}, false},
		{"a long name is not a value", url.Values{strings.Repeat("n", maxParamLen+1): {"x"}}, true},
		{"invalid UTF-8 value", url.Values{"a": {"\xff"}}, false},
		{"invalid UTF-8 name", url.Values{"\xff": {"x"}}, false},
		{"NUL", url.Values{"a": {"x\x00"}}, false},
		{"escape", url.Values{"a": {"x\x1b"}}, false},
		{"DEL", url.Values{"a": {"x\x7f"}}, false},
		{"a bad value among good ones", url.Values{"a": {"ok", "x\x01"}}, false},
	}
	for _, tt := range tests {
		_, err := checkValues(tt.values)
		if (err == nil) != tt.ok {
			t.Errorf("%s: checkValues error = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestParamsSingleValued: a parameter sent more than once is an error
// (RFC 6749 §3.1, §3.2), whether read alone or checked all at once.
func TestParamsSingleValued(t *testing.T) {
	t.Parallel()
	p := params{values: url.Values{"one": {"1"}, "empty": {""}, "twice": {"a", "b"}}}
	tests := []struct {
		name    string
		want    string
		wantErr bool
		has     bool
	}{
		{"one", "1", false, true},
		{"empty", "", false, true},
		{"absent", "", false, false},
		{"twice", "", true, true},
	}
	for _, tt := range tests {
		got, err := p.get(tt.name)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("get(%q) = %q, %v; want %q, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if p.has(tt.name) != tt.has {
			t.Errorf("has(%q) = %v, want %v", tt.name, !tt.has, tt.has)
		}
	}
	if name, ok := p.repeated("one", "absent", "twice"); !ok || name != "twice" {
		t.Errorf("repeated = %q, %v; want twice, true", name, ok)
	}
	if name, ok := p.repeated("one", "empty"); ok {
		t.Errorf("repeated(one, empty) = %q, true; want none", name)
	}
	if err := p.singleValued(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("singleValued = %v, want an error naming twice", err)
	}
	if err := (params{values: url.Values{"a": {"1"}, "b": {""}}}).singleValued(); err != nil {
		t.Errorf("singleValued of single values = %v, want nil", err)
	}
}
