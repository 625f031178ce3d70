package validator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Worker is one roster entry.
type Worker struct {
	CandidateID string `json:"candidate_id"`
	Name        string `json:"name"`
	City        string `json:"city"`
	State       string `json:"state"`
	Role        string `json:"role"`
	Available   bool   `json:"available"`
}

// Roster is the worker lookup the validators check artifacts against.
// It is read-only after loading and safe for concurrent use.
type Roster struct {
	byID map[string]Worker
}

// NewRoster builds a roster from workers. Ids must be unique.
func NewRoster(workers []Worker) (*Roster, error) {
	r := &Roster{byID: make(map[string]Worker, len(workers))}
	for _, w := range workers {
		if _, dup := r.byID[w.CandidateID]; dup {
			return nil, fmt.Errorf("duplicate candidate_id %q", w.CandidateID)
		}
		r.byID[w.CandidateID] = w
	}
	return r, nil
}

// Find returns the worker with the given id.
func (r *Roster) Find(id string) (Worker, bool) {
	w, ok := r.byID[id]
	return w, ok
}

// Len is the number of workers.
func (r *Roster) Len() int { return len(r.byID) }

// rosterLine uses pointers so that a missing field can be told apart
// from a zero value.
type rosterLine struct {
	CandidateID *string `json:"candidate_id"`
	Name        *string `json:"name"`
	City        *string `json:"city"`
	State       *string `json:"state"`
	Role        *string `json:"role"`
	Available   *bool   `json:"available"`
}

// LoadRoster reads a JSON Lines roster. Blank lines are skipped; a line
// that is not a worker object, or a repeated id, is an error naming the
// file and line.
func LoadRoster(path string) (*Roster, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	defer f.Close()

	r := &Roster{byID: make(map[string]Worker)}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		if strings.TrimSpace(string(line)) == "" {
			continue
		}
		w, err := parseRosterLine(line)
		if err != nil {
			return nil, fmt.Errorf("roster %s:%d: %w", path, lineNo, err)
		}
		if _, dup := r.byID[w.CandidateID]; dup {
			return nil, fmt.Errorf("roster %s:%d: duplicate candidate_id %q", path, lineNo, w.CandidateID)
		}
		r.byID[w.CandidateID] = w
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("roster %s:%d: %w", path, lineNo+1, err)
	}
	return r, nil
}

func parseRosterLine(line []byte) (Worker, error) {
	var l rosterLine
	if err := json.Unmarshal(line, &l); err != nil {
		return Worker{}, err
	}
	missing := func(name string) error { return fmt.Errorf("missing or null field %q", name) }
	switch {
	case l.CandidateID == nil:
		return Worker{}, missing("candidate_id")
	case l.Name == nil:
		return Worker{}, missing("name")
	case l.City == nil:
		return Worker{}, missing("city")
	case l.State == nil:
		return Worker{}, missing("state")
	case l.Role == nil:
		return Worker{}, missing("role")
	case l.Available == nil:
		return Worker{}, missing("available")
	}
	return Worker{
		CandidateID: *l.CandidateID,
		Name:        *l.Name,
		City:        *l.City,
		State:       *l.State,
		Role:        *l.Role,
		Available:   *l.Available,
	}, nil
}
