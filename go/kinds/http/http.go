// Package http registers the http kind: requests with retries, over one
// connection pool per runtime.
package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gogoroutines.dev/go/kind"
)

// maxRedirects is how many redirects one request follows at most.
const maxRedirects = 10

func init() {
	kind.Register(&kind.Kind{
		Name: "http",
		Doc: "Makes an HTTP request, with retries; the result is the response body. " +
			"meta: status, headers, url (final), attempts, elapsed.",
		Params: []kind.Param{
			{Name: "url", Type: kind.String, Required: true, Doc: "an http:// or https:// URL"},
			{Name: "method", Type: kind.String, Default: "GET", Doc: "the request method"},
			{Name: "headers", Type: kind.StringMap, Doc: "request headers"},
			{Name: "body", Type: kind.Data, Doc: "the request body"},
			{Name: "retries", Type: kind.Int, Default: 0, Doc: "retries on connection errors, 429 and 5xx (POST/PATCH: only 429, 503 and refused connections)"},
			{Name: "backoff", Type: kind.Number, Default: 0.1, Doc: "first retry delay in seconds, doubling, with jitter"},
			{Name: "max_bytes", Type: kind.Int, Default: 64 << 20, Doc: "fail if the body is larger (0: no limit)"},
			{Name: "follow_redirects", Type: kind.Bool, Default: true, Doc: "follow up to 10 redirects"},
			{Name: "raise_for_status", Type: kind.Bool, Default: true, Doc: "fail on a final status that is not 2xx"},
			{Name: "verify", Type: kind.Bool, Default: true, Doc: "verify TLS certificates"},
			{Name: "stream", Type: kind.Channel, Doc: "send the body as bytes chunks to this channel as they arrive, closed at the end (no retry once the body started); the result is then empty"},
		},
		Prepare: prepareHTTP,
	})
}

// httpRequest is one validated http task.
type httpRequest struct {
	client         *http.Client
	url            string
	method         string
	target         *url.URL // url, parsed
	host           string   // the Host header to send
	headers        http.Header
	body           []byte
	hasBody        bool
	retries        int
	backoff        time.Duration
	maxBytes       int64
	follow         bool
	raiseForStatus bool
	stream         kind.Stream
}

func prepareHTTP(a *kind.Args) (kind.Work, error) {
	r := httpRequest{
		url:            a.Str("url"),
		method:         a.Str("method"),
		body:           a.Data("body"),
		hasBody:        a.Has("body"),
		retries:        int(a.IntIn("retries", 0, 1000)),
		backoff:        a.Seconds("backoff"),
		maxBytes:       a.IntIn("max_bytes", 0, math.MaxInt64),
		follow:         a.Bool("follow_redirects"),
		raiseForStatus: a.Bool("raise_for_status"),
		stream:         a.Stream("stream"),
	}
	headers := a.StrMap("headers")
	verify := a.Bool("verify")
	if err := a.Err(); err != nil {
		return nil, err
	}
	u, err := url.Parse(r.url)
	if err != nil {
		return nil, a.Invalid("url", "is not a valid URL: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, a.Invalid("url", "must be an absolute http:// or https:// URL, got %q", r.url)
	}
	if r.method == "" || strings.ContainsAny(r.method, " \t()<>@,;:\\\"/[]?={}") || hasControl(r.method, false) {
		return nil, a.Invalid("method", "is not a valid HTTP method: %q", r.method)
	}
	r.headers = make(http.Header, len(headers)) // an empty one too: the transport refuses nil
	for k, v := range headers {
		if k == "" || strings.ContainsAny(k, " :") || hasControl(k, false) || hasControl(v, true) {
			return nil, a.Invalid("headers", "has an invalid header %q: %q", k, v)
		}
		r.headers.Set(k, v)
	}
	newClients := newVerifiedClients
	if !verify {
		newClients = newInsecureClients
	}
	clients := a.Host().Shared(clientsKey{verify: verify}, newClients).(*httpClients)
	r.client = clients.noFollow
	if r.follow {
		r.client = clients.follow
	}
	u.Host = strings.TrimSuffix(u.Host, ":") // as http.NewRequest normalizes it
	r.target, r.host = u, u.Host
	if host := r.headers.Get("Host"); host != "" {
		r.host = host // Go sends req.Host, not a Host header
	}
	return r.run, nil
}

// newRequest builds an attempt's request with the fields http.NewRequest
// sets, from the URL prepareHTTP parsed already: an attempt neither parses
// the URL again nor allocates a URL and a header map.
func (r httpRequest) newRequest(ctx context.Context) *http.Request {
	req := &http.Request{
		Method:     r.method,
		URL:        r.target,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     r.headers,
		Host:       r.host,
	}
	if len(r.headers) > 0 {
		req.Header = r.headers.Clone()
	}
	if r.hasBody {
		// A body of length 0 is sent as an explicit "Content-Length: 0", as
		// http.NewRequest does for an empty bytes.Reader; GetBody lets the
		// client send the body again after a 307 or 308 redirect.
		body := r.body
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) {
			if len(body) == 0 {
				return http.NoBody, nil
			}
			return io.NopCloser(bytes.NewReader(body)), nil
		}
		req.Body, _ = req.GetBody()
	}
	return req.WithContext(ctx)
}

// hasControl reports whether s holds a control character (a tab is allowed
// where allowTab is true, as in header values).
func hasControl(s string, allowTab bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && !(allowTab && c == '\t')) || c == 0x7f {
			return true
		}
	}
	return false
}

// clientsKey is the key of a runtime's HTTP clients on its kind.Host: one
// pooled transport each for verified and unverified TLS, made on first use,
// shared by the runtime's tasks and closed with it.
type clientsKey struct{ verify bool }

func newVerifiedClients(h kind.Host) any { return newHTTPClients(true, h.MaxConcurrency()) }
func newInsecureClients(h kind.Host) any { return newHTTPClients(false, h.MaxConcurrency()) }

// httpClients are two clients over one transport (so one connection pool):
// one follows redirects and one does not. Choosing the client when the task
// is prepared spares every request a context value for its redirect policy.
type httpClients struct {
	transport *http.Transport
	follow    *http.Client
	noFollow  *http.Client
}

// Close drops the idle connections of the clients' transport; the runtime
// calls it when it closes.
func (c *httpClients) Close() { c.transport.CloseIdleConnections() }

// newHTTPClients builds the clients over a transport that keeps enough idle
// connections per host for a fan-out (Go's default keeps 2).
func newHTTPClients(verify bool, concurrency int) *httpClients {
	perHost := 256
	if concurrency > 0 {
		perHost = concurrency
	}
	transport := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no overall limit
		MaxIdleConnsPerHost:   perHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: !verify}, //nolint:gosec // only when asked
	}
	return &httpClients{
		transport: transport,
		follow: &http.Client{
			Transport: transport,
			CheckRedirect: func(_ *http.Request, via []*http.Request) error {
				if len(via) > maxRedirects {
					return fmt.Errorf("stopped after %d redirects", maxRedirects)
				}
				return nil
			},
		},
		noFollow: &http.Client{
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// errRedirects wraps the error of a request that met too many redirects.
var errRedirects = errors.New("too many redirects")

func (r httpRequest) run(ctx context.Context) (kind.Result, error) {
	start := time.Now()
	var last httpAttempt // the latest response's status, headers and URL
	finish := func(attempts int, data []byte, err error) (kind.Result, error) {
		return kind.Result{Data: data, Meta: last.meta(r.url, attempts, time.Since(start))}, err
	}
	for attempt := 1; ; attempt++ {
		data, err := r.once(ctx, &last)
		if ctx.Err() != nil {
			return finish(attempt, nil, ctx.Err()) // cancelled, or the task's timeout passed
		}
		if attempt <= r.retries && r.retryable(last.status, err) {
			delay := r.backoff * time.Duration(1<<min(attempt-1, 20))
			delay = time.Duration(float64(delay) * (0.5 + rand.Float64())) // jitter: 0.5x to 1.5x
			if err == nil {
				// A response came: honour its Retry-After.
				delay = max(delay, retryAfter(last.header.Get("Retry-After")))
			}
			if err := kind.Sleep(ctx, delay); err != nil {
				return finish(attempt, nil, err)
			}
			continue
		}
		if err != nil {
			return finish(attempt, nil, fmt.Errorf("%s %s: %w", r.method, r.url, err))
		}
		if status := last.status; r.raiseForStatus && (status < 200 || status > 299) {
			return finish(attempt, nil, fmt.Errorf("%s %s: HTTP %d %s; body starts: %q", r.method,
				last.finalURL(r.url), status, http.StatusText(status), head(data, 200)))
		}
		return finish(attempt, data, nil)
	}
}

// httpAttempt is what the task's meta reports of its latest response.
type httpAttempt struct {
	status int
	header http.Header // for Retry-After; not kept in the meta
	pairs  headerMeta
	url    *url.URL // nil until a response came
}

// finalURL is the URL of the latest response, or requested when none came.
func (a *httpAttempt) finalURL(requested string) string {
	if a.url == nil {
		return requested
	}
	return a.url.String()
}

// httpMeta is the task's meta, made and marshalled to JSON only if the meta
// is read (most callers of a fan-out never ask, and a map never does), with
// headers and URL formatted only then. The fields are in the order
// json.Marshal gives a map's keys.
type httpMeta struct {
	Attempts int        `json:"attempts"`
	Elapsed  float64    `json:"elapsed"`
	Headers  headerMeta `json:"headers"`
	Status   int        `json:"status"`
	URL      any        `json:"url"` // the requested string, or a urlMeta
}

// meta is the task's meta, built when read.
func (a *httpAttempt) meta(requested string, attempts int, elapsed time.Duration) func() any {
	status, pairs, final := a.status, a.pairs, a.url
	return func() any {
		m := &httpMeta{Attempts: attempts, Elapsed: elapsed.Seconds(), Headers: pairs,
			Status: status, URL: requested}
		if final != nil {
			m.URL = urlMeta{final}
		}
		return m
	}
}

// headerMeta is a response's headers as meta shows them, as name, value
// pairs (the values of a name joined with ", "): more compact than the
// response's own header map, which the result would otherwise keep alive
// for as long as the task is not released.
type headerMeta []string

func newHeaderMeta(h http.Header) headerMeta {
	pairs := make(headerMeta, 0, 2*len(h))
	for k, v := range h {
		pairs = append(pairs, k, strings.Join(v, ", "))
	}
	return pairs
}

// MarshalJSON writes an object, empty before any response.
func (h headerMeta) MarshalJSON() ([]byte, error) {
	joined := make(map[string]string, len(h)/2)
	for i := 0; i+1 < len(h); i += 2 {
		joined[h[i]] = h[i+1]
	}
	return json.Marshal(joined)
}

// urlMeta is the final URL of a response as meta shows it: a string.
type urlMeta struct{ url *url.URL }

func (u urlMeta) MarshalJSON() ([]byte, error) { return json.Marshal(u.url.String()) }

// retryable tells whether an attempt's outcome is worth another try. A
// request that may not be repeated safely (POST, PATCH) is retried only when
// the server said it did not process it (429, 503) or no connection was made.
func (r httpRequest) retryable(status int, err error) bool {
	idempotent := r.method != http.MethodPost && r.method != http.MethodPatch
	if err != nil {
		var certErr *tls.CertificateVerificationError
		var unknownAuthority x509.UnknownAuthorityError
		var hostnameErr x509.HostnameError
		switch {
		case errors.Is(err, kind.ErrTooLarge), errors.Is(err, errRedirects), errors.Is(err, errStreamed),
			errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
			return false // the same again would fail the same way
		case errors.Is(err, syscall.ECONNREFUSED):
			return true // nothing was sent
		}
		return idempotent
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		return true
	}
	return idempotent && status >= 500
}

// once makes one attempt: it returns the body, and records the response's
// status, headers and URL in last.
func (r httpRequest) once(ctx context.Context, last *httpAttempt) ([]byte, error) {
	resp, err := r.client.Do(r.newRequest(ctx))
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) && strings.HasPrefix(uerr.Err.Error(), "stopped after") {
			return nil, fmt.Errorf("%w: %v", errRedirects, uerr.Err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	*last = httpAttempt{status: resp.StatusCode, header: resp.Header, pairs: newHeaderMeta(resp.Header),
		url: resp.Request.URL}
	if r.maxBytes > 0 && resp.ContentLength > r.maxBytes {
		return nil, fmt.Errorf("the response body has %d bytes: %w (%d)",
			resp.ContentLength, kind.ErrTooLarge, r.maxBytes)
	}
	if r.stream != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil, r.streamBody(ctx, resp.Body)
	}
	return r.readBody(ctx, resp)
}

// readBody reads the whole body straight into the buffer that becomes the
// result: sized from Content-Length, it is read in one or few calls, with no
// intermediate buffer and no copy. The body must be read to its EOF (not only
// to its length) for the transport to reuse the connection.
func (r httpRequest) readBody(ctx context.Context, resp *http.Response) ([]byte, error) {
	if resp.Body == http.NoBody {
		return nil, nil // HEAD, 204, 304: whatever Content-Length says, nothing follows
	}
	size := int64(512) // unknown length (chunked, decompressed): start small, then double
	if resp.ContentLength >= 0 {
		size = min(resp.ContentLength, 64<<20) // a lying header cannot reserve more
	}
	if r.maxBytes > 0 {
		size = min(size, r.maxBytes)
	}
	buf := make([]byte, 0, size)
	var probe [1]byte // read into when buf is full: the usual answer, EOF, then costs no growth
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var n int
		var err error
		if len(buf) < cap(buf) {
			n, err = resp.Body.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
		} else if n, err = resp.Body.Read(probe[:]); n > 0 {
			if r.maxBytes > 0 && int64(len(buf)+n) > r.maxBytes {
				return nil, fmt.Errorf("the response body is %w (%d)", kind.ErrTooLarge, r.maxBytes)
			}
			newCap := int64(max(2*cap(buf), 512))
			if r.maxBytes > 0 {
				newCap = min(newCap, r.maxBytes) // no room past the limit: the probe tells a larger body
			}
			buf = append(make([]byte, 0, newCap), buf...)
			buf = append(buf, probe[:n]...)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// errStreamed marks a failure after part of the body went to the stream: a
// retry would send it twice.
var errStreamed = errors.New("failed after streaming part of the body")

// streamBody sends the body to the stream channel in chunks as they arrive.
func (r httpRequest) streamBody(ctx context.Context, body io.Reader) error {
	buf := make([]byte, 64<<10)
	var total int64
	for {
		n, err := body.Read(buf)
		if n > 0 {
			total += int64(n)
			if r.maxBytes > 0 && total > r.maxBytes {
				return fmt.Errorf("%w: the response body is %w (%d)", errStreamed, kind.ErrTooLarge, r.maxBytes)
			}
			if serr := r.stream.Send(ctx, kind.Item{Data: bytes.Clone(buf[:n])}); serr != nil {
				return fmt.Errorf("%w: %w", errStreamed, serr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errStreamed, err)
		}
	}
}

// retryAfter parses a Retry-After header: seconds or an HTTP date. Absurd
// values are capped; the task's own timeout bounds the wait anyway.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), time.Hour)
	}
	return 0
}

// head returns at most n bytes from the start of b, as text.
func head(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
