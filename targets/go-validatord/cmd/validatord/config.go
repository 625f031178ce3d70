package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const usage = `usage: validatord --roster FILE [flags]

  --port N                 listen port on 127.0.0.1 (env LAKEHOUSE_PORT, default 4110)
  --upstream URL           chat backend base URL (env LAKEHOUSE_UPSTREAM, default http://127.0.0.1:11434)
  --roster FILE            worker roster, JSON Lines (env LAKEHOUSE_ROSTER, required)
  --session-log FILE       session log to append to; empty disables it (env LAKEHOUSE_SESSION_LOG)
  --upstream-timeout-ms N  upstream request timeout (env LAKEHOUSE_UPSTREAM_TIMEOUT_MS, default 120000)
  --langfuse-url URL       Langfuse host for the trace tree; empty turns tracing off (env LAKEHOUSE_LANGFUSE_URL)
  --langfuse-public-key K  Langfuse public key, required with --langfuse-url (env LAKEHOUSE_LANGFUSE_PUBLIC_KEY)
  --langfuse-secret-key K  Langfuse secret key, required with --langfuse-url (env LAKEHOUSE_LANGFUSE_SECRET_KEY)
`

const (
	defaultPort              = 4110
	defaultUpstream          = "http://127.0.0.1:11434"
	defaultUpstreamTimeoutMS = 120000
)

// config is the daemon's resolved configuration.
type config struct {
	Port            int
	Upstream        string
	Roster          string
	SessionLog      string
	UpstreamTimeout time.Duration
	// Langfuse: an empty URL is tracing off.
	LangfuseURL       string
	LangfusePublicKey string
	LangfuseSecretKey string
}

// parseConfig resolves flags over environment variables over defaults.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	port, err := envInt(getenv, "LAKEHOUSE_PORT", defaultPort)
	if err != nil {
		return config{}, err
	}
	timeoutMS, err := envInt(getenv, "LAKEHOUSE_UPSTREAM_TIMEOUT_MS", defaultUpstreamTimeoutMS)
	if err != nil {
		return config{}, err
	}
	upstream := envString(getenv, "LAKEHOUSE_UPSTREAM", defaultUpstream)
	roster := getenv("LAKEHOUSE_ROSTER")
	sessionLog := getenv("LAKEHOUSE_SESSION_LOG")
	langfuseURL := getenv("LAKEHOUSE_LANGFUSE_URL")
	langfusePublicKey := getenv("LAKEHOUSE_LANGFUSE_PUBLIC_KEY")
	langfuseSecretKey := getenv("LAKEHOUSE_LANGFUSE_SECRET_KEY")

	fs := flag.NewFlagSet("validatord", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, on one line
	fs.IntVar(&port, "port", port, "")
	fs.StringVar(&upstream, "upstream", upstream, "")
	fs.StringVar(&roster, "roster", roster, "")
	fs.StringVar(&sessionLog, "session-log", sessionLog, "")
	fs.IntVar(&timeoutMS, "upstream-timeout-ms", timeoutMS, "")
	fs.StringVar(&langfuseURL, "langfuse-url", langfuseURL, "")
	fs.StringVar(&langfusePublicKey, "langfuse-public-key", langfusePublicKey, "")
	fs.StringVar(&langfuseSecretKey, "langfuse-secret-key", langfuseSecretKey, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, fmt.Errorf("%v (see --help)", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}

	if port < 0 || port > 65535 {
		return config{}, fmt.Errorf("invalid port %d: want 0-65535", port)
	}
	if err := checkUpstream(upstream); err != nil {
		return config{}, err
	}
	if roster == "" {
		return config{}, errors.New("--roster (or LAKEHOUSE_ROSTER) is required")
	}
	if timeoutMS <= 0 {
		return config{}, fmt.Errorf("invalid upstream timeout %dms: want a positive number", timeoutMS)
	}
	cfg := config{
		Port:            port,
		Upstream:        upstream,
		Roster:          roster,
		SessionLog:      sessionLog,
		UpstreamTimeout: time.Duration(timeoutMS) * time.Millisecond,
	}
	if langfuseURL != "" {
		if err := checkLangfuseURL(langfuseURL); err != nil {
			return config{}, err
		}
		if langfusePublicKey == "" || langfuseSecretKey == "" {
			return config{}, errors.New("--langfuse-url needs --langfuse-public-key and --langfuse-secret-key (see --help)")
		}
		cfg.LangfuseURL = langfuseURL
		cfg.LangfusePublicKey = langfusePublicKey
		cfg.LangfuseSecretKey = langfuseSecretKey
	}
	return cfg, nil
}

func envString(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: not an integer", name, v)
	}
	return n, nil
}

func checkUpstream(raw string) error { return checkHTTPURL("upstream", raw) }

func checkLangfuseURL(raw string) error { return checkHTTPURL("--langfuse-url", raw) }

// checkHTTPURL accepts an absolute http or https URL with a host; what
// names the setting in the error.
func checkHTTPURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid %s %q: %v", what, raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid %s %q: want an http:// or https:// URL", what, raw)
	}
	return nil
}
