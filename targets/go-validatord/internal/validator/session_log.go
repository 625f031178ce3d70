package validator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// SessionRecordSchema versions the session log row shape.
const SessionRecordSchema = "session.iterate.v1"

// DaemonName tags the rows this daemon writes.
const DaemonName = "validatord"

// Final verdicts and attempt verdict kinds.
const (
	VerdictAccepted         = "accepted"
	VerdictMaxIterExhausted = "max_iter_exhausted"
	VerdictInfraError       = "infra_error"
	VerdictNoJSON           = "no_json"
	VerdictValidationFailed = "validation_failed"
)

// SessionRecord is one row of the session log: the whole retry chain of
// one /v1/iterate call. Field order is the wire order.
type SessionRecord struct {
	Schema           string                 `json:"schema"`
	SessionID        string                 `json:"session_id"`
	Timestamp        string                 `json:"timestamp"`
	Daemon           string                 `json:"daemon"`
	Kind             string                 `json:"kind"`
	Model            string                 `json:"model"`
	Provider         string                 `json:"provider"`
	Prompt           string                 `json:"prompt"`
	Iterations       uint32                 `json:"iterations"`
	MaxIterations    uint32                 `json:"max_iterations"`
	FinalVerdict     string                 `json:"final_verdict"`
	Attempts         []SessionAttemptRecord `json:"attempts"`
	Artifact         any                    `json:"artifact,omitempty"`
	GroundedInRoster *bool                  `json:"grounded_in_roster,omitempty"`
	DurationMs       uint64                 `json:"duration_ms"`
}

// SessionAttemptRecord is one attempt of a session.
type SessionAttemptRecord struct {
	Iteration   uint32  `json:"iteration"`
	VerdictKind string  `json:"verdict_kind"`
	Error       *string `json:"error,omitempty"`
	SpanID      *string `json:"span_id,omitempty"`
}

var (
	sessionRequired = []string{
		"schema", "session_id", "timestamp", "daemon", "kind", "model",
		"provider", "prompt", "iterations", "max_iterations",
		"final_verdict", "attempts", "duration_ms",
	}
	attemptRequired = []string{"iteration", "verdict_kind"}
)

// UnmarshalJSON decodes a record and rejects one whose required fields
// are missing (or null).
func (r *SessionRecord) UnmarshalJSON(data []byte) error {
	if err := requireFields(data, sessionRequired); err != nil {
		return err
	}
	type sessionRecord SessionRecord // same fields, no methods: no recursion
	return json.Unmarshal(data, (*sessionRecord)(r))
}

// UnmarshalJSON decodes an attempt and rejects one whose required
// fields are missing (or null).
func (a *SessionAttemptRecord) UnmarshalJSON(data []byte) error {
	if err := requireFields(data, attemptRequired); err != nil {
		return err
	}
	type sessionAttempt SessionAttemptRecord
	return json.Unmarshal(data, (*sessionAttempt)(a))
}

func requireFields(data []byte, names []string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	for _, name := range names {
		raw, ok := fields[name]
		if !ok || bytes.Equal(raw, []byte("null")) {
			return fmt.Errorf("missing field %q", name)
		}
	}
	return nil
}

// SessionLogger appends SessionRecord rows to a JSON Lines file.
//
// Logging is best effort: failures are reported through slog and never
// reach the caller. A nil *SessionLogger is valid and discards rows, so
// callers need no "is logging on" checks.
type SessionLogger struct {
	path string
	mu   sync.Mutex
}

// NewSessionLogger returns a logger appending to path, or nil (logging
// off) when path is empty. Parent directories are created on first write.
func NewSessionLogger(path string) *SessionLogger {
	if path == "" {
		return nil
	}
	return &SessionLogger{path: path}
}

// Path is the file the logger appends to ("" for a nil logger).
func (l *SessionLogger) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// Append writes rec as one line. The whole line goes out in a single
// write(2) on an O_APPEND descriptor, so rows from several processes
// sharing the file interleave but never tear; the mutex serialises
// writers inside this process.
func (l *SessionLogger) Append(rec SessionRecord) {
	if l == nil {
		return
	}
	line, err := json.Marshal(rec)
	if err != nil {
		slog.Warn("session_log: marshal", "err", err, "session_id", rec.SessionID)
		return
	}
	line = append(line, '\n')

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		slog.Warn("session_log: mkdir", "err", err, "path", l.path)
		return
	}
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		slog.Warn("session_log: open", "err", err, "path", l.path)
		return
	}
	if _, err := f.Write(line); err != nil {
		slog.Warn("session_log: write", "err", err, "session_id", rec.SessionID)
	}
	if err := f.Close(); err != nil {
		slog.Warn("session_log: close", "err", err, "path", l.path)
	}
}

// TruncateChars cuts s to its first n Unicode scalar values, never
// splitting a character.
func TruncateChars(s string, n int) string {
	if n <= 0 {
		return ""
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}
