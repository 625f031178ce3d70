package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"lakehouse/validatord/internal/langfuse"
	"lakehouse/validatord/internal/langfuse/langfusetest"
	"lakehouse/validatord/internal/validator"
)

const (
	lfPublicKey = "pk-lf-test"
	lfSecretKey = "sk-lf-test"
	// deliveryWait bounds the wait for events; settle is how long to go
	// on listening so that one event too many would show.
	deliveryWait = 10 * time.Second
	settle       = 2 * langfuse.FlushInterval
)

// newTracedFixture is newFixture with tracing to url.
func newTracedFixture(t *testing.T, url, secret string, replies ...http.HandlerFunc) *fixture {
	t.Helper()
	up := &fakeUpstream{t: t, replies: replies}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	tracer := langfuse.New(langfuse.Config{URL: url, PublicKey: lfPublicKey, SecretKey: secret})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		tracer.Close(ctx)
	})
	return newFixtureWith(t, up, upSrv.URL, 2*time.Second, tracer)
}

// stableEvent is an event without what CONTRACT §7 makes volatile:
// envelope and observation ids and times.
type stableEvent struct {
	Type string
	Body map[string]any
}

func stable(t *testing.T, ev langfusetest.Event) stableEvent {
	t.Helper()
	body := map[string]any{}
	for k, v := range ev.Body {
		body[k] = v
	}
	if ev.Type != "trace-create" {
		if id, _ := body["id"].(string); id == "" {
			t.Errorf("%s without an id: %v", ev.Type, ev.Body)
		}
		start, err1 := time.Parse(time.RFC3339Nano, str(body["startTime"]))
		end, err2 := time.Parse(time.RFC3339Nano, str(body["endTime"]))
		if err1 != nil || err2 != nil || end.Before(start) {
			t.Errorf("%s times %v %v", ev.Type, body["startTime"], body["endTime"])
		}
		delete(body, "id")
		delete(body, "startTime")
		delete(body, "endTime")
	}
	return stableEvent{Type: ev.Type, Body: body}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// asJSON gives v the shape a decoded event has (numbers as float64...).
func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(must(json.Marshal(v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkEvents(t *testing.T, got []langfusetest.Event, want []stableEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := stable(t, got[i])
		w := stableEvent{Type: want[i].Type, Body: asJSON(t, want[i].Body)}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("event %d\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func messages(prompt string) []any {
	return []any{
		map[string]any{"role": "system", "content": "You are a staffing agent."},
		map[string]any{"role": "user", "content": prompt},
	}
}

func generation(trace, prompt, output string) stableEvent {
	return stableEvent{"generation-create", map[string]any{
		"traceId": trace, "name": "chat", "model": "m1",
		"modelParameters": map[string]any{"temperature": 0.2, "max_tokens": 4096},
		"input":           messages(prompt), "output": output,
	}}
}

func attemptSpan(trace string, i int, prompt string, output map[string]any, level string) stableEvent {
	return stableEvent{"span-create", map[string]any{
		"traceId": trace, "name": fmt.Sprintf("iterate.attempt[%d]", i),
		"input":  map[string]any{"iteration": i, "model": "m1", "provider": "mock", "prompt": prompt},
		"output": output, "level": level,
	}}
}

const (
	original = "Fill 1 welder in Toledo"
	unsure   = "I am not sure."
	fenced   = "Sure:\n```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```"
	good     = `{"fills": [{"candidate_id": "W-2", "why": "Toledo welder"}]}`
)

func threeAttempts() []http.HandlerFunc {
	return []http.HandlerFunc{says(unsure), says(fenced), says(good)}
}

func spanIDs(events []langfusetest.Event) []string {
	var ids []string
	for _, ev := range events {
		if ev.Type == "span-create" {
			ids = append(ids, str(ev.Body["id"]))
		}
	}
	return ids
}

func rowSpanIDs(row validator.SessionRecord) []string {
	var ids []string
	for _, a := range row.Attempts {
		if a.SpanID != nil {
			ids = append(ids, *a.SpanID)
		}
	}
	return ids
}

func TestTraceOfAMintedSession(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, lfPublicKey, lfSecretKey)
	f := newTracedFixture(t, c.URL, lfSecretKey, threeAttempts()...)
	resp, data := f.post(t, "/v1/iterate", fillRequest)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	trace := decode[iterateResponse](t, data).TraceID
	events := c.WaitEvents(func(ev []langfusetest.Event) bool { return len(ev) >= 7 }, deliveryWait, settle)

	retry := original + noJSONFeedback
	fix := original + "\n\nPrior attempt failed validation:\n" + consistencyError + "\n\nFix the specific issue above and respond with a corrected JSON object."
	checkEvents(t, events, []stableEvent{
		{"trace-create", map[string]any{"id": trace, "name": "iterate", "input": map[string]any{"kind": "fill", "prompt": original}}},
		generation(trace, original, unsure),
		attemptSpan(trace, 0, original, map[string]any{"verdict": "no_json", "raw": unsure}, "WARNING"),
		generation(trace, retry, fenced),
		attemptSpan(trace, 1, retry, map[string]any{"verdict": "validation_failed", "raw": fenced, "error": consistencyError}, "WARNING"),
		generation(trace, fix, good),
		attemptSpan(trace, 2, fix, map[string]any{"verdict": "accepted", "raw": good}, "DEFAULT"),
	})

	for _, r := range c.Requests() {
		if r.Path != "/api/public/ingestion" || r.Authorization != "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0" ||
			strings.Join(r.Keys, ",") != "batch" {
			t.Errorf("request %s %q keys %v", r.Path, r.Authorization, r.Keys)
		}
	}
	ids := map[string]bool{}
	for _, ev := range events {
		ids[ev.ID] = true
		ids[str(ev.Body["id"])] = true
	}
	if len(ids) != 2*len(events) {
		t.Errorf("ids repeat: %d distinct for %d events", len(ids), len(events))
	}

	rows := f.sessionRows(t)
	if len(rows) != 1 || rows[0].SessionID != trace {
		t.Fatalf("rows %+v", rows)
	}
	spans := spanIDs(events)
	if got := rowSpanIDs(rows[0]); !reflect.DeepEqual(got, spans) || len(got) != 3 {
		t.Errorf("row span ids %v, spans %v", got, spans)
	}
	for _, id := range spans {
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Errorf("span id %q", id)
		}
	}
}

func TestTraceOfACallerTrace(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, lfPublicKey, lfSecretKey)
	f := newTracedFixture(t, c.URL, lfSecretKey, says(good))
	resp, data := f.post(t, "/v1/iterate", fillRequest, TraceIDHeader, "caller-trace-1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	events := c.WaitEvents(func(ev []langfusetest.Event) bool { return len(ev) >= 2 }, deliveryWait, settle)
	checkEvents(t, events, []stableEvent{
		generation("caller-trace-1", original, good),
		attemptSpan("caller-trace-1", 0, original, map[string]any{"verdict": "accepted", "raw": good}, "DEFAULT"),
	})
	if got := rowSpanIDs(f.sessionRows(t)[0]); !reflect.DeepEqual(got, spanIDs(events)) {
		t.Errorf("row span ids %v", got)
	}
}

func TestTraceOfAFailedHop(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, lfPublicKey, lfSecretKey)
	f := newTracedFixture(t, c.URL, lfSecretKey, says("no json here"), fails(http.StatusInternalServerError, "boom"))
	resp, data := f.post(t, "/v1/iterate", fillRequest, TraceIDHeader, "t-fail")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	events := c.WaitEvents(func(ev []langfusetest.Event) bool { return len(ev) >= 3 }, deliveryWait, settle)
	if len(events) != 3 {
		t.Fatalf("%d events: %+v", len(events), events)
	}
	failed := stable(t, events[2])
	msg := str(failed.Body["statusMessage"])
	if !strings.Contains(msg, "500") {
		t.Errorf("statusMessage %q", msg)
	}
	delete(failed.Body, "statusMessage")
	events = events[:2]
	checkEvents(t, events, []stableEvent{
		generation("t-fail", original, "no json here"),
		attemptSpan("t-fail", 0, original, map[string]any{"verdict": "no_json", "raw": "no json here"}, "WARNING"),
	})
	want := stableEvent{"generation-create", asJSON(t, map[string]any{
		"traceId": "t-fail", "name": "chat", "model": "m1",
		"modelParameters": map[string]any{"temperature": 0.2, "max_tokens": 4096},
		"input":           messages(original + noJSONFeedback), "level": "ERROR",
	})}
	if !reflect.DeepEqual(failed, want) {
		t.Errorf("failed generation\n got %+v\nwant %+v", failed, want)
	}
	row := f.sessionRows(t)[0]
	if row.FinalVerdict != "infra_error" || len(row.Attempts) != 1 || row.Attempts[0].SpanID != nil {
		t.Errorf("row %+v", row)
	}
}

func TestTraceOfChatAlone(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, lfPublicKey, lfSecretKey)
	f := newTracedFixture(t, c.URL, lfSecretKey,
		says("hi back"), fails(http.StatusServiceUnavailable, "overloaded"), says("plain"))
	hi := `[{"role": "user", "content": "hi"}]`
	chat := `{"messages": ` + hi + `, "provider": "p", "model": "m", "temperature": 0.5, "max_tokens": 9}`
	for _, step := range []struct {
		body, trace string
		status      int
	}{
		{chat, "", http.StatusOK},
		{chat, "t-chat", http.StatusBadGateway},
		// Parameters the request leaves out are left out of the generation.
		{`{"messages": ` + hi + `, "model": "m"}`, "t-bare", http.StatusOK},
		// A malformed request is no call: nothing is sent.
		{`{}`, "", http.StatusBadRequest},
	} {
		var header []string
		if step.trace != "" {
			header = []string{TraceIDHeader, step.trace}
		}
		if resp, data := f.post(t, "/v1/chat", step.body, header...); resp.StatusCode != step.status {
			t.Fatalf("%s: status %d: %s", step.body, resp.StatusCode, data)
		}
	}
	events := c.WaitEvents(func(ev []langfusetest.Event) bool { return len(ev) >= 4 }, deliveryWait, settle)
	if len(events) != 4 {
		t.Fatalf("%d events: %+v", len(events), events)
	}
	minted := str(events[0].Body["id"])
	if !mintedTraceID.MatchString(minted) {
		t.Errorf("minted trace id %q", minted)
	}
	input := []any{map[string]any{"role": "user", "content": "hi"}}
	failed := stable(t, events[2])
	if failed.Body["level"] != "ERROR" || str(failed.Body["statusMessage"]) == "" || failed.Body["output"] != nil ||
		failed.Body["traceId"] != "t-chat" {
		t.Errorf("failed chat %+v", failed)
	}
	checkEvents(t, []langfusetest.Event{events[0], events[1], events[3]}, []stableEvent{
		{"trace-create", map[string]any{"id": minted, "name": "chat"}},
		{"generation-create", map[string]any{"traceId": minted, "name": "chat", "model": "m",
			"modelParameters": map[string]any{"temperature": 0.5, "max_tokens": 9}, "input": input, "output": "hi back"}},
		{"generation-create", map[string]any{"traceId": "t-bare", "name": "chat", "model": "m",
			"modelParameters": map[string]any{}, "input": input, "output": "plain"}},
	})
}

// distinctBodies reports whether no batch was sent twice.
func distinctBodies(rs []langfusetest.Request) bool {
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[string(r.Body)] {
			return false
		}
		seen[string(r.Body)] = true
	}
	return true
}

// TestCollectorFaultsChangeNothing runs one session with tracing off
// and one with tracing to a faulty collector: the answer and the row
// are the same, the answer is not slower, and the runtime recovers.
func TestCollectorFaultsChangeNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(c *langfusetest.Collector)
		secret string
		down   bool
		check  func(t *testing.T, c *langfusetest.Collector)
	}{
		{name: "down", down: true},
		{
			name:  "slow",
			setup: func(c *langfusetest.Collector) { c.SetSlow(langfuse.RequestTimeout + time.Second) },
			check: func(t *testing.T, c *langfusetest.Collector) {
				// Timed out on the client and sent again, envelope ids kept.
				rs := c.WaitRequests(2, deliveryWait)
				if len(rs) < 2 || string(rs[0].Body) != string(rs[1].Body) {
					t.Errorf("%d sends; the resent batch differs or is missing", len(rs))
				}
			},
		},
		{
			name:  "500",
			setup: func(c *langfusetest.Collector) { c.SetMode(langfusetest.ServerError) },
			check: func(t *testing.T, c *langfusetest.Collector) {
				rs := c.WaitRequests(3, deliveryWait)
				if len(rs) < 3 || string(rs[0].Body) != string(rs[1].Body) || string(rs[1].Body) != string(rs[2].Body) {
					t.Errorf("%d sends; the resent batch differs or is missing", len(rs))
				}
			},
		},
		{
			name:   "401",
			secret: "sk-lf-wrong",
			check: func(t *testing.T, c *langfusetest.Collector) {
				c.WaitRequests(1, deliveryWait)
				time.Sleep(settle)
				if rs := c.Requests(); len(rs) == 0 || !distinctBodies(rs) {
					t.Errorf("%d sends; a refused batch went again", len(rs))
				}
			},
		},
		{
			name:  "207 with errors",
			setup: func(c *langfusetest.Collector) { c.SetMode(langfusetest.EventErrors) },
			check: func(t *testing.T, c *langfusetest.Collector) {
				c.WaitRequests(1, deliveryWait)
				time.Sleep(settle)
				if rs := c.Requests(); len(rs) == 0 || !distinctBodies(rs) {
					t.Errorf("%d sends; a batch taken with errors went again", len(rs))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := langfusetest.New(t, lfPublicKey, lfSecretKey)
			url := c.URL
			if tc.down {
				gone := httptest.NewServer(http.NotFoundHandler())
				url = gone.URL
				gone.Close()
			}
			if tc.setup != nil {
				tc.setup(c)
			}
			secret := lfSecretKey
			if tc.secret != "" {
				secret = tc.secret
			}
			off := newFixture(t, threeAttempts()...)
			on := newTracedFixture(t, url, secret, append(threeAttempts(), says("no json at all"))...)

			begin := time.Now()
			offResp, offBody := off.post(t, "/v1/iterate", fillRequest, TraceIDHeader, "t-best-effort")
			offTime := time.Since(begin)
			begin = time.Now()
			onResp, onBody := on.post(t, "/v1/iterate", fillRequest, TraceIDHeader, "t-best-effort")
			onTime := time.Since(begin)

			if onResp.StatusCode != offResp.StatusCode || string(onBody) != string(offBody) ||
				onResp.Header.Get("Content-Type") != offResp.Header.Get("Content-Type") {
				t.Errorf("answer changed with tracing on:\n on %d %s\noff %d %s", onResp.StatusCode, onBody, offResp.StatusCode, offBody)
			}
			// Waiting on the collector would cost a client timeout (3 s).
			if onTime > offTime+time.Second {
				t.Errorf("tracing on took %v, off %v", onTime, offTime)
			}
			offRow, onRow := off.sessionRows(t)[0], on.sessionRows(t)[0]
			if len(rowSpanIDs(onRow)) != 3 || len(rowSpanIDs(offRow)) != 0 {
				t.Errorf("span ids: on %v, off %v", rowSpanIDs(onRow), rowSpanIDs(offRow))
			}
			for _, row := range []*validator.SessionRecord{&offRow, &onRow} {
				row.Timestamp, row.DurationMs = "", 0
				for i := range row.Attempts {
					row.Attempts[i].SpanID = nil
				}
			}
			if !reflect.DeepEqual(onRow, offRow) {
				t.Errorf("row changed with tracing on:\n on %+v\noff %+v", onRow, offRow)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
			if tc.down || tc.secret != "" {
				return
			}
			// The collector is back: the next session arrives.
			c.SetMode(langfusetest.Accept)
			req := strings.Replace(fillRequest, `"model": "m1",`, `"model": "m1", "max_iterations": 1,`, 1)
			if resp, data := on.post(t, "/v1/iterate", req, TraceIDHeader, "t-after"); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", resp.StatusCode, data)
			}
			after := func(events []langfusetest.Event) (n int) {
				for _, ev := range events {
					if ev.Body["traceId"] == "t-after" {
						n++
					}
				}
				return n
			}
			events := c.WaitEvents(func(ev []langfusetest.Event) bool { return after(ev) >= 2 }, deliveryWait, 0)
			if n := after(events); n != 2 {
				t.Errorf("%d events of the session after the fault, want 2", n)
			}
		})
	}
}
