// Package wordcount registers the count_words kind: the lines, words and
// bytes of a text or of a file, as `wc` counts them.
//
// It is the example of docs/go-kinds.md in the gogoroutines repository: a
// user's own task kind, built into the Go archive of the Python module or of
// a C++ program beside the built-in kinds.
package wordcount

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gogoroutines.dev/go/kind"
)

// Kind is the count_words kind. It is exported so that tests (and programs
// that want its Params) can refer to it; init registers it.
var Kind = &kind.Kind{
	Name: "count_words",
	Doc: "Counts the lines, words and bytes of data or of a file (streamed), as wc does; " +
		"the result is \"lines words bytes\". meta: lines, words, bytes.",
	Params: []kind.Param{
		{Name: "data", Type: kind.Data, Doc: "the text to count (or give path)"},
		{Name: "path", Type: kind.String, Doc: "a file (or FIFO) to count, read in chunks (or give data)"},
		{Name: "max_bytes", Type: kind.Int, Default: 0, Doc: "fail if the input is larger (0: no limit)"},
	},
	Prepare: prepare,
}

func init() { kind.Register(Kind) }

// prepare validates one task's arguments on the spawning thread and returns
// its work. It does no I/O: whether path exists is the work's to find out.
func prepare(a *kind.Args) (kind.Work, error) {
	src := a.Source() // exactly one of data and path
	limit := a.IntIn("max_bytes", 0, math.MaxInt64)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if strings.IndexByte(src.Path, 0) >= 0 {
		return nil, a.Invalid("path", "contains a NUL byte")
	}
	// The size of data is known now: refuse it at spawn rather than fail later.
	if src.Path == "" && limit > 0 && int64(len(src.Data)) > limit {
		return nil, a.Invalid("data", "has %d bytes, more than max_bytes (%d)", len(src.Data), limit)
	}
	return func(ctx context.Context) (kind.Result, error) {
		return count(ctx, src, limit)
	}, nil
}

// Counts is the result of one task, and its meta.
type Counts struct {
	Lines int64 `json:"lines"`
	Words int64 `json:"words"`
	Bytes int64 `json:"bytes"`
}

// String formats the counts as the task's result: "lines words bytes".
func (c Counts) String() string {
	return strconv.FormatInt(c.Lines, 10) + " " + strconv.FormatInt(c.Words, 10) + " " +
		strconv.FormatInt(c.Bytes, 10)
}

// count reads the source in chunks of kind.BufferSize, so that a file of any
// size is counted in bounded memory, and stops when ctx is done.
func count(ctx context.Context, src kind.Source, limit int64) (kind.Result, error) {
	r, err := src.Open()
	if err != nil {
		return kind.Result{}, err
	}
	defer r.Close()
	// CopyContext checks ctx between reads, but a read that blocks (a FIFO or
	// a pipe with no data yet) does not look at ctx: closing the file ends it.
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()

	c := &counter{max: limit, what: "input"}
	if src.Path != "" {
		c.what = "file " + src.Path
	}
	_, err = kind.CopyContext(ctx, c, r)
	if ctx.Err() != nil {
		return kind.Result{}, ctx.Err() // cancelled or timed out: the engine reports which
	}
	if err != nil {
		return kind.Result{}, err
	}
	counts := c.finish()
	return kind.Result{
		Data: []byte(counts.String()),
		Meta: kind.MetaOf(counts),
	}, nil
}

// asciiSpace marks the ASCII characters that unicode.IsSpace reports as space.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// counter is an io.Writer that counts what is written to it. A word is a
// maximal run of characters that are not white space (unicode.IsSpace), as
// strings.Fields splits; bytes that are not valid UTF-8 count as characters
// of a word. A multi-byte character may be split between two writes.
type counter struct {
	Counts
	inWord  bool
	partial [utf8.UTFMax]byte // the bytes so far of a multi-byte character
	n, need int               // how many are in partial, and how many it takes
	max     int64             // refuse to count more bytes than this (0: no limit)
	what    string            // names the input in errors
}

func (c *counter) Write(p []byte) (int, error) {
	if c.max > 0 && c.Bytes+int64(len(p)) > c.max {
		return 0, fmt.Errorf("%s is %w (%d)", c.what, kind.ErrTooLarge, c.max)
	}
	c.Bytes += int64(len(p))
	for _, b := range p {
		if c.need > 0 {
			if b&0xC0 == 0x80 { // a continuation byte
				c.partial[c.n] = b
				if c.n++; c.n == c.need {
					r, _ := utf8.DecodeRune(c.partial[:c.n])
					c.char(unicode.IsSpace(r)) // utf8.RuneError is not space
					c.need = 0
				}
				continue
			}
			c.char(false) // a cut sequence: invalid bytes, part of a word
			c.need = 0
		}
		switch {
		case b < utf8.RuneSelf:
			if b == '\n' {
				c.Lines++
			}
			c.char(asciiSpace[b])
		case b >= 0xC2 && b <= 0xF4: // the first byte of a multi-byte character
			c.partial[0], c.n = b, 1
			c.need = 2
			if b >= 0xE0 {
				c.need = 3
			}
			if b >= 0xF0 {
				c.need = 4
			}
		default: // a stray continuation byte or one that never starts a character
			c.char(false)
		}
	}
	return len(p), nil
}

// char counts one character: white space ends a word, anything else starts one.
func (c *counter) char(space bool) {
	switch {
	case space:
		c.inWord = false
	case !c.inWord:
		c.inWord = true
		c.Words++
	}
}

// finish counts a character cut off by the end of the input, and returns the counts.
func (c *counter) finish() Counts {
	if c.need > 0 {
		c.char(false)
		c.need = 0
	}
	return c.Counts
}

// counter is what CopyContext writes to.
var _ io.Writer = (*counter)(nil)
