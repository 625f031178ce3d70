package langfuse

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"lakehouse/validatord/internal/langfuse/langfusetest"
)

const (
	publicKey = "pk-lf-test"
	secretKey = "sk-lf-test"
)

func span(name string) SpanBody {
	return SpanBody{ID: NewObservationID(), TraceID: "T", Name: name, Level: LevelDefault}
}

// idle is an emitter without its flusher, to drive the queue by hand.
func idle(size int) *Emitter {
	return &Emitter{queue: make(chan json.RawMessage, size), ctx: context.Background()}
}

func TestNilEmitterIsOff(t *testing.T) {
	var e *Emitter
	if e.Enabled() {
		t.Fatal("a nil emitter is enabled")
	}
	e.TraceCreate(TraceBody{ID: "T", Name: "chat"})
	e.SpanCreate(span("s"))
	if stats, err := e.Close(context.Background()); err != nil || stats != (Stats{}) {
		t.Errorf("Close: %+v, %v", stats, err)
	}
}

func TestIDs(t *testing.T) {
	if id := NewObservationID(); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) || id == NewObservationID() {
		t.Errorf("observation id %q", id)
	}
	if id := newEnvelopeID(); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("envelope id %q", id)
	}
}

func TestBatchesKeepOrderAndLimits(t *testing.T) {
	e := idle(QueueSize)
	for i := 0; i < maxBatchEvents+5; i++ {
		e.SpanCreate(span(strings.Repeat("n", i)))
	}
	names := func(b *batch) []string {
		var parsed struct {
			Batch []struct{ Body SpanBody } `json:"batch"`
		}
		if err := json.Unmarshal(b.body, &parsed); err != nil {
			t.Fatalf("batch %s: %v", b.body, err)
		}
		var out []string
		for _, ev := range parsed.Batch {
			out = append(out, ev.Body.Name)
		}
		return out
	}
	first := e.nextBatch()
	if got := names(first); len(got) != maxBatchEvents || got[0] != "" || got[1] != "n" || got[99] != strings.Repeat("n", 99) {
		t.Errorf("first batch: %d events", len(got))
	}
	if second := e.nextBatch(); second.events != 5 {
		t.Errorf("second batch: %d events", second.events)
	}
	if e.nextBatch() != nil {
		t.Error("a batch from an empty queue")
	}

	// Two events that do not fit together are sent apart, in order.
	big := strings.Repeat("x", maxBatchBytes*2/3)
	e.SpanCreate(span(big))
	e.SpanCreate(span(big))
	e.SpanCreate(span("after"))
	if b := e.nextBatch(); b.events != 1 || len(b.body) > maxBatchBytes {
		t.Errorf("big batch: %d events, %d bytes", b.events, len(b.body))
	}
	if got := names(e.nextBatch()); len(got) != 2 || got[0] != big || got[1] != "after" {
		t.Errorf("next batch: %d events", len(got))
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	e := idle(2)
	start := time.Now()
	for i := 0; i < 5; i++ {
		e.SpanCreate(span("s"))
	}
	if d := e.dropped.Load(); d != 3 {
		t.Errorf("dropped %d, want 3", d)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("enqueueing on a full queue took %v", d)
	}
}

func start(t *testing.T, c *langfusetest.Collector, secret string) *Emitter {
	t.Helper()
	e := New(Config{URL: c.URL + "/", PublicKey: publicKey, SecretKey: secret})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e.Close(ctx)
	})
	return e
}

func TestDeliversBatchesWithBasicAuth(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, publicKey, secretKey)
	e := start(t, c, secretKey)
	e.TraceCreate(TraceBody{ID: "T", Name: "iterate", Input: map[string]string{"kind": "fill"}})
	out := "reply <b>"
	e.GenerationCreate(GenerationBody{ID: "g", TraceID: "T", Name: "chat", Model: "m", ModelParameters: map[string]any{}, Output: &out})
	e.SpanCreate(span("iterate.attempt[0]"))
	events := c.WaitEvents(func(ev []langfusetest.Event) bool { return len(ev) >= 3 }, 5*time.Second, 0)

	for _, r := range c.Requests() {
		if r.Path != IngestionPath || r.Authorization != "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0" ||
			!strings.HasPrefix(r.ContentType, "application/json") || strings.Join(r.Keys, ",") != "batch" {
			t.Errorf("request %+v", r)
		}
	}
	wantTypes := []string{"trace-create", "generation-create", "span-create"}
	if len(events) != 3 {
		t.Fatalf("%d events", len(events))
	}
	for i, ev := range events {
		sort.Strings(ev.Fields)
		if ev.Type != wantTypes[i] || strings.Join(ev.Fields, ",") != "body,id,timestamp,type" || ev.ID == "" {
			t.Errorf("event %d: %+v", i, ev)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Timestamp); err != nil {
			t.Errorf("event %d timestamp: %v", i, err)
		}
	}
	if events[0].ID == events[1].ID || events[1].ID == events[2].ID {
		t.Error("envelope ids repeat")
	}
	if events[1].Body["output"] != "reply <b>" || events[1].Body["level"] != nil {
		t.Errorf("generation %v", events[1].Body)
	}
}

func TestFailingBatchIsResentAsIsThenDropped(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, publicKey, secretKey)
	c.SetMode(langfusetest.ServerError)
	e := start(t, c, secretKey)
	e.SpanCreate(span("s"))
	c.WaitRequests(maxAttempts, 10*time.Second)
	time.Sleep(2 * FlushInterval)
	rs := c.Requests()
	if len(rs) != maxAttempts {
		t.Fatalf("%d sends, want %d", len(rs), maxAttempts)
	}
	for _, r := range rs[1:] {
		if string(r.Body) != string(rs[0].Body) {
			t.Errorf("a resent batch changed:\n%s\n%s", rs[0].Body, r.Body)
		}
	}
	if e.lost.Load() != 1 {
		t.Errorf("lost %d", e.lost.Load())
	}
}

func TestRefusalsAreNotResent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mode   langfusetest.Mode
		secret string
	}{
		{"401", langfusetest.Accept, "sk-wrong"},
		{"207 with errors", langfusetest.EventErrors, secretKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := langfusetest.New(t, publicKey, secretKey)
			c.SetMode(tc.mode)
			e := start(t, c, tc.secret)
			e.SpanCreate(span("s"))
			c.WaitRequests(1, 5*time.Second)
			time.Sleep(2 * FlushInterval)
			if n := len(c.Requests()); n != 1 {
				t.Errorf("%d sends, want 1", n)
			}
		})
	}
}

func TestCloseDrainsTheQueue(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, publicKey, secretKey)
	e := New(Config{URL: c.URL, PublicKey: publicKey, SecretKey: secretKey})
	for i := 0; i < 3; i++ {
		e.SpanCreate(span("s"))
	}
	// Closed before the first tick: only the drain can send them.
	stats, err := e.Close(context.Background())
	if err != nil || stats.Delivered != 3 || len(c.Events()) != 3 {
		t.Errorf("stats %+v, err %v, %d events", stats, err, len(c.Events()))
	}
}

func TestCloseIsBounded(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, publicKey, secretKey)
	c.SetMode(langfusetest.Hold)
	e := New(Config{URL: c.URL, PublicKey: publicKey, SecretKey: secretKey})
	e.SpanCreate(span("s"))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := e.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}
