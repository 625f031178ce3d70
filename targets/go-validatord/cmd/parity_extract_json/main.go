// Command parity_extract_json runs validator.ExtractJSON for the parity
// harness.
//
// One-shot (default): the whole of stdin is the raw text; prints
// {"matched": bool, "value": object|null}.
//
// --jsonl: each input line is {"raw": "..."}; one answer line per input
// line, flushed as it is written. A bad line is answered with
// {"error": "..."} and the program carries on. Blank lines are skipped.
package main

import (
	"encoding/json"
	"strings"

	"lakehouse/validatord/internal/probe"
	"lakehouse/validatord/internal/validator"
)

type answer struct {
	Matched bool           `json:"matched"`
	Value   map[string]any `json:"value"`
}

type lineRequest struct {
	Raw *string `json:"raw"`
}

func main() {
	probe.Run("parity_extract_json", `read one {"raw": ...} object per line`, answerWhole, answerLine)
}

func answerWhole(data []byte) any {
	return extract(strings.ToValidUTF8(string(data), "\uFFFD"))
}

func answerLine(line []byte) any {
	var req lineRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return probe.ErrorAnswer{Error: err.Error()}
	}
	if req.Raw == nil {
		return probe.ErrorAnswer{Error: `expected an object with a string "raw"`}
	}
	return extract(*req.Raw)
}

func extract(raw string) answer {
	obj, ok := validator.ExtractJSON(raw)
	return answer{Matched: ok, Value: obj}
}
