// Package exec registers the exec kind: programs run without a shell, in
// process groups of their own that cancellation kills.
package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"gogoroutines.dev/go/kind"
)

// stderrKept is how much of the end of a child's stderr is kept for meta and
// error messages.
const stderrKept = 64 << 10

// killGrace is how long a cancelled child's process group has between
// SIGTERM and SIGKILL.
const killGrace = 500 * time.Millisecond

func init() {
	kind.Register(&kind.Kind{
		Name: "exec",
		Doc: "Runs a program (never through a shell) in its own process group; the result is " +
			"its stdout. Cancelling or timing out kills the whole group.",
		Params: []kind.Param{
			{Name: "argv", Type: kind.StringList, Required: true, Doc: "the program and its arguments"},
			{Name: "stdin", Type: kind.Data, Doc: "what to write to its stdin (default: nothing)"},
			{Name: "env", Type: kind.StringMap, Doc: "variables merged over the process's current environment"},
			{Name: "cwd", Type: kind.String, Doc: "the working directory"},
			{Name: "check", Type: kind.Bool, Default: true, Doc: "fail the task on a non-zero exit code"},
			{Name: "max_bytes", Type: kind.Int, Default: 64 << 20, Doc: "fail if stdout grows larger (0: no limit)"},
			{Name: "stream", Type: kind.Channel, Doc: "send stdout line by line (without newlines) to this channel, closed at the end; the result is then empty"},
		},
		Prepare:   prepareExec,
		StopGrace: killGrace,
	})
}

// execRun is one validated exec task.
type execRun struct {
	argv     []string
	stdin    []byte
	env      []string // the child's whole environment
	cwd      string
	check    bool
	maxBytes int64
	stream   kind.Stream
}

func prepareExec(a *kind.Args) (kind.Work, error) {
	r := execRun{
		argv:     a.StrList("argv"),
		stdin:    a.Data("stdin"),
		cwd:      a.Str("cwd"),
		check:    a.Bool("check"),
		maxBytes: a.IntIn("max_bytes", 0, math.MaxInt64),
		stream:   a.Stream("stream"),
	}
	env := a.StrMap("env")
	if err := a.Err(); err != nil {
		return nil, err
	}
	if len(r.argv) == 0 || r.argv[0] == "" {
		return nil, a.Invalid("argv", "must name a program: a non-empty list of strings")
	}
	for i, arg := range r.argv {
		if strings.IndexByte(arg, 0) >= 0 {
			return nil, a.Invalid("argv", "item %d contains a NUL byte", i)
		}
	}
	if strings.IndexByte(r.cwd, 0) >= 0 {
		return nil, a.Invalid("cwd", "contains a NUL byte")
	}
	var err error
	if r.env, err = environment(a, env); err != nil {
		return nil, err
	}
	return r.run, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

// lineSender sends what is written to it to a channel, one line at a time.
type lineSender struct {
	ctx     context.Context
	ch      kind.Stream
	pending []byte
	sent    int64
	max     int64
	err     error // the first failed send (a closed channel, a cancelled task)
}

func (s *lineSender) Write(p []byte) (int, error) {
	s.sent += int64(len(p))
	if s.max > 0 && s.sent > s.max {
		return 0, fmt.Errorf("stdout is %w (%d)", kind.ErrTooLarge, s.max)
	}
	s.pending = append(s.pending, p...)
	for {
		i := bytes.IndexByte(s.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := s.send(s.pending[:i]); err != nil {
			return 0, err
		}
		s.pending = s.pending[i+1:]
	}
}

func (s *lineSender) send(line []byte) error {
	if s.err != nil {
		return s.err
	}
	item := kind.Item{Data: bytes.Clone(line), Text: utf8.Valid(line)}
	s.err = s.ch.Send(s.ctx, item)
	return s.err
}

// flush sends a last line that had no newline (not when the task was
// cancelled: what is pending may then be several unsent lines).
func (s *lineSender) flush() error {
	if len(s.pending) == 0 || s.ctx.Err() != nil || bytes.IndexByte(s.pending, '\n') >= 0 {
		return nil
	}
	return s.send(s.pending)
}

// program finds the file to run: a name without a slash is looked up in the
// PATH the child will get (Go's own PATH was copied when Go started, and the
// Python process may have changed it since), as Python's subprocess does.
func (r execRun) program() (string, error) {
	name := r.argv[0]
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range r.env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[len("PATH="):]
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		file := filepath.Join(dir, name)
		if isExecutableFile(file) {
			return file, nil
		}
	}
	return "", fmt.Errorf("program %q not found in PATH (%s)", name, path)
}

// isExecutableFile reports whether path is a regular file with an execute
// bit set. It stats into a local syscall.Stat_t: os.Stat would allocate for
// every PATH entry tried, on every run.
func isExecutableFile(path string) bool {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		return err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0
	}
}

func (r execRun) run(ctx context.Context) (kind.Result, error) {
	file, err := r.program()
	if err != nil {
		return kind.Result{}, err
	}
	if r.cwd != "" {
		if info, err := os.Stat(r.cwd); err != nil {
			return kind.Result{}, fmt.Errorf("cwd: %w", err)
		} else if !info.IsDir() {
			return kind.Result{}, fmt.Errorf("cwd %s is not a directory", r.cwd)
		}
	}
	stdout := kind.NewLimitedBuffer(r.maxBytes, "stdout")
	var lines *lineSender
	var sink io.Writer = stdout
	if r.stream != nil {
		lines = &lineSender{ctx: ctx, ch: r.stream, max: r.maxBytes}
		sink = lines
	}
	stderr := &tailBuffer{max: stderrKept}

	start := time.Now()
	proc, err := startProcess(execSpec{
		file:   file,
		argv:   r.argv, // the child sees the name it was given
		env:    r.env,
		dir:    r.cwd,
		stdin:  r.stdin,
		stdout: sink,
		stderr: stderr,
	})
	if err != nil {
		return kind.Result{}, err
	}
	stopKilling := proc.killOnCancel(ctx)
	waitErr := proc.wait()
	stopKilling()

	code := proc.exitCode()
	meta := map[string]any{
		"exit_code": code,
		"stderr":    string(stderr.buf),
		"elapsed":   time.Since(start).Seconds(),
		"pid":       proc.pid,
	}
	res := kind.Result{Data: stdout.Bytes(), Meta: kind.MetaOf(meta)}
	var streamErr error
	if lines != nil {
		streamErr = lines.flush()
		if lines.err != nil && ctx.Err() == nil {
			// The program was stopped because its output could not be sent.
			streamErr = fmt.Errorf("%s: stream: %w", r.argv[0], lines.err)
		}
		if lines.max > 0 && lines.sent > lines.max {
			streamErr = fmt.Errorf("%s: stdout is larger than max_bytes (%d)", r.argv[0], r.maxBytes)
		}
	}
	switch {
	case ctx.Err() != nil:
		return kind.Result{Meta: kind.MetaOf(meta)}, ctx.Err()
	case streamErr != nil:
		return kind.Result{Meta: kind.MetaOf(meta)}, streamErr
	case stdout.Overflowed():
		return kind.Result{Meta: kind.MetaOf(meta)}, fmt.Errorf("%s: stdout is larger than max_bytes (%d)", r.argv[0], r.maxBytes)
	case waitErr != nil && !errors.Is(waitErr, errWaitDelay):
		// errWaitDelay: the program exited but a child of it kept stdout
		// open; the program's own output and exit code stand.
		return kind.Result{Meta: kind.MetaOf(meta)}, waitErr
	case r.check && code != 0:
		err := fmt.Errorf("%s exited with code %d", r.argv[0], code)
		if text := tail(string(stderr.buf), 1000); text != "" {
			err = fmt.Errorf("%w; stderr ends with: %s", err, text)
		}
		return kind.Result{Meta: kind.MetaOf(meta)}, err
	}
	return res, nil
}

// killGroup asks the process group to terminate, then kills what is left of
// it once the leader has exited or the grace period is over.
func killGroup(pgid int, exited <-chan struct{}) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(killGrace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// tail returns the last n bytes of s, marked when cut.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
