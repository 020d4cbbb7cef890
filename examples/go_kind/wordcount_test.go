package wordcount

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"gogoroutines.dev/go/kind"
)

// reference counts as the standard library does: strings.Fields splits at
// unicode.IsSpace, as count_words does.
func reference(data []byte) Counts {
	return Counts{
		Lines: int64(bytes.Count(data, []byte("\n"))),
		Words: int64(len(strings.Fields(string(data)))),
		Bytes: int64(len(data)),
	}
}

// str, bytesArg and integer are argument values as the engine decodes them.
func str(name, s string) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueStr, Bytes: []byte(s)}
}
func bytesArg(name string, b []byte) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueBytes, Bytes: b}
}
func integer(name string, n int64) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueInt, Int: n}
}

// spawn prepares a task as a spawn does: kind.Prepare looks the kind up by
// name, runs its Prepare and then the engine's own checks (unknown arguments,
// types of arguments Prepare did not read). A nil Host keeps no shared state.
func spawn(t *testing.T, values ...kind.Value) (kind.Work, error) {
	t.Helper()
	_, plan, err := kind.Prepare(nil, "count_words", values)
	return plan.Work, err
}

// run prepares and runs a task, failing the test on any error.
func run(t *testing.T, values ...kind.Value) Counts {
	t.Helper()
	work, err := spawn(t, values...)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	res, err := work(context.Background())
	if err != nil {
		t.Fatalf("work: %v", err)
	}
	counts, ok := res.Meta().(Counts)
	if !ok {
		t.Fatalf("meta is %T, not Counts", res.Meta())
	}
	if got := string(res.Data); got != counts.String() {
		t.Fatalf("result %q does not match meta %+v", got, counts)
	}
	return counts
}

var texts = []string{
	"",
	"one",
	"\n",
	"two words\n",
	"  leading and trailing  \n\n",
	"tabs\tand\vvertical\ftabs\r\nand CRLF\r\n",
	"no newline at the end",
	"héllo wörld\n日本語 テキスト\n",
	"em\u2003space, nbsp\u00a0and ideographic\u3000space\u2028line separator",
	"emoji 🙂 in 🙂🙂 words\n",
	"invalid \xff\xfe bytes \xe2\x82 cut \xf0\x9f\x99",
	"overlong \xc0\xaf and surrogate \xed\xa0\x80 and \xe0\x80\x80",
}

func TestCountsMatchTheStandardLibrary(t *testing.T) {
	for _, text := range texts {
		want := reference([]byte(text))
		if got := run(t, str("data", text)); got != want {
			t.Errorf("data %q: got %+v, want %+v", text, got, want)
		}
		if got := run(t, bytesArg("data", []byte(text))); got != want {
			t.Errorf("bytes %q: got %+v, want %+v", text, got, want)
		}
	}
}

// TestCharactersSplitBetweenWrites feeds the counter one byte at a time: a
// multi-byte character cut between two chunks counts as one character.
func TestCharactersSplitBetweenWrites(t *testing.T) {
	for _, text := range texts {
		c := &counter{what: "input"}
		if _, err := io.Copy(c, iotest.OneByteReader(strings.NewReader(text))); err != nil {
			t.Fatal(err)
		}
		if got, want := c.finish(), reference([]byte(text)); got != want {
			t.Errorf("%q one byte at a time: got %+v, want %+v", text, got, want)
		}
	}
}

func FuzzCountMatchesFields(f *testing.F) {
	for _, text := range texts {
		f.Add([]byte(text), 3)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		chunk = 1 + abs(chunk)%17
		c := &counter{what: "input"}
		for off := 0; off < len(data); off += chunk {
			c.Write(data[off:min(off+chunk, len(data))])
		}
		if got, want := c.finish(), reference(data); got != want {
			t.Errorf("%q in chunks of %d: got %+v, want %+v", data, chunk, got, want)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// writeText writes a text of about size bytes to a file in dir: ASCII words
// separated by spaces, tabs and newlines.
func writeText(t *testing.T, dir string, size int) (string, []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	seps := []string{" ", " ", "  ", "\t", "\n", " \n"}
	var b bytes.Buffer
	for b.Len() < size {
		fmt.Fprintf(&b, "w%d%s", rng.IntN(1000), seps[rng.IntN(len(seps))])
	}
	path := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b.Bytes()
}

func TestFileIsStreamedInChunks(t *testing.T) {
	// Larger than kind.BufferSize: several chunks, counts carried across them.
	path, data := writeText(t, t.TempDir(), 3*kind.BufferSize+12345)
	if got, want := run(t, str("path", path)), reference(data); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestAgreesWithWc(t *testing.T) {
	wc, err := exec.LookPath("wc")
	if err != nil {
		t.Skip("no wc on PATH")
	}
	path, _ := writeText(t, t.TempDir(), 200_000)
	cmd := exec.Command(wc, "-l", "-w", "-c", path)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want Counts
	if _, err := fmt.Sscan(string(out), &want.Lines, &want.Words, &want.Bytes); err != nil {
		t.Fatalf("wc printed %q: %v", out, err)
	}
	if got := run(t, str("path", path)); got != want {
		t.Errorf("got %+v, wc counts %+v", got, want)
	}
}

func TestMaxBytes(t *testing.T) {
	// data: refused at spawn, naming the argument.
	_, err := spawn(t, str("data", "12345"), integer("max_bytes", 4))
	if !errors.Is(err, kind.ErrInvalidArgument) || !strings.Contains(err.Error(), "'data'") {
		t.Errorf("data over max_bytes: %v", err)
	}
	if got := run(t, str("data", "1234"), integer("max_bytes", 4)); got.Bytes != 4 {
		t.Errorf("data at max_bytes: %+v", got)
	}
	// path: the task fails once it has read more than max_bytes.
	path, _ := writeText(t, t.TempDir(), 10_000)
	work, err := spawn(t, str("path", path), integer("max_bytes", 9_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := work(context.Background()); !errors.Is(err, kind.ErrTooLarge) {
		t.Errorf("file over max_bytes: %v", err)
	}
}

func TestBadArgumentsNameTheArgument(t *testing.T) {
	cases := []struct {
		values []kind.Value
		want   string
	}{
		{nil, "argument 'data' or 'path' is required"},
		{[]kind.Value{str("data", "x"), str("path", "/x")}, "argument 'data' and 'path' were both given"},
		{[]kind.Value{integer("data", 3)}, "argument 'data' must be a string or bytes, got int"},
		{[]kind.Value{str("path", "a\x00b")}, "argument 'path' contains a NUL byte"},
		{[]kind.Value{str("data", "x"), integer("max_bytes", -1)}, "argument 'max_bytes' must be between 0 and"},
		{[]kind.Value{str("data", "x"), str("max_bytes", "10")}, "argument 'max_bytes' must be an int, got string"},
		{[]kind.Value{str("data", "x"), str("colour", "red")}, "unexpected argument 'colour' (takes: data, path, max_bytes)"},
	}
	for _, c := range cases {
		_, err := spawn(t, c.values...)
		if !errors.Is(err, kind.ErrInvalidArgument) {
			t.Errorf("%v: got %v, not an invalid argument", c.values, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "count_words: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %q, want it to contain %q", c.values, err, c.want)
		}
	}
}

// TestPrepareDirectly calls the Kind's Prepare with kind.NewArgs, as a unit
// test of the function alone (kind.Prepare adds the engine's checks).
func TestPrepareDirectly(t *testing.T) {
	a := kind.NewArgs(Kind, nil, []kind.Value{str("data", "a b\n")})
	work, err := Kind.Prepare(a)
	if err != nil {
		t.Fatal(err)
	}
	res, err := work(context.Background())
	if err != nil || string(res.Data) != "1 2 4" {
		t.Fatalf("got %q, %v", res.Data, err)
	}
}

func TestMissingFileFailsTheTask(t *testing.T) {
	work, err := spawn(t, str("path", filepath.Join(t.TempDir(), "nope")))
	if err != nil {
		t.Fatal(err) // not checked at spawn: Prepare does no I/O
	}
	if _, err := work(context.Background()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	path, _ := writeText(t, t.TempDir(), 1000)
	work, err := spawn(t, str("path", path))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := work(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

// TestCancelEndsABlockedRead counts a FIFO whose writer stays open and
// silent: the read blocks, and only closing the file on cancellation ends it.
func TestCancelEndsABlockedRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	work, err := spawn(t, str("path", fifo))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := work(ctx)
		done <- err
	}()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the work to open it
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString("some words\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("the work ended before it was cancelled: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the work did not end after cancellation")
	}
}
