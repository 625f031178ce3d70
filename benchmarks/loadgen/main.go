// Command loadgen is a small, bounded HTTP load generator for loopback
// benchmarks. It refuses any host other than 127.0.0.1, ::1 or
// localhost, and always stops by itself: after -d, or after -n
// requests, whichever comes first.
//
//	loadgen -url http://127.0.0.1:4110/v1/validate -body fill.json -c 32 -d 10s
//
// With -body the requests are POSTs of that file (Content-Type
// application/json); without it they are GETs. The result is one JSON
// line on stdout:
//
//	{"url":..., "concurrency":32, "duration_s":10.0, "requests":N,
//	 "errors":E, "status":{"200":N}, "non_2xx":0, "rps":..., "p50_ms":...,
//	 "p99_ms":..., "max_ms":...}
//
// requests counts completed responses; errors counts transport errors
// (requests cut short by the end of the run are not counted at all).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const maxRequestsCap = 50_000_000

type result struct {
	URL         string         `json:"url"`
	Method      string         `json:"method"`
	Concurrency int            `json:"concurrency"`
	DurationS   float64        `json:"duration_s"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Status      map[string]int `json:"status"`
	Non2xx      int            `json:"non_2xx"`
	RPS         float64        `json:"rps"`
	P50Ms       float64        `json:"p50_ms"`
	P99Ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	FirstError  string         `json:"first_error,omitempty"`
}

// workerStats is owned by one worker goroutine until the run ends.
type workerStats struct {
	latencies []time.Duration
	status    map[int]int
	errors    int
	firstErr  error
}

func main() {
	target := flag.String("url", "", "target URL (127.0.0.1, ::1 or localhost only)")
	bodyFile := flag.String("body", "", "file to POST as application/json (GET when empty)")
	concurrency := flag.Int("c", 32, "concurrent workers")
	duration := flag.Duration("d", 10*time.Second, "run duration")
	maxRequests := flag.Int("n", 1_000_000, fmt.Sprintf("maximum number of requests (at most %d)", maxRequestsCap))
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout")
	flag.Parse()

	if err := run(*target, *bodyFile, *concurrency, *duration, *maxRequests, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}
}

func run(target, bodyFile string, concurrency int, duration time.Duration, maxRequests int, timeout time.Duration) error {
	if err := checkLoopback(target); err != nil {
		return err
	}
	switch {
	case concurrency < 1 || concurrency > 4096:
		return fmt.Errorf("-c %d: want 1-4096", concurrency)
	case duration <= 0 || duration > time.Hour:
		return fmt.Errorf("-d %v: want more than 0 and at most 1h", duration)
	case maxRequests < 1 || maxRequests > maxRequestsCap:
		return fmt.Errorf("-n %d: want 1-%d", maxRequests, maxRequestsCap)
	case timeout <= 0:
		return fmt.Errorf("-timeout %v: want a positive duration", timeout)
	}

	method := http.MethodGet
	var body []byte
	if bodyFile != "" {
		b, err := os.ReadFile(bodyFile)
		if err != nil {
			return err
		}
		method, body = http.MethodPost, b
	}

	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only: never via a proxy
			DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	var issued atomic.Int64
	stats := make([]*workerStats, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range stats {
		st := &workerStats{status: map[int]int{}}
		stats[w] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && issued.Add(1) <= int64(maxRequests) {
				t0 := time.Now()
				code, err := do(ctx, client, method, target, body)
				elapsed := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // cut short by the end of the run
					}
					st.errors++
					if st.firstErr == nil {
						st.firstErr = err
					}
					continue
				}
				st.status[code]++
				st.latencies = append(st.latencies, elapsed)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)

	res := result{
		URL:         target,
		Method:      method,
		Concurrency: concurrency,
		DurationS:   round(wall.Seconds(), 3),
		Status:      map[string]int{},
	}
	var all []time.Duration
	for _, st := range stats {
		all = append(all, st.latencies...)
		res.Errors += st.errors
		if res.FirstError == "" && st.firstErr != nil {
			res.FirstError = st.firstErr.Error()
		}
		for code, n := range st.status {
			res.Status[strconv.Itoa(code)] += n
			if code < 200 || code > 299 {
				res.Non2xx += n
			}
		}
	}
	res.Requests = len(all)
	if wall > 0 {
		res.RPS = round(float64(res.Requests)/wall.Seconds(), 1)
	}
	if len(all) > 0 {
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		res.P50Ms = ms(percentile(all, 0.50))
		res.P99Ms = ms(percentile(all, 0.99))
		res.MaxMs = ms(all[len(all)-1])
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// do sends one request and drains the response.
func do(ctx context.Context, c *http.Client, method, target string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func checkLoopback(target string) error {
	if target == "" {
		return errors.New("-url is required")
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("-url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url %q: want http or https", target)
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
		return nil
	}
	return fmt.Errorf("-url %q: only 127.0.0.1, ::1 or localhost may be targeted", target)
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
