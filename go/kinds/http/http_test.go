package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
)

// httpTestServer serves:
//
//	/len/N      N bytes with a Content-Length
//	/chunked/N  N bytes without one (chunked)
//	/multi      a header with two values
//	/redirect   a redirect to /len/3
//
// and counts the connections it accepted.
func httpTestServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		kind, arg, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		n, _ := strconv.Atoi(arg)
		body := bytes.Repeat([]byte("abcdefghij"), n/10+1)[:n]
		switch kind {
		case "len":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			_, _ = w.Write(body)
		case "chunked":
			for len(body) > 0 { // several writes, each flushed as its own chunk
				k := min(len(body), 1000)
				_, _ = w.Write(body[:k])
				w.(http.Flusher).Flush()
				body = body[k:]
			}
		case "multi":
			w.Header().Add("X-Two", "a")
			w.Header().Add("X-Two", "b")
		case "redirect":
			http.Redirect(w, req, "/len/3", http.StatusFound)
		default:
			http.NotFound(w, req)
		}
	}))
	conns := new(atomic.Int64)
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, conns
}

// httpOutcome runs one http task to its end and returns it.
func httpOutcome(t *testing.T, rt *engine.Runtime, values ...kind.Value) *engine.Task {
	t.Helper()
	task, _ := testkit.WaitFinal(t, rt, testkit.Spawn(t, rt, "http", values, testkit.HangGuard))
	return task
}

func TestHTTPBodySizes(t *testing.T) {
	srv, _ := httpTestServer(t)
	rt := testkit.NewRuntime(t, 4)
	for _, path := range []string{"/len/0", "/len/1", "/len/1024", "/len/100000",
		"/chunked/1", "/chunked/511", "/chunked/512", "/chunked/513", "/chunked/100000"} {
		_, arg, _ := strings.Cut(path[1:], "/")
		want, _ := strconv.Atoi(arg)
		task := httpOutcome(t, rt, testkit.Str("url", srv.URL+path))
		if task.State() != engine.StateCompleted {
			t.Fatalf("%s: state %v: %v", path, task.State(), task.Err())
		}
		if got := task.Result().Data; len(got) != want || !bytes.Equal(got, bytes.Repeat([]byte("abcdefghij"), want/10+1)[:want]) {
			t.Fatalf("%s: got %d bytes, want %d", path, len(got), want)
		}
	}
}

func TestHTTPMaxBytesBoundary(t *testing.T) {
	srv, _ := httpTestServer(t)
	rt := testkit.NewRuntime(t, 4)
	for _, kind := range []string{"len", "chunked"} {
		for _, tc := range []struct {
			size, max int64
			ok        bool
		}{{1000, 1000, true}, {1000, 1001, true}, {1000, 999, false}, {5000, 1, false}, {0, 1, true}} {
			task := httpOutcome(t, rt, testkit.Str("url", fmt.Sprintf("%s/%s/%d", srv.URL, kind, tc.size)), testkit.Int("max_bytes", tc.max))
			if ok := task.State() == engine.StateCompleted; ok != tc.ok {
				t.Fatalf("%s %d bytes, max_bytes %d: state %v, err %v", kind, tc.size, tc.max, task.State(), task.Err())
			}
			if tc.ok && int64(len(task.Result().Data)) != tc.size {
				t.Fatalf("%s %d bytes, max_bytes %d: got %d bytes", kind, tc.size, tc.max, len(task.Result().Data))
			}
			if !tc.ok && !strings.Contains(task.Err().Message, "max_bytes") {
				t.Fatalf("%s %d bytes, max_bytes %d: %v", kind, tc.size, tc.max, task.Err())
			}
		}
	}
}

// TestHTTPConnectionsAreReused checks that a body read to its end returns
// the connection to the pool: sequential requests share one connection.
func TestHTTPConnectionsAreReused(t *testing.T) {
	srv, conns := httpTestServer(t)
	rt := testkit.NewRuntime(t, 1)
	for _, path := range []string{"/len/1024", "/len/0", "/chunked/3000", "/len/70000", "/len/5"} {
		for range 3 {
			if task := httpOutcome(t, rt, testkit.Str("url", srv.URL+path)); task.State() != engine.StateCompleted {
				t.Fatalf("%s: state %v: %v", path, task.State(), task.Err())
			}
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("15 sequential requests used %d connections, want 1", n)
	}
}

// metaJSON is the task's meta as the C ABI hands it over.
func metaJSON(t *testing.T, task *engine.Task) map[string]any {
	t.Helper()
	doc, err := task.MetaJSON()
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(doc, &meta); err != nil {
		t.Fatal(err)
	}
	return meta
}

func TestHTTPMeta(t *testing.T) {
	srv, _ := httpTestServer(t)
	rt := testkit.NewRuntime(t, 4)

	meta := metaJSON(t, httpOutcome(t, rt, testkit.Str("url", srv.URL+"/multi")))
	headers, _ := meta["headers"].(map[string]any)
	if meta["status"] != 200.0 || meta["url"] != srv.URL+"/multi" || meta["attempts"] != 1.0 || headers["X-Two"] != "a, b" {
		t.Fatalf("meta: %v", meta)
	}
	if e, ok := meta["elapsed"].(float64); !ok || e < 0 {
		t.Fatalf("elapsed: %v", meta["elapsed"])
	}

	meta = metaJSON(t, httpOutcome(t, rt, testkit.Str("url", srv.URL+"/redirect")))
	if meta["status"] != 200.0 || meta["url"] != srv.URL+"/len/3" {
		t.Fatalf("followed redirect: %v", meta)
	}
	task := httpOutcome(t, rt, testkit.Str("url", srv.URL+"/redirect"), testkit.Bool("follow_redirects", false), testkit.Bool("raise_for_status", false))
	meta = metaJSON(t, task)
	headers, _ = meta["headers"].(map[string]any)
	if task.State() != engine.StateCompleted || meta["status"] != 302.0 || meta["url"] != srv.URL+"/redirect" || headers["Location"] != "/len/3" {
		t.Fatalf("unfollowed redirect: %v %v", task.State(), meta)
	}

	// No response at all: status 0, no headers, the URL asked for.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/x"
	ln.Close()
	task = httpOutcome(t, rt, testkit.Str("url", refused))
	meta = metaJSON(t, task)
	if task.State() != engine.StateFailed || meta["status"] != 0.0 || meta["url"] != refused || len(meta["headers"].(map[string]any)) != 0 {
		t.Fatalf("refused: %v %v", task.State(), meta)
	}
}
