package models

import (
	"slices"
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

// TestRowColumnsMatchModels: the hot paths' column lists are every
// column of their model, so a column added to a model is not silently
// left unread by them.
func TestRowColumnsMatchModels(t *testing.T) {
	for _, c := range []struct {
		model   any
		columns []string
	}{{&User{}, userColumns}, {&Client{}, clientColumns}, {&Code{}, codeColumns}, {&Token{}, tokenColumns}} {
		s, err := schema.Parse(c.model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, f := range s.Fields {
			if f.DBName != "" {
				want = append(want, f.DBName)
			}
		}
		// The order is the list's own (userTargets follows it); the set
		// is the model's.
		got := slices.Sorted(slices.Values(c.columns))
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: columns %v, want %v", s.Table, c.columns, want)
		}
	}
}
