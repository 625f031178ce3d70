// Command parity_session_log round-trips session log records through
// validator.SessionRecord for the parity harness.
//
// One-shot (default): stdin holds one record; prints it re-encoded, or
// {"error": "..."} when the record type rejects it.
//
// --jsonl: one record per line, one answer per line, flushed as it is
// written. Blank lines are skipped.
package main

import (
	"encoding/json"

	"lakehouse/validatord/internal/probe"
	"lakehouse/validatord/internal/validator"
)

func main() {
	probe.Run("parity_session_log", "read one record per line", roundTrip, roundTrip)
}

// roundTrip decodes data into a SessionRecord and returns the record,
// or the decode error as an answer.
func roundTrip(data []byte) any {
	var rec validator.SessionRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return probe.ErrorAnswer{Error: err.Error()}
	}
	return rec
}
