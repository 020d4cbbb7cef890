package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"gogoroutines.dev/go/kind"
)

// Errors of runtime operations; the C ABI maps each to a status code.
var (
	ErrNotFound = errors.New("no such task")
	ErrClosed   = errors.New("the runtime is closed")
	ErrTimeout  = errors.New("the timeout ran out before the task finished")
)

// Stats is a consistent snapshot of one runtime's task table.
type Stats struct {
	Total, Active, Queued, Completed, Failed, Cancelled int64
	// Goroutines is runtime.NumGoroutine() of the whole process (every
	// runtime's), less the idle workers of workers.go, which hold no work.
	Goroutines int64
}

// String formats the stats exactly as the PHP extension's go_get_stats did.
func (s Stats) String() string {
	return fmt.Sprintf("Total: %d, Active: %d, Completed: %d, Failed: %d, Go Routines: %d",
		s.Total, s.Active, s.Completed, s.Failed, s.Goroutines)
}

// Runtime owns a table of tasks. Ids start at 1 and are never reused; tasks
// stay in the table, whatever their state, until released or until the
// runtime is closed. With maxConcurrency > 0, at most that many tasks run at
// once and the rest wait their turn in spawn order.
type Runtime struct {
	maxConcurrency int

	mu      sync.Mutex
	closed  bool
	lastID  int64
	tasks   taskTable
	queue   []waiter // waiting for a slot, oldest first; may hold cancelled tasks
	running int      // goroutines executing work (slots in use)
	counts  [5]int64
	// waiting holds a channel for each unfinished task that a Wait blocks
	// on, closed when the task finishes. Few tasks are waited on this way,
	// so a map here costs less than a channel field in every Task.
	waiting map[*Task]chan struct{}
	// streams holds the channels that the arguments of an unfinished task
	// gave it, closed when it finishes (few tasks have any: a map, not a
	// field of every Task).
	streams map[*Task][]kind.Stream
	// onFinish is rt.finish, made once: the method value made at each start
	// would be an allocation per task.
	onFinish func(*Task, kind.Result, *TaskError)

	// Lanes (see lane.go): the open ones, and how many of their items are
	// not yet handed out.
	lanes     map[*Lane]struct{}
	laneItems int64

	channels map[*Channel]struct{} // made on it and not released: closed with it
	shared   sharedState           // what kinds keep on it (kind.Host)

	drained chan struct{} // closed when running reaches 0 after Close
}

// waiter is a task, or a lane with items ready to start, waiting in the
// runtime's queue for a slot under its concurrency limit.
type waiter struct {
	task *Task
	lane *Lane
}

// NewRuntime returns an empty runtime; maxConcurrency <= 0 means no limit.
// It fails when the kinds of the process could not all be registered (see
// kind.Check): their tasks would fail in ways nobody could explain.
func NewRuntime(maxConcurrency int) (*Runtime, error) {
	if maxConcurrency > MaxRuntimeConcurrency {
		return nil, fmt.Errorf("%w: max_concurrency must be at most %d, got %d",
			kind.ErrInvalidArgument, MaxRuntimeConcurrency, maxConcurrency)
	}
	if err := kind.Check(); err != nil {
		return nil, err
	}
	rt := &Runtime{maxConcurrency: maxConcurrency}
	rt.onFinish = rt.finish
	return rt, nil
}

// count moves one task between the counters of two states (StateNotFound
// stands for "not in the table"). It is called with mu held.
func (rt *Runtime) count(from, to State) {
	if from != StateNotFound {
		rt.counts[from]--
	}
	if to != StateNotFound {
		rt.counts[to]++
	}
}

// Spawn validates the arguments of kind, adds a task to the table and starts
// it (or queues it when the runtime is at its concurrency limit). It returns
// the new task's id.
func (rt *Runtime) Spawn(name string, values []kind.Value, timeout time.Duration) (int64, error) {
	t, _, err := rt.SpawnTask(name, values, timeout)
	if err != nil {
		return 0, err
	}
	return t.ID, nil
}

// SpawnTask is Spawn returning the task itself and its state right after the
// spawn. A task of an Inline kind with a free slot runs to its end before
// SpawnTask returns (state StateCompleted or StateFailed).
func (rt *Runtime) SpawnTask(name string, values []kind.Value, timeout time.Duration) (*Task, State, error) {
	p, err := rt.newTask(name, values, timeout)
	if err != nil {
		return nil, StateNotFound, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, StateNotFound, ErrClosed
	}
	return p.task, rt.enterLocked(p), nil
}

// SpawnMany spawns one task of kind per item of args. Every item is
// validated before any task starts: a bad item fails the whole batch, with an
// error naming its index. It returns the ids in item order.
func (rt *Runtime) SpawnMany(name string, items [][]kind.Value, timeout time.Duration) ([]int64, error) {
	tasks := make([]pending, len(items))
	for i, values := range items {
		p, err := rt.newTask(name, values, timeout)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		tasks[i] = p
	}
	ids := make([]int64, len(tasks))
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	for i, p := range tasks {
		rt.enterLocked(p)
		ids[i] = p.task.ID
	}
	return ids, nil
}

// pending is a prepared task on its way into the table, with the streams its
// arguments gave it.
type pending struct {
	task    *Task
	streams []kind.Stream
}

// newTask validates the arguments and returns a task ready to enter the table.
func (rt *Runtime) newTask(name string, values []kind.Value, timeout time.Duration) (pending, error) {
	if timeout < 0 {
		timeout = 0
	}
	k, p, err := kind.Prepare(rt, name, values)
	if err != nil {
		return pending{}, err
	}
	t := taskOf(k, p, timeout)
	return pending{task: &t, streams: p.Streams}, nil
}

// taskOf is a task (without an id) that will run the prepared plan p.
func taskOf(k *kind.Kind, p kind.Plan, timeout time.Duration) Task {
	t := Task{Kind: k, work: p.Work, timeout: timeout}
	if p.Timed {
		t.due = int64(p.Delay)
	}
	return t
}

// enterLocked gives t the next id, puts it in the table and starts it (or
// queues it), returning its state. Called with mu held.
func (rt *Runtime) enterLocked(p pending) State {
	t := p.task
	rt.lastID++
	t.ID = rt.lastID
	slotFree := rt.slotFreeLocked()
	if t.Kind.Inline && slotFree {
		// Instant work: run it here (under the lock, which it cannot block)
		// and enter the task in the table already finished.
		res, terr := t.runInline()
		t.state, t.result, t.err = StateCompleted, res, terr
		if terr != nil {
			t.state, t.result = StateFailed, kind.Result{Meta: res.Meta}
		}
		rt.tasks.put(t)
		rt.count(StateNotFound, t.state)
		closeStreams(p.streams)
		return t.state
	}
	if len(p.streams) > 0 {
		if rt.streams == nil {
			rt.streams = map[*Task][]kind.Stream{}
		}
		rt.streams[t] = p.streams
	}
	rt.tasks.put(t)
	if !slotFree {
		t.state = StateQueued
		rt.count(StateNotFound, StateQueued)
		rt.queue = append(rt.queue, waiter{task: t})
		return StateQueued
	}
	rt.count(StateNotFound, StateRunning)
	rt.running++
	t.start(rt.onFinish)
	return StateRunning
}

// Outcome is how a finished task ended, as Collect reports it.
type Outcome struct {
	ID      int64
	State   State
	Failure Failure
	Data    []byte // the result, or the error message of a failed task
}

// Collect reports the outcome of each finished task among ids, in order, and
// releases it, stopping before the first task that is still unfinished or
// whose data would take the total past budget bytes (at least one is always
// reported, whatever its size). Unknown ids are reported as StateNotFound.
func (rt *Runtime) Collect(ids []int64, budget int) ([]Outcome, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	out := make([]Outcome, 0, len(ids))
	used := 0
	for _, id := range ids {
		t := rt.tasks.get(id)
		if t == nil {
			out = append(out, Outcome{ID: id, State: StateNotFound})
			continue
		}
		if !t.state.Done() {
			break
		}
		o := Outcome{ID: id, State: t.state, Data: t.result.Data}
		if t.err != nil {
			o.Failure, o.Data = t.err.Code, []byte(t.err.Message)
		}
		if len(out) > 0 && used+len(o.Data) > budget {
			break
		}
		used += len(o.Data)
		out = append(out, o)
		rt.count(t.state, StateNotFound)
		rt.tasks.remove(id)
	}
	return out, nil
}

// ReleaseMany releases each of ids, as Release does, under one lock.
func (rt *Runtime) ReleaseMany(ids []int64) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrClosed
	}
	for _, id := range ids {
		if t := rt.tasks.get(id); t != nil {
			rt.cancelLocked(t)
			rt.count(t.state, StateNotFound)
			rt.tasks.remove(id)
		}
	}
	return nil
}

// finish records the outcome of a task's work, frees its slot and starts the
// next queued task. A task already cancelled or released keeps its state.
func (rt *Runtime) finish(t *Task, res kind.Result, terr *TaskError) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.releaseSlotLocked()
	if t.state == StateRunning {
		if terr != nil {
			rt.settle(t, StateFailed, kind.Result{Meta: res.Meta}, terr)
		} else {
			rt.settle(t, StateCompleted, res, nil)
		}
	}
	rt.startQueued()
}

// settle moves an unfinished task to a final state and wakes its waiters.
// It is called with mu held.
func (rt *Runtime) settle(t *Task, state State, res kind.Result, terr *TaskError) {
	if rt.tasks.get(t.ID) == t {
		rt.count(t.state, state)
	}
	t.state = state
	t.result = res
	t.err = terr
	if len(rt.streams) > 0 { // the task's own channels end with it, whether its work ran or not
		if streams, ok := rt.streams[t]; ok {
			closeStreams(streams)
			delete(rt.streams, t)
		}
	}
	if len(rt.waiting) > 0 {
		if done, ok := rt.waiting[t]; ok {
			close(done)
			delete(rt.waiting, t)
		}
	}
	// Tell the wait sets in the order they started watching.
	var first *watchNode
	for w := t.watchers; w != nil; {
		next := w.next
		w.next, first = first, w
		w = next
	}
	t.watchers = nil
	for w := first; w != nil; w = w.next {
		w.set.push(w.tag)
	}
}

// Watch makes ws receive tag when the task with id finishes (at once if it
// has finished already).
func (rt *Runtime) Watch(id int64, ws *WaitSet, tag uint64) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrClosed
	}
	t := rt.tasks.get(id)
	if t == nil {
		return ErrNotFound
	}
	if t.state.Done() {
		ws.push(tag)
	} else {
		t.watchers = &watchNode{set: ws, tag: tag, next: t.watchers}
	}
	return nil
}

// slotFreeLocked reports whether the concurrency limit lets one more task
// run. Called with mu held.
func (rt *Runtime) slotFreeLocked() bool {
	return rt.maxConcurrency <= 0 || rt.running < rt.maxConcurrency
}

// releaseSlotLocked frees the slot of a task or lane item whose work ended
// (or will never run its finish). Called with mu held.
func (rt *Runtime) releaseSlotLocked() {
	rt.running--
	if rt.running == 0 && rt.drained != nil {
		close(rt.drained)
		rt.drained = nil
	}
}

// startQueued starts what waits in the queue, oldest first, while slots are
// free: a queued task, or a lane's items (a lane still blocked afterwards
// queues again, at the back, so lanes and tasks take turns). Called with mu
// held.
func (rt *Runtime) startQueued() {
	for !rt.closed && len(rt.queue) > 0 && rt.slotFreeLocked() {
		w := rt.queue[0]
		rt.queue[0] = waiter{}
		rt.queue = rt.queue[1:]
		if w.lane != nil {
			w.lane.blocked = false
			w.lane.startQueued()
			continue
		}
		if w.task.state != StateQueued {
			continue // cancelled or released while it waited
		}
		rt.count(StateQueued, StateRunning)
		rt.running++
		w.task.start(rt.onFinish)
	}
}

// Status returns the state of the task with id (StateNotFound if none).
func (rt *Runtime) Status(id int64) (State, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return StateNotFound, ErrClosed
	}
	t := rt.tasks.get(id)
	if t == nil {
		return StateNotFound, nil
	}
	return t.state, nil
}

// Wait blocks until the task with id is finished or timeout passes (a
// negative timeout waits for ever, zero only looks). It returns the task, its
// state, and ErrTimeout when the task is still queued or running then.
func (rt *Runtime) Wait(id int64, timeout time.Duration) (*Task, State, error) {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil, StateNotFound, ErrClosed
	}
	t := rt.tasks.get(id)
	if t == nil {
		rt.mu.Unlock()
		return nil, StateNotFound, ErrNotFound
	}
	state := t.state
	if state.Done() || timeout == 0 {
		rt.mu.Unlock()
		if state.Done() {
			return t, state, nil // final states never change
		}
		return t, state, ErrTimeout
	}
	done := rt.waiting[t]
	if done == nil {
		if rt.waiting == nil {
			rt.waiting = map[*Task]chan struct{}{}
		}
		done = make(chan struct{})
		rt.waiting[t] = done
	}
	rt.mu.Unlock()
	expired, stop := expiry(timeout)
	defer stop()
	select {
	case <-done:
		return t, t.state, nil // settle wrote the state before it closed done
	case <-expired:
	}
	rt.mu.Lock()
	state = t.state
	rt.mu.Unlock()
	if state.Done() {
		return t, state, nil // it finished just as the timeout ran out
	}
	return t, state, ErrTimeout
}

// Cancel cancels an unfinished task at once: its waiters wake, its state is
// StateCancelled and its work's context is cancelled. It reports whether the
// task was still unfinished.
func (rt *Runtime) Cancel(id int64) (bool, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return false, ErrClosed
	}
	t := rt.tasks.get(id)
	if t == nil {
		return false, ErrNotFound
	}
	return rt.cancelLocked(t), nil
}

// cancelLocked cancels t if it is unfinished. Called with mu held.
func (rt *Runtime) cancelLocked(t *Task) bool {
	if t.state.Done() {
		return false
	}
	// A queued task holds no slot; a started one frees its slot in finish,
	// unless stopping it means its finish will never run.
	if t.state == StateRunning && !t.stop() {
		rt.releaseSlotLocked()
		defer rt.startQueued()
	}
	rt.settle(t, StateCancelled, kind.Result{}, nil)
	return true
}

// Release removes the task with id from the table, cancelling it first if it
// is unfinished. Releasing an unknown or already released id is not an error.
func (rt *Runtime) Release(id int64) error {
	return rt.ReleaseMany([]int64{id})
}

// Stats returns a snapshot of the table's counters, taken under the mutex so
// that Total == Active + Completed + Failed + Cancelled always holds.
func (rt *Runtime) Stats() Stats {
	rt.mu.Lock()
	s := Stats{
		Total:     int64(rt.tasks.len()) + rt.laneItems,
		Active:    rt.counts[StateRunning] + rt.counts[StateQueued],
		Queued:    rt.counts[StateQueued],
		Completed: rt.counts[StateCompleted],
		Failed:    rt.counts[StateFailed],
		Cancelled: rt.counts[StateCancelled],
	}
	rt.mu.Unlock()
	s.Goroutines = int64(runtime.NumGoroutine() - idleWorkers()) // parked in the pool: no work
	return s
}

// Close cancels every unfinished task and empties the table. Later calls on
// the runtime fail with ErrClosed; closing twice is not an error.
func (rt *Runtime) Close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return
	}
	rt.closed = true // first: cancelling frees slots, and nothing queued may start
	rt.tasks.each(func(t *Task) { rt.cancelLocked(t) })
	for l := range rt.lanes {
		l.closeLocked()
	}
	if rt.running > 0 {
		// Give cancelled work the time to end (exec kills its process group
		// within its StopGrace), so that closing and then exiting leaves
		// nothing behind; bounded, in case some work ignores its context.
		rt.drained = make(chan struct{})
		drained := rt.drained
		rt.mu.Unlock()
		select {
		case <-drained:
		case <-time.After(kind.MaxStopGrace() + 500*time.Millisecond):
		}
		rt.mu.Lock()
	}
	rt.tasks = taskTable{}
	for c := range rt.channels {
		c.Close()
	}
	rt.channels = nil
	rt.shared.close()
	rt.queue = nil
	rt.lanes, rt.laneItems = nil, 0
	rt.counts = [5]int64{}
}

// OutcomeSize returns the size of the data Collect would report for a
// finished task (its result or error message), or an error if it is unknown
// or unfinished.
func (rt *Runtime) OutcomeSize(id int64) (int, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	t := rt.tasks.get(id)
	if t == nil || !t.state.Done() {
		return 0, ErrNotFound
	}
	if t.err != nil {
		return len(t.err.Message), nil
	}
	return len(t.result.Data), nil
}

// closeStreams closes the channels a task's arguments gave it.
func closeStreams(streams []kind.Stream) {
	for _, s := range streams {
		s.Close()
	}
}
