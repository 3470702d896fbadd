package models

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a user's free-form attributes (User.Attributes). They ride
// in the user row that /userinfo and /token read, so they stay small.
const (
	MaxAttributes      = 50
	MaxAttributeKey    = 64
	MaxAttributeValue  = 1000
	maxAttributesBytes = 16 << 10
)

// attributeKeyRE is an attribute key: a letter, then letters, digits,
// '_', '-' or '.'.
var attributeKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.\-]*$`)

// CheckAttributeKey returns why key is no attribute key, or "".
func CheckAttributeKey(key string) string {
	switch {
	case key == "":
		return "an attribute key cannot be empty"
	case len(key) > MaxAttributeKey:
		return fmt.Sprintf("attribute key %.20q… is longer than %d characters", key, MaxAttributeKey)
	case !attributeKeyRE.MatchString(key):
		return fmt.Sprintf("attribute key %q must start with a letter and hold only letters, digits, '_', '-' and '.'", key)
	}
	return ""
}

// CheckAttributeValue returns why v is no attribute value, or "".
func CheckAttributeValue(key, v string) string {
	switch {
	case len(v) > MaxAttributeValue:
		return fmt.Sprintf("the value of %q is longer than %d bytes", key, MaxAttributeValue)
	case !utf8.ValidString(v):
		return fmt.Sprintf("the value of %q is not UTF-8 text", key)
	case strings.ContainsFunc(v, unicode.IsControl):
		return fmt.Sprintf("the value of %q holds a control character", key)
	}
	return ""
}

// CheckAttributes returns why attrs cannot be stored, or "".
func CheckAttributes(attrs map[string]string) string {
	if len(attrs) > MaxAttributes {
		return fmt.Sprintf("at most %d attributes", MaxAttributes)
	}
	total := 0
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if msg := CheckAttributeKey(k); msg != "" {
			return msg
		}
		if msg := CheckAttributeValue(k, attrs[k]); msg != "" {
			return msg
		}
		total += len(k) + len(attrs[k])
	}
	if total > maxAttributesBytes {
		return fmt.Sprintf("the attributes take more than %d bytes", maxAttributesBytes)
	}
	return ""
}

// ParseKeyValueLines reads "key = value" lines, as the admin forms take
// attributes and a custom scope's claims: blank lines are skipped, the
// first '=' splits, and both sides are trimmed. It returns why the text
// is malformed (naming the line), or "". Keys are not checked here.
func ParseKeyValueLines(text string) (map[string]string, string) {
	out := map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Sprintf("line %d: write key = value", i+1)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, dup := out[k]; dup {
			return nil, fmt.Sprintf("line %d: %q is given twice", i+1, k)
		}
		out[k] = v
	}
	return out, ""
}

// FormatKeyValueLines writes m as ParseKeyValueLines reads it, by key.
func FormatKeyValueLines(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s = %s\n", k, m[k])
	}
	return b.String()
}

// ParseAttributes reads and checks the attributes as the admin form takes
// them; an empty text is no attributes (nil).
func ParseAttributes(text string) (map[string]string, string) {
	m, msg := ParseKeyValueLines(text)
	if msg != "" {
		return nil, msg
	}
	if msg := CheckAttributes(m); msg != "" {
		return nil, msg
	}
	if len(m) == 0 {
		return nil, ""
	}
	return m, ""
}
