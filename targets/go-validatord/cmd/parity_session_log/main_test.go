package main

import (
	"encoding/json"
	"testing"

	"lakehouse/validatord/internal/probe"
)

func TestRoundTrip(t *testing.T) {
	in := `{"kind":"fill","schema":"session.iterate.v1","session_id":"s","timestamp":"t","daemon":"gateway","model":"m","provider":"p","prompt":"x","iterations":0,"max_iterations":1,"final_verdict":"infra_error","attempts":[{"verdict_kind":"infra_error","iteration":0,"error":"e"}],"duration_ms":3}`
	want := `{"schema":"session.iterate.v1","session_id":"s","timestamp":"t","daemon":"gateway","kind":"fill","model":"m","provider":"p","prompt":"x","iterations":0,"max_iterations":1,"final_verdict":"infra_error","attempts":[{"iteration":0,"verdict_kind":"infra_error","error":"e"}],"duration_ms":3}`
	out, _ := json.Marshal(roundTrip([]byte(in)))
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}

	out, _ = json.Marshal(roundTrip([]byte(`{"schema":"session.iterate.v1"}`)))
	var e probe.ErrorAnswer
	if json.Unmarshal(out, &e) != nil || e.Error == "" {
		t.Errorf("incomplete record: got %s, want an error answer", out)
	}
}
