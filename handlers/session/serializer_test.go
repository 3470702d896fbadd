package session

import (
	"bytes"
	"encoding/gob"
	"strings"
	"testing"
)

// TestGobString: every string gob writes reads back the same without gob,
// and what is not a gob string is left to gob.
func TestGobString(t *testing.T) {
	t.Parallel()
	var lengths []int
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1<<16, 1<<16+3)
	for _, n := range lengths {
		want := strings.Repeat("\xffa", n/2) + strings.Repeat("z", n%2)
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(want); err != nil {
			t.Fatal(err)
		}
		got, ok := gobString(b.Bytes())
		if !ok || got != want {
			t.Fatalf("gobString of a %d-byte string = %q, %v; want it back", n, got, ok)
		}
		for _, bad := range [][]byte{b.Bytes()[:b.Len()-1], append(b.Bytes(), 0)} {
			if _, ok := gobString(bad); ok && n > 0 {
				t.Errorf("gobString read a %d-byte string with a wrong length", n)
			}
		}
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(uint(7)); err != nil {
		t.Fatal(err)
	}
	if _, ok := gobString(b.Bytes()); ok {
		t.Error("gobString read a uint as a string")
	}
	var s gobSerializer
	var got string
	if err := s.Deserialize(b.Bytes(), &got); err == nil {
		t.Error("a uint decoded into a string")
	}
}

// TestValuesCache: values come back equal from the cache, and changing
// what one request got does not change what the next one gets.
func TestValuesCache(t *testing.T) {
	t.Parallel()
	var s gobSerializer
	in := map[any]any{keyUserID: uint(42), keyAuthMicros: int64(1764600000123456)}
	enc, err := s.Serialize(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got := map[any]any{}
		if err := s.Deserialize(enc, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[keyUserID] != uint(42) || got[keyAuthMicros] != int64(1764600000123456) {
			t.Fatalf("read %d = %v, want %v", i, got, in)
		}
		got[keyUserID] = uint(7)
		delete(got, keyAuthMicros)
	}
	if len(s.values) != 1 {
		t.Errorf("cache holds %d entries, want 1", len(s.values))
	}
	flashes := map[any]any{keyUserID: uint(42), "_flash": []any{"a"}}
	if enc, err = s.Serialize(flashes); err != nil {
		t.Fatal(err)
	}
	got := map[any]any{}
	if err := s.Deserialize(enc, &got); err != nil || len(got["_flash"].([]any)) != 1 {
		t.Fatalf("flashes = %v, %v", got, err)
	}
	if len(s.values) != 1 {
		t.Error("values with a flash queue were cached")
	}
	if err := s.Deserialize([]byte("not gob"), &got); err == nil {
		t.Error("garbage decoded")
	}
}
