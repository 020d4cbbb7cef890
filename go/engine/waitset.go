package engine

import (
	"sync"
	"syscall"
	"time"
)

// WaitSet collects the completions of watched tasks, of any runtime, in the
// order they happen: each finished task hands over the tag it was watched
// with. It is how Python waits for "any of these" without polling: one Go
// wait (or one readable file descriptor, for an event loop) for many tasks.
type WaitSet struct {
	mu     sync.Mutex
	ready  []uint64      // tags of finished tasks, not yet taken
	signal chan struct{} // 1-buffered: ready became non-empty
	closed bool
	// A pipe for event loops: a byte is written when ready becomes non-empty.
	readFd, writeFd int
}

// watchNode is one wait set's interest in one task, in the task's list of
// them (a list rather than a slice: most tasks have one watcher or none, and
// the slice header alone would make every Task bigger).
type watchNode struct {
	set  *WaitSet
	tag  uint64
	next *watchNode
}

// NewWaitSet returns an empty wait set, with a non-blocking pipe to watch
// when withFd is true.
func NewWaitSet(withFd bool) (*WaitSet, error) {
	ws := &WaitSet{signal: make(chan struct{}, 1), readFd: -1, writeFd: -1}
	if withFd {
		var fds [2]int
		if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
			return nil, err
		}
		ws.readFd, ws.writeFd = fds[0], fds[1]
	}
	return ws, nil
}

// Fd returns the read end of the wait set's pipe, or -1.
func (ws *WaitSet) Fd() int { return ws.readFd }

// push records a finished task's tag and wakes a waiter.
func (ws *WaitSet) push(tag uint64) {
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return
	}
	wasEmpty := len(ws.ready) == 0
	ws.ready = append(ws.ready, tag)
	fd := ws.writeFd
	ws.mu.Unlock()
	if wasEmpty {
		select {
		case ws.signal <- struct{}{}:
		default:
		}
		if fd >= 0 {
			// A full pipe already says "readable"; nothing is lost.
			_, _ = syscall.Write(fd, []byte{1})
		}
	}
}

// Take waits until at least one tag is ready or timeout passes (negative: no
// limit, zero: just look) and returns up to max ready tags, oldest first.
func (ws *WaitSet) Take(max int, timeout time.Duration) ([]uint64, error) {
	var expired <-chan time.Time
	for {
		ws.mu.Lock()
		if ws.closed {
			ws.mu.Unlock()
			return nil, ErrClosed
		}
		if n := min(len(ws.ready), max); n > 0 {
			out := append([]uint64(nil), ws.ready[:n]...)
			ws.ready = ws.ready[:copy(ws.ready, ws.ready[n:])]
			ws.mu.Unlock()
			return out, nil
		}
		ws.mu.Unlock()
		if timeout == 0 {
			return nil, ErrTimeout
		}
		if expired == nil && timeout > 0 {
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			expired = timer.C
		}
		select {
		case <-ws.signal:
		case <-expired:
			return nil, ErrTimeout
		}
	}
}

// Close drops what is ready and closes the pipe; later pushes are ignored,
// and a Take waiting meanwhile returns ErrClosed.
func (ws *WaitSet) Close() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return
	}
	ws.closed = true
	ws.ready = nil
	select { // a Take waiting in another thread wakes and sees the close
	case ws.signal <- struct{}{}:
	default:
	}
	for _, fd := range []int{ws.readFd, ws.writeFd} {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
}
