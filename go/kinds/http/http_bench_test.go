package http

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
)

// The HTTP fan-out benchmarks: GETs of a 1 KiB body at concurrency 64, once
// through the task path (SpawnMany of kind "http" on a runtime limited to 64,
// then a wait for every task) and once as a plain net/http loop of 64
// goroutines, against the same local server in the same run, so that the
// ratio of the two is the overhead of the task path. Each reports the
// connections it dialed per request: above 0 (after warm-up), they churn.
//
//	go test -run '^$' -bench HTTPFanOut -benchmem -count 5 .
const (
	fanOutConcurrency = 64
	fanOutBodySize    = 1024
	fanOutRound       = 20000
)

// fanOutServer serves a fixed 1 KiB body and counts the connections accepted.
func fanOutServer(b *testing.B) (url string, dials *atomic.Int64) {
	b.Helper()
	body := bytes.Repeat([]byte("x"), fanOutBodySize)
	length := strconv.Itoa(len(body))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", length)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body)
	}))
	dials = new(atomic.Int64)
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	return srv.URL + "/1k.bin", dials
}

// cpuTime is the CPU time the process has used so far (user + system). On a
// shared machine it is a steadier measure of the cost per request than the
// wall clock; it includes the server's share, the same in both benchmarks.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcCycles is the number of garbage collections so far.
func gcCycles() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

// reportFanOut adds the request rate, the CPU time, the garbage collections
// and the dials per request to b's output.
func reportFanOut(b *testing.B, cpu time.Duration, gcs uint32, dials int64) {
	b.ReportMetric(float64(dials)/float64(b.N), "dials/op")
	b.ReportMetric(float64(gcs)*1000/float64(b.N), "gc/1000op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkHTTPFanOutTasks(b *testing.B) {
	url, dials := fanOutServer(b)
	rt := testkit.NewRuntime(b, fanOutConcurrency)
	b.Cleanup(rt.Close)
	runRound := func(n int) {
		items := make([][]kind.Value, n)
		for i := range items {
			items[i] = []kind.Value{testkit.Str("url", url)}
		}
		ids, err := rt.SpawnMany("http", items, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			if _, _, err := rt.Wait(id, testkit.HangGuard); err != nil {
				b.Fatal(err)
			}
		}
		outcomes, err := rt.Collect(ids, 1<<30)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outcomes {
			if o.State != engine.StateCompleted || len(o.Data) != fanOutBodySize {
				b.Fatalf("task %d: state %v, %d bytes: %.200s", o.ID, o.State, len(o.Data), o.Data)
			}
		}
	}
	// As the Python benchmark does: rounds of fanOutRound tasks, each spawned
	// at once (64 running, the rest queued), waited for, then collected.
	run := func(n int) {
		for ; n > fanOutRound; n -= fanOutRound {
			runRound(fanOutRound)
		}
		runRound(n)
	}
	run(fanOutConcurrency) // warm-up: dial the connections outside the timing
	dials.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu, gcs := cpuTime(b), gcCycles()
	run(b.N)
	cpu, gcs = cpuTime(b)-cpu, gcCycles()-gcs
	b.StopTimer()
	reportFanOut(b, cpu, gcs, dials.Load())
}

// BenchmarkHTTPFanOutRawGo is the yardstick: what a Go program pays per GET,
// configured as the pure-Go contender of `python -m benchmarks --cases http`
// (64 idle connections per host, one reused body buffer per goroutine).
func BenchmarkHTTPFanOutRawGo(b *testing.B) {
	url, dials := fanOutServer(b)
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: fanOutConcurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	b.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport}
	run := func(n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		for range fanOutConcurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 0, fanOutBodySize)
				for next.Add(1) <= int64(n) {
					body, err := rawGet(client, url, buf)
					if err == nil && len(body) != fanOutBodySize {
						err = fmt.Errorf("got %d bytes", len(body))
					}
					if err != nil {
						failed.Store(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
	}
	run(fanOutConcurrency)
	dials.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu, gcs := cpuTime(b), gcCycles()
	run(b.N)
	cpu, gcs = cpuTime(b)-cpu, gcCycles()-gcs
	b.StopTimer()
	reportFanOut(b, cpu, gcs, dials.Load())
}

func rawGet(client *http.Client, url string, buf []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
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
