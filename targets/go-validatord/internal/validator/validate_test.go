package validator

import (
	"strings"
	"testing"
)

func testRoster(t *testing.T) *Roster {
	t.Helper()
	r, err := NewRoster([]Worker{
		{CandidateID: "W-1", Name: "Ada", City: "Louisville", State: "KY", Role: "Welder", Available: true},
		{CandidateID: "W-2", Name: "Ben", City: "Toledo", State: "OH", Role: "Welder", Available: true},
		{CandidateID: "W-3", Name: "Chloé", City: "Toledo", State: "OH", Role: "Welder", Available: true},
		{CandidateID: "W-4", Name: "Dev", City: "Toledo", State: "OH", Role: "Electrician", Available: true},
		{CandidateID: "W-5", Name: "Eun-ji", City: "Toledo", State: "OH", Role: "Welder", Available: false},
		{CandidateID: "W-6", Name: "Farah", City: "Toledo", State: "MI", Role: "Welder", Available: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const toledoWelders = `"context": {"target_count": %s, "city": "Toledo", "state": "OH", "role": "Welder"}`

func fillBody(targetCount, fills string) string {
	return `{"kind": "fill", "artifact": {"fills": ` + fills + `}, ` +
		strings.Replace(toledoWelders, "%s", targetCount, 1) + `}`
}

func TestValidateAccepts(t *testing.T) {
	v := &Validator{Roster: testRoster(t)}
	tests := []struct {
		name, body string
		want       Report
	}{
		{"fill", fillBody("2", `[{"candidate_id": "W-2", "note": "x"}, {"candidate_id": "W-3"}]`), Report{"fill", true, 2}},
		{"email", `{"kind": "email", "context": {"candidate_id": "W-2"}, "artifact": {"candidate_id": "W-2", "subject": "` + strings.Repeat("é", 200) + `", "body": " "}}`, Report{"email", true, 1}},
		{"playbook", `{"kind": "playbook", "artifact": {"title": "t", "steps": ["a", "b", "c"]}}`, Report{"playbook", true, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, verr := v.ValidateBody([]byte(tt.body))
			if verr != nil {
				t.Fatalf("unexpected error %+v", verr)
			}
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	v := &Validator{Roster: testRoster(t)}
	tests := []struct {
		name, body          string
		kind, path, message string
	}{
		// envelope
		{"not JSON", `nope`, "schema", "$", "$: expected object"},
		{"empty body", ``, "schema", "$", "$: expected object"},
		{"trailing data", `{"kind": "fill"} {}`, "schema", "$", "$: expected object"},
		{"array body", `[]`, "schema", "$", "$: expected object"},
		{"missing kind", `{}`, "schema", "kind", "kind: expected one of fill, email, playbook"},
		{"unknown kind", `{"kind": "Fill"}`, "schema", "kind", "kind: expected one of fill, email, playbook"},
		{"kind not a string", `{"kind": 1}`, "schema", "kind", "kind: expected one of fill, email, playbook"},

		// fill
		{"fill without context", `{"kind": "fill", "artifact": {"fills": []}}`, "schema", "context", "context: expected object"},
		{"target_count float", fillBody("2.0", `[]`), "schema", "context.target_count", "context.target_count: expected integer >= 1"},
		{"target_count exponent", fillBody("1e0", `[]`), "schema", "context.target_count", "context.target_count: expected integer >= 1"},
		{"target_count zero", fillBody("0", `[]`), "schema", "context.target_count", "context.target_count: expected integer >= 1"},
		{"target_count string", fillBody(`"1"`, `[]`), "schema", "context.target_count", "context.target_count: expected integer >= 1"},
		{"empty city", `{"kind": "fill", "artifact": {}, "context": {"target_count": 1, "city": "", "state": "OH", "role": "Welder"}}`, "schema", "context.city", "context.city: expected non-empty string"},
		{"missing role", `{"kind": "fill", "artifact": {}, "context": {"target_count": 1, "city": "Toledo", "state": "OH"}}`, "schema", "context.role", "context.role: expected non-empty string"},
		{"artifact not object", `{"kind": "fill", "artifact": [], ` + strings.Replace(toledoWelders, "%s", "1", 1) + `}`, "schema", "artifact", "artifact: expected object"},
		{"fills not array", `{"kind": "fill", "artifact": {"fills": {}}, ` + strings.Replace(toledoWelders, "%s", "1", 1) + `}`, "schema", "artifact.fills", "artifact.fills: expected array"},
		{"fill not object", fillBody("2", `[{"candidate_id": "W-2"}, "W-3"]`), "schema", "artifact.fills[1]", "artifact.fills[1]: expected object"},
		{"empty candidate_id", fillBody("2", `[{"candidate_id": "W-2"}, {"candidate_id": ""}]`), "schema", "artifact.fills[1].candidate_id", "artifact.fills[1].candidate_id: expected non-empty string"},
		{"shape before count", fillBody("1", `[{"candidate_id": "W-2"}, {}]`), "schema", "artifact.fills[1].candidate_id", "artifact.fills[1].candidate_id: expected non-empty string"},
		{"count", fillBody("3", `[{"candidate_id": "W-2"}, {"candidate_id": "W-3"}]`), "count", "artifact.fills", "expected 3 fills, got 2"},
		{"duplicate", fillBody("3", `[{"candidate_id": "W-2"}, {"candidate_id": "W-3"}, {"candidate_id": "W-2"}]`), "duplicate", "artifact.fills[2].candidate_id", "candidate 'W-2' appears more than once"},
		{"duplicate before phantom", fillBody("3", `[{"candidate_id": "W-99"}, {"candidate_id": "W-2"}, {"candidate_id": "W-2"}]`), "duplicate", "artifact.fills[2].candidate_id", "candidate 'W-2' appears more than once"},
		{"phantom", fillBody("2", `[{"candidate_id": "W-2"}, {"candidate_id": "W-99"}]`), "phantom", "artifact.fills[1].candidate_id", "candidate 'W-99' is not in the roster"},
		{"phantom before consistency", fillBody("2", `[{"candidate_id": "W-1"}, {"candidate_id": "W-99"}]`), "phantom", "artifact.fills[1].candidate_id", "candidate 'W-99' is not in the roster"},
		{"city", fillBody("1", `[{"candidate_id": "W-1"}]`), "consistency", "artifact.fills[0].candidate_id", "city 'Louisville' doesn't match contract city 'Toledo'"},
		{"state", fillBody("1", `[{"candidate_id": "W-6"}]`), "consistency", "artifact.fills[0].candidate_id", "state 'MI' doesn't match contract state 'OH'"},
		{"role", fillBody("2", `[{"candidate_id": "W-2"}, {"candidate_id": "W-4"}]`), "consistency", "artifact.fills[1].candidate_id", "role 'Electrician' doesn't match contract role 'Welder'"},
		{"consistency before availability", fillBody("2", `[{"candidate_id": "W-5"}, {"candidate_id": "W-4"}]`), "consistency", "artifact.fills[1].candidate_id", "role 'Electrician' doesn't match contract role 'Welder'"},
		{"unavailable", fillBody("2", `[{"candidate_id": "W-2"}, {"candidate_id": "W-5"}]`), "unavailable", "artifact.fills[1].candidate_id", "candidate 'W-5' is not available"},

		// email
		{"email context", `{"kind": "email", "context": null}`, "schema", "context", "context: expected object"},
		{"email context id", `{"kind": "email", "context": {"candidate_id": 2}}`, "schema", "context.candidate_id", "context.candidate_id: expected non-empty string"},
		{"email artifact", `{"kind": "email", "context": {"candidate_id": "W-2"}}`, "schema", "artifact", "artifact: expected object"},
		{"email subject", `{"kind": "email", "context": {"candidate_id": "W-2"}, "artifact": {"candidate_id": "W-2", "body": "b"}}`, "schema", "artifact.subject", "artifact.subject: expected non-empty string"},
		{"email body", `{"kind": "email", "context": {"candidate_id": "W-2"}, "artifact": {"candidate_id": "W-2", "subject": "s", "body": ""}}`, "schema", "artifact.body", "artifact.body: expected non-empty string"},
		{"email subject too long", `{"kind": "email", "context": {"candidate_id": "W-2"}, "artifact": {"candidate_id": "W-2", "subject": "` + strings.Repeat("é", 201) + `", "body": "b"}}`, "schema", "artifact.subject", "artifact.subject: expected at most 200 characters"},
		{"email mismatch", `{"kind": "email", "context": {"candidate_id": "W-2"}, "artifact": {"candidate_id": "W-3", "subject": "s", "body": "b"}}`, "consistency", "artifact.candidate_id", "candidate_id 'W-3' doesn't match contract candidate_id 'W-2'"},
		{"email phantom", `{"kind": "email", "context": {"candidate_id": "W-99"}, "artifact": {"candidate_id": "W-99", "subject": "s", "body": "b"}}`, "phantom", "artifact.candidate_id", "candidate 'W-99' is not in the roster"},

		// playbook
		{"playbook artifact", `{"kind": "playbook"}`, "schema", "artifact", "artifact: expected object"},
		{"playbook title", `{"kind": "playbook", "artifact": {"title": "", "steps": ["a"]}}`, "schema", "artifact.title", "artifact.title: expected non-empty string"},
		{"playbook steps", `{"kind": "playbook", "artifact": {"title": "t", "steps": "a"}}`, "schema", "artifact.steps", "artifact.steps: expected array"},
		{"playbook no steps", `{"kind": "playbook", "artifact": {"title": "t", "steps": []}}`, "schema", "artifact.steps", "artifact.steps: expected 1 to 20 items"},
		{"playbook 21 steps", `{"kind": "playbook", "artifact": {"title": "t", "steps": ["a"` + strings.Repeat(`, "a"`, 20) + `]}}`, "schema", "artifact.steps", "artifact.steps: expected 1 to 20 items"},
		{"playbook empty step", `{"kind": "playbook", "artifact": {"title": "t", "steps": ["a", ""]}}`, "schema", "artifact.steps[1]", "artifact.steps[1]: expected non-empty string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, verr := v.ValidateBody([]byte(tt.body))
			if verr == nil {
				t.Fatalf("accepted (%+v), want %s error", report, tt.kind)
			}
			want := ValidationError{Kind: tt.kind, Path: tt.path, Message: tt.message}
			if *verr != want {
				t.Errorf("got  %+v\nwant %+v", *verr, want)
			}
		})
	}
}
