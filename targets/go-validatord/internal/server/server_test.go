package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"lakehouse/validatord/internal/langfuse"
	"lakehouse/validatord/internal/validator"
)

// fakeUpstream is a scripted OpenAI-style chat backend. Each call takes
// the next reply; it records what it was sent.
type fakeUpstream struct {
	t       *testing.T
	mu      sync.Mutex
	replies []http.HandlerFunc
	calls   []upstreamCall
}

type upstreamCall struct {
	Body  map[string]any
	Trace string
}

func (f *fakeUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("upstream got %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("upstream body: %v", err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, upstreamCall{Body: body, Trace: r.Header.Get(TraceIDHeader)})
	if len(f.replies) == 0 {
		f.mu.Unlock()
		f.t.Errorf("upstream: no reply scripted for call %d", len(f.calls))
		http.Error(w, "no reply scripted", http.StatusInternalServerError)
		return
	}
	reply := f.replies[0]
	f.replies = f.replies[1:]
	f.mu.Unlock()
	reply(w, r)
}

func (f *fakeUpstream) Calls() []upstreamCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upstreamCall(nil), f.calls...)
}

// says replies with a completion whose content is text.
func says(text string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": text}}},
		})
	}
}

func fails(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

type fixture struct {
	url      string
	upstream *fakeUpstream
	logPath  string
}

func newFixture(t *testing.T, replies ...http.HandlerFunc) *fixture {
	t.Helper()
	up := &fakeUpstream{t: t, replies: replies}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	return newFixtureWith(t, up, upSrv.URL, 2*time.Second, nil)
}

// newFixtureWith starts validatord against upstreamURL; a nil tracer is
// tracing off.
func newFixtureWith(t *testing.T, up *fakeUpstream, upstreamURL string, timeout time.Duration, tracer *langfuse.Emitter) *fixture {
	t.Helper()
	roster, err := validator.NewRoster([]validator.Worker{
		{CandidateID: "W-1", City: "Louisville", State: "KY", Role: "Welder", Available: true},
		{CandidateID: "W-2", City: "Toledo", State: "OH", Role: "Welder", Available: true},
		{CandidateID: "W-3", City: "Toledo", State: "OH", Role: "Welder", Available: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "logs", "sessions.jsonl")

	ts := httptest.NewUnstartedServer(nil)
	api := New(Config{
		Upstream:        upstreamURL,
		UpstreamTimeout: timeout,
		SelfURL:         "http://" + ts.Listener.Addr().String(),
		Roster:          roster,
		SessionLog:      validator.NewSessionLogger(logPath),
		Tracer:          tracer,
	})
	ts.Config.Handler = api.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return &fixture{url: ts.URL, upstream: up, logPath: logPath}
}

func (f *fixture) post(t *testing.T, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func (f *fixture) sessionRows(t *testing.T) []validator.SessionRecord {
	t.Helper()
	file, err := os.Open(f.logPath)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var rows []validator.SessionRecord
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec validator.SessionRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("session row %q: %v", sc.Text(), err)
		}
		rows = append(rows, rec)
	}
	return rows
}

func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

const fillRequest = `{"kind": "fill", "prompt": "Fill 1 welder in Toledo", "provider": "mock", "model": "m1",
	"system": "You are a staffing agent.",
	"context": {"target_count": 1, "city": "Toledo", "state": "OH", "role": "Welder"}}`

const consistencyError = `{"kind":"consistency","message":"city 'Louisville' doesn't match contract city 'Toledo'","path":"artifact.fills[0].candidate_id"}`

var mintedTraceID = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

func TestHealth(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := decode[map[string]string](t, must(io.ReadAll(resp.Body)))
	if resp.StatusCode != http.StatusOK || body["status"] != "ok" || body["daemon"] != "validatord" {
		t.Errorf("health: %d %v", resp.StatusCode, body)
	}
}

func TestValidateEndpoint(t *testing.T) {
	f := newFixture(t)
	resp, body := f.post(t, "/v1/validate", `{"kind": "fill", "artifact": {"fills": [{"candidate_id": "W-1"}]}, "context": {"target_count": 1, "city": "Toledo", "state": "OH", "role": "Welder"}}`)
	if resp.StatusCode != http.StatusUnprocessableEntity || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := strings.TrimSpace(string(body)); got != `{"kind":"consistency","path":"artifact.fills[0].candidate_id","message":"city 'Louisville' doesn't match contract city 'Toledo'"}` {
		t.Errorf("body %s", got)
	}

	resp, body = f.post(t, "/v1/validate", `{"kind": "playbook", "artifact": {"title": "t", "steps": ["a"]}}`)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"kind":"playbook","valid":true,"checked":1}` {
		t.Errorf("playbook: %d %s", resp.StatusCode, body)
	}
}

func TestIterateAcceptedAfterRetries(t *testing.T) {
	f := newFixture(t,
		says("I am not sure."),
		says("Sure:\n```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```"),
		says(`{"fills": [{"candidate_id": "W-2", "why": "Toledo welder"}]}`),
	)
	resp, data := f.post(t, "/v1/iterate", fillRequest, "x-lakehouse-trace-id", "trace-abc")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	got := decode[iterateResponse](t, data)
	if got.Iterations != 3 || got.TraceID != "trace-abc" {
		t.Errorf("iterations %d, trace %q", got.Iterations, got.TraceID)
	}
	if v, _ := got.Validation.(map[string]any); v["valid"] != true || v["checked"] != 1.0 {
		t.Errorf("validation %v", got.Validation)
	}
	wantHistory := []historyEntry{
		{0, "I am not sure.", attemptStatus{Kind: "no_json"}},
		{1, "Sure:\n```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```", attemptStatus{Kind: "validation_failed", Error: consistencyError}},
		{2, `{"fills": [{"candidate_id": "W-2", "why": "Toledo welder"}]}`, attemptStatus{Kind: "accepted"}},
	}
	if len(got.History) != len(wantHistory) {
		t.Fatalf("history %+v", got.History)
	}
	for i := range wantHistory {
		if got.History[i] != wantHistory[i] {
			t.Errorf("history[%d]\n got %+v\nwant %+v", i, got.History[i], wantHistory[i])
		}
	}

	calls := f.upstream.Calls()
	prompts := []string{
		"Fill 1 welder in Toledo",
		"Fill 1 welder in Toledo" + noJSONFeedback,
		"Fill 1 welder in Toledo\n\nPrior attempt failed validation:\n" + consistencyError + "\n\nFix the specific issue above and respond with a corrected JSON object.",
	}
	if len(calls) != 3 {
		t.Fatalf("%d upstream calls", len(calls))
	}
	for i, c := range calls {
		if c.Trace != "trace-abc" {
			t.Errorf("call %d: trace header %q", i, c.Trace)
		}
		want := map[string]any{
			"model": "m1",
			"messages": []any{
				map[string]any{"role": "system", "content": "You are a staffing agent."},
				map[string]any{"role": "user", "content": prompts[i]},
			},
			"temperature": 0.2,
			"max_tokens":  4096.0,
		}
		if gotJSON, wantJSON := string(must(json.Marshal(c.Body))), string(must(json.Marshal(want))); gotJSON != wantJSON {
			t.Errorf("call %d body\n got %s\nwant %s", i, gotJSON, wantJSON)
		}
	}

	rows := f.sessionRows(t)
	if len(rows) != 1 {
		t.Fatalf("%d session rows", len(rows))
	}
	row := rows[0]
	if row.SessionID != "trace-abc" || row.Daemon != "validatord" || row.Schema != validator.SessionRecordSchema ||
		row.FinalVerdict != "accepted" || row.Iterations != 3 || row.MaxIterations != 3 ||
		row.Kind != "fill" || row.Model != "m1" || row.Provider != "mock" || row.Prompt != "Fill 1 welder in Toledo" {
		t.Errorf("row %+v", row)
	}
	if row.GroundedInRoster == nil || !*row.GroundedInRoster || row.Artifact == nil {
		t.Errorf("row artifact %v, grounded %v", row.Artifact, row.GroundedInRoster)
	}
	kinds := []string{}
	for _, a := range row.Attempts {
		kinds = append(kinds, a.VerdictKind)
	}
	if strings.Join(kinds, ",") != "no_json,validation_failed,accepted" ||
		row.Attempts[1].Error == nil || *row.Attempts[1].Error != consistencyError ||
		row.Attempts[0].Error != nil || row.Attempts[2].Error != nil {
		t.Errorf("attempts %+v", row.Attempts)
	}
	for _, a := range row.Attempts {
		if a.SpanID != nil {
			t.Errorf("tracing off, yet attempt %d names span %q", a.Iteration, *a.SpanID)
		}
	}
	if _, err := time.Parse(time.RFC3339, row.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", row.Timestamp, err)
	}
}

func TestIterateExhausted(t *testing.T) {
	f := newFixture(t, says(`{"fills": [{"candidate_id": "W-99"}]}`))
	req := strings.Replace(fillRequest, `"model": "m1",`, `"model": "m1", "max_iterations": 0,`, 1)
	resp, data := f.post(t, "/v1/iterate", req)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	got := decode[map[string]any](t, data)
	if got["error"] != "max iterations reached (1) without passing validation" || got["iterations"] != 1.0 {
		t.Errorf("body %s", data)
	}
	trace, _ := got["trace_id"].(string)
	if !mintedTraceID.MatchString(trace) {
		t.Errorf("minted trace id %q", trace)
	}
	if calls := f.upstream.Calls(); len(calls) != 1 || calls[0].Trace != trace {
		t.Errorf("upstream calls %+v, want one carrying %q", calls, trace)
	}

	rows := f.sessionRows(t)
	if len(rows) != 1 {
		t.Fatalf("%d session rows", len(rows))
	}
	row := rows[0]
	if row.SessionID != trace || row.FinalVerdict != "max_iter_exhausted" || row.Iterations != 1 || row.MaxIterations != 1 ||
		row.Artifact != nil || row.GroundedInRoster != nil || len(row.Attempts) != 1 {
		t.Errorf("row %+v", row)
	}
	wantErr := `{"kind":"phantom","message":"candidate 'W-99' is not in the roster","path":"artifact.fills[0].candidate_id"}`
	if e := row.Attempts[0].Error; e == nil || *e != wantErr {
		t.Errorf("attempt error %v", e)
	}
}

func TestIterateInfraError(t *testing.T) {
	f := newFixture(t, says("no json"), fails(http.StatusInternalServerError, "boom"))
	resp, data := f.post(t, "/v1/iterate", fillRequest, TraceIDHeader, "trace-infra")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q", ct)
	}
	if !strings.HasPrefix(string(data), "/v1/chat hop failed at iter 1: ") {
		t.Errorf("body %q", data)
	}

	rows := f.sessionRows(t)
	if len(rows) != 1 {
		t.Fatalf("%d session rows", len(rows))
	}
	row := rows[0]
	if row.FinalVerdict != "infra_error" || row.Iterations != 0 || row.MaxIterations != 3 || row.SessionID != "trace-infra" {
		t.Errorf("row %+v", row)
	}
	if len(row.Attempts) != 1 || row.Attempts[0].Iteration != 0 || row.Attempts[0].VerdictKind != "infra_error" ||
		row.Attempts[0].Error == nil || *row.Attempts[0].Error != string(data) {
		t.Errorf("attempts %+v", row.Attempts)
	}
}

func TestIterateTruncation(t *testing.T) {
	f := newFixture(t, says(strings.Repeat("é", 2500)), says(`{"title": "t", "steps": ["a", "b"]}`))
	prompt := strings.Repeat("你", 4100)
	req := `{"kind": "playbook", "prompt": "` + prompt + `", "provider": "p", "model": "m"}`
	resp, data := f.post(t, "/v1/iterate", req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	got := decode[iterateResponse](t, data)
	if n := utf8.RuneCountInString(got.History[0].Raw); n != 2000 {
		t.Errorf("raw cut to %d characters, want 2000", n)
	}
	rows := f.sessionRows(t)
	if len(rows) != 1 {
		t.Fatalf("%d session rows", len(rows))
	}
	if n := utf8.RuneCountInString(rows[0].Prompt); n != 4000 {
		t.Errorf("prompt cut to %d characters, want 4000", n)
	}
	if rows[0].GroundedInRoster != nil {
		t.Error("grounded_in_roster written for a playbook")
	}
	if calls := f.upstream.Calls(); calls[0].Body["messages"].([]any)[0].(map[string]any)["content"] != prompt {
		t.Error("the prompt sent upstream was cut")
	}
}

func TestIterateBadRequest(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		`not json`,
		`[]`,
		`null`,
		`{"kind": "fill", "prompt": "p", "provider": "x"}`,
		`{"kind": 1, "prompt": "p", "provider": "x", "model": "m"}`,
	} {
		resp, data := f.post(t, "/v1/iterate", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", body, resp.StatusCode)
			continue
		}
		if e := decode[map[string]any](t, data)["error"]; e == "" || e == nil {
			t.Errorf("%s: body %s", body, data)
		}
	}
	if rows := f.sessionRows(t); len(rows) != 0 {
		t.Errorf("bad requests wrote %d session rows", len(rows))
	}
}

func TestChat(t *testing.T) {
	f := newFixture(t,
		fails(http.StatusOK, `{"choices": [{"message": {"content": null}}]}`),
		fails(http.StatusOK, `<html>not json</html>`),
		fails(http.StatusServiceUnavailable, `{"error": "overloaded"}`),
	)
	req := `{"messages": [{"role": "user", "content": "hi"}], "provider": "p", "model": "m", "temperature": 0.5, "max_tokens": 10}`

	resp, data := f.post(t, "/v1/chat", req, TraceIDHeader, "t-1")
	want := `{"choices":[{"index":0,"message":{"role":"assistant","content":""}}]}`
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(data)) != want {
		t.Errorf("null content: %d %s", resp.StatusCode, data)
	}
	for _, name := range []string{"non-JSON", "non-2xx"} {
		resp, data = f.post(t, "/v1/chat", req)
		if resp.StatusCode != http.StatusBadGateway || decode[map[string]any](t, data)["error"] == nil {
			t.Errorf("%s upstream: %d %s", name, resp.StatusCode, data)
		}
	}
	calls := f.upstream.Calls()
	if calls[0].Trace != "t-1" || calls[1].Trace != "" {
		t.Errorf("trace headers %q, %q", calls[0].Trace, calls[1].Trace)
	}
	if got := string(must(json.Marshal(calls[0].Body))); got != `{"max_tokens":10,"messages":[{"content":"hi","role":"user"}],"model":"m","temperature":0.5}` {
		t.Errorf("upstream body %s", got)
	}
}

func TestChatUpstreamTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := &fakeUpstream{t: t, replies: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}}
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	f := newFixtureWith(t, up, upSrv.URL, 100*time.Millisecond, nil)

	start := time.Now()
	resp, data := f.post(t, "/v1/chat", `{"messages": [], "provider": "p", "model": "m"}`)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d: %s", resp.StatusCode, data)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestChatUpstreamDown(t *testing.T) {
	up := &fakeUpstream{t: t}
	upSrv := httptest.NewServer(up)
	url := upSrv.URL
	upSrv.Close() // nothing listens there any more
	f := newFixtureWith(t, up, url, time.Second, nil)
	resp, data := f.post(t, "/v1/iterate", fillRequest)
	if resp.StatusCode != http.StatusBadGateway || !bytes.HasPrefix(data, []byte("/v1/chat hop failed at iter 0: ")) {
		t.Errorf("status %d: %s", resp.StatusCode, data)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
