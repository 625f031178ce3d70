// Package langfusetest provides a Langfuse ingestion stand-in for tests:
// an httptest server on 127.0.0.1 that records every batch it gets and
// answers as Langfuse does, or fails on purpose.
package langfusetest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Mode is how the collector answers.
type Mode int

const (
	// Accept answers 207 with every event a success, or 401 when the
	// credentials are wrong.
	Accept Mode = iota
	// ServerError answers 500.
	ServerError
	// EventErrors answers 207 with every event reported as an error.
	EventErrors
	// Slow answers as Accept after the delay given to SetSlow.
	Slow
	// Hold answers as Accept once Release is called.
	Hold
)

// Request is one ingestion request as received.
type Request struct {
	Path          string
	Authorization string
	ContentType   string
	Body          []byte
	// Keys are the top-level keys of the body.
	Keys   []string
	Events []Event
}

// Event is one envelope of a batch.
type Event struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Body      map[string]any `json:"body"`
	// Fields are the envelope's keys.
	Fields []string `json:"-"`
}

// Collector is a running stand-in.
type Collector struct {
	URL string

	auth    string
	srv     *httptest.Server
	release chan struct{}
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	mode     Mode
	delay    time.Duration
	requests []Request
}

// New starts a collector that accepts publicKey:secretKey. It stops when
// the test ends.
func New(t testing.TB, publicKey, secretKey string) *Collector {
	c := &Collector{
		auth:    "Basic " + base64.StdEncoding.EncodeToString([]byte(publicKey+":"+secretKey)),
		release: make(chan struct{}),
		closing: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/public/ingestion", c.ingest)
	c.srv = httptest.NewServer(mux)
	c.URL = c.srv.URL
	t.Cleanup(func() {
		close(c.closing)
		c.srv.Close()
	})
	return c
}

// SetMode changes how the next requests are answered.
func (c *Collector) SetMode(m Mode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mode = m
}

// SetSlow makes the collector answer after delay.
func (c *Collector) SetSlow(delay time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mode, c.delay = Slow, delay
}

// Release lets held requests be answered, and later ones pass.
func (c *Collector) Release() { c.once.Do(func() { close(c.release) }) }

// Requests returns what came in so far.
func (c *Collector) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.requests...)
}

// Events returns every envelope received, in arrival order, each
// envelope id once (a resent batch adds nothing).
func (c *Collector) Events() []Event {
	seen := map[string]bool{}
	var events []Event
	for _, r := range c.Requests() {
		for _, e := range r.Events {
			if !seen[e.ID] {
				seen[e.ID] = true
				events = append(events, e)
			}
		}
	}
	return events
}

// WaitRequests waits up to timeout for n requests and returns them all.
func (c *Collector) WaitRequests(n int, timeout time.Duration) []Request {
	deadline := time.Now().Add(timeout)
	for {
		if rs := c.Requests(); len(rs) >= n || time.Now().After(deadline) {
			return rs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitEvents waits up to timeout until done holds, then settle more so
// that an extra event would show, and returns the events.
func (c *Collector) WaitEvents(done func([]Event) bool, timeout, settle time.Duration) []Event {
	deadline := time.Now().Add(timeout)
	for !done(c.Events()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(settle)
	return c.Events()
}

func (c *Collector) ingest(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{
		Path:          r.URL.Path,
		Authorization: r.Header.Get("Authorization"),
		ContentType:   r.Header.Get("Content-Type"),
		Body:          body,
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top)
	for k := range top {
		req.Keys = append(req.Keys, k)
	}
	var batch []json.RawMessage
	_ = json.Unmarshal(top["batch"], &batch)
	for _, raw := range batch {
		var e Event
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(raw, &e)
		_ = json.Unmarshal(raw, &fields)
		for k := range fields {
			e.Fields = append(e.Fields, k)
		}
		req.Events = append(req.Events, e)
	}

	c.mu.Lock()
	c.requests = append(c.requests, req)
	mode, delay := c.mode, c.delay
	c.mu.Unlock()

	switch mode {
	case ServerError:
		http.Error(w, "collector down for maintenance", http.StatusInternalServerError)
		return
	case EventErrors:
		errs := make([]map[string]any, 0, len(req.Events))
		for _, e := range req.Events {
			errs = append(errs, map[string]any{"id": e.ID, "status": 400, "message": "Invalid request data", "error": "bad body"})
		}
		writeJSON(w, http.StatusMultiStatus, map[string]any{"successes": []any{}, "errors": errs})
		return
	case Slow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		}
	case Hold:
		select {
		case <-c.release:
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		}
	}
	if req.Authorization != c.auth {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Invalid credentials"})
		return
	}
	ok := make([]map[string]any, 0, len(req.Events))
	for _, e := range req.Events {
		ok = append(ok, map[string]any{"id": e.ID, "status": 201})
	}
	writeJSON(w, http.StatusMultiStatus, map[string]any{"successes": ok, "errors": []any{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The client may have given up already; nothing to do about it.
	_ = json.NewEncoder(w).Encode(v)
}
