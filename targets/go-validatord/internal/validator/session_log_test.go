package validator

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const fullRecord = `{"schema":"session.iterate.v1","session_id":"trace-1","timestamp":"2026-05-02T10:00:00Z","daemon":"gateway","kind":"fill","model":"m","provider":"p","prompt":"Café résumé 你好","iterations":2,"max_iterations":3,"final_verdict":"accepted","attempts":[{"iteration":0,"verdict_kind":"validation_failed","error":"{\"kind\":\"phantom\"}","span_id":"s0"},{"iteration":1,"verdict_kind":"accepted"}],"artifact":{"fills":[{"candidate_id":"W-2"}]},"grounded_in_roster":true,"duration_ms":42}`

func TestSessionRecordRoundTrip(t *testing.T) {
	var rec SessionRecord
	if err := json.Unmarshal([]byte(fullRecord), &rec); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != fullRecord {
		t.Errorf("round trip changed the record:\n got %s\nwant %s", out, fullRecord)
	}
}

func TestSessionRecordOptionalFields(t *testing.T) {
	in := `{"schema":"s","session_id":"t","timestamp":"ts","daemon":"d","kind":"k","model":"m","provider":"p","prompt":"","iterations":0,"max_iterations":1,"final_verdict":"infra_error","attempts":[],"artifact":null,"grounded_in_roster":null,"duration_ms":0,"unknown":1}`
	want := `{"schema":"s","session_id":"t","timestamp":"ts","daemon":"d","kind":"k","model":"m","provider":"p","prompt":"","iterations":0,"max_iterations":1,"final_verdict":"infra_error","attempts":[],"duration_ms":0}`
	var rec SessionRecord
	if err := json.Unmarshal([]byte(in), &rec); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(rec)
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestSessionRecordRejects(t *testing.T) {
	tests := map[string]string{
		"missing session_id":    `"session_id":"trace-1",`,
		"missing attempts":      `"attempts":[{"iteration":0,"verdict_kind":"validation_failed","error":"{\"kind\":\"phantom\"}","span_id":"s0"},{"iteration":1,"verdict_kind":"accepted"}],`,
		"negative iterations":   `"iterations":2,`,
		"float duration":        `"duration_ms":42`,
		"attempt missing field": `"verdict_kind":"accepted"`,
	}
	replacements := map[string]string{
		"missing session_id":    ``,
		"missing attempts":      ``,
		"negative iterations":   `"iterations":-2,`,
		"float duration":        `"duration_ms":42.0`,
		"attempt missing field": `"error":"x"`,
	}
	for name, old := range tests {
		t.Run(name, func(t *testing.T) {
			in := strings.Replace(fullRecord, old, replacements[name], 1)
			if in == fullRecord {
				t.Fatal("test input unchanged")
			}
			var rec SessionRecord
			if err := json.Unmarshal([]byte(in), &rec); err == nil {
				t.Errorf("accepted %s", in)
			}
		})
	}
}

func TestSessionLoggerAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "sessions.jsonl")
	l := NewSessionLogger(path)

	const writers, rows = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rows; i++ {
				l.Append(SessionRecord{
					Schema: SessionRecordSchema, SessionID: "s", Daemon: DaemonName,
					Prompt:   strings.Repeat("x", 4000),
					Attempts: []SessionAttemptRecord{},
				})
			}
		}()
	}
	wg.Wait()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		var rec SessionRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d is not a whole record: %v", n, err)
		}
	}
	if n != writers*rows {
		t.Errorf("got %d lines, want %d", n, writers*rows)
	}
}

func TestSessionLoggerDisabled(t *testing.T) {
	l := NewSessionLogger("")
	if l != nil {
		t.Fatalf("NewSessionLogger(\"\") = %v, want nil", l)
	}
	l.Append(SessionRecord{}) // must not panic
}

func TestSessionLoggerBestEffort(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The parent "directory" is a regular file: every append fails,
	// none of them may panic or return anything.
	NewSessionLogger(filepath.Join(blocker, "sessions.jsonl")).Append(SessionRecord{})
}

func TestTruncateChars(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"你好世界", 2, "你好"},
		{"a🎉b", 2, "a🎉"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := TruncateChars(tt.in, tt.n); got != tt.want {
			t.Errorf("TruncateChars(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
