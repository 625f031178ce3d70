package validator

import (
	"encoding/json"
	"strings"
)

const fence = "```"

// ExtractJSON pulls the first JSON object out of free-form model output.
//
// Fenced blocks are tried first, left to right; the first body that
// parses as an object wins. Otherwise the raw text is scanned byte by
// byte for a balanced {...} span that parses as an object. The scan
// counts braces only: braces inside JSON strings are not special and a
// stray '}' drives the depth negative for good. Both are deliberate —
// see CONTRACT.md §1.
//
// The second result reports whether an object was found.
func ExtractJSON(raw string) (map[string]any, bool) {
	for _, body := range fencedBodies(raw) {
		if obj, ok := parseObject(body); ok {
			return obj, true
		}
	}

	depth := 0
	start := -1
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			if start < 0 {
				start = i
			}
			depth++
		case '}':
			depth--
			if depth == 0 && start >= 0 {
				if obj, ok := parseObject(raw[start : i+1]); ok {
					return obj, true
				}
				start = -1
			}
		}
	}
	return nil, false
}

// fencedBodies returns the trimmed bodies of the ``` fenced blocks in
// raw, in order. The body starts after the first newline following the
// opening fence (skipping an info string such as "json"), or right after
// the fence when no newline follows. An unclosed fence ends the scan.
func fencedBodies(raw string) []string {
	var out []string
	rest := raw
	for {
		open := strings.Index(rest, fence)
		if open < 0 {
			return out
		}
		after := rest[open+len(fence):]
		if nl := strings.IndexByte(after, '\n'); nl >= 0 {
			after = after[nl+1:]
		}
		end := strings.Index(after, fence)
		if end < 0 {
			return out
		}
		out = append(out, strings.TrimSpace(after[:end]))
		rest = after[end+len(fence):]
	}
}

// parseObject decodes s and reports whether it is a JSON object.
func parseObject(s string) (map[string]any, bool) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	obj, ok := v.(map[string]any)
	return obj, ok
}
