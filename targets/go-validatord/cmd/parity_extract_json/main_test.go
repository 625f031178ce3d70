package main

import (
	"encoding/json"
	"testing"

	"lakehouse/validatord/internal/probe"
)

func TestAnswerLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"raw": "say {\"a\": 1}"}`, `{"matched":true,"value":{"a":1}}`},
		{`{"raw": "nothing"}`, `{"matched":false,"value":null}`},
		{`{"raw": "{}"}`, `{"matched":true,"value":{}}`},
		{`{"raw": 1}`, ``},
		{`{}`, ``},
		{`not json`, ``},
	}
	for _, tt := range tests {
		out, err := json.Marshal(answerLine([]byte(tt.in)))
		if err != nil {
			t.Fatal(err)
		}
		if tt.want == "" {
			var e probe.ErrorAnswer
			if json.Unmarshal(out, &e) != nil || e.Error == "" {
				t.Errorf("%s: got %s, want an error answer", tt.in, out)
			}
			continue
		}
		if string(out) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.in, out, tt.want)
		}
	}
}
