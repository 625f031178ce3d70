// Package langfuse sends validatord's trace tree (CONTRACT §7) to a
// Langfuse host through its batch ingestion API.
//
// The request path only ever enqueues: each event is encoded at once and
// put on a bounded channel, or dropped and counted when the channel is
// full. One goroutine posts the queued events in batches, one batch at a
// time so that they arrive in the order they were emitted, every
// flushInterval and when the emitter is closed. A batch is encoded once
// and resent byte for byte, so its envelope ids survive a retry (Langfuse
// deduplicates by them).
//
// A nil *Emitter is valid and sends nothing: that is tracing off.
package langfuse

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// IngestionPath is appended to the configured URL.
const IngestionPath = "/api/public/ingestion"

const (
	// QueueSize is how many events wait for the flusher; more are dropped.
	QueueSize = 1000
	// FlushInterval is the longest an event waits in the queue while the
	// collector answers.
	FlushInterval = time.Second
	// maxBatchEvents and maxBatchBytes bound one request; Langfuse takes
	// at most 3.5 MB.
	maxBatchEvents = 100
	maxBatchBytes  = 2 << 20
	// DialTimeout and RequestTimeout bound one ingestion request.
	DialTimeout    = time.Second
	RequestTimeout = 3 * time.Second
	// maxAttempts is how often a batch is sent before it is given up.
	maxAttempts = 3
	// drainPause spaces the resends of a failing batch while closing.
	drainPause = 250 * time.Millisecond
)

// Config says where events go.
type Config struct {
	URL       string
	PublicKey string
	SecretKey string
}

// Levels of an observation.
const (
	LevelDefault = "DEFAULT"
	LevelWarning = "WARNING"
	LevelError   = "ERROR"
)

// TraceBody is the body of a trace-create event.
type TraceBody struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Input any    `json:"input,omitempty"`
}

// GenerationBody is the body of a generation-create event. Output is nil
// for a failed call, which carries Level and StatusMessage instead.
type GenerationBody struct {
	ID              string         `json:"id"`
	TraceID         string         `json:"traceId"`
	Name            string         `json:"name"`
	Model           string         `json:"model"`
	ModelParameters map[string]any `json:"modelParameters"`
	Input           any            `json:"input"`
	Output          *string        `json:"output,omitempty"`
	Level           string         `json:"level,omitempty"`
	StatusMessage   string         `json:"statusMessage,omitempty"`
	StartTime       time.Time      `json:"startTime"`
	EndTime         time.Time      `json:"endTime"`
}

// SpanBody is the body of a span-create event.
type SpanBody struct {
	ID        string    `json:"id"`
	TraceID   string    `json:"traceId"`
	Name      string    `json:"name"`
	Input     any       `json:"input"`
	Output    any       `json:"output"`
	Level     string    `json:"level"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
}

type envelope struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Body      any       `json:"body"`
}

// NewObservationID returns 16 random hex digits, the size of a W3C span id.
func NewObservationID() string { return randomHex(8) }

func newEnvelopeID() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read does not fail on supported platforms.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Stats says what became of the events.
type Stats struct {
	Delivered int64 // in batches the collector took
	Refused   int64 // reported as errors inside a 207
	Lost      int64 // in batches given up on
	Dropped   int64 // on a full queue
}

// Emitter queues events and posts them in the background.
type Emitter struct {
	endpoint string
	cfg      Config
	client   *http.Client

	queue    chan json.RawMessage
	stop     chan struct{}
	stopOnce sync.Once
	finished chan struct{}
	// ctx is cancelled when Close gives up, to end a send in flight.
	ctx    context.Context
	cancel context.CancelFunc

	// Owned by the flusher goroutine.
	pending *batch
	carry   json.RawMessage

	delivered, refused, lost, dropped atomic.Int64
}

type batch struct {
	body     []byte
	events   int
	attempts int
}

// New starts an emitter for cfg.
func New(cfg Config) *Emitter {
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: DialTimeout}).DialContext
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emitter{
		endpoint: cfg.URL + IngestionPath,
		cfg:      cfg,
		client:   &http.Client{Timeout: RequestTimeout, Transport: transport},
		queue:    make(chan json.RawMessage, QueueSize),
		stop:     make(chan struct{}),
		finished: make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
	}
	go e.run()
	return e
}

// Enabled reports whether events are sent at all.
func (e *Emitter) Enabled() bool { return e != nil }

// TraceCreate queues a trace-create event.
func (e *Emitter) TraceCreate(body TraceBody) { e.enqueue("trace-create", body) }

// GenerationCreate queues a generation-create event.
func (e *Emitter) GenerationCreate(body GenerationBody) { e.enqueue("generation-create", body) }

// SpanCreate queues a span-create event.
func (e *Emitter) SpanCreate(body SpanBody) { e.enqueue("span-create", body) }

// enqueue encodes the event now, so that nothing the caller changes
// later can reach the wire, and never waits.
func (e *Emitter) enqueue(kind string, body any) {
	if e == nil {
		return
	}
	data, err := json.Marshal(envelope{ID: newEnvelopeID(), Type: kind, Timestamp: time.Now().UTC(), Body: body})
	if err != nil {
		e.lost.Add(1)
		slog.Warn("langfuse: cannot encode event", "type", kind, "err", err)
		return
	}
	select {
	case e.queue <- data:
	default:
		if e.dropped.Add(1) == 1 {
			slog.Warn("langfuse: queue full, dropping events", "queue_size", QueueSize)
		}
	}
}

// Close sends what is still queued and stops the flusher. It returns when
// the queue is empty or ctx is done, whichever comes first.
func (e *Emitter) Close(ctx context.Context) (Stats, error) {
	if e == nil {
		return Stats{}, nil
	}
	e.stopOnce.Do(func() { close(e.stop) })
	var err error
	select {
	case <-e.finished:
	case <-ctx.Done():
		e.cancel()
		<-e.finished
		err = fmt.Errorf("langfuse: queue not drained: %w", ctx.Err())
	}
	e.cancel()
	return Stats{
		Delivered: e.delivered.Load(),
		Refused:   e.refused.Load(),
		Lost:      e.lost.Load(),
		Dropped:   e.dropped.Load(),
	}, err
}

func (e *Emitter) run() {
	defer close(e.finished)
	ticker := time.NewTicker(FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			e.flush()
		case <-e.stop:
			e.drain()
			return
		}
	}
}

// drain sends until the queue is empty, or until Close gives up.
func (e *Emitter) drain() {
	for !e.flush() {
		select {
		case <-time.After(drainPause):
		case <-e.ctx.Done():
			return
		}
	}
}

// flush sends batches until the queue is empty (true) or a batch failed
// in a way worth trying again later (false).
func (e *Emitter) flush() bool {
	for {
		if e.ctx.Err() != nil {
			return true
		}
		if e.pending == nil {
			e.pending = e.nextBatch()
		}
		b := e.pending
		if b == nil {
			return true
		}
		b.attempts++
		err := e.send(b.body)
		var permanent *refusedError
		switch {
		case err == nil:
			e.delivered.Add(int64(b.events))
		case errors.As(err, &permanent):
			slog.Warn("langfuse: batch refused", "events", b.events, "err", err)
			e.lost.Add(int64(b.events))
		case b.attempts >= maxAttempts:
			slog.Warn("langfuse: batch dropped", "events", b.events, "attempts", b.attempts, "err", err)
			e.lost.Add(int64(b.events))
		default:
			return false
		}
		e.pending = nil
	}
}

// nextBatch takes queued events in order, within the batch limits.
func (e *Emitter) nextBatch() *batch {
	var buf bytes.Buffer
	buf.WriteString(`{"batch":[`)
	n := 0
	for n < maxBatchEvents {
		event := e.carry
		e.carry = nil
		if event == nil {
			select {
			case event = <-e.queue:
			default:
			}
		}
		if event == nil {
			break
		}
		// An event too big to share a batch still goes, alone.
		if n > 0 && buf.Len()+len(event)+2 > maxBatchBytes {
			e.carry = event
			break
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(event)
		n++
	}
	if n == 0 {
		return nil
	}
	buf.WriteString("]}")
	return &batch{body: buf.Bytes(), events: n}
}

// refusedError is an answer that sending the same batch again would not
// change: wrong credentials or a malformed request.
type refusedError struct{ status int }

func (r *refusedError) Error() string { return fmt.Sprintf("status %d", r.status) }

// ingestionResponse is Langfuse's 207 body.
type ingestionResponse struct {
	Errors []struct {
		ID      string `json:"id"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	} `json:"errors"`
}

// send posts one batch. A nil error means the collector took it; events
// it refused inside a 207 are logged and not sent again.
func (e *Emitter) send(body []byte) error {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return &refusedError{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(e.cfg.PublicKey, e.cfg.SecretKey)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var parsed ingestionResponse
		if json.Unmarshal(answer, &parsed) == nil && len(parsed.Errors) > 0 {
			e.refused.Add(int64(len(parsed.Errors)))
			first := parsed.Errors[0]
			slog.Warn("langfuse: events refused", "count", len(parsed.Errors),
				"first_id", first.ID, "status", first.Status, "message", first.Message)
		}
		return nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
		return fmt.Errorf("status %d", resp.StatusCode)
	default:
		return &refusedError{status: resp.StatusCode}
	}
}
