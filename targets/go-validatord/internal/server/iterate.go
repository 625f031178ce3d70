package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"lakehouse/validatord/internal/langfuse"
	"lakehouse/validatord/internal/validator"
)

const (
	defaultMaxIterations = 3
	defaultTemperature   = 0.2
	defaultMaxTokens     = 4096

	maxRawChars         = 2000
	maxPromptChars      = 4000
	maxInfraErrorChars  = 800
	noJSONFeedback      = "\n\nYour previous attempt did not contain a JSON object. Reply with ONLY a valid JSON object matching the requested artifact shape."
	validationFeedback  = "\n\nPrior attempt failed validation:\n%s\n\nFix the specific issue above and respond with a corrected JSON object."
	chatHopFailedFormat = "/v1/chat hop failed at iter %d: %v"
)

// iterateRequest is the body of POST /v1/iterate. The required strings
// are pointers so that "missing" can be told apart from "".
type iterateRequest struct {
	Kind          *string         `json:"kind"`
	Prompt        *string         `json:"prompt"`
	Provider      *string         `json:"provider"`
	Model         *string         `json:"model"`
	System        *string         `json:"system"`
	Context       json.RawMessage `json:"context"`
	MaxIterations *int64          `json:"max_iterations"`
	Temperature   *float64        `json:"temperature"`
	MaxTokens     *int            `json:"max_tokens"`
}

type attemptStatus struct {
	Kind  string `json:"kind"`
	Error string `json:"error,omitempty"`
}

type historyEntry struct {
	Iteration int           `json:"iteration"`
	Raw       string        `json:"raw"`
	Status    attemptStatus `json:"status"`
}

type iterateResponse struct {
	Artifact   map[string]any `json:"artifact"`
	Validation any            `json:"validation"`
	Iterations int            `json:"iterations"`
	History    []historyEntry `json:"history"`
	TraceID    string         `json:"trace_id"`
}

type iterateFailure struct {
	Error      string         `json:"error"`
	Iterations int            `json:"iterations"`
	History    []historyEntry `json:"history"`
	TraceID    string         `json:"trace_id"`
}

// validateRequest is the body of the validate hop.
type validateRequest struct {
	Kind     string          `json:"kind"`
	Artifact map[string]any  `json:"artifact"`
	Context  json.RawMessage `json:"context"`
}

// session is the state of one /v1/iterate call.
type session struct {
	req      iterateRequest
	trace    string
	maxIter  int
	started  time.Time
	history  []historyEntry
	attempts []validator.SessionAttemptRecord
	tracer   *langfuse.Emitter // nil: tracing off
}

// attemptInput and attemptOutput are the span of one attempt (CONTRACT §7).
type attemptInput struct {
	Iteration int    `json:"iteration"`
	Model     string `json:"model"`
	Provider  string `json:"provider"`
	Prompt    string `json:"prompt"`
}

type attemptOutput struct {
	Verdict string `json:"verdict"`
	Raw     string `json:"raw"`
	Error   string `json:"error,omitempty"`
}

type traceInput struct {
	Kind   string `json:"kind"`
	Prompt string `json:"prompt"`
}

func (s *Server) handleIterate(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, err := decodeIterateRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	maxIter := defaultMaxIterations
	if req.MaxIterations != nil {
		maxIter = int(max(*req.MaxIterations, 1))
	}
	trace, minted := traceID(r)
	sess := &session{
		req:      req,
		trace:    trace,
		maxIter:  maxIter,
		started:  time.Now(),
		history:  make([]historyEntry, 0, min(maxIter, 16)),
		attempts: make([]validator.SessionAttemptRecord, 0, min(maxIter, 16)),
		tracer:   s.cfg.Tracer,
	}
	if minted {
		// The trace is ours to create; a caller's trace is the caller's.
		s.cfg.Tracer.TraceCreate(langfuse.TraceBody{
			ID:    trace,
			Name:  "iterate",
			Input: traceInput{Kind: *req.Kind, Prompt: *req.Prompt},
		})
	}
	chat := chatRequest{
		Provider:    *req.Provider,
		Model:       *req.Model,
		Temperature: ptr(defaultTemperature),
		MaxTokens:   ptr(defaultMaxTokens),
	}
	if req.Temperature != nil {
		chat.Temperature = req.Temperature
	}
	if req.MaxTokens != nil {
		chat.MaxTokens = req.MaxTokens
	}

	ctx := r.Context()
	prompt := *req.Prompt
	for i := 0; i < maxIter; i++ {
		attemptStart := time.Now()
		chat.Messages = chat.Messages[:0]
		if req.System != nil {
			chat.Messages = append(chat.Messages, ChatMessage{Role: "system", Content: *req.System})
		}
		chat.Messages = append(chat.Messages, ChatMessage{Role: "user", Content: prompt})

		raw, err := s.chatHop(ctx, sess.trace, chat)
		if err != nil {
			msg := fmt.Sprintf(chatHopFailedFormat, i, err)
			s.logInfraError(sess, msg)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, msg)
			return
		}
		rawCut := validator.TruncateChars(raw, maxRawChars)

		artifact, found := validator.ExtractJSON(raw)
		if !found {
			sess.record(i, prompt, rawCut, validator.VerdictNoJSON, "", attemptStart)
			prompt = *req.Prompt + noJSONFeedback
			continue
		}

		validation, verr := s.validateHop(ctx, sess.trace, validateRequest{
			Kind:     *req.Kind,
			Artifact: artifact,
			Context:  req.Context,
		})
		if verr != "" {
			sess.record(i, prompt, rawCut, validator.VerdictValidationFailed, verr, attemptStart)
			prompt = *req.Prompt + fmt.Sprintf(validationFeedback, verr)
			continue
		}

		sess.record(i, prompt, rawCut, validator.VerdictAccepted, "", attemptStart)
		rec := sess.sessionRecord(validator.VerdictAccepted, uint32(i+1))
		rec.Artifact = artifact
		if *req.Kind == validator.KindFill {
			grounded := s.groundedInRoster(artifact)
			rec.GroundedInRoster = &grounded
		}
		s.cfg.SessionLog.Append(rec)
		writeJSON(w, http.StatusOK, iterateResponse{
			Artifact:   artifact,
			Validation: validation,
			Iterations: i + 1,
			History:    sess.history,
			TraceID:    sess.trace,
		})
		return
	}

	s.cfg.SessionLog.Append(sess.sessionRecord(validator.VerdictMaxIterExhausted, uint32(maxIter)))
	writeJSON(w, http.StatusUnprocessableEntity, iterateFailure{
		Error:      fmt.Sprintf("max iterations reached (%d) without passing validation", maxIter),
		Iterations: maxIter,
		History:    sess.history,
		TraceID:    sess.trace,
	})
}

func decodeIterateRequest(body []byte) (iterateRequest, error) {
	var req iterateRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return req, fmt.Errorf("invalid iterate request: %w", err)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"kind", req.Kind}, {"prompt", req.Prompt}, {"provider", req.Provider}, {"model", req.Model},
	} {
		if f.v == nil {
			return req, fmt.Errorf("invalid iterate request: %s must be a string", f.name)
		}
	}
	if req.MaxIterations != nil && *req.MaxIterations > math.MaxUint32 {
		return req, errors.New("invalid iterate request: max_iterations out of range")
	}
	return req, nil
}

// chatHop asks this daemon's own /v1/chat for a completion.
func (s *Server) chatHop(ctx context.Context, trace string, req chatRequest) (string, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	status, body, err := post(ctx, s.hops, s.cfg.SelfURL+"/v1/chat", trace, payload)
	if err != nil {
		return "", err
	}
	if status < 200 || status > 299 {
		return "", fmt.Errorf("chat status %d: %s", status, excerpt(body))
	}
	return completionContent(body)
}

// validateHop posts the artifact to this daemon's own /v1/validate. On
// acceptance it returns the parsed report; otherwise it returns the
// failure as text: the error body re-encoded as compact JSON with
// sorted keys when there is one, a description of the failure when not.
func (s *Server) validateHop(ctx context.Context, trace string, req validateRequest) (any, string) {
	if req.Context == nil {
		req.Context = json.RawMessage("null")
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, "validate hop: " + err.Error()
	}
	status, body, err := post(ctx, s.hops, s.cfg.SelfURL+"/v1/validate", trace, payload)
	if err != nil {
		return nil, "validate hop: " + err.Error()
	}
	var parsed any
	if err := json.Unmarshal(body, &parsed); err != nil {
		return nil, fmt.Sprintf("validate hop: status %d, unparseable body: %s", status, excerpt(body))
	}
	if status >= 200 && status <= 299 {
		return parsed, ""
	}
	text, err := json.Marshal(parsed)
	if err != nil {
		return nil, fmt.Sprintf("validate hop: status %d: %s", status, excerpt(body))
	}
	return nil, string(text)
}

// groundedInRoster reports whether every fill of an accepted fill
// artifact names a worker that exists in the roster.
func (s *Server) groundedInRoster(artifact map[string]any) bool {
	fills, ok := artifact["fills"].([]any)
	if !ok {
		return false
	}
	for _, f := range fills {
		fill, _ := f.(map[string]any)
		id, _ := fill["candidate_id"].(string)
		if id == "" {
			return false
		}
		if _, ok := s.cfg.Roster.Find(id); !ok {
			return false
		}
	}
	return true
}

// record adds attempt i, asked with prompt, to the response history and
// the session log, and with tracing on sends its span and names it in
// the session log.
func (sess *session) record(i int, prompt, raw, verdict, errText string, start time.Time) {
	sess.history = append(sess.history, historyEntry{
		Iteration: i,
		Raw:       raw,
		Status:    attemptStatus{Kind: verdict, Error: errText},
	})
	a := validator.SessionAttemptRecord{Iteration: uint32(i), VerdictKind: verdict}
	if errText != "" {
		a.Error = &errText
	}
	if sess.tracer.Enabled() {
		spanID := sess.attemptSpan(i, prompt, raw, verdict, errText, start)
		a.SpanID = &spanID
	}
	sess.attempts = append(sess.attempts, a)
}

// attemptSpan sends the iterate.attempt[i] span and returns its id.
func (sess *session) attemptSpan(i int, prompt, raw, verdict, errText string, start time.Time) string {
	level := langfuse.LevelWarning
	if verdict == validator.VerdictAccepted {
		level = langfuse.LevelDefault
	}
	id := langfuse.NewObservationID()
	sess.tracer.SpanCreate(langfuse.SpanBody{
		ID:        id,
		TraceID:   sess.trace,
		Name:      fmt.Sprintf("iterate.attempt[%d]", i),
		Input:     attemptInput{Iteration: i, Model: *sess.req.Model, Provider: *sess.req.Provider, Prompt: prompt},
		Output:    attemptOutput{Verdict: verdict, Raw: raw, Error: errText},
		Level:     level,
		StartTime: start.UTC(),
		EndTime:   time.Now().UTC(),
	})
	return id
}

func (sess *session) sessionRecord(verdict string, iterations uint32) validator.SessionRecord {
	return validator.SessionRecord{
		Schema:        validator.SessionRecordSchema,
		SessionID:     sess.trace,
		Timestamp:     time.Now().UTC().Format(time.RFC3339Nano),
		Daemon:        validator.DaemonName,
		Kind:          *sess.req.Kind,
		Model:         *sess.req.Model,
		Provider:      *sess.req.Provider,
		Prompt:        validator.TruncateChars(*sess.req.Prompt, maxPromptChars),
		Iterations:    iterations,
		MaxIterations: uint32(sess.maxIter),
		FinalVerdict:  verdict,
		Attempts:      sess.attempts,
		DurationMs:    uint64(time.Since(sess.started).Milliseconds()),
	}
}

// logInfraError writes the row of a session that ended on a failed chat
// hop: no iterations, one infra_error attempt carrying the 502 body.
func (s *Server) logInfraError(sess *session, msg string) {
	errText := validator.TruncateChars(msg, maxInfraErrorChars)
	sess.attempts = []validator.SessionAttemptRecord{{
		Iteration:   0,
		VerdictKind: validator.VerdictInfraError,
		Error:       &errText,
	}}
	s.cfg.SessionLog.Append(sess.sessionRecord(validator.VerdictInfraError, 0))
}

func ptr[T any](v T) *T { return &v }
