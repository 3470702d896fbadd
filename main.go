// Command oidcd is an OpenID Connect provider in one binary: it serves the
// authorization code flow with its own login and consent pages, on SQLite
// by default or PostgreSQL.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError means the command line was wrong; usage has been printed.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode maps run's result to the process exit status: 2 for a usage
// error, 1 for any other failure, said in one line.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	fmt.Fprintf(stderr, "oidcd: %v\n", err)
	return 1
}

// run is the whole program, with its environment passed in so tests can
// call it directly. stdin is read by createuser only, for the password.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, args, getenv, stdout, stderr)
	case "createuser":
		return cmdCreateUser(ctx, args, getenv, stdin, stdout, stderr)
	case "createclient":
		return cmdCreateClient(ctx, args, getenv, stdout, stderr)
	case "creatersakey":
		return cmdCreateRSAKey(ctx, args, getenv, stdout, stderr)
	case "createkey":
		return cmdCreateKey(ctx, args, getenv, stdout, stderr)
	case "rotatekeys":
		return cmdRotateKeys(ctx, args, getenv, stdout, stderr)
	case "cleanup":
		return cmdCleanup(ctx, args, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, topUsage)
		return nil
	}
	fmt.Fprintf(stderr, "oidcd: unknown command %q\n\n%s", cmd, topUsage)
	return usageError{"unknown command"}
}

const topUsage = `usage: oidcd [command] [flags]

commands:
  serve          run the OpenID provider (the default)
  createuser     add a user
  createclient   register a relying party
  creatersakey   add an RSA signing key (published now, signs after OIDC_KEY_PREPUBLISH; --now at once)
  createkey      add a signing key: --alg RS256, ES256 or EdDSA (as creatersakey)
  rotatekeys     rotate the signing keys of every algorithm (or --alg's)
  cleanup        delete expired requests, sessions, codes, tokens and old events
  bench          load a running provider over HTTP; report ops/s, latency, errors

Run 'oidcd COMMAND -h' for a command's flags.
`
