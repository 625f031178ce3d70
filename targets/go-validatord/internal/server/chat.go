package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"lakehouse/validatord/internal/langfuse"
	"lakehouse/validatord/internal/validator"
)

// ChatMessage is one message of a chat request.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatRequest is the body of POST /v1/chat.
type chatRequest struct {
	Messages    []ChatMessage `json:"messages"`
	Provider    string        `json:"provider"`
	Model       string        `json:"model"`
	Temperature *float64      `json:"temperature,omitempty"`
	MaxTokens   *int          `json:"max_tokens,omitempty"`
}

// completionRequest is what goes to {upstream}/v1/chat/completions.
type completionRequest struct {
	Model       string        `json:"model"`
	Messages    []ChatMessage `json:"messages"`
	Temperature *float64      `json:"temperature,omitempty"`
	MaxTokens   *int          `json:"max_tokens,omitempty"`
}

// chatResponse is the body of a successful POST /v1/chat.
type chatResponse struct {
	Choices []chatChoice `json:"choices"`
}

type chatChoice struct {
	Index   int         `json:"index"`
	Message ChatMessage `json:"message"`
}

// maxErrorDetail bounds how much of an upstream error body is quoted.
const maxErrorDetail = 300

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid chat request: "+err.Error())
		return
	}
	if req.Messages == nil {
		writeError(w, http.StatusBadRequest, "invalid chat request: messages is required")
		return
	}

	var trace string
	if s.cfg.Tracer.Enabled() {
		var minted bool
		trace, minted = traceID(r)
		if minted {
			// Called without a parent: this call is a trace of its own.
			s.cfg.Tracer.TraceCreate(langfuse.TraceBody{ID: trace, Name: "chat"})
		}
	}
	start := time.Now()
	content, err := s.complete(r.Context(), r.Header.Get(TraceIDHeader), completionRequest{
		Model:       req.Model,
		Messages:    req.Messages,
		Temperature: req.Temperature,
		MaxTokens:   req.MaxTokens,
	})
	if s.cfg.Tracer.Enabled() {
		s.cfg.Tracer.GenerationCreate(chatGeneration(trace, req, content, err, start))
	}
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, chatResponse{Choices: []chatChoice{{
		Index:   0,
		Message: ChatMessage{Role: "assistant", Content: content},
	}}})
}

// chatGeneration is the generation of one chat call: the reply as its
// output, or an ERROR with the failure and no output.
func chatGeneration(trace string, req chatRequest, content string, err error, start time.Time) langfuse.GenerationBody {
	// Only the parameters the request set: Langfuse takes no null value.
	params := map[string]any{}
	if req.Temperature != nil {
		params["temperature"] = *req.Temperature
	}
	if req.MaxTokens != nil {
		params["max_tokens"] = *req.MaxTokens
	}
	g := langfuse.GenerationBody{
		ID:              langfuse.NewObservationID(),
		TraceID:         trace,
		Name:            "chat",
		Model:           req.Model,
		ModelParameters: params,
		Input:           req.Messages,
		StartTime:       start.UTC(),
		EndTime:         time.Now().UTC(),
	}
	if err != nil {
		g.Level = langfuse.LevelError
		g.StatusMessage = err.Error()
	} else {
		g.Output = &content
	}
	return g
}

// complete sends one chat completion upstream and returns the reply
// text. Any transport error, timeout, non-2xx status or non-JSON body
// is an error.
func (s *Server) complete(ctx context.Context, trace string, req completionRequest) (string, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("encode upstream request: %w", err)
	}
	status, body, err := post(ctx, s.upstream, s.cfg.Upstream+"/v1/chat/completions", trace, payload)
	if err != nil {
		return "", fmt.Errorf("upstream: %w", err)
	}
	if status < 200 || status > 299 {
		return "", fmt.Errorf("upstream status %d: %s", status, excerpt(body))
	}
	content, err := completionContent(body)
	if err != nil {
		return "", fmt.Errorf("upstream: %w", err)
	}
	return content, nil
}

// completionContent returns choices[0].message.content from an
// OpenAI-style completion body; "" when it is absent or not a string.
// The body must be JSON.
func completionContent(body []byte) (string, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("body is not JSON: %w", err)
	}
	root, _ := v.(map[string]any)
	choices, _ := root["choices"].([]any)
	if len(choices) == 0 {
		return "", nil
	}
	choice, _ := choices[0].(map[string]any)
	message, _ := choice["message"].(map[string]any)
	content, _ := message["content"].(string)
	return content, nil
}

// post sends a JSON body and returns the status and the whole response
// body. trace, when non-empty, is forwarded as the trace header.
func post(ctx context.Context, c *http.Client, url, trace string, payload []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if trace != "" {
		req.Header.Set(TraceIDHeader, trace)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxBodyBytes {
		return 0, nil, errors.New("response body too large")
	}
	return resp.StatusCode, body, nil
}

// excerpt quotes the start of an error body.
func excerpt(body []byte) string {
	return validator.TruncateChars(strings.TrimSpace(string(body)), maxErrorDetail)
}
