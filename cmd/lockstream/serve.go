package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/lockstream/lockstream/origin"
)

func runServe(ctx context.Context, e *env, args []string) error {
	cfg := origin.DefaultConfig()
	fs := newFlagSet(e, "serve", "[flags]",
		"Runs the streaming origin until SIGINT or SIGTERM, then shuts down gracefully.\n\n"+
			"Settings are layered: defaults, then the config file, then LOCKSTREAM_*\n"+
			"environment variables (the flag name in upper case, '-' as '_'), then flags.\n"+
			"The admin token and the master key have no flag: set LOCKSTREAM_ADMIN_TOKEN\n"+
			"and LOCKSTREAM_MASTER_KEY, or put them in the config file.")
	cfg.RegisterFlags(fs.FlagSet)
	logFormat := fs.String("log-format", defaultString(e.getenv("LOCKSTREAM_LOG_FORMAT"), "json"),
		"log `format`: json or text; environment LOCKSTREAM_LOG_FORMAT")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("serve: unexpected argument %q", rest[0])
	}

	cfg, err = origin.LoadConfig("", e.environ, cfg)
	if err != nil {
		return usagef("serve: %s", oneLine(err.Error()))
	}
	if err := cfg.Validate(); err != nil {
		return usagef("serve: invalid configuration: %s", oneLine(err.Error()))
	}
	logger, err := newLogger(e.stderr, *logFormat, cfg.SlogLevel())
	if err != nil {
		return usagef("serve: %v", err)
	}
	if cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}

	// With empty Deps the server opens the media store, the SQLite catalog
	// in the data folder (with the master key from the configuration or
	// DATA/master.key), key delivery and the packaging producer, and
	// closes them when Run returns.
	srv, err := origin.New(cfg, logger, origin.Deps{})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}

func newLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: want json or text", format)
}

func defaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
