package main

import (
	"context"
	"fmt"
	"time"
)

// maxTokenTTL bounds --ttl as the server does: a test token is for trying
// a stream, and a long-lived one that leaks is a long-lived key.
const maxTokenTTL = 24 * time.Hour

func runToken(ctx context.Context, e *env, args []string) error {
	var (
		sf      serverFlags
		locator string
		ttl     time.Duration
	)
	fs := newFlagSet(e, "token", "--locator ID [flags]",
		"Asks the server to sign a test token for a locator's content key policy and\n"+
			"prints the token on the first line, then a player page URL for each format.\n"+
			"The admin token comes from LOCKSTREAM_ADMIN_TOKEN.")
	sf.register(fs, e)
	fs.StringVar(&locator, "locator", "", "streaming locator `ID or name` (required)")
	fs.DurationVar(&ttl, "ttl", time.Hour, "token lifetime as a `duration` such as 30m or 2h (at most 24h)")

	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("token: unexpected argument %q", rest[0])
	}
	if err := requireFlag(fs, "locator", locator); err != nil {
		return err
	}
	if ttl <= 0 || ttl > maxTokenTTL {
		return usagef("token: invalid --ttl %v: want a duration between 1s and %v", ttl, maxTokenTTL)
	}
	client, base, err := sf.client(e, "token")
	if err != nil {
		return err
	}

	loc, err := client.GetLocator(ctx, locator)
	if err != nil {
		return fmt.Errorf("reading locator %q: %w", locator, err)
	}

	token, expires, err := client.TestToken(ctx, locator, ttl)
	if err != nil {
		return fmt.Errorf("getting a test token for locator %q: %w", locator, err)
	}

	paths, err := client.ListPaths(ctx, locator)
	if err != nil {
		return fmt.Errorf("listing the paths of locator %q: %w", locator, err)
	}

	fmt.Fprintln(e.stdout, token)
	fmt.Fprintf(e.stdout, "expires %s\n", expires.UTC().Format(time.RFC3339))
	writePublishText(e, base, loc, absolutePaths(base, withHLSv3(paths.StreamingPaths)), true, token)
	return nil
}
