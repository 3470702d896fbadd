package session

import (
	"maps"
	"sync"

	"github.com/gorilla/securecookie"
)

// maxCachedValues bounds the decoded-values cache: past it the cache starts
// over, so it holds at most this many sessions' values.
const maxCachedValues = 4096

// gobSerializer writes exactly what securecookie's default gob encoding
// writes, so cookies and session rows stay as they were, and reads it
// without gob where gob costs most. A gob Decoder compiles the type of
// every value it meets, anew for every cookie and row; for the two
// values read on every request that costs far more than the HMAC check:
//   - the cookie's session id, a single string: its gob message is read
//     directly (gobString), and anything else goes to gob;
//   - the row's values (user id and login time): decoded by gob once per
//     distinct encoding, then copied from a cache keyed by the encoded
//     bytes themselves. The same bytes always decode to the same values,
//     so the cache is never stale, whatever another instance writes. Only
//     values of immutable types are cached (flash queues are not).
//
// securecookie checks the signature and age before it calls Deserialize.
type gobSerializer struct {
	gob securecookie.GobEncoder

	mu     sync.RWMutex
	values map[string]map[any]any
}

func (s *gobSerializer) Serialize(src any) ([]byte, error) { return s.gob.Serialize(src) }

func (s *gobSerializer) Deserialize(src []byte, dst any) error {
	switch d := dst.(type) {
	case *string:
		if v, ok := gobString(src); ok {
			*d = v
			return nil
		}
	case *map[any]any:
		s.mu.RLock()
		cached, ok := s.values[string(src)]
		s.mu.RUnlock()
		if ok {
			if *d == nil {
				*d = make(map[any]any, len(cached))
			}
			maps.Copy(*d, cached)
			return nil
		}
		if err := s.gob.Deserialize(src, dst); err != nil {
			return err
		}
		if immutable(*d) {
			s.mu.Lock()
			if len(s.values) >= maxCachedValues || s.values == nil {
				s.values = make(map[string]map[any]any)
			}
			s.values[string(src)] = maps.Clone(*d)
			s.mu.Unlock()
		}
		return nil
	}
	return s.gob.Deserialize(src, dst)
}

// immutable reports whether every key and value of m is of a type that
// cannot be changed through a copy of the map.
func immutable(m map[any]any) bool {
	for k, v := range m {
		for _, x := range [2]any{k, v} {
			switch x.(type) {
			case string, bool, int, int64, uint, uint64:
			default:
				return false
			}
		}
	}
	return true
}

// gobString reads the gob encoding of a single string, as a fresh
// gob.Encoder writes it: the message length, the type id of string (6,
// written as 0x0c), a zero field delta, the string's length and its
// bytes, every count a gob unsigned integer. ok is false for anything
// else, which is then left to gob.
func gobString(b []byte) (s string, ok bool) {
	n, b, ok := gobUint(b)
	if !ok || n != uint64(len(b)) || len(b) < 2 || b[0] != 0x0c || b[1] != 0x00 {
		return "", false
	}
	n, b, ok = gobUint(b[2:])
	if !ok || n != uint64(len(b)) {
		return "", false
	}
	return string(b), true
}

// gobUint reads one gob unsigned integer in its canonical form: below 128
// one byte; otherwise the negated count of the big-endian bytes that
// follow, without leading zeros.
func gobUint(b []byte) (uint64, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	if b[0] < 0x80 {
		return uint64(b[0]), b[1:], true
	}
	size := int(-int8(b[0]))
	if size < 1 || size > 8 || len(b) < 1+size || b[1] == 0 {
		return 0, nil, false
	}
	var v uint64
	for _, c := range b[1 : 1+size] {
		v = v<<8 | uint64(c)
	}
	if v < 0x80 {
		return 0, nil, false
	}
	return v, b[1+size:], true
}
