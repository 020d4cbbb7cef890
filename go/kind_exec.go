package main

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
)

// stderrKept is how much of the end of a child's stderr is kept for meta and
// error messages.
const stderrKept = 64 << 10

// killGrace is how long a cancelled child's process group has between
// SIGTERM and SIGKILL.
const killGrace = 500 * time.Millisecond

func init() {
	register(&Kind{
		Name: "exec",
		Doc: "Runs a program (never through a shell) in its own process group; the result is " +
			"its stdout. Cancelling or timing out kills the whole group.",
		Params: []Param{
			{Name: "argv", Type: "list[str]", Required: true, Doc: "the program and its arguments"},
			{Name: "stdin", Type: "str | bytes", Doc: "what to write to its stdin (default: nothing)"},
			{Name: "env", Type: "dict[str, str]", Doc: "variables merged over the Python process's os.environ"},
			{Name: "cwd", Type: "str", Doc: "the working directory"},
			{Name: "check", Type: "bool", Default: "True", Doc: "fail the task on a non-zero exit code"},
			{Name: "max_bytes", Type: "int", Default: "67108864", Doc: "fail if stdout grows larger (0: no limit)"},
			{Name: "stream", Type: "Channel", Doc: "send stdout line by line (without newlines) to this channel, closed at the end; the result is then empty"},
		},
		Prepare: prepareExec,
	})
}

// execRun is one validated exec task.
type execRun struct {
	argv     []string
	stdin    []byte
	env      []string // nil: inherit Go's environment
	cwd      string
	check    bool
	maxBytes int64
	stream   *Channel
}

func prepareExec(a *Args) (Work, error) {
	var r execRun
	var err error
	if r.argv, err = a.StrList("argv"); err != nil {
		return nil, err
	}
	if len(r.argv) == 0 || r.argv[0] == "" {
		return nil, a.errorf("argv", "must name a program: a non-empty list of str")
	}
	for i, arg := range r.argv {
		if strings.IndexByte(arg, 0) >= 0 {
			return nil, a.errorf("argv", "item %d contains a NUL byte", i)
		}
	}
	if r.stdin, _, err = a.Data("stdin"); err != nil {
		return nil, err
	}
	env, err := a.StrMap("env")
	if err != nil {
		return nil, err
	}
	if r.env, err = environment(a, env); err != nil {
		return nil, err
	}
	if r.cwd, err = a.Str("cwd", ""); err != nil {
		return nil, err
	}
	if strings.IndexByte(r.cwd, 0) >= 0 {
		return nil, a.errorf("cwd", "contains a NUL byte")
	}
	if r.check, err = a.Bool("check", true); err != nil {
		return nil, err
	}
	if r.maxBytes, err = a.Int("max_bytes", 64<<20, 0, math.MaxInt64); err != nil {
		return nil, err
	}
	if r.stream, err = a.Channel("stream"); err != nil {
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
	ch      *Channel
	pending []byte
	sent    int64
	max     int64
	err     error // the first failed send (a closed channel, a cancelled task)
}

func (s *lineSender) Write(p []byte) (int, error) {
	s.sent += int64(len(p))
	if s.max > 0 && s.sent > s.max {
		return 0, fmt.Errorf("stdout is %w (%d)", errTooLarge, s.max)
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
	item := Item{Data: bytes.Clone(line), Text: utf8.Valid(line)}
	s.err = s.ch.Send(s.ctx, item, -1)
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
	path := os.Getenv("PATH")
	if r.env != nil {
		path = ""
		for _, kv := range r.env {
			if strings.HasPrefix(kv, "PATH=") {
				path = kv[len("PATH="):]
			}
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

func (r execRun) run(ctx context.Context) (Result, error) {
	file, err := r.program()
	if err != nil {
		return Result{}, err
	}
	if r.cwd != "" {
		if info, err := os.Stat(r.cwd); err != nil {
			return Result{}, fmt.Errorf("cwd: %w", err)
		} else if !info.IsDir() {
			return Result{}, fmt.Errorf("cwd %s is not a directory", r.cwd)
		}
	}
	stdout := &limitedBuffer{max: r.maxBytes, what: "stdout"}
	var lines *lineSender
	var sink io.Writer = stdout
	if r.stream != nil {
		defer r.stream.Close()
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
		return Result{}, err
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
	res := Result{Data: stdout.Bytes(), Meta: metaOf(meta)}
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
		return Result{Meta: metaOf(meta)}, ctx.Err()
	case streamErr != nil:
		return Result{Meta: metaOf(meta)}, streamErr
	case stdout.Overflowed():
		return Result{Meta: metaOf(meta)}, fmt.Errorf("%s: stdout is larger than max_bytes (%d)", r.argv[0], r.maxBytes)
	case waitErr != nil && !errors.Is(waitErr, errWaitDelay):
		// errWaitDelay: the program exited but a child of it kept stdout
		// open; the program's own output and exit code stand.
		return Result{Meta: metaOf(meta)}, waitErr
	case r.check && code != 0:
		err := fmt.Errorf("%s exited with code %d", r.argv[0], code)
		if text := tail(string(stderr.buf), 1000); text != "" {
			err = fmt.Errorf("%w; stderr ends with: %s", err, text)
		}
		return Result{Meta: metaOf(meta)}, err
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
