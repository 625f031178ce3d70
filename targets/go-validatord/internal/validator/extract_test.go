package validator

import (
	"reflect"
	"testing"
)

func TestExtractJSON(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]any // nil: no object expected
	}{
		{
			name: "fenced with info string",
			raw:  "Here's my answer:\n```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```\nDone.",
			want: map[string]any{"fills": []any{map[string]any{"candidate_id": "W-1"}}},
		},
		{
			name: "fenced without newline starts right after the fence",
			raw:  "```{\"a\": 1}```",
			want: map[string]any{"a": 1.0},
		},
		{
			name: "fenced body is trimmed",
			raw:  "```\n \t{\"a\": 1}\u00a0\n```",
			want: map[string]any{"a": 1.0},
		},
		{
			name: "first fenced object wins over an earlier bare one",
			raw:  "{\"bare\": true}\n```json\n{\"fenced\": true}\n```",
			want: map[string]any{"fenced": true},
		},
		{
			name: "fenced non-object falls through to the next fence",
			raw:  "```\n[1, 2]\n```\n```json\n{\"second\": 2}\n```",
			want: map[string]any{"second": 2.0},
		},
		{
			name: "unclosed fence ends the fenced scan, brace scan still runs",
			raw:  "```json\n{\"a\": 1}",
			want: map[string]any{"a": 1.0},
		},
		{
			name: "bare braces in prose",
			raw:  "Here you go: {\"fills\": [{\"candidate_id\": \"W-2\"}]} — hope that helps",
			want: map[string]any{"fills": []any{map[string]any{"candidate_id": "W-2"}}},
		},
		{
			name: "nested objects",
			raw:  "x {\"a\": {\"b\": {\"c\": [1, {\"d\": null}]}}} y",
			want: map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{1.0, map[string]any{"d": nil}}}}},
		},
		{
			name: "unicode",
			raw:  "résumé: {\"name\": \"Chloé 你好 🎉\"}",
			want: map[string]any{"name": "Chloé 你好 🎉"},
		},
		{
			name: "escaped quotes",
			raw:  `{"say": "she said \"hi\""}`,
			want: map[string]any{"say": `she said "hi"`},
		},
		{
			name: "top-level array: the object inside is found by the brace scan",
			raw:  `[{"a": 1}, {"b": 2}]`,
			want: map[string]any{"a": 1.0},
		},
		{
			name: "top-level array of scalars",
			raw:  `[1, 2, 3]`,
		},
		{
			name: "malformed: trailing comma",
			raw:  `{"a": 1,}`,
		},
		{
			name: "malformed first object, valid second",
			raw:  `{oops} then {"b": 2}`,
			want: map[string]any{"b": 2.0},
		},
		{
			name: "several objects: first wins",
			raw:  `{"a":1} then {"b":2}`,
			want: map[string]any{"a": 1.0},
		},
		{
			name: "no JSON",
			raw:  "just prose, no json",
		},
		{
			name: "empty",
			raw:  "",
		},
		{
			name: "empty object",
			raw:  "{}",
			want: map[string]any{},
		},
		{
			name: "quirk: a brace inside a string closes the span early",
			raw:  `{"a": "}"}`,
		},
		{
			name: "quirk: a stray closing brace poisons the scan",
			raw:  `} {"a": 1}`,
		},
		{
			name: "duplicate key keeps the last value",
			raw:  `{"a": 1, "a": 2}`,
			want: map[string]any{"a": 2.0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractJSON(tt.raw)
			if ok != (tt.want != nil) {
				t.Fatalf("ExtractJSON(%q) matched = %v, want %v (value %v)", tt.raw, ok, tt.want != nil, got)
			}
			if ok && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExtractJSON(%q) = %#v, want %#v", tt.raw, got, tt.want)
			}
		})
	}
}
