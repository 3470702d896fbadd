// Package static embeds oidcd's stylesheets and scripts into the binary.
package static

import (
	"embed"
	"io/fs"
)

// FS holds every file of this folder but the Go source.
//
//go:embed *.css *.js *.svg
var FS embed.FS

// Favicon is oidcd's icon, also served at /favicon.ico.
//
//go:embed favicon.svg
var Favicon []byte

// Files is FS without its directories: a folder is not found, rather
// than redirected to itself with a trailing slash (which the router
// strips again) or listed.
var Files fs.FS = filesOnly{FS}

type filesOnly struct{ fsys fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
