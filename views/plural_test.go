package views

import "testing"

func TestPlural(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 tokens"}, {1, "1 token"}, {2, "2 tokens"}, {-1, "-1 token"}, {11, "11 tokens"}, {21, "21 tokens"},
	} {
		if got := plural(tt.n, "token", "tokens"); got != tt.want {
			t.Errorf("plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got := Plural(1, "client that lists", "clients that list"); got != "1 client that lists" {
		t.Errorf("Plural(1) = %q", got)
	}
}
