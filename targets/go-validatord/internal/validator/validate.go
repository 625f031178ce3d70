package validator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error kinds of a ValidationError.
const (
	ErrSchema      = "schema"
	ErrCount       = "count"
	ErrDuplicate   = "duplicate"
	ErrPhantom     = "phantom"
	ErrConsistency = "consistency"
	ErrUnavailable = "unavailable"
)

// Artifact kinds.
const (
	KindFill     = "fill"
	KindEmail    = "email"
	KindPlaybook = "playbook"
)

const (
	maxSubjectChars  = 200
	maxPlaybookSteps = 20
)

// Report is the body of a passing validation.
type Report struct {
	Kind    string `json:"kind"`
	Valid   bool   `json:"valid"`
	Checked int    `json:"checked"`
}

// ValidationError is the body of a failing validation: the first check
// that failed, where, and why.
type ValidationError struct {
	Kind    string `json:"kind"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *ValidationError) Error() string { return e.Message }

// Validator runs the fill, email and playbook checks against a roster.
type Validator struct {
	Roster *Roster
}

// ValidateBody decodes a /v1/validate request body and validates it.
// Exactly one of the results is non-nil.
func (v *Validator) ValidateBody(body []byte) (*Report, *ValidationError) {
	req, verr := decodeObject(body)
	if verr != nil {
		return nil, verr
	}
	kind, _ := req["kind"].(string)
	artifact := req["artifact"]
	context := req["context"]
	switch kind {
	case KindFill:
		return v.validateFill(artifact, context)
	case KindEmail:
		return v.validateEmail(artifact, context)
	case KindPlaybook:
		return validatePlaybook(artifact)
	default:
		return nil, schemaErr("kind", "one of fill, email, playbook")
	}
}

// decodeObject parses body as a single JSON object. Numbers are kept as
// json.Number so that an integer can be told apart from 2.0.
func decodeObject(body []byte) (map[string]any, *ValidationError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, schemaErr("$", "object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, schemaErr("$", "object") // trailing data
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, schemaErr("$", "object")
	}
	return obj, nil
}

func (v *Validator) validateFill(artifact, context any) (*Report, *ValidationError) {
	ctx, ok := context.(map[string]any)
	if !ok {
		return nil, schemaErr("context", "object")
	}
	target, ok := positiveInt(ctx["target_count"])
	if !ok {
		return nil, schemaErr("context.target_count", "integer >= 1")
	}
	want := map[string]string{}
	for _, field := range []string{"city", "state", "role"} {
		s, ok := nonEmptyString(ctx[field])
		if !ok {
			return nil, schemaErr("context."+field, "non-empty string")
		}
		want[field] = s
	}

	art, ok := artifact.(map[string]any)
	if !ok {
		return nil, schemaErr("artifact", "object")
	}
	fills, ok := art["fills"].([]any)
	if !ok {
		return nil, schemaErr("artifact.fills", "array")
	}
	ids := make([]string, len(fills))
	for i, f := range fills {
		path := fmt.Sprintf("artifact.fills[%d]", i)
		fill, ok := f.(map[string]any)
		if !ok {
			return nil, schemaErr(path, "object")
		}
		id, ok := nonEmptyString(fill["candidate_id"])
		if !ok {
			return nil, schemaErr(path+".candidate_id", "non-empty string")
		}
		ids[i] = id
	}

	if int64(len(fills)) != target {
		return nil, &ValidationError{
			Kind:    ErrCount,
			Path:    "artifact.fills",
			Message: fmt.Sprintf("expected %d fills, got %d", target, len(fills)),
		}
	}

	idPath := func(i int) string { return fmt.Sprintf("artifact.fills[%d].candidate_id", i) }

	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			return nil, &ValidationError{
				Kind:    ErrDuplicate,
				Path:    idPath(i),
				Message: fmt.Sprintf("candidate '%s' appears more than once", id),
			}
		}
		seen[id] = true
	}

	workers := make([]Worker, len(ids))
	for i, id := range ids {
		w, ok := v.Roster.Find(id)
		if !ok {
			return nil, phantomErr(idPath(i), id)
		}
		workers[i] = w
	}

	for i, w := range workers {
		for _, c := range []struct{ field, got string }{
			{"city", w.City},
			{"state", w.State},
			{"role", w.Role},
		} {
			if c.got != want[c.field] {
				return nil, consistencyErr(idPath(i), c.field, c.got, want[c.field])
			}
		}
	}

	for i, w := range workers {
		if !w.Available {
			return nil, &ValidationError{
				Kind:    ErrUnavailable,
				Path:    idPath(i),
				Message: fmt.Sprintf("candidate '%s' is not available", w.CandidateID),
			}
		}
	}

	return &Report{Kind: KindFill, Valid: true, Checked: len(fills)}, nil
}

func (v *Validator) validateEmail(artifact, context any) (*Report, *ValidationError) {
	ctx, ok := context.(map[string]any)
	if !ok {
		return nil, schemaErr("context", "object")
	}
	wantID, ok := nonEmptyString(ctx["candidate_id"])
	if !ok {
		return nil, schemaErr("context.candidate_id", "non-empty string")
	}

	art, ok := artifact.(map[string]any)
	if !ok {
		return nil, schemaErr("artifact", "object")
	}
	fields := map[string]string{}
	for _, field := range []string{"candidate_id", "subject", "body"} {
		s, ok := nonEmptyString(art[field])
		if !ok {
			return nil, schemaErr("artifact."+field, "non-empty string")
		}
		fields[field] = s
	}
	if utf8.RuneCountInString(fields["subject"]) > maxSubjectChars {
		return nil, schemaErr("artifact.subject", fmt.Sprintf("at most %d characters", maxSubjectChars))
	}
	id := fields["candidate_id"]
	if id != wantID {
		return nil, consistencyErr("artifact.candidate_id", "candidate_id", id, wantID)
	}
	if _, ok := v.Roster.Find(id); !ok {
		return nil, phantomErr("artifact.candidate_id", id)
	}
	return &Report{Kind: KindEmail, Valid: true, Checked: 1}, nil
}

func validatePlaybook(artifact any) (*Report, *ValidationError) {
	art, ok := artifact.(map[string]any)
	if !ok {
		return nil, schemaErr("artifact", "object")
	}
	if _, ok := nonEmptyString(art["title"]); !ok {
		return nil, schemaErr("artifact.title", "non-empty string")
	}
	steps, ok := art["steps"].([]any)
	if !ok {
		return nil, schemaErr("artifact.steps", "array")
	}
	if len(steps) < 1 || len(steps) > maxPlaybookSteps {
		return nil, schemaErr("artifact.steps", fmt.Sprintf("1 to %d items", maxPlaybookSteps))
	}
	for i, s := range steps {
		if _, ok := nonEmptyString(s); !ok {
			return nil, schemaErr(fmt.Sprintf("artifact.steps[%d]", i), "non-empty string")
		}
	}
	return &Report{Kind: KindPlaybook, Valid: true, Checked: len(steps)}, nil
}

func schemaErr(path, what string) *ValidationError {
	return &ValidationError{Kind: ErrSchema, Path: path, Message: path + ": expected " + what}
}

func phantomErr(path, id string) *ValidationError {
	return &ValidationError{
		Kind:    ErrPhantom,
		Path:    path,
		Message: fmt.Sprintf("candidate '%s' is not in the roster", id),
	}
}

func consistencyErr(path, field, got, want string) *ValidationError {
	return &ValidationError{
		Kind:    ErrConsistency,
		Path:    path,
		Message: fmt.Sprintf("%s '%s' doesn't match contract %s '%s'", field, got, field, want),
	}
}

func nonEmptyString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && s != ""
}

// positiveInt accepts a JSON integer literal (no fraction, no exponent)
// of at least 1. v must come from a decoder with UseNumber.
func positiveInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(string(n), ".eE") {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || i < 1 {
		return 0, false
	}
	return i, true
}
