// Package probe is the shared driver of the parity probe programs
// (decisions §6): one-shot mode answers all of stdin once; --jsonl answers
// each non-blank input line with one line, flushed as it is written.
package probe

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Answer turns one input (all of stdin, or one line) into the value to print.
type Answer func(input []byte) any

// ErrorAnswer is printed for an input the probe cannot take.
type ErrorAnswer struct {
	Error string `json:"error"`
}

// Run parses -jsonl, serves stdin and exits non-zero on an I/O failure.
func Run(name, usage string, wholeInput, perLine Answer) {
	jsonl := flag.Bool("jsonl", false, usage)
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	var err error
	if *jsonl {
		err = serveLines(os.Stdin, out, perLine)
	} else {
		err = serveOnce(os.Stdin, out, wholeInput)
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func serveOnce(in io.Reader, out *bufio.Writer, answer Answer) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return json.NewEncoder(out).Encode(answer(data))
}

func serveLines(in io.Reader, out *bufio.Writer, answer Answer) error {
	reader := bufio.NewReader(in)
	enc := json.NewEncoder(out)
	for {
		line, readErr := reader.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if err := enc.Encode(answer(line)); err != nil {
				return err
			}
			if err := out.Flush(); err != nil {
				return err
			}
		}
		if readErr != nil {
			if errors.Is(readErr, io.EOF) {
				return nil
			}
			return fmt.Errorf("read stdin: %w", readErr)
		}
	}
}
