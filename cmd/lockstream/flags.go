package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagSet is a subcommand's flags and its help text.
type flagSet struct {
	*flag.FlagSet
	e        *env
	synopsis string
	about    string
}

// newFlagSet returns the flags of subcommand name. Parse errors print
// nothing, because run prints one line for them; -h prints the help text
// to stdout.
func newFlagSet(e *env, name, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, e: e, synopsis: synopsis, about: about}
}

func (fs *flagSet) printHelp() {
	w := fs.e.stdout
	fmt.Fprintf(w, "Usage: lockstream %s %s\n\n%s\n\nFlags:\n", fs.Name(), fs.synopsis, fs.about)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseFlags parses args with fs, accepting flags before and after the
// positional arguments ("inspect FILE --target 4s"), and returns the
// positional arguments. -h prints the usage and returns flag.ErrHelp.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printHelp()
				return nil, err
			}
			return nil, usagef("%s: %v (run 'lockstream %s -h' for the flags)", fs.Name(), err, fs.Name())
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// requireFlag returns a usage error when value is empty.
func requireFlag(fs *flagSet, name, value string) error {
	if strings.TrimSpace(value) == "" {
		return usagef("%s: missing --%s", fs.Name(), name)
	}
	return nil
}
