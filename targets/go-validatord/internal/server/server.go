// Package server implements validatord's HTTP API: /health, /v1/chat,
// /v1/validate and /v1/iterate.
package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"lakehouse/validatord/internal/langfuse"
	"lakehouse/validatord/internal/validator"
)

// TraceIDHeader carries the session's trace id across daemon hops.
const TraceIDHeader = "X-Lakehouse-Trace-Id"

// hopSlack is added to the upstream timeout for the iterate loop's
// internal hops, so that a slow upstream surfaces as the chat
// endpoint's 502 rather than as a hop timeout.
const hopSlack = 5 * time.Second

// maxBodyBytes bounds every request body.
const maxBodyBytes = 32 << 20

// Config is what a Server needs to run.
type Config struct {
	// Upstream is the base URL of the OpenAI-style chat backend.
	Upstream string
	// UpstreamTimeout bounds one upstream chat completion.
	UpstreamTimeout time.Duration
	// SelfURL is this daemon's own base URL (http://127.0.0.1:PORT),
	// the target of the iterate loop's chat and validate hops.
	SelfURL string
	Roster  *validator.Roster
	// SessionLog may be nil (logging off).
	SessionLog *validator.SessionLogger
	// Tracer receives the Langfuse trace tree; nil turns tracing off.
	Tracer *langfuse.Emitter
}

// Server serves the validatord API.
type Server struct {
	cfg       Config
	validator *validator.Validator
	upstream  *http.Client // /v1/chat -> upstream
	hops      *http.Client // /v1/iterate -> own /v1/chat, /v1/validate
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	cfg.Upstream = strings.TrimRight(cfg.Upstream, "/")
	cfg.SelfURL = strings.TrimRight(cfg.SelfURL, "/")
	return &Server{
		cfg:       cfg,
		validator: &validator.Validator{Roster: cfg.Roster},
		upstream:  &http.Client{Timeout: cfg.UpstreamTimeout, Transport: newTransport()},
		hops:      &http.Client{Timeout: cfg.UpstreamTimeout + hopSlack, Transport: newTransport()},
	}
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("POST /v1/chat", s.handleChat)
	mux.HandleFunc("POST /v1/validate", s.handleValidate)
	mux.HandleFunc("POST /v1/iterate", s.handleIterate)
	return mux
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "daemon": validator.DaemonName})
}

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	report, verr := s.validator.ValidateBody(body)
	if verr != nil {
		writeJSON(w, http.StatusUnprocessableEntity, verr)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// readBody reads the whole request body, answering 413 itself when it
// is too large.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		} else {
			writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		}
		return nil, false
	}
	return body, true
}

// traceID returns the caller's trace id, or a fresh one and minted=true.
func traceID(r *http.Request) (id string, minted bool) {
	if id := r.Header.Get(TraceIDHeader); id != "" {
		return id, false
	}
	return newTraceID(), true
}

// newTraceID mints a 32-character hex id.
func newTraceID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; fall back
		// to the clock rather than to an empty id.
		return "vd-" + strings.ReplaceAll(time.Now().UTC().Format("20060102T150405.000000000"), ".", "-")
	}
	return hex.EncodeToString(b[:])
}
