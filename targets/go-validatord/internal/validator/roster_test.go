package validator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRoster(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roster.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRoster(t *testing.T) {
	path := writeRoster(t, `{"candidate_id": "W-1", "name": "Ada", "city": "Louisville", "state": "KY", "role": "Welder", "available": true}

{"candidate_id": "W-2", "name": "Ben", "city": "Toledo", "state": "OH", "role": "Welder", "available": false, "extra": 1}
`)
	r, err := LoadRoster(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 {
		t.Errorf("Len() = %d, want 2", r.Len())
	}
	w, ok := r.Find("W-2")
	if !ok || w.City != "Toledo" || w.Available {
		t.Errorf("Find(W-2) = %+v, %v", w, ok)
	}
	if _, ok := r.Find("W-3"); ok {
		t.Error("Find(W-3) found a worker")
	}
}

func TestLoadRosterRejects(t *testing.T) {
	const good = `{"candidate_id": "W-1", "name": "Ada", "city": "Louisville", "state": "KY", "role": "Welder", "available": true}` + "\n"
	tests := map[string]string{
		"not JSON":      good + "nope\n",
		"not an object": good + "[1]\n",
		"missing field": good + `{"candidate_id": "W-2", "name": "Ben", "city": "Toledo", "state": "OH", "role": "Welder"}` + "\n",
		"wrong type":    good + `{"candidate_id": "W-2", "name": "Ben", "city": "Toledo", "state": "OH", "role": "Welder", "available": "yes"}` + "\n",
		"duplicate id":  good + good,
		"null line":     good + "null\n",
		"null id":       good + `{"candidate_id": null, "name": "Ben", "city": "Toledo", "state": "OH", "role": "Welder", "available": true}` + "\n",
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := writeRoster(t, content)
			_, err := LoadRoster(path)
			if err == nil {
				t.Fatal("accepted a malformed roster")
			}
			if !strings.Contains(err.Error(), path+":2") {
				t.Errorf("error %q does not name %s:2", err, path)
			}
		})
	}
}

func TestLoadRosterMissingFile(t *testing.T) {
	if _, err := LoadRoster(filepath.Join(t.TempDir(), "nope.jsonl")); err == nil {
		t.Fatal("loaded a missing file")
	}
}
