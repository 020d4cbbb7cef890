package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gogoroutines.dev/go/kind"
)

// Lane runs the items of one map (Python's Runtime.map): the caller feeds
// argument maps in batches and takes outcomes in batches, and in between Go
// keeps up to limit items running on its own. A finishing item starts the
// next fed one at once, with no call from the caller, so a slow caller (a
// Python thread that must take the GIL) never leaves slots idle, and it is
// woken once per batch of outcomes rather than once per item.
//
// Items are not in the task table and have no handle: an item's outcome is
// handed out once, by Take, in input order (ordered lanes) or in the order
// the items finished. Their ids (from the runtime's sequence) only name them
// in messages. They count in the runtime's stats and, when the runtime has a
// max_concurrency, share its slots with the tasks of the table.
//
// The state below is guarded by the runtime's mutex (but feeding and plans): lanes live inside a
// runtime's bookkeeping (slots, counters, close), and one lock keeps them
// consistent with it without a lock order to get wrong.
type Lane struct {
	rt       *Runtime
	kindName string
	timeout  time.Duration // per item; 0: none
	limit    int           // items running at once, at most
	ordered  bool

	closed  bool
	fed     int64       // items fed so far: the input index of the next one
	taken   int64       // outcomes handed out so far
	queue   []*laneItem // fed, waiting for a slot, in input order
	live    []*laneItem // started and unfinished
	blocked bool        // in the runtime's queue, waiting for a slot

	// Outcomes not yet handed out. Ordered: slots[i] is the outcome of item
	// taken+i, and the first prefix of them are filled. Unordered: finished
	// holds them in the order the items ended.
	slots    []Outcome // an unfilled slot's State is not final
	prefix   int       // ordered: how many leading slots are filled
	finished []Outcome

	want   int           // a waiting Take wants this many ready outcomes; 0: none waits
	signal chan struct{} // 1-buffered: what a waiting Take wants may be there

	feeding sync.Mutex  // held through a Feed; guards plans
	plans   []kind.Plan // a Feed's validated items, kept to reuse the memory
}

// laneItem is one fed item while it waits or runs.
type laneItem struct {
	lane    *Lane
	index   int64
	pos     int // in lane.live while running
	task    Task
	streams []kind.Stream // the channels its arguments gave it: closed when it ends
}

// OpenLane returns a lane for items of kind, running at most limit at once
// (1 <= limit <= MaxLaneConcurrency), each with its own timeout (0: none).
func (rt *Runtime) OpenLane(name string, limit int, ordered bool, timeout time.Duration) (*Lane, error) {
	if _, ok := kind.Lookup(name); !ok {
		return nil, &kind.UnknownKindError{Name: strings.Clone(name)} // name may alias C memory
	}
	if limit < 1 || limit > MaxLaneConcurrency {
		return nil, fmt.Errorf("%w: a lane's concurrency must be between 1 and %d, got %d",
			kind.ErrInvalidArgument, MaxLaneConcurrency, limit)
	}
	if timeout < 0 {
		timeout = 0
	}
	l := &Lane{rt: rt, kindName: strings.Clone(name), limit: limit, ordered: ordered, timeout: timeout,
		signal: make(chan struct{}, 1)}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	if rt.lanes == nil {
		rt.lanes = make(map[*Lane]struct{})
	}
	rt.lanes[l] = struct{}{}
	return l, nil
}

// Feed validates every item of items (argument lists for the lane's kind)
// and then adds them all, after the items fed before; a bad item adds
// nothing and its error names its input index. Items of an Inline kind run
// during Feed when a slot is free.
func (l *Lane) Feed(items [][]kind.Value) error {
	l.feeding.Lock() // one Feed at a time, so that the items keep their order
	defer l.feeding.Unlock()
	rt := l.rt
	rt.mu.Lock()
	first := l.fed
	closed := l.closed || rt.closed
	rt.mu.Unlock()
	if closed {
		return ErrClosed
	}
	// Validate outside the lock: a kind's Prepare may do real work.
	plans := l.plans[:0]
	defer func() {
		clear(plans) // drop what the plans reference
		l.plans = plans[:0]
	}()
	var k *kind.Kind
	for i, values := range items {
		var p kind.Plan
		var err error
		k, p, err = kind.Prepare(rt, l.kindName, values)
		if err != nil {
			return fmt.Errorf("item %d: %w", first+int64(i), err)
		}
		plans = append(plans, p)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if l.closed || rt.closed {
		return ErrClosed
	}
	if l.ordered {
		n := len(l.slots)
		l.slots = slices.Grow(l.slots, len(plans))[:n+len(plans)]
		clear(l.slots[n:])
	}
	var inline Task // reused by the items run during Feed; queued ones get their own
	for _, p := range plans {
		index := l.fed
		l.fed++
		rt.lastID++
		rt.laneItems++
		if k.Inline && len(l.live) < l.limit && rt.slotFreeLocked() {
			// Instant work, as in Runtime.enterLocked: done before Feed returns.
			inline = taskOf(k, p, l.timeout)
			inline.ID = rt.lastID
			rt.count(StateNotFound, StateRunning) // record counts it out of running
			res, terr := inline.runInline()
			closeStreams(p.Streams)
			l.record(index, inline.ID, res, terr)
			continue
		}
		rt.count(StateNotFound, StateQueued)
		it := &laneItem{lane: l, index: index, task: taskOf(k, p, l.timeout), streams: p.Streams}
		it.task.ID = rt.lastID
		l.queue = append(l.queue, it)
	}
	l.startQueued()
	l.wake()
	return nil
}

// startQueued starts fed items while the lane and the runtime have free
// slots. When only the runtime is full, the lane waits in the runtime's queue
// until a slot frees.
func (l *Lane) startQueued() {
	rt := l.rt
	for !l.closed && len(l.queue) > 0 && len(l.live) < l.limit {
		if !rt.slotFreeLocked() {
			if !l.blocked { // wait for a slot in the runtime's queue
				l.blocked = true
				rt.queue = append(rt.queue, waiter{lane: l})
			}
			return
		}
		it := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		rt.count(StateQueued, StateRunning)
		rt.running++
		it.pos = len(l.live)
		l.live = append(l.live, it)
		it.task.start(it.finish)
	}
}

// finish is the end of an item's work (the finish callback of Task.start).
func (it *laneItem) finish(_ *Task, res kind.Result, terr *TaskError) {
	l := it.lane
	rt := l.rt
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.releaseSlotLocked()
	if l.closed { // the item was dropped by Close, which did its accounting
		rt.startQueued() // but its slot was only freed now
		return
	}
	l.unlive(it)
	closeStreams(it.streams)
	l.record(it.index, it.task.ID, res, terr)
	rt.startQueued() // what waited in the runtime's queue goes first
	l.startQueued()
	l.wake()
}

// unlive removes a finished or stopped item from l.live.
func (l *Lane) unlive(it *laneItem) {
	last := len(l.live) - 1
	moved := l.live[last]
	l.live[it.pos] = moved
	moved.pos = it.pos
	l.live[last] = nil
	l.live = l.live[:last]
}

// record stores the outcome of the running item index (whose task id is id),
// counted as running until now.
func (l *Lane) record(index, id int64, res kind.Result, terr *TaskError) {
	o := Outcome{ID: id, State: StateCompleted, Data: res.Data}
	if terr != nil {
		o.State, o.Failure, o.Data = StateFailed, terr.Code, []byte(terr.Message)
	}
	l.rt.count(StateRunning, o.State)
	if !l.ordered {
		l.finished = append(l.finished, o)
		return
	}
	l.slots[index-l.taken] = o
	for l.prefix < len(l.slots) && l.slots[l.prefix].State.Done() {
		l.prefix++
	}
}

// ready is how many outcomes Take could hand out now.
func (l *Lane) ready() int {
	if l.ordered {
		return l.prefix
	}
	return len(l.finished)
}

// idle reports whether no item is waiting or running: no outcome will come
// until more items are fed.
func (l *Lane) idle() bool { return len(l.live) == 0 && len(l.queue) == 0 }

// wake tells a waiting Take that what it wants may be there.
func (l *Lane) wake() {
	if l.want > 0 && (l.closed || l.ready() >= l.want || l.idle()) {
		l.want = 0
		select {
		case l.signal <- struct{}{}:
		default:
		}
	}
}

// ErrBufferTooSmall is returned by Take when the first ready outcome alone is
// larger than the caller's buffer; nothing is taken.
var ErrBufferTooSmall = fmt.Errorf("the buffer is too small for the next outcome")

// Take waits until an outcome is ready or timeout passes (negative: no limit,
// zero: just look), and then, to save the caller wake-ups, until minReady are
// ready, nothing more is running, or linger has passed since the first was
// ready. It hands out up to maxCount outcomes whose data fit in budget bytes
// together (at least one, unless the first alone is larger: then it takes
// nothing and returns its size with ErrBufferTooSmall).
func (l *Lane) Take(maxCount, minReady, budget int, linger, timeout time.Duration) ([]Outcome, int, error) {
	rt := l.rt
	var expired, lingered <-chan time.Time
	lingerOver := false
	for {
		rt.mu.Lock()
		if l.closed || rt.closed {
			rt.mu.Unlock()
			return nil, 0, ErrClosed
		}
		n := l.ready()
		enough := min(minReady, int(l.fed-l.taken))
		if n > 0 && (n >= enough || lingerOver || l.idle() || timeout == 0) {
			out, needed, err := l.takeLocked(maxCount, budget)
			rt.mu.Unlock()
			return out, needed, err
		}
		if n == 0 && timeout == 0 {
			rt.mu.Unlock()
			return nil, 0, ErrTimeout
		}
		l.want = 1 // the first ready outcome starts the linger
		if n > 0 {
			l.want = enough
		}
		rt.mu.Unlock()
		if n > 0 && lingered == nil {
			timer := time.NewTimer(linger)
			defer timer.Stop()
			lingered = timer.C
		}
		if expired == nil && timeout > 0 {
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			expired = timer.C
		}
		select {
		case <-l.signal:
		case <-lingered:
			lingerOver = true
		case <-expired:
			rt.mu.Lock()
			l.want = 0
			n := l.ready()
			rt.mu.Unlock()
			if n == 0 {
				return nil, 0, ErrTimeout
			}
			lingerOver = true // something is ready: hand it out
		}
	}
}

// takeLocked hands out ready outcomes (see Take). Called with rt.mu held.
func (l *Lane) takeLocked(maxCount, budget int) ([]Outcome, int, error) {
	src := l.finished
	if l.ordered {
		src = l.slots[:l.prefix]
	}
	if len(src[0].Data) > budget {
		return nil, len(src[0].Data), ErrBufferTooSmall
	}
	n, used := 0, 0
	for n < len(src) && n < maxCount && (n == 0 || used+len(src[n].Data) <= budget) {
		used += len(src[n].Data)
		n++
	}
	out := make([]Outcome, n)
	copy(out, src)
	clear(src[:n]) // drop the references to the data
	if l.ordered {
		l.slots = l.slots[n:]
		l.prefix -= n
	} else {
		l.finished = l.finished[n:]
	}
	for _, o := range out {
		l.rt.count(o.State, StateNotFound)
	}
	l.taken += int64(n)
	l.rt.laneItems -= int64(n)
	return out, 0, nil
}

// Close stops the lane: running items are cancelled, waiting ones and
// outcomes not taken are dropped, a waiting Take returns ErrClosed. Closing
// twice is fine.
func (l *Lane) Close() {
	l.rt.mu.Lock()
	defer l.rt.mu.Unlock()
	l.closeLocked()
	delete(l.rt.lanes, l)
	l.rt.startQueued() // the slots of stopped items are free
}

// closeLocked is Close with rt.mu held, also used by Runtime.Close.
func (l *Lane) closeLocked() {
	if l.closed {
		return
	}
	rt := l.rt
	l.closed = true
	for _, it := range l.live {
		if !it.task.stop() { // its finish will not run to free its slot
			rt.releaseSlotLocked()
		}
		rt.count(StateRunning, StateNotFound)
		closeStreams(it.streams) // dropped: its channels end now, as a cancelled task's do
	}
	for _, it := range l.queue {
		rt.count(StateQueued, StateNotFound)
		closeStreams(it.streams)
	}
	for _, held := range [][]Outcome{l.finished, l.slots} {
		for _, o := range held {
			if o.State.Done() { // ordered slots of unfinished items are not
				rt.count(o.State, StateNotFound)
			}
		}
	}
	rt.laneItems -= l.fed - l.taken
	l.live, l.queue, l.slots, l.finished = nil, nil, nil, nil
	l.prefix = 0
	l.want = 0
	select {
	case l.signal <- struct{}{}:
	default:
	}
}
