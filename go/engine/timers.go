package engine

import (
	"container/heap"
	"sync"
	"time"
)

// clockStart is the origin of monoNow. time.Since reads the monotonic clock,
// so due times do not jump when the wall clock is set.
var clockStart = time.Now()

// monoNow returns the nanoseconds since clockStart.
func monoNow() int64 { return int64(time.Since(clockStart)) }

// timerQueue completes the tasks of Timer kinds when they are due. All of
// them, of every runtime, share one min-heap ordered by due time and one
// time.Timer armed for the earliest. A sleeping task is then a table entry
// and a heap slot: no goroutine, no stack, no runtime timer and no closure of
// its own (a time.AfterFunc per task cost about 200 bytes, and 100,000 of
// them firing together started 100,000 goroutines at once, whose stacks made
// the peak RSS).
type timerQueue struct {
	mu    sync.Mutex
	heap  dueHeap     // by due time, earliest first
	timer *time.Timer // runs fire; nil until the first add
}

// dueHeap is a container/heap of tasks ordered by due time; a task's slot
// is its index + 1 (0: not in the heap), so that it can be removed early.
type dueHeap []*Task

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = int32(i+1), int32(j+1)
}
func (h *dueHeap) Push(x any) {
	t := x.(*Task)
	t.slot = int32(len(*h) + 1)
	*h = append(*h, t)
}
func (h *dueHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.slot = 0
	return t
}

// timers is the process's timer queue.
var timers timerQueue

// fireBatch bounds how many due tasks one hold of the queue's mutex removes,
// so that adding and stopping timers never wait long behind a burst.
const fireBatch = 256

// add puts t, whose due time is set, in the queue.
func (q *timerQueue) add(t *Task) {
	q.mu.Lock()
	heap.Push(&q.heap, t)
	if t.slot == 1 {
		q.arm(t.due) // the new earliest
	}
	q.mu.Unlock()
}

// remove takes t out of the queue and reports whether it was there (false:
// it was already taken out to be completed).
func (q *timerQueue) remove(t *Task) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.slot == 0 {
		return false
	}
	// The timer stays armed: if it fires for nothing, fire re-arms it.
	q.removeAt(int(t.slot) - 1)
	return true
}

// arm sets the timer for due. Called with mu held.
func (q *timerQueue) arm(due int64) {
	d := time.Duration(due - monoNow())
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.fire)
	} else {
		q.timer.Reset(d)
	}
}

// fire completes every task that is due, a batch at a time, calling the
// finish each was started with outside the queue's mutex, then arms the
// timer for the next due time.
func (q *timerQueue) fire() {
	var buf [fireBatch]*Task
	for {
		q.mu.Lock()
		now := monoNow()
		batch := buf[:0]
		for len(q.heap) > 0 && q.heap[0].due <= now && len(batch) < fireBatch {
			batch = append(batch, q.heap[0])
			q.removeAt(0)
		}
		more := len(q.heap) > 0 && q.heap[0].due <= now
		if !more && len(q.heap) > 0 {
			q.arm(q.heap[0].due)
		}
		q.mu.Unlock()
		for i, t := range batch {
			t.completeTimer()
			buf[i] = nil
		}
		if !more {
			return
		}
	}
}

// removeAt removes the task at index i of the heap. Called with mu held.
func (q *timerQueue) removeAt(i int) {
	heap.Remove(&q.heap, i)
	if len(q.heap) == 0 && cap(q.heap) > 1024 {
		q.heap = nil // give back the array a burst of sleepers grew
	}
}
