// Command validatord serves the lakehouse validation API: /health,
// /v1/chat, /v1/validate and /v1/iterate, on 127.0.0.1 only.
//
// Usage:
//
//	validatord --roster FILE [--port N] [--upstream URL]
//	           [--session-log FILE] [--upstream-timeout-ms N]
//
// Every flag falls back to an environment variable (LAKEHOUSE_PORT,
// LAKEHOUSE_UPSTREAM, LAKEHOUSE_ROSTER, LAKEHOUSE_SESSION_LOG,
// LAKEHOUSE_UPSTREAM_TIMEOUT_MS). A configuration error, an unreadable
// roster or a port in use ends the process with exit code 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"lakehouse/validatord/internal/server"
	"lakehouse/validatord/internal/validator"
)

const (
	exitOK     = 0
	exitServe  = 1
	exitConfig = 2

	shutdownGrace = 10 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseConfig(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(os.Stderr, usage)
		return exitOK
	}
	if err != nil {
		return fail(err)
	}

	roster, err := validator.LoadRoster(cfg.Roster)
	if err != nil {
		return fail(err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fail(err)
	}
	addr := ln.Addr().(*net.TCPAddr)

	sessionLog := validator.NewSessionLogger(cfg.SessionLog)
	api := server.New(server.Config{
		Upstream:        cfg.Upstream,
		UpstreamTimeout: cfg.UpstreamTimeout,
		SelfURL:         "http://" + addr.String(),
		Roster:          roster,
		SessionLog:      sessionLog,
	})
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	slog.Info("config",
		"roster", cfg.Roster, "workers", roster.Len(),
		"upstream", cfg.Upstream, "upstream_timeout", cfg.UpstreamTimeout,
		"session_log", sessionLog.Path())
	slog.Info(fmt.Sprintf("listening on %s", addr))

	select {
	case err := <-serveErr:
		slog.Error("serve", "err", err)
		return exitServe
	case <-ctx.Done():
	}
	stop()
	slog.Info("shutting down")

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		slog.Warn("shutdown", "err", err)
		return exitServe
	}
	return exitOK
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "validatord: %v\n", err)
	return exitConfig
}
