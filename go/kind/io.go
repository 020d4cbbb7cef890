package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Helpers for kinds that read or write data: the data-or-path input, copying
// that stops on cancellation, and buffers with a size limit.

// Source is the input of a kind that reads either bytes or a file: exactly
// one of its parameters `data` (Data) and `path` (String) is given.
type Source struct {
	Data []byte
	Path string
}

// Source reads the `data` / `path` pair of arguments; both must be declared
// in the kind's Params.
func (a *Args) Source() Source {
	hasData := a.Has("data")
	data := a.Data("data")
	path := a.Str("path")
	switch {
	case a.err != nil:
	case hasData && path != "":
		a.Invalid("data", "and 'path' were both given; pass exactly one")
	case !hasData && path == "":
		a.Invalid("data", "or 'path' is required")
	}
	return Source{Data: data, Path: path}
}

// Open returns a reader over the source's bytes or file.
func (s Source) Open() (io.ReadCloser, error) {
	if s.Path == "" {
		return io.NopCloser(bytes.NewReader(s.Data)), nil
	}
	return os.Open(s.Path)
}

// BufferSize is the chunk size of CopyContext: large enough that the cost
// of each chunk (a context check, a call) vanishes next to the work.
const BufferSize = 1 << 20

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, BufferSize); return &b }}

// CopyContext copies src to dst in chunks of BufferSize until EOF, an
// error, or ctx is done (then it returns ctx's error).
func CopyContext(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(dst, ContextReader(ctx, src), *buf)
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done, so that a long read of a stream stops when its task is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ErrTooLarge marks an input or output that passed a kind's max_bytes: the
// same again would fail the same way.
var ErrTooLarge = errors.New("larger than max_bytes")

// LimitedBuffer collects bytes up to a limit, so that an oversized input
// fails instead of exhausting memory. It wraps a bytes.Buffer rather than
// embedding one, so that io.Copy cannot bypass Write through ReadFrom.
type LimitedBuffer struct {
	buf        bytes.Buffer
	max        int64
	what       string
	overflowed bool
}

// NewLimitedBuffer returns a buffer that refuses to grow past max bytes (0:
// no limit); what names the data in the error ("stdout").
func NewLimitedBuffer(max int64, what string) *LimitedBuffer {
	return &LimitedBuffer{max: max, what: what}
}

// Write appends p, or fails with an error matching ErrTooLarge.
func (b *LimitedBuffer) Write(p []byte) (int, error) {
	if b.max > 0 && int64(b.buf.Len())+int64(len(p)) > b.max {
		b.overflowed = true
		return 0, fmt.Errorf("%s is %w (%d)", b.what, ErrTooLarge, b.max)
	}
	return b.buf.Write(p)
}

// Overflowed reports whether a write was refused for passing the limit.
func (b *LimitedBuffer) Overflowed() bool { return b.overflowed }

// Grow reserves room for n more bytes (never past the limit).
func (b *LimitedBuffer) Grow(n int) {
	if b.max > 0 && int64(n) > b.max {
		n = int(b.max)
	}
	b.buf.Grow(n)
}

// Bytes returns the collected bytes.
func (b *LimitedBuffer) Bytes() []byte { return b.buf.Bytes() }

// Sleep waits for d or until ctx is done, whichever comes first, and
// returns ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
