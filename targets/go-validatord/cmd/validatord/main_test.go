package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lakehouse/validatord/internal/langfuse/langfusetest"
	"lakehouse/validatord/internal/validator"
)

// The test binary doubles as validatord: with this variable set it runs
// the daemon on its arguments instead of the tests.
const runDaemonEnv = "VALIDATORD_TEST_RUN_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(runDaemonEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const (
	publicKey = "pk-lf-test"
	secretKey = "sk-lf-test"
)

var listening = regexp.MustCompile(`listening on 127\.0\.0\.1:(\d+)`)

// daemon is a validatord process; its stderr is collected as it comes.
type daemon struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	done chan error

	mu     sync.Mutex
	stderr []string
}

func startDaemon(t *testing.T, args []string, env ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.jsonl")
	if err := os.WriteFile(roster, []byte(`{"candidate_id": "W-2", "name": "B", "city": "Toledo", "state": "OH", "role": "Welder", "available": true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--port", "0", "--roster", roster, "--session-log", filepath.Join(dir, "sessions.jsonl")}, args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(cleanEnv(), runDaemonEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, dir: dir, done: make(chan error, 1)}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				port <- m[1]
			}
			d.mu.Lock()
			d.stderr = append(d.stderr, line)
			d.mu.Unlock()
		}
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.done
	})
	select {
	case p := <-port:
		d.url = "http://127.0.0.1:" + p
	case <-time.After(10 * time.Second):
		t.Fatalf("validatord did not start: %s", d.log())
	}
	return d
}

// cleanEnv is the environment without the daemon's own variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LAKEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.stderr, "\n")
}

// stop sends SIGTERM and waits at most limit for a clean exit.
func (d *daemon) stop(t *testing.T, limit time.Duration, afterSignal func()) time.Duration {
	t.Helper()
	begin := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if afterSignal != nil {
		afterSignal()
	}
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		if err != nil {
			t.Errorf("exit: %v\n%s", err, d.log())
		}
	case <-time.After(limit):
		t.Fatalf("still running %v after SIGTERM:\n%s", limit, d.log())
	}
	return time.Since(begin)
}

func (d *daemon) rows(t *testing.T) []validator.SessionRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(d.dir, "sessions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []validator.SessionRecord
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var row validator.SessionRecord
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

func post(t *testing.T, url, body, trace string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if trace != "" {
		req.Header.Set("X-Lakehouse-Trace-Id", trace)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// nowhere is a URL where nothing listens: every chat hop fails at once.
func nowhere() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

const chat = `{"messages": [{"role": "user", "content": "hi"}], "model": "m"}`

func tracedArgs(c *langfusetest.Collector) []string {
	return []string{"--upstream", nowhere(), "--langfuse-url", c.URL, "--langfuse-public-key", publicKey}
}

// sendHeldBatch makes d send one batch (a chat trace whose upstream
// fails) and waits until the holding collector c has it.
func sendHeldBatch(t *testing.T, d *daemon, c *langfusetest.Collector) {
	t.Helper()
	if s := post(t, d.url+"/v1/chat", chat, ""); s != http.StatusBadGateway {
		t.Fatalf("chat status %d", s)
	}
	if rs := c.WaitRequests(1, 10*time.Second); len(rs) != 1 {
		t.Fatalf("%d batches, want the one held", len(rs))
	}
}

func TestSIGTERMDrainsTheTraceQueue(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, publicKey, secretKey)
	c.SetMode(langfusetest.Hold)
	d := startDaemon(t, tracedArgs(c), "LAKEHOUSE_LANGFUSE_SECRET_KEY="+secretKey)

	// The first batch is held by the collector; the next event waits
	// behind it in the queue.
	sendHeldBatch(t, d, c)
	if s := post(t, d.url+"/v1/chat", chat, "t-queued"); s != http.StatusBadGateway {
		t.Fatalf("chat status %d", s)
	}
	d.stop(t, 15*time.Second, func() {
		// Long enough for a daemon that does not drain to be gone,
		// well within the collector client's timeout.
		time.Sleep(300 * time.Millisecond)
		c.Release()
	})

	events := c.Events()
	if len(events) != 3 {
		t.Fatalf("%d events after the drain: %+v\n%s", len(events), events, d.log())
	}
	if last := events[2]; last.Type != "generation-create" || last.Body["traceId"] != "t-queued" {
		t.Errorf("last event %+v", last)
	}
	if log := d.log(); !strings.Contains(log, "langfuse stopped delivered=3") {
		t.Errorf("stderr:\n%s", log)
	}
}

func TestTheDrainIsBounded(t *testing.T) {
	t.Parallel()
	c := langfusetest.New(t, publicKey, secretKey)
	c.SetMode(langfusetest.Hold)
	d := startDaemon(t, append(tracedArgs(c), "--langfuse-secret-key", secretKey))
	sendHeldBatch(t, d, c)
	took := d.stop(t, 15*time.Second, nil)
	if took > drainBound+3*time.Second {
		t.Errorf("stopping took %v", took)
	}
	if log := d.log(); !strings.Contains(log, "queue not drained") {
		t.Errorf("stderr:\n%s", log)
	}
}

func TestTracingOffSendsNothing(t *testing.T) {
	t.Parallel()
	// A collector nobody is told about: it must hear nothing.
	c := langfusetest.New(t, publicKey, secretKey)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices": [{"message": {"role": "assistant", "content": "{\"title\": \"t\", \"steps\": [\"a\"]}"}}]}`)
	}))
	t.Cleanup(upstream.Close)
	// The keys alone do not turn tracing on.
	d := startDaemon(t, []string{"--upstream", upstream.URL},
		"LAKEHOUSE_LANGFUSE_URL=", "LAKEHOUSE_LANGFUSE_PUBLIC_KEY="+publicKey, "LAKEHOUSE_LANGFUSE_SECRET_KEY="+secretKey)
	if s := post(t, d.url+"/v1/iterate", `{"kind": "playbook", "prompt": "p", "provider": "x", "model": "m"}`, ""); s != http.StatusOK {
		t.Fatalf("iterate status %d", s)
	}
	if s := post(t, d.url+"/v1/chat", chat, ""); s != http.StatusOK {
		t.Fatalf("chat status %d", s)
	}
	time.Sleep(3 * time.Second)
	if rs := c.Requests(); len(rs) != 0 {
		t.Errorf("%d requests reached the collector", len(rs))
	}
	rows := d.rows(t)
	if len(rows) != 1 || len(rows[0].Attempts) != 1 || rows[0].Attempts[0].SpanID != nil {
		t.Errorf("rows %+v", rows)
	}
	d.stop(t, 15*time.Second, nil)
	if log := d.log(); !strings.Contains(log, "langfuse=off") || strings.Contains(log, "langfuse stopped") {
		t.Errorf("stderr:\n%s", log)
	}
}

func TestBadLangfuseFlagsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--roster", "r", "--langfuse-url", "127.0.0.1:3000", "--langfuse-public-key", "pk", "--langfuse-secret-key", "sk"},
		{"--roster", "r", "--langfuse-url", "http://127.0.0.1:3000"},
	} {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(cleanEnv(), runDaemonEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v: %v", args, err)
		}
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "--langfuse-") {
			t.Errorf("%v: stderr %q", args, stderr.String())
		}
	}
}
