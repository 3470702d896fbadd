// Package static embeds oidcd's stylesheets and scripts into the binary.
package static

import "embed"

// FS holds every file of this folder but the Go source.
//
//go:embed *.css *.js
var FS embed.FS
