package engine

import "sync"

// Task work runs on pooled goroutines rather than on a new goroutine each.
//
// A new goroutine starts with a small stack, and work like an HTTP round
// trip grows it several times; each growth copies the stack and walks its
// frames, which profiling put at 1-2 us per HTTP task (5-7 % of the CPU of a
// fan-out). A worker that has run such work keeps its grown stack for the
// next task. Handing a task to an idle worker costs one channel send.

// maxIdleWorkers bounds the goroutines kept parked between tasks (about as
// many as a busy fan-out runs at once); a worker finding the pool full exits.
const maxIdleWorkers = 256

// workerPool holds the idle workers, most recently idle last (their stacks
// are the most likely to be warm in cache).
var workerPool struct {
	mu   sync.Mutex
	idle []*worker
}

// worker is a goroutine that runs jobs one after another.
type worker struct {
	jobs chan func() // 1-buffered: a job is handed over without waiting
}

// runWork runs job on an idle worker, or on a new one if none is idle.
func runWork(job func()) {
	workerPool.mu.Lock()
	if n := len(workerPool.idle); n > 0 {
		w := workerPool.idle[n-1]
		workerPool.idle[n-1] = nil
		workerPool.idle = workerPool.idle[:n-1]
		workerPool.mu.Unlock()
		w.jobs <- job
		return
	}
	workerPool.mu.Unlock()
	w := &worker{jobs: make(chan func(), 1)}
	go w.loop(job)
}

// loop runs job, then waits in the pool for the next one, until the pool is
// full when it becomes idle.
func (w *worker) loop(job func()) {
	for {
		job()
		job = nil // let what it referenced go while the worker is idle
		workerPool.mu.Lock()
		if len(workerPool.idle) >= maxIdleWorkers {
			workerPool.mu.Unlock()
			return
		}
		workerPool.idle = append(workerPool.idle, w)
		workerPool.mu.Unlock()
		job = <-w.jobs
	}
}

// idleWorkers is how many workers wait for a job, so that Stats can leave
// them out of its goroutine count.
func idleWorkers() int {
	workerPool.mu.Lock()
	defer workerPool.mu.Unlock()
	return len(workerPool.idle)
}
