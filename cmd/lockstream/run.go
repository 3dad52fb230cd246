package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// env is the process context of a subcommand: output streams and the
// environment, injected so tests need not change the real ones.
type env struct {
	stdout, stderr io.Writer
	environ        []string
}

// getenv returns the value of the environment variable key, or "".
func (e *env) getenv(key string) string {
	for _, kv := range e.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the streaming origin", runServe},
		{"publish", "create a streaming locator for an asset and print its URLs", runPublish},
		{"policy", "create, list or delete content key policies (policy create FILE)", runPolicy},
		{"token", "get a test token for a locator from the server", runToken},
		{"inspect", "print the tracks and segment plan of an MP4 file or asset folder", runInspect},
		{"version", "print the version, commit and Go version", runVersion},
	}
}

// run executes the subcommand named by args[0] and returns the process
// exit code: 0 on success, 2 for a usage error, 1 for any other failure.
// Errors are printed to stderr as one line.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, environ: os.Environ()}
	return e.run(context.Background(), args)
}

func (e *env) run(ctx context.Context, args []string) int {
	err := e.dispatch(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(*usageError)):
		fmt.Fprintf(e.stderr, "lockstream: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "lockstream: %s\n", oneLine(err.Error()))
	return exitFailure
}

func (e *env) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		e.printUsage(e.stderr)
		return usagef("missing subcommand")
	}

	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		e.printUsage(e.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	return usagef("unknown subcommand %q: run 'lockstream help' for the list", name)
}

func (e *env) printUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: lockstream <subcommand> [flags]\n\nSubcommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'lockstream <subcommand> -h' for the flags of one subcommand.\n")
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// oneLine joins the lines of a multi-line error (errors.Join output) so
// the failure stays one line on stderr.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}
