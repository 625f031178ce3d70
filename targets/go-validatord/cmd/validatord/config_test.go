package main

import (
	"errors"
	"flag"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := parseConfig([]string{"--roster", "r.jsonl"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := config{Port: 4110, Upstream: "http://127.0.0.1:11434", Roster: "r.jsonl", UpstreamTimeout: 120 * time.Second}
	if cfg != want {
		t.Errorf("got %+v, want %+v", cfg, want)
	}
}

func TestParseConfigEnvAndFlags(t *testing.T) {
	e := env(map[string]string{
		"LAKEHOUSE_PORT":                "5000",
		"LAKEHOUSE_UPSTREAM":            "http://127.0.0.1:9000",
		"LAKEHOUSE_ROSTER":              "env.jsonl",
		"LAKEHOUSE_SESSION_LOG":         "/tmp/s.jsonl",
		"LAKEHOUSE_UPSTREAM_TIMEOUT_MS": "1500",
	})
	cfg, err := parseConfig(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	want := config{Port: 5000, Upstream: "http://127.0.0.1:9000", Roster: "env.jsonl", SessionLog: "/tmp/s.jsonl", UpstreamTimeout: 1500 * time.Millisecond}
	if cfg != want {
		t.Errorf("env: got %+v, want %+v", cfg, want)
	}

	cfg, err = parseConfig([]string{"--port", "4199", "-roster=flag.jsonl", "--session-log", "", "--upstream-timeout-ms=10"}, e)
	if err != nil {
		t.Fatal(err)
	}
	want = config{Port: 4199, Upstream: "http://127.0.0.1:9000", Roster: "flag.jsonl", UpstreamTimeout: 10 * time.Millisecond}
	if cfg != want {
		t.Errorf("flags: got %+v, want %+v", cfg, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"unknown flag", []string{"--roster", "r", "--nope"}, nil},
		{"bad port", []string{"--roster", "r", "--port", "http"}, nil},
		{"port out of range", []string{"--roster", "r", "--port", "70000"}, nil},
		{"bad env port", []string{"--roster", "r"}, map[string]string{"LAKEHOUSE_PORT": "x"}},
		{"missing roster", nil, nil},
		{"bad upstream", []string{"--roster", "r", "--upstream", "localhost:11434"}, nil},
		{"zero timeout", []string{"--roster", "r", "--upstream-timeout-ms", "0"}, nil},
		{"positional argument", []string{"--roster", "r", "extra"}, nil},
		{"langfuse url without scheme", []string{"--roster", "r", "--langfuse-url", "127.0.0.1:3000", "--langfuse-public-key", "pk", "--langfuse-secret-key", "sk"}, nil},
		{"langfuse url not http", []string{"--roster", "r", "--langfuse-url", "file:///tmp/x", "--langfuse-public-key", "pk", "--langfuse-secret-key", "sk"}, nil},
		{"langfuse url without keys", []string{"--roster", "r", "--langfuse-url", "http://127.0.0.1:3000"}, nil},
		{"langfuse url without secret", []string{"--roster", "r", "--langfuse-public-key", "pk"}, map[string]string{"LAKEHOUSE_LANGFUSE_URL": "http://127.0.0.1:3000"}},
		{"bad langfuse url from env", []string{"--roster", "r"}, map[string]string{"LAKEHOUSE_LANGFUSE_URL": "::", "LAKEHOUSE_LANGFUSE_PUBLIC_KEY": "pk", "LAKEHOUSE_LANGFUSE_SECRET_KEY": "sk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseConfig(tt.args, env(tt.env)); err == nil || errors.Is(err, flag.ErrHelp) {
				t.Errorf("err = %v, want a configuration error", err)
			}
		})
	}
	if _, err := parseConfig([]string{"-h"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v, want flag.ErrHelp", err)
	}
}

func TestParseConfigLangfuse(t *testing.T) {
	e := env(map[string]string{
		"LAKEHOUSE_LANGFUSE_URL":        "http://127.0.0.1:3000/",
		"LAKEHOUSE_LANGFUSE_PUBLIC_KEY": "pk-env",
		"LAKEHOUSE_LANGFUSE_SECRET_KEY": "sk-env",
	})
	cfg, err := parseConfig([]string{"--roster", "r", "--langfuse-public-key", "pk-flag"}, e)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LangfuseURL != "http://127.0.0.1:3000/" || cfg.LangfusePublicKey != "pk-flag" || cfg.LangfuseSecretKey != "sk-env" {
		t.Errorf("got %+v", cfg)
	}
	cfg, err = parseConfig([]string{"--roster", "r", "--langfuse-url", "https://cloud.langfuse.com", "--langfuse-public-key", "pk", "--langfuse-secret-key", "sk"}, env(nil))
	if err != nil || cfg.LangfuseURL != "https://cloud.langfuse.com" {
		t.Errorf("https: %+v, %v", cfg, err)
	}

	// Keys without a URL: tracing stays off.
	cfg, err = parseConfig([]string{"--roster", "r", "--langfuse-url", ""}, e)
	if err != nil || cfg.LangfuseURL != "" || cfg.LangfusePublicKey != "" || cfg.LangfuseSecretKey != "" {
		t.Errorf("off: %+v, %v", cfg, err)
	}
}
