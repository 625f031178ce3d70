// Command validatord serves the lakehouse validation API: /health,
// /v1/chat, /v1/validate and /v1/iterate, on 127.0.0.1 only.
//
// Usage:
//
//	validatord --roster FILE [--port N] [--upstream URL]
//	           [--session-log FILE] [--upstream-timeout-ms N]
//	           [--langfuse-url URL --langfuse-public-key K --langfuse-secret-key S]
//
// Every flag falls back to an environment variable (LAKEHOUSE_PORT,
// LAKEHOUSE_UPSTREAM, LAKEHOUSE_ROSTER, LAKEHOUSE_SESSION_LOG,
// LAKEHOUSE_UPSTREAM_TIMEOUT_MS, LAKEHOUSE_LANGFUSE_URL,
// LAKEHOUSE_LANGFUSE_PUBLIC_KEY, LAKEHOUSE_LANGFUSE_SECRET_KEY). With a
// Langfuse URL the daemon sends its trace tree there (CONTRACT §7) and,
// on SIGTERM, drains the queued events for at most drainBound. A configuration error, an unreadable
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

	"lakehouse/validatord/internal/langfuse"
	"lakehouse/validatord/internal/server"
	"lakehouse/validatord/internal/validator"
)

const (
	exitOK     = 0
	exitServe  = 1
	exitConfig = 2

	shutdownGrace = 10 * time.Second
	// drainBound is how long a stopping daemon keeps sending queued
	// trace events once its requests are done.
	drainBound = 5 * time.Second
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
	var tracer *langfuse.Emitter
	if cfg.LangfuseURL != "" {
		tracer = langfuse.New(langfuse.Config{
			URL:       cfg.LangfuseURL,
			PublicKey: cfg.LangfusePublicKey,
			SecretKey: cfg.LangfuseSecretKey,
		})
	}
	defer closeTracer(tracer)
	api := server.New(server.Config{
		Upstream:        cfg.Upstream,
		UpstreamTimeout: cfg.UpstreamTimeout,
		SelfURL:         "http://" + addr.String(),
		Roster:          roster,
		SessionLog:      sessionLog,
		Tracer:          tracer,
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
		"session_log", sessionLog.Path(), "langfuse", langfuseTarget(cfg))
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

// closeTracer drains the trace queue once no request can add to it.
func closeTracer(tracer *langfuse.Emitter) {
	if !tracer.Enabled() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), drainBound)
	defer cancel()
	stats, err := tracer.Close(ctx)
	slog.Info("langfuse stopped", "delivered", stats.Delivered, "refused", stats.Refused,
		"lost", stats.Lost, "dropped", stats.Dropped)
	if err != nil {
		slog.Warn("langfuse", "err", err)
	}
}

func langfuseTarget(cfg config) string {
	if cfg.LangfuseURL == "" {
		return "off"
	}
	return cfg.LangfuseURL + langfuse.IngestionPath
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "validatord: %v\n", err)
	return exitConfig
}
