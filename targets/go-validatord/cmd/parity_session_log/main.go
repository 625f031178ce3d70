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
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"lakehouse/validatord/internal/validator"
)

type errorAnswer struct {
	Error string `json:"error"`
}

func main() {
	jsonl := flag.Bool("jsonl", false, "read one record per line")
	flag.Parse()

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)

	if !*jsonl {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "parity_session_log: read stdin: %v\n", err)
			os.Exit(1)
		}
		if err := enc.Encode(roundTrip(data)); err != nil {
			fmt.Fprintf(os.Stderr, "parity_session_log: %v\n", err)
			os.Exit(1)
		}
		return
	}

	in := bufio.NewReader(os.Stdin)
	for {
		line, readErr := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if err := enc.Encode(roundTrip(line)); err != nil {
				fmt.Fprintf(os.Stderr, "parity_session_log: %v\n", err)
				os.Exit(1)
			}
			if err := out.Flush(); err != nil {
				os.Exit(1)
			}
		}
		if readErr != nil {
			if !errors.Is(readErr, io.EOF) {
				fmt.Fprintf(os.Stderr, "parity_session_log: read stdin: %v\n", readErr)
				os.Exit(1)
			}
			return
		}
	}
}

// roundTrip decodes data into a SessionRecord and returns the record,
// or the decode error as an answer.
func roundTrip(data []byte) any {
	var rec validator.SessionRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return errorAnswer{Error: err.Error()}
	}
	return rec
}
