package exec

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The exec kind starts its programs with syscall.ForkExec rather than
// os/exec: per run, os/exec opens /dev/null for a missing stdin, registers
// both ends of each pipe with the network poller (and takes the child's end
// out again to make it blocking), rebuilds and deduplicates the environment,
// allocates 32 KiB per copied pipe, and holds a thread blocked in waitid
// for as long as the program runs. For short programs that parent-side work
// is a large share of what a run costs; for many long ones, the threads are.

// waitDelay is how long the pipes may stay open after the program exits:
// children that outlive the program may hold its stdout open, and their
// output is not the program's to wait for.
const waitDelay = time.Second

// pipeBufferSize is the size of the buffers that pipes are read into.
const pipeBufferSize = 32 << 10

var pipeBuffers = sync.Pool{New: func() any { return new([pipeBufferSize]byte) }}

// devNull is the stdin of every program given none: opened once (each child
// gets its own copy of the descriptor) and open for the life of the process.
var devNull atomic.Pointer[os.File]

// devNullFd returns the descriptor of devNull, opening it on first use; a
// failed open is tried again on the next run.
func devNullFd() (uintptr, error) {
	if f := devNull.Load(); f != nil {
		return f.Fd(), nil
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	if !devNull.CompareAndSwap(nil, f) {
		f.Close() // another run opened it first
	}
	return devNull.Load().Fd(), nil
}

// pidfdRefused is set once starting a program failed with a pidfd and
// worked without: programs are then reaped by a thread blocked in wait4.
var pidfdRefused atomic.Bool

// process is one started program: its pipes, its process group and the
// goroutines that move its input and output.
type process struct {
	pid     int
	pidfd   int           // -1 if the kernel gave none
	done    chan struct{} // closed once it is reaped and its pipes are done: no kill after that
	pipes   []*os.File    // the parent's ends, closed by their goroutine when done
	copies  chan error    // one result per pipe goroutine
	pending int           // pipe goroutines that have not reported yet
	status  syscall.WaitStatus
	reaped  bool // status is the program's

	killOnce sync.Once
	killed   chan struct{} // nil unless killGroup was started; closed when it returns
}

// execSpec is what startProcess needs to start a program.
type execSpec struct {
	file   string   // the executable
	argv   []string // argv[0] is what the program sees as its name
	env    []string // "name=value" strings
	dir    string
	stdin  []byte // nil: /dev/null
	stdout io.Writer
	stderr io.Writer
}

// startProcess starts the program in a process group of its own, with its
// stdout and stderr copied to the writers. When a writer fails, the process
// group is killed: otherwise the program would block on a pipe nobody reads.
func startProcess(s execSpec) (*process, error) {
	p := &process{pidfd: -1, done: make(chan struct{}), copies: make(chan error, 3)}
	// The child's ends, closed in the parent once the child has them.
	var childEnds []int
	defer func() {
		for _, fd := range childEnds {
			syscall.Close(fd)
		}
	}()
	fail := func(err error) (*process, error) {
		for _, f := range p.pipes {
			f.Close()
		}
		return nil, err
	}

	var stdinFd uintptr
	var stdinW *os.File
	if s.stdin == nil {
		fd, err := devNullFd()
		if err != nil {
			return nil, err
		}
		stdinFd = fd
	} else {
		r, w, err := pipe(false)
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, r)
		stdinW = os.NewFile(uintptr(w), "|1")
		p.pipes = append(p.pipes, stdinW)
		stdinFd = uintptr(r)
	}
	outR, outW, err := pipe(true)
	if err != nil {
		return fail(err)
	}
	childEnds = append(childEnds, outW)
	stdoutR := os.NewFile(uintptr(outR), "|0")
	p.pipes = append(p.pipes, stdoutR)
	errR, errW, err := pipe(true)
	if err != nil {
		return fail(err)
	}
	childEnds = append(childEnds, errW)
	stderrR := os.NewFile(uintptr(errR), "|0")
	p.pipes = append(p.pipes, stderrR)

	attr := &syscall.ProcAttr{
		Dir:   s.dir,
		Env:   s.env,
		Files: []uintptr{stdinFd, uintptr(outW), uintptr(errW)},
		// Its own process group, so that cancellation reaches its children
		// too. Nothing here keeps Go from using CLONE_VFORK.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	}
	if !pidfdRefused.Load() {
		attr.Sys.PidFD = &p.pidfd
	}
	p.pid, err = syscall.ForkExec(s.file, s.argv, attr)
	if attr.Sys.PidFD != nil && (err == syscall.EPERM || err == syscall.EINVAL || err == syscall.ENOSYS) {
		// Maybe a seccomp filter refusing clone(CLONE_PIDFD). The failed
		// start ran no program: try again without; if that works, stop
		// asking for pidfds.
		attr.Sys.PidFD, p.pidfd = nil, -1
		if p.pid, err = syscall.ForkExec(s.file, s.argv, attr); err == nil {
			pidfdRefused.Store(true)
		}
	}
	if err != nil {
		return fail(&os.PathError{Op: "fork/exec", Path: s.file, Err: err})
	}

	if stdinW != nil {
		p.pending++
		go func() { p.copies <- feed(stdinW, s.stdin) }()
	}
	p.pending += 2
	go func() { p.copies <- drain(s.stdout, stdoutR, p.kill) }()
	go func() { p.copies <- drain(s.stderr, stderrR, p.kill) }()
	return p, nil
}

// pipe returns a close-on-exec pipe. The parent's end is non-blocking (the
// network poller waits on it); the child's end stays blocking, as programs
// expect of their standard streams.
func pipe(parentReads bool) (r, w int, err error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return -1, -1, os.NewSyscallError("pipe2", err)
	}
	parent := fds[1]
	if parentReads {
		parent = fds[0]
	}
	if err := syscall.SetNonblock(parent, true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return -1, -1, os.NewSyscallError("setnonblock", err)
	}
	return fds[0], fds[1], nil
}

// feed writes data to the program's stdin and closes it. A program that
// exits (or closes its stdin) without reading all of it is not an error.
func feed(w *os.File, data []byte) error {
	_, err := w.Write(data)
	w.Close()
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// drain copies r to w until end of file and closes r. When w fails it calls
// onWriteError, which kills the program, and stops reading: closing r then
// makes the program's next write fail (EPIPE, or SIGPIPE), as with os/exec.
func drain(w io.Writer, r *os.File, onWriteError func()) error {
	defer r.Close()
	buf := pipeBuffers.Get().(*[pipeBufferSize]byte)
	defer pipeBuffers.Put(buf)
	for {
		n, err := r.Read(buf[:])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				onWriteError()
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil // closed after waitDelay
			}
			return err
		}
	}
}

// wait reaps the program, then waits for its pipes, at most waitDelay. It
// returns the first error of reaping or copying; errWaitDelay says that the
// pipes were closed before their end.
func (p *process) wait() error {
	err := p.reap()
	if err != nil {
		err = os.NewSyscallError("wait", err)
	} else {
		p.reaped = true
	}
	// Until the pipes are done, cancelling still kills what is left of the
	// process group (children of the program holding its stdout).
	if copyErr := p.awaitCopies(); err == nil {
		err = copyErr
	}
	close(p.done)
	// No kill can start from now on; one that started has finished.
	p.killOnce.Do(func() {})
	if p.killed != nil {
		<-p.killed
	}
	return err
}

// exitCode is the program's exit code, or minus the signal that killed it
// (as Python's subprocess reports it); -1 when it could not be reaped.
func (p *process) exitCode() int {
	switch {
	case !p.reaped:
		return -1
	case p.status.Signaled():
		return -int(p.status.Signal())
	}
	return p.status.ExitStatus()
}

// reap waits for the program to exit and reaps it. With a pidfd the
// goroutine waits in the network poller, as for a pipe, rather than holding
// a thread blocked in wait4 for as long as the program runs.
func (p *process) reap() error {
	if p.pidfd >= 0 {
		polled, err := p.reapPolled()
		if polled {
			return err
		}
	}
	for {
		_, err := syscall.Wait4(p.pid, &p.status, 0, nil)
		if err != syscall.EINTR {
			return err
		}
	}
}

// reapPolled waits for the pidfd to become readable (the program exited),
// then reaps the program. It reports false if the pidfd cannot be polled.
// It closes the pidfd.
func (p *process) reapPolled() (polled bool, err error) {
	if err := syscall.SetNonblock(p.pidfd, true); err != nil {
		syscall.Close(p.pidfd)
		return false, nil
	}
	f := os.NewFile(uintptr(p.pidfd), "pidfd")
	defer f.Close()
	conn, err := f.SyscallConn()
	if err != nil {
		return false, nil
	}
	var reaped bool
	pollErr := conn.Read(func(uintptr) bool {
		var pid int
		for {
			pid, err = syscall.Wait4(p.pid, &p.status, syscall.WNOHANG, nil)
			if err != syscall.EINTR {
				break
			}
		}
		reaped = err == nil && pid == p.pid
		return err != nil || pid != 0 // 0: still running
	})
	if pollErr != nil && !reaped && err == nil {
		return false, nil // not pollable: wait in wait4
	}
	return true, err
}

// errWaitDelay: the program exited but a child of it kept a pipe open.
var errWaitDelay = errors.New("pipes still open " + waitDelay.String() + " after the program exited")

// awaitCopies waits for the pipe goroutines; past waitDelay it closes the
// pipes, which ends them. It returns the first error they report.
func (p *process) awaitCopies() error {
	var first error
	note := func(err error) {
		p.pending--
		if first == nil {
			first = err
		}
	}
	for p.pending > 0 && len(p.copies) > 0 {
		note(<-p.copies)
	}
	if p.pending == 0 {
		return first
	}
	timer := time.NewTimer(waitDelay)
	defer timer.Stop()
	for p.pending > 0 {
		select {
		case err := <-p.copies:
			note(err)
		case <-timer.C:
			if first == nil {
				first = errWaitDelay
			}
			for _, f := range p.pipes {
				f.Close()
			}
			for p.pending > 0 {
				note(<-p.copies) // they end now that their pipe is closed
			}
		}
	}
	return first
}

// kill stops the program's process group (once), unless wait is done.
func (p *process) kill() {
	p.killOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.killed = make(chan struct{})
		go func() {
			defer close(p.killed)
			killGroup(p.pid, p.done)
		}()
	})
}

// killOnCancel kills the process group when ctx is done; the function it
// returns stops that.
func (p *process) killOnCancel(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, p.kill)
}
