package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ioBufferSize is the chunk size of streamed reads: large enough that the
// per-chunk overhead (a context check, a call) vanishes next to the work.
const ioBufferSize = 1 << 20

var ioBuffers = sync.Pool{New: func() any { b := make([]byte, ioBufferSize); return &b }}

// ctxReader stops a stream with the context's error once it is cancelled.
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

// open returns a reader over the source's bytes or file.
func (s Source) open() (io.ReadCloser, error) {
	if s.Path == "" {
		return io.NopCloser(bytes.NewReader(s.Data)), nil
	}
	return os.Open(s.Path)
}

// copyCtx copies src to dst in large chunks until EOF or cancellation.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := ioBuffers.Get().(*[]byte)
	defer ioBuffers.Put(buf)
	return io.CopyBuffer(dst, ctxReader{ctx, src}, *buf)
}

// limitedBuffer collects bytes up to max (0: no limit), so that an oversized
// input fails instead of exhausting memory. It wraps a bytes.Buffer rather
// than embedding one, so that io.Copy cannot bypass Write through ReadFrom.
type limitedBuffer struct {
	buf        bytes.Buffer
	max        int64
	what       string
	overflowed bool
}

// errTooLarge marks an input that passed its max_bytes.
var errTooLarge = errors.New("larger than max_bytes")

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.max > 0 && int64(b.buf.Len())+int64(len(p)) > b.max {
		b.overflowed = true
		return 0, fmt.Errorf("%s is %w (%d)", b.what, errTooLarge, b.max)
	}
	return b.buf.Write(p)
}

// Overflowed reports whether a write was refused for passing max.
func (b *limitedBuffer) Overflowed() bool { return b.overflowed }

// Grow reserves room for n more bytes (never past the limit).
func (b *limitedBuffer) Grow(n int) {
	if b.max > 0 && int64(n) > b.max {
		n = int(b.max)
	}
	b.buf.Grow(n)
}

// Bytes returns the collected bytes.
func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }
