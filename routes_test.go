package main

import (
	"math/rand/v2"
	"net/url"
	"testing"
	"unicode/utf8"
)

// validQueryByMap is what validQuery decides, through url.ParseQuery.
func validQueryByMap(raw string) bool {
	values, _ := url.ParseQuery(raw)
	for name, vals := range values {
		if !utf8.ValidString(name) {
			return false
		}
		for _, v := range vals {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return utf8.ValidString(raw)
}

// TestValidQuery: validQuery decides as url.ParseQuery's values would,
// on chosen queries and on random ones made of the characters that
// matter.
func TestValidQuery(t *testing.T) {
	t.Parallel()
	cases := []string{
		"", "a=b", "a=%C3%A9", "a=%C3", "%C3=b", "%C3=%zz", "%zz=%C3", "a=%C3;b=c", "a=%C3&b=%zz",
		"a=%", "a=%4", "a=%41", "&&a=b&", "=%ff", "%ff", "a=b+c%20d", "redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb",
		"a=\xff", "a=%E2%82%AC", "a=%e2%82", "x=%E2%82%AC%E2", "q=" + string(make([]byte, 300)),
	}
	alphabet := []string{"a", "=", "&", ";", "%", "+", "C3", "A9", "ff", "E2", "82", "AC", "z", "%C3", "%A9", "%ff", "%4"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var q string
		for range r.IntN(12) {
			q += alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, q)
	}
	for _, q := range cases {
		if got, want := validQuery(q), validQueryByMap(q); got != want {
			t.Fatalf("validQuery(%q) = %v, want %v", q, got, want)
		}
	}
}
