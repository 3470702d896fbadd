package handlers

import "testing"

// TestRSASigningSlots: one core is always left to the rest of the server,
// and a single core still signs.
func TestRSASigningSlots(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		procs int
		want  int64
	}{{1, 1}, {2, 1}, {4, 3}, {16, 15}} {
		if got := rsaSigningSlots(tc.procs); got != tc.want {
			t.Errorf("rsaSigningSlots(%d) = %d, want %d", tc.procs, got, tc.want)
		}
	}
}
