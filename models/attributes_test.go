package models

import (
	"maps"
	"strings"
	"testing"
)

func TestParseAttributes(t *testing.T) {
	many := strings.Builder{}
	for i := range MaxAttributes + 1 {
		many.WriteString("k" + strings.Repeat("x", i) + " = v\n")
	}
	for _, c := range []struct {
		name, text string
		want       map[string]string
		wantErr    string
	}{
		{"empty is none", "", nil, ""},
		{"blank lines only", "\n  \n", nil, ""},
		{"two lines, trimmed, CRLF", " department = Research \r\nemployee.id=42\r\n", map[string]string{"department": "Research", "employee.id": "42"}, ""},
		{"value with =", "expr = a=b", map[string]string{"expr": "a=b"}, ""},
		{"empty value kept", "nickname =", map[string]string{"nickname": ""}, ""},
		{"no =", "department Research", nil, "line 1: write key = value"},
		{"repeat", "a = 1\na = 2", nil, `line 2: "a" is given twice`},
		{"key with a space", "my key = 1", nil, "must start with a letter"},
		{"key starting with a digit", "1st = 1", nil, "must start with a letter"},
		{"empty key", "= 1", nil, "cannot be empty"},
		{"long key", strings.Repeat("k", MaxAttributeKey+1) + " = 1", nil, "longer than 64"},
		{"long value", "k = " + strings.Repeat("v", MaxAttributeValue+1), nil, "longer than 1000 bytes"},
		{"control character", "k = a\x07b", nil, "control character"},
		{"too many", many.String(), nil, "at most 50 attributes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, msg := ParseAttributes(c.text)
			if c.wantErr == "" && msg != "" || c.wantErr != "" && !strings.Contains(msg, c.wantErr) {
				t.Fatalf("error: got %q, want %q", msg, c.wantErr)
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if c.wantErr == "" {
				again, _ := ParseAttributes(FormatKeyValueLines(got))
				if !maps.Equal(again, got) {
					t.Errorf("formatted and read again: got %v, want %v", again, got)
				}
			}
		})
	}
}
