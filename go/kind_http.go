package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"sync"
	"syscall"
	"time"
)

// maxRedirects is how many redirects one request follows at most.
const maxRedirects = 10

func init() {
	register(&Kind{
		Name: "http",
		Doc: "Makes an HTTP request, with retries; the result is the response body. " +
			"meta: status, headers, url (final), attempts, elapsed.",
		Params: []Param{
			{Name: "url", Type: "str", Required: true, Doc: "an http:// or https:// URL"},
			{Name: "method", Type: "str", Default: "GET", Doc: "the request method"},
			{Name: "headers", Type: "dict[str, str]", Doc: "request headers"},
			{Name: "body", Type: "str | bytes", Doc: "the request body"},
			{Name: "retries", Type: "int", Default: "0", Doc: "retries on connection errors, 429 and 5xx (POST/PATCH: only 429, 503 and refused connections)"},
			{Name: "backoff", Type: "float", Default: "0.1", Doc: "first retry delay in seconds, doubling, with jitter"},
			{Name: "max_bytes", Type: "int", Default: "67108864", Doc: "fail if the body is larger (0: no limit)"},
			{Name: "follow_redirects", Type: "bool", Default: "True", Doc: "follow up to 10 redirects"},
			{Name: "raise_for_status", Type: "bool", Default: "True", Doc: "fail on a final status that is not 2xx"},
			{Name: "verify", Type: "bool", Default: "True", Doc: "verify TLS certificates"},
			{Name: "stream", Type: "Channel", Doc: "send the body as bytes chunks to this channel as they arrive, closed at the end (no retry once the body started); the result is then empty"},
		},
		Prepare: prepareHTTP,
	})
}

// httpRequest is one validated http task.
type httpRequest struct {
	client         *http.Client
	url            string
	method         string
	headers        http.Header
	body           []byte
	hasBody        bool
	retries        int
	backoff        time.Duration
	maxBytes       int64
	follow         bool
	raiseForStatus bool
	stream         *Channel
}

func prepareHTTP(a *Args) (Work, error) {
	var r httpRequest
	var err error
	if r.url, err = a.RequiredStr("url"); err != nil {
		return nil, err
	}
	u, err := url.Parse(r.url)
	if err != nil {
		return nil, a.errorf("url", "is not a valid URL: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, a.errorf("url", "must be an absolute http:// or https:// URL, got %q", r.url)
	}
	if r.method, err = a.Str("method", "GET"); err != nil {
		return nil, err
	}
	if r.method == "" || strings.ContainsAny(r.method, " \t()<>@,;:\\\"/[]?={}") || hasControl(r.method, false) {
		return nil, a.errorf("method", "is not a valid HTTP method: %q", r.method)
	}
	headers, err := a.StrMap("headers")
	if err != nil {
		return nil, err
	}
	r.headers = make(http.Header, len(headers))
	for k, v := range headers {
		if k == "" || strings.ContainsAny(k, " :") || hasControl(k, false) || hasControl(v, true) {
			return nil, a.errorf("headers", "has an invalid header %q: %q", k, v)
		}
		r.headers.Set(k, v)
	}
	if r.body, r.hasBody, err = a.Data("body"); err != nil {
		return nil, err
	}
	retries, err := a.Int("retries", 0, 0, 1000)
	if err != nil {
		return nil, err
	}
	r.retries = int(retries)
	if r.backoff, err = a.Seconds("backoff", 0.1); err != nil {
		return nil, err
	}
	if r.maxBytes, err = a.Int("max_bytes", 64<<20, 0, math.MaxInt64); err != nil {
		return nil, err
	}
	if r.follow, err = a.Bool("follow_redirects", true); err != nil {
		return nil, err
	}
	if r.raiseForStatus, err = a.Bool("raise_for_status", true); err != nil {
		return nil, err
	}
	verify, err := a.Bool("verify", true)
	if err != nil {
		return nil, err
	}
	if r.stream, err = a.Channel("stream"); err != nil {
		return nil, err
	}
	if a.rt != nil {
		r.client = a.rt.web.client(verify, a.rt.maxConcurrency)
	} else {
		r.client = newHTTPClient(verify, 0)
	}
	return r.run, nil
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

// webClients are a runtime's HTTP clients: one pooled transport each for
// verified and unverified TLS, created on first use and shared by its tasks.
type webClients struct {
	mu       sync.Mutex
	verified *http.Client
	insecure *http.Client
}

func (w *webClients) client(verify bool, concurrency int) *http.Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	slot := &w.verified
	if !verify {
		slot = &w.insecure
	}
	if *slot == nil {
		*slot = newHTTPClient(verify, concurrency)
	}
	return *slot
}

// close drops the idle connections of the runtime's transports.
func (w *webClients) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range []*http.Client{w.verified, w.insecure} {
		if c != nil {
			c.CloseIdleConnections()
		}
	}
}

// followKey marks, in a request's context, whether redirects are followed.
type followKey struct{}

// newHTTPClient builds a client whose transport keeps enough idle
// connections per host for a fan-out (Go's default keeps 2).
func newHTTPClient(verify bool, concurrency int) *http.Client {
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
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if follow, _ := req.Context().Value(followKey{}).(bool); !follow {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// errRedirects wraps the error of a request that met too many redirects.
var errRedirects = errors.New("too many redirects")

func (r httpRequest) run(ctx context.Context) (Result, error) {
	if r.stream != nil {
		defer r.stream.Close()
	}
	ctx = context.WithValue(ctx, followKey{}, r.follow)
	start := time.Now()
	meta := map[string]any{"status": 0, "headers": map[string]string{}, "url": r.url, "attempts": 0}
	finish := func(data []byte, err error) (Result, error) {
		meta["elapsed"] = time.Since(start).Seconds()
		return Result{Data: data, Meta: meta}, err
	}
	for attempt := 1; ; attempt++ {
		meta["attempts"] = attempt
		status, data, retryAfter, err := r.once(ctx, meta)
		if ctx.Err() != nil {
			return finish(nil, ctx.Err()) // cancelled, or the task's timeout passed
		}
		retryable := r.retryable(status, err)
		if retryable && attempt <= r.retries {
			delay := r.backoff * time.Duration(1<<min(attempt-1, 20))
			delay = time.Duration(float64(delay) * (0.5 + rand.Float64())) // jitter: 0.5x to 1.5x
			delay = max(delay, retryAfter)
			if err := sleepCtx(ctx, delay); err != nil {
				return finish(nil, err)
			}
			continue
		}
		if err != nil {
			return finish(nil, fmt.Errorf("%s %s: %w", r.method, r.url, err))
		}
		if r.raiseForStatus && (status < 200 || status > 299) {
			return finish(nil, fmt.Errorf("%s %s: HTTP %d %s; body starts: %q", r.method, meta["url"],
				status, http.StatusText(status), head(data, 200)))
		}
		return finish(data, nil)
	}
}

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
		case errors.Is(err, errTooLarge), errors.Is(err, errRedirects), errors.Is(err, errStreamed),
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

// once makes one attempt: it returns the status, the body and the delay the
// server asked for (Retry-After), and records status, headers and URL in meta.
func (r httpRequest) once(ctx context.Context, meta map[string]any) (int, []byte, time.Duration, error) {
	var body io.Reader
	if r.hasBody {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header = r.headers.Clone()
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host // Go sends req.Host, not a Host header
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) && strings.HasPrefix(uerr.Err.Error(), "stopped after") {
			return 0, nil, 0, fmt.Errorf("%w: %v", errRedirects, uerr.Err)
		}
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	headers := make(map[string]string, len(resp.Header))
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ", ")
	}
	meta["status"], meta["headers"], meta["url"] = resp.StatusCode, headers, resp.Request.URL.String()
	if r.maxBytes > 0 && resp.ContentLength > r.maxBytes {
		return resp.StatusCode, nil, 0, fmt.Errorf("the response body has %d bytes: %w (%d)",
			resp.ContentLength, errTooLarge, r.maxBytes)
	}
	if r.stream != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, nil, 0, r.streamBody(ctx, resp.Body)
	}
	buf := &limitedBuffer{max: r.maxBytes, what: "the response body"}
	if resp.ContentLength > 0 {
		buf.Grow(int(min(resp.ContentLength, 64<<20)))
	}
	if _, err := copyCtx(ctx, buf, resp.Body); err != nil {
		return resp.StatusCode, nil, 0, err
	}
	return resp.StatusCode, buf.Bytes(), retryAfter(resp.Header.Get("Retry-After")), nil
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
				return fmt.Errorf("%w: the response body is %w (%d)", errStreamed, errTooLarge, r.maxBytes)
			}
			if serr := r.stream.Send(ctx, Item{Data: bytes.Clone(buf[:n])}, -1); serr != nil {
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
