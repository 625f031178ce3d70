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

type answer struct {
	Matched bool           `json:"matched"`
	Value   map[string]any `json:"value"`
}

type errorAnswer struct {
	Error string `json:"error"`
}

type lineRequest struct {
	Raw *string `json:"raw"`
}

func main() {
	jsonl := flag.Bool("jsonl", false, "read one {\"raw\": ...} object per line")
	flag.Parse()

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)

	if !*jsonl {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "parity_extract_json: read stdin: %v\n", err)
			os.Exit(1)
		}
		raw := strings.ToValidUTF8(string(data), "\uFFFD")
		if err := enc.Encode(extract(raw)); err != nil {
			fmt.Fprintf(os.Stderr, "parity_extract_json: %v\n", err)
			os.Exit(1)
		}
		return
	}

	in := bufio.NewReader(os.Stdin)
	for {
		line, readErr := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var v any = answerLine(line)
			if err := enc.Encode(v); err != nil {
				fmt.Fprintf(os.Stderr, "parity_extract_json: %v\n", err)
				os.Exit(1)
			}
			if err := out.Flush(); err != nil {
				os.Exit(1)
			}
		}
		if readErr != nil {
			if !errors.Is(readErr, io.EOF) {
				fmt.Fprintf(os.Stderr, "parity_extract_json: read stdin: %v\n", readErr)
				os.Exit(1)
			}
			return
		}
	}
}

func answerLine(line []byte) any {
	var req lineRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return errorAnswer{Error: err.Error()}
	}
	if req.Raw == nil {
		return errorAnswer{Error: `expected an object with a string "raw"`}
	}
	return extract(*req.Raw)
}

func extract(raw string) answer {
	obj, ok := validator.ExtractJSON(raw)
	return answer{Matched: ok, Value: obj}
}
