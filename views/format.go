package views

import (
	"strconv"
	"strings"
)

func itoa(n int) string     { return strconv.Itoa(n) }
func i64toa(n int64) string { return strconv.FormatInt(n, 10) }
func utoa(n uint) string    { return strconv.FormatUint(uint64(n), 10) }

// plural counts n things: "1 token", "0 tokens", "2 tokens".
func plural(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return i64toa(n) + " " + one
	}
	return i64toa(n) + " " + many
}

// Plural is plural for the admin site's messages.
func Plural(n int64, one, many string) string { return plural(n, one, many) }

func join(s []string) string { return strings.Join(s, ", ") }

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// queryNote says which search a list is showing.
func queryNote(q string) string {
	if q == "" {
		return ""
	}
	return " matching “" + q + "”"
}

// rowsFor sizes a read-only textarea to show all of value: one row per
// line, and long lines (URLs) wrapped at about 90 characters.
func rowsFor(value string) string {
	rows := 0
	for _, line := range strings.Split(value, "\n") {
		rows += 1 + len(line)/90
	}
	return strconv.Itoa(rows)
}
