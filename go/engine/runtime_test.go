package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gogoroutines.dev/go/kind"
	// The engine is tested with the built-in kinds (and test kinds of its own).
	_ "gogoroutines.dev/go/kinds/all"
)

// hangGuard bounds every wait in the tests. It is only a guard against hangs:
// no test asserts that anything finishes faster than this.
const hangGuard = 10 * time.Second

// ---- helpers shared by all test files of the package ----

func vFloat(name string, f float64) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueFloat, Float: f}
}
func vInt(name string, i int64) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueInt, Int: i}
}
func vStr(name, s string) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueStr, Bytes: []byte(s)}
}
func vBytes(name string, b []byte) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueBytes, Bytes: b}
}
func vBool(name string, b bool) kind.Value {
	v := kind.Value{Name: name, Type: kind.ValueBool}
	if b {
		v.Int = 1
	}
	return v
}
func vNone(name string) kind.Value { return kind.Value{Name: name, Type: kind.ValueNone} }

// newRT returns a runtime that is closed when the test ends, so that no task
// of a test outlives it.
func mustRuntime(maxConcurrency int) *Runtime {
	rt, err := NewRuntime(maxConcurrency)
	if err != nil {
		panic(err)
	}
	return rt
}

func newRT(t *testing.T, maxConcurrency int) *Runtime {
	t.Helper()
	rt := mustRuntime(maxConcurrency)
	t.Cleanup(rt.Close)
	return rt
}

func mustSpawn(t *testing.T, rt *Runtime, kind string, values []kind.Value, timeout time.Duration) int64 {
	t.Helper()
	id, err := rt.Spawn(kind, values, timeout)
	if err != nil {
		t.Fatalf("Spawn(%q, %v): %v", kind, values, err)
	}
	if id <= 0 {
		t.Fatalf("Spawn(%q) returned id %d", kind, id)
	}
	return id
}

// waitFinal waits (at most hangGuard) until task id is finished.
func waitFinal(t *testing.T, rt *Runtime, id int64) (*Task, State) {
	t.Helper()
	task, state, err := rt.Wait(id, hangGuard)
	if err != nil {
		t.Fatalf("Wait(%d): state %v, err %v", id, state, err)
	}
	if !state.Done() {
		t.Fatalf("Wait(%d) returned unfinished state %v without error", id, state)
	}
	return task, state
}

// waitFor polls cond until it holds, failing the test after hangGuard.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// within runs f on a goroutine and fails the test if it does not return
// within hangGuard.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("%s did not return (deadlock?)", what)
	}
}

// blockedWaiters counts goroutines parked in the select of Runtime.Wait, so
// that a test can make sure its waiters are really waiting (and not about to
// look the task up) before it cancels or closes.
func blockedWaiters() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") && strings.Contains(g, ".(*Runtime).Wait(") {
			count++
		}
	}
	return count
}

// slotsInUse reads how many task goroutines still hold a concurrency slot.
// Once it is 0 after the last spawn, no queued task can start any more.
func slotsInUse(rt *Runtime) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.running
}

// settled reports whether a task is in a final state with its waiters woken
// (no channel of a blocked Wait left open for it).
func settled(rt *Runtime, task *Task) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	_, waited := rt.waiting[task]
	return task.state.Done() && !waited
}

// taskState reads a task's state under the runtime's mutex.
func taskState(rt *Runtime, task *Task) State {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return task.state
}

func checkZeroStats(t *testing.T, s Stats) {
	t.Helper()
	s.Goroutines = 0
	if s != (Stats{}) {
		t.Fatalf("stats not all zero: %+v", s)
	}
}

func checkInvariant(s Stats) error {
	if s.Total != s.Active+s.Completed+s.Failed+s.Cancelled {
		return fmt.Errorf("Total %d != Active+Completed+Failed+Cancelled in %+v", s.Total, s)
	}
	if s.Queued < 0 || s.Queued > s.Active || s.Completed < 0 || s.Failed < 0 || s.Cancelled < 0 {
		return fmt.Errorf("impossible counters in %+v", s)
	}
	return nil
}

// ---- the test_gate kind: runs until the test opens its gate ----

// gateBook records what test_gate tasks do. A key is "group#name"; the
// running/maxRunning counters are kept per group so that tasks of an earlier
// test still winding down cannot disturb a later test.
type gateBook struct {
	mu         sync.Mutex
	gates      map[string]chan struct{}
	started    map[string][]string // group -> keys in start order
	exits      map[string]string   // key -> "opened" or "ctx"
	running    map[string]int
	maxRunning map[string]int
}

var book = &gateBook{
	gates:      map[string]chan struct{}{},
	started:    map[string][]string{},
	exits:      map[string]string{},
	running:    map[string]int{},
	maxRunning: map[string]int{},
}

func groupOf(key string) string {
	if i := strings.LastIndexByte(key, '#'); i >= 0 {
		return key[:i]
	}
	return key
}

func (b *gateBook) gateLocked(key string) chan struct{} {
	g, ok := b.gates[key]
	if !ok {
		g = make(chan struct{})
		b.gates[key] = g
	}
	return g
}

func (b *gateBook) gate(key string) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gateLocked(key)
}

func (b *gateBook) open(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.gateLocked(key)
	select {
	case <-g:
	default:
		close(g)
	}
}

func (b *gateBook) begin(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	grp := groupOf(key)
	b.started[grp] = append(b.started[grp], key)
	b.running[grp]++
	if b.running[grp] > b.maxRunning[grp] {
		b.maxRunning[grp] = b.running[grp]
	}
}

func (b *gateBook) end(key, how string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running[groupOf(key)]--
	b.exits[key] = how
}

func (b *gateBook) startOrder(group string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.started[group]...)
}

func (b *gateBook) hasStarted(key string) bool {
	for _, k := range b.startOrder(groupOf(key)) {
		if k == key {
			return true
		}
	}
	return false
}

func (b *gateBook) exit(key string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.exits[key]
}

func (b *gateBook) max(group string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.maxRunning[group]
}

var (
	groupsMu sync.Mutex
	groups   = map[*testing.T]string{}
	groupSeq int
)

// gateGroup returns a group name unique to this run of the test t (tests may
// run several times in one process, with -count).
func gateGroup(t *testing.T) string {
	groupsMu.Lock()
	defer groupsMu.Unlock()
	g, ok := groups[t]
	if !ok {
		groupSeq++
		g = fmt.Sprintf("%s@%d", t.Name(), groupSeq)
		groups[t] = g
		t.Cleanup(func() {
			groupsMu.Lock()
			delete(groups, t)
			groupsMu.Unlock()
		})
	}
	return g
}

// gateKey returns a key unique to this run of the test t.
func gateKey(t *testing.T, name string) string { return gateGroup(t) + "#" + name }

func gateArgs(key string) []kind.Value { return []kind.Value{vStr("key", key)} }

func init() {
	kind.Register(&kind.Kind{
		Name:   "test_gate",
		Doc:    "test only: runs until its gate is opened or its context is done",
		Params: []kind.Param{{Name: "key", Type: kind.String, Required: true}},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			key := a.Str("key")
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (kind.Result, error) {
				g := book.gate(key)
				book.begin(key)
				select {
				case <-g:
					book.end(key, "opened")
					return kind.Result{Data: []byte(key)}, nil
				case <-ctx.Done():
					book.end(key, "ctx")
					return kind.Result{}, ctx.Err()
				}
			}, nil
		},
	})
	kind.Register(&kind.Kind{
		Name:   "test_inline",
		Doc:    "test only: an inline kind that returns its `data`",
		Params: []kind.Param{{Name: "data", Type: kind.Data, Required: true}},
		Inline: true,
		Prepare: func(a *kind.Args) (kind.Work, error) {
			data := a.Data("data")
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(context.Context) (kind.Result, error) { return kind.Result{Data: data}, nil }, nil
		},
	})
	kind.Register(&kind.Kind{
		Name: "test_ctxcheck",
		Doc:  "test only: completes at once unless its context is already done",
		Prepare: func(a *kind.Args) (kind.Work, error) {
			return func(ctx context.Context) (kind.Result, error) {
				if err := ctx.Err(); err != nil {
					return kind.Result{}, err
				}
				return kind.Result{Data: []byte("fresh")}, nil
			}, nil
		},
	})
}

// ---- ids ----

func TestIDsStartAtOneAndAreNeverReused(t *testing.T) {
	rt := newRT(t, 0)
	echo := []kind.Value{vStr("data", "x")}

	if id := mustSpawn(t, rt, "echo", echo, 0); id != 1 {
		t.Fatalf("first id = %d, want 1", id)
	}
	seen := map[int64]bool{1: true}
	last := int64(1)
	for i := 0; i < 50; i++ {
		id := mustSpawn(t, rt, "echo", echo, 0)
		if seen[id] || id <= last {
			t.Fatalf("spawn %d: id %d reused or not increasing (last %d)", i, id, last)
		}
		seen[id] = true
		last = id
		// Release the newest task and sometimes older ones: ids of released
		// tasks must not come back.
		if err := rt.Release(id); err != nil {
			t.Fatalf("Release(%d): %v", id, err)
		}
		if i%3 == 0 {
			_ = rt.Release(id - 1)
		}
	}
	// A failed spawn returns no id.
	if id, err := rt.Spawn("echo", nil, 0); err == nil || id != 0 {
		t.Fatalf("failed Spawn returned id %d, err %v", id, err)
	}
	if id := mustSpawn(t, rt, "echo", echo, 0); seen[id] || id <= last {
		t.Fatalf("id %d after releases reuses or precedes %d", id, last)
	}

	// Every runtime numbers its own tasks from 1.
	other := newRT(t, 0)
	if id := mustSpawn(t, other, "echo", echo, 0); id != 1 {
		t.Fatalf("first id of a second runtime = %d, want 1", id)
	}
}

// ---- Wait ----

func TestWaitZeroOnlyLooks(t *testing.T) {
	rt := newRT(t, 1)
	running := gateKey(t, "running")
	queued := gateKey(t, "queued")
	id := mustSpawn(t, rt, "test_gate", gateArgs(running), 0)
	qid := mustSpawn(t, rt, "test_gate", gateArgs(queued), 0)

	within(t, "Wait(running, 0)", func() {
		task, state, err := rt.Wait(id, 0)
		if !errors.Is(err, ErrTimeout) || state != StateRunning || task == nil || task.ID != id {
			t.Errorf("Wait(running, 0) = %v, %v, %v; want task %d, StateRunning, ErrTimeout", task, state, err, id)
		}
	})
	within(t, "Wait(queued, 0)", func() {
		_, state, err := rt.Wait(qid, 0)
		if !errors.Is(err, ErrTimeout) || state != StateQueued {
			t.Errorf("Wait(queued, 0) = %v, %v; want StateQueued, ErrTimeout", state, err)
		}
	})

	book.open(running)
	book.open(queued)
	waitFinal(t, rt, id)
	waitFinal(t, rt, qid)
	task, state, err := rt.Wait(id, 0)
	if err != nil || state != StateCompleted || string(task.result.Data) != running {
		t.Fatalf("Wait(done, 0) = %v, %v, result %q; want StateCompleted, nil, %q", state, err, task.result.Data, running)
	}
}

func TestWaitNegativeWaitsForEver(t *testing.T) {
	rt := newRT(t, 0)
	key := gateKey(t, "g")
	id := mustSpawn(t, rt, "test_gate", gateArgs(key), 0)

	type outcome struct {
		state State
		err   error
	}
	got := make(chan outcome, 1)
	go func() {
		_, state, err := rt.Wait(id, -1)
		got <- outcome{state, err}
	}()
	select {
	case o := <-got:
		t.Fatalf("Wait(-1) returned %v, %v while the task was still running", o.state, o.err)
	case <-time.After(50 * time.Millisecond):
	}
	book.open(key)
	select {
	case o := <-got:
		if o.err != nil || o.state != StateCompleted {
			t.Fatalf("Wait(-1) = %v, %v; want StateCompleted, nil", o.state, o.err)
		}
	case <-time.After(hangGuard):
		t.Fatal("Wait(-1) did not return after the task finished")
	}
}

func TestWaitPositiveTimesOutOnRunningTask(t *testing.T) {
	rt := newRT(t, 0)
	key := gateKey(t, "g")
	id := mustSpawn(t, rt, "test_gate", gateArgs(key), 0)

	const d = 30 * time.Millisecond
	start := time.Now()
	task, state, err := rt.Wait(id, d)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) || state != StateRunning || task == nil {
		t.Fatalf("Wait(%v) = %v, %v, %v; want task, StateRunning, ErrTimeout", d, task, state, err)
	}
	if elapsed < d {
		t.Fatalf("Wait(%v) gave up after only %v", d, elapsed)
	}

	// A queued task times out too, and says it is queued.
	rt1 := newRT(t, 1)
	blocker, queued := gateKey(t, "blocker"), gateKey(t, "queued")
	mustSpawn(t, rt1, "test_gate", gateArgs(blocker), 0)
	qid := mustSpawn(t, rt1, "test_gate", gateArgs(queued), 0)
	if _, state, err := rt1.Wait(qid, d); !errors.Is(err, ErrTimeout) || state != StateQueued {
		t.Fatalf("Wait(queued, %v) = %v, %v; want StateQueued, ErrTimeout", d, state, err)
	}
	book.open(blocker)
	book.open(queued)

	// A positive timeout longer than the task returns its final state.
	book.open(key)
	if _, state, err := rt.Wait(id, hangGuard); err != nil || state != StateCompleted {
		t.Fatalf("Wait after opening = %v, %v; want StateCompleted, nil", state, err)
	}
}

func TestWaitUnknownID(t *testing.T) {
	rt := newRT(t, 0)
	for _, id := range []int64{0, -1, 1, 99} {
		task, state, err := rt.Wait(id, 0)
		if task != nil || state != StateNotFound || !errors.Is(err, ErrNotFound) {
			t.Errorf("Wait(%d) = %v, %v, %v; want nil, StateNotFound, ErrNotFound", id, task, state, err)
		}
	}
}

// ---- Status ----

func TestStatusOfUnknownID(t *testing.T) {
	rt := newRT(t, 0)
	id := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "x")}, 0)
	waitFinal(t, rt, id)
	if err := rt.Release(id); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{0, -5, id, id + 1, 1 << 62} {
		state, err := rt.Status(id)
		if state != StateNotFound || err != nil {
			t.Errorf("Status(%d) = %v, %v; want StateNotFound, nil", id, state, err)
		}
	}
}

func TestStatusFollowsTheTask(t *testing.T) {
	rt := newRT(t, 1)
	a, b := gateKey(t, "a"), gateKey(t, "b")
	ida := mustSpawn(t, rt, "test_gate", gateArgs(a), 0)
	idb := mustSpawn(t, rt, "test_gate", gateArgs(b), 0)
	if s, _ := rt.Status(ida); s != StateRunning {
		t.Fatalf("Status(a) = %v, want StateRunning", s)
	}
	if s, _ := rt.Status(idb); s != StateQueued {
		t.Fatalf("Status(b) = %v, want StateQueued", s)
	}
	book.open(a)
	book.open(b)
	waitFinal(t, rt, idb)
	for _, id := range []int64{ida, idb} {
		if s, err := rt.Status(id); s != StateCompleted || err != nil {
			t.Fatalf("Status(%d) = %v, %v; want StateCompleted", id, s, err)
		}
	}
}

// ---- Cancel ----

func TestCancelRunningTask(t *testing.T) {
	rt := newRT(t, 0)
	key := gateKey(t, "g")
	id := mustSpawn(t, rt, "test_gate", gateArgs(key), 0)
	waitFor(t, "the task to start", func() bool { return book.hasStarted(key) })

	type outcome struct {
		task  *Task
		state State
		err   error
	}
	const waiters = 3
	woke := make(chan outcome, waiters)
	for i := 0; i < waiters; i++ {
		go func() {
			task, state, err := rt.Wait(id, -1)
			woke <- outcome{task, state, err}
		}()
	}

	waitFor(t, "the waiters to block", func() bool { return blockedWaiters() >= waiters })
	ok, err := rt.Cancel(id)
	if !ok || err != nil {
		t.Fatalf("Cancel(running) = %v, %v; want true, nil", ok, err)
	}
	// The state changes at once, before the work has even noticed.
	if s, err := rt.Status(id); s != StateCancelled || err != nil {
		t.Fatalf("Status right after Cancel = %v, %v; want StateCancelled", s, err)
	}
	for i := 0; i < waiters; i++ {
		select {
		case o := <-woke:
			if o.err != nil || o.state != StateCancelled || o.task.err != nil || len(o.task.result.Data) != 0 {
				t.Fatalf("waiter woke with %v, %v (task err %v, result %q); want StateCancelled, nil",
					o.state, o.err, o.task.err, o.task.result.Data)
			}
		case <-time.After(hangGuard):
			t.Fatal("a waiter did not wake after Cancel")
		}
	}
	// The work's context is cancelled too.
	waitFor(t, "the work to see its context cancelled", func() bool { return book.exit(key) != "" })
	if how := book.exit(key); how != "ctx" {
		t.Fatalf("work exited by %q, want ctx", how)
	}
	// When the work returns, the task stays cancelled.
	waitFor(t, "the slot to be freed", func() bool { return slotsInUse(rt) == 0 })
	if s, _ := rt.Status(id); s != StateCancelled {
		t.Fatalf("Status after the work returned = %v, want StateCancelled", s)
	}
	if ok, err := rt.Cancel(id); ok || err != nil {
		t.Fatalf("second Cancel = %v, %v; want false, nil", ok, err)
	}
	s := rt.Stats()
	if s.Total != 1 || s.Cancelled != 1 || s.Active != 0 || s.Failed != 0 || s.Completed != 0 {
		t.Fatalf("stats after cancel = %+v", s)
	}
}

func TestCancelAfterCompletionReturnsFalse(t *testing.T) {
	rt := newRT(t, 0)
	id := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "kept")}, 0)
	waitFinal(t, rt, id)
	if ok, err := rt.Cancel(id); ok || err != nil {
		t.Fatalf("Cancel(completed) = %v, %v; want false, nil", ok, err)
	}
	task, state, err := rt.Wait(id, 0)
	if state != StateCompleted || err != nil || string(task.result.Data) != "kept" {
		t.Fatalf("after Cancel: %v, %v, %q; want StateCompleted with its result", state, err, task.result.Data)
	}

	// A failed task stays failed, too.
	fid := mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", 10)}, time.Millisecond)
	if _, state := waitFinal(t, rt, fid); state != StateFailed {
		t.Fatalf("timed-out task state = %v, want StateFailed", state)
	}
	if ok, err := rt.Cancel(fid); ok || err != nil {
		t.Fatalf("Cancel(failed) = %v, %v; want false, nil", ok, err)
	}
	if s, _ := rt.Status(fid); s != StateFailed {
		t.Fatalf("Status after Cancel(failed) = %v", s)
	}
}

func TestCancelUnknownID(t *testing.T) {
	rt := newRT(t, 0)
	if ok, err := rt.Cancel(3); ok || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Cancel(unknown) = %v, %v; want false, ErrNotFound", ok, err)
	}
}

// ---- Release ----

func TestReleaseRunningTaskCancelsAndRemovesIt(t *testing.T) {
	rt := newRT(t, 0)
	key := gateKey(t, "g")
	id := mustSpawn(t, rt, "test_gate", gateArgs(key), 0)
	waitFor(t, "the task to start", func() bool { return book.hasStarted(key) })
	task, _, _ := rt.Wait(id, 0)
	if task == nil {
		t.Fatal("Wait(id, 0) returned no task")
	}

	if err := rt.Release(id); err != nil {
		t.Fatalf("Release(running) = %v", err)
	}
	if s, err := rt.Status(id); s != StateNotFound || err != nil {
		t.Fatalf("Status after Release = %v, %v; want StateNotFound", s, err)
	}
	if _, _, err := rt.Wait(id, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Wait after Release = %v, want ErrNotFound", err)
	}
	if _, err := rt.Cancel(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Cancel after Release = %v, want ErrNotFound", err)
	}
	if !settled(rt, task) {
		t.Fatal("the released task's waiters were not woken")
	}
	if task.state != StateCancelled {
		t.Fatalf("released running task ended in %v, want StateCancelled", task.state)
	}
	waitFor(t, "the work to be cancelled", func() bool { return book.exit(key) == "ctx" })
	waitFor(t, "the slot to be freed", func() bool { return slotsInUse(rt) == 0 })
	checkZeroStats(t, rt.Stats())
}

func TestReleaseTwiceAndUnknownAreFine(t *testing.T) {
	rt := newRT(t, 0)
	id := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "x")}, 0)
	waitFinal(t, rt, id)
	for i := 0; i < 2; i++ {
		if err := rt.Release(id); err != nil {
			t.Fatalf("Release #%d = %v", i+1, err)
		}
	}
	if err := rt.Release(12345); err != nil {
		t.Fatalf("Release(unknown) = %v", err)
	}
	checkZeroStats(t, rt.Stats())
}

func TestReleasedTasksLeaveStatsZeroAfterTheirWorkEnds(t *testing.T) {
	rt := newRT(t, 2)
	var ids []int64
	var keys []string
	for i := 0; i < 4; i++ { // two running, two queued
		k := gateKey(t, fmt.Sprint(i))
		keys = append(keys, k)
		ids = append(ids, mustSpawn(t, rt, "test_gate", gateArgs(k), 0))
	}
	ids = append(ids, mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "x")}, 0))
	waitFor(t, "two gates to start", func() bool { return len(book.startOrder(gateGroup(t))) == 2 })
	// Queued tasks first: releasing a running one frees a slot, which a
	// still-queued task would legitimately take.
	for i := len(ids) - 1; i >= 0; i-- {
		if err := rt.Release(ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	checkZeroStats(t, rt.Stats())
	waitFor(t, "all slots to be freed", func() bool { return slotsInUse(rt) == 0 })
	checkZeroStats(t, rt.Stats())
	if n := len(book.startOrder(gateGroup(t))); n != 2 {
		t.Fatalf("%d gate tasks started, want 2 (released queued tasks must not run)", n)
	}
}

// ---- Stats ----

func TestStatsString(t *testing.T) {
	s := Stats{Total: 1, Active: 2, Queued: 3, Completed: 4, Failed: 5, Cancelled: 6, Goroutines: 7}
	want := "Total: 1, Active: 2, Completed: 4, Failed: 5, Go Routines: 7"
	if got := s.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestStatsInvariantUnderLoad(t *testing.T) {
	const limit = 3
	rt := newRT(t, limit)

	stop := make(chan struct{})
	pollerDone := make(chan int)
	var violation atomic.Value
	go func() {
		n := 0
		check := func() {
			s := rt.Stats()
			n++
			if err := checkInvariant(s); err != nil {
				violation.CompareAndSwap(nil, err.Error())
			}
			if s.Active-s.Queued > limit {
				violation.CompareAndSwap(nil, fmt.Sprintf("%d running with a limit of %d: %+v", s.Active-s.Queued, limit, s))
			}
		}
		for {
			select {
			case <-stop:
				check()
				pollerDone <- n
				return
			default:
				check()
			}
		}
	}()

	// Four categories with known outcomes.
	const perSpawner, spawners = 40, 3
	var (
		mu    sync.Mutex
		ids   []int64
		wantC int64 // completed
		wantF int64 // failed
		wantX int64 // cancelled
	)
	var wg sync.WaitGroup
	for w := 0; w < spawners; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perSpawner; i++ {
				var (
					id  int64
					err error
				)
				switch (i + w) % 4 {
				case 0: // a short sleep: completes
					id, err = rt.Spawn("sleep", []kind.Value{vFloat("seconds", float64(i%4)*0.001)}, 0)
					atomic.AddInt64(&wantC, 1)
				case 1: // an echo: completes
					id, err = rt.Spawn("echo", []kind.Value{vBytes("data", []byte{byte(i)})}, 0)
					atomic.AddInt64(&wantC, 1)
				case 2: // a long sleep with a short deadline: fails
					id, err = rt.Spawn("sleep", []kind.Value{vFloat("seconds", 60)}, 2*time.Millisecond)
					atomic.AddInt64(&wantF, 1)
				case 3: // a long sleep, cancelled at once
					id, err = rt.Spawn("sleep", []kind.Value{vInt("seconds", 60)}, 0)
					if err == nil {
						if ok, cerr := rt.Cancel(id); !ok || cerr != nil {
							t.Errorf("Cancel(%d) = %v, %v", id, ok, cerr)
						}
					}
					atomic.AddInt64(&wantX, 1)
				}
				if err != nil {
					t.Errorf("Spawn: %v", err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if t.Failed() {
		close(stop)
		<-pollerDone
		t.FailNow()
	}
	for _, id := range ids {
		waitFinal(t, rt, id)
	}
	close(stop)
	if n := <-pollerDone; n < 2 {
		t.Fatalf("the poller ran only %d times", n)
	}
	if v := violation.Load(); v != nil {
		t.Fatalf("stats invariant violated: %s", v)
	}

	s := rt.Stats()
	if err := checkInvariant(s); err != nil {
		t.Fatal(err)
	}
	want := Stats{Total: int64(len(ids)), Completed: wantC, Failed: wantF, Cancelled: wantX, Goroutines: s.Goroutines}
	if s != want {
		t.Fatalf("final stats %+v, want %+v", s, want)
	}

	for i, id := range ids {
		if err := rt.Release(id); err != nil {
			t.Fatal(err)
		}
		if i%17 == 0 {
			if err := checkInvariant(rt.Stats()); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkZeroStats(t, rt.Stats())
}

// ---- Close ----

func TestCloseCancelsUnfinishedTasks(t *testing.T) {
	rt := mustRuntime(2)
	defer rt.Close()

	eid := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "done")}, 0)
	echoTask, _ := waitFinal(t, rt, eid)
	a, b, c := gateKey(t, "a"), gateKey(t, "b"), gateKey(t, "c")
	ida := mustSpawn(t, rt, "test_gate", gateArgs(a), 0)
	idb := mustSpawn(t, rt, "test_gate", gateArgs(b), 0)
	idc := mustSpawn(t, rt, "test_gate", gateArgs(c), 0) // queued
	if s, _ := rt.Status(idc); s != StateQueued {
		t.Fatalf("third gate task is %v, want StateQueued", s)
	}
	var tasks []*Task
	for _, id := range []int64{ida, idb, idc} {
		task, _, _ := rt.Wait(id, 0)
		tasks = append(tasks, task)
	}
	waitFor(t, "two gate tasks to start", func() bool { return book.hasStarted(a) && book.hasStarted(b) })

	woke := make(chan State, 1)
	go func() {
		_, state, _ := rt.Wait(ida, -1)
		woke <- state
	}()

	waitFor(t, "the waiter to block", func() bool { return blockedWaiters() >= 1 })
	within(t, "Close", rt.Close)

	for i, task := range tasks {
		if !settled(rt, task) {
			t.Fatalf("task %d not finished by Close", task.ID)
		}
		if task.state != StateCancelled {
			t.Fatalf("task %d (#%d) ended in %v, want StateCancelled", task.ID, i, task.state)
		}
	}
	if echoTask.state != StateCompleted || string(echoTask.result.Data) != "done" {
		t.Fatalf("a completed task changed on Close: %v %q", echoTask.state, echoTask.result.Data)
	}
	select {
	case s := <-woke:
		if s != StateCancelled {
			t.Fatalf("waiter woke with %v, want StateCancelled", s)
		}
	case <-time.After(hangGuard):
		t.Fatal("a waiter did not wake on Close")
	}
	waitFor(t, "running work to be cancelled", func() bool { return book.exit(a) == "ctx" && book.exit(b) == "ctx" })
	waitFor(t, "all slots to be freed", func() bool { return slotsInUse(rt) == 0 })
	if book.hasStarted(c) {
		t.Fatal("a task queued at Close ran afterwards")
	}

	// Every later call fails with ErrClosed.
	if id, err := rt.Spawn("echo", []kind.Value{vStr("data", "x")}, 0); !errors.Is(err, ErrClosed) || id != 0 {
		t.Fatalf("Spawn after Close = %d, %v; want 0, ErrClosed", id, err)
	}
	if task, s, err := rt.Wait(eid, 0); !errors.Is(err, ErrClosed) || task != nil || s != StateNotFound {
		t.Fatalf("Wait after Close = %v, %v, %v; want nil, StateNotFound, ErrClosed", task, s, err)
	}
	if _, _, err := rt.Wait(ida, -1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait(-1) after Close = %v, want ErrClosed", err)
	}
	if s, err := rt.Status(eid); !errors.Is(err, ErrClosed) || s != StateNotFound {
		t.Fatalf("Status after Close = %v, %v; want StateNotFound, ErrClosed", s, err)
	}
	if ok, err := rt.Cancel(ida); !errors.Is(err, ErrClosed) || ok {
		t.Fatalf("Cancel after Close = %v, %v; want false, ErrClosed", ok, err)
	}
	if err := rt.Release(ida); !errors.Is(err, ErrClosed) {
		t.Fatalf("Release after Close = %v, want ErrClosed", err)
	}
	checkZeroStats(t, rt.Stats())

	// Closing again, even concurrently, is fine.
	within(t, "Close again", func() {
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); rt.Close() }()
		}
		wg.Wait()
	})
	checkZeroStats(t, rt.Stats())
}

// ---- per-task timeouts ----

func TestTaskTimeoutFails(t *testing.T) {
	rt := newRT(t, 0)
	const d = 20 * time.Millisecond
	start := time.Now()
	id := mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", 60)}, d)
	task, state := waitFinal(t, rt, id)
	elapsed := time.Since(start)
	if state != StateFailed {
		t.Fatalf("state = %v, want StateFailed", state)
	}
	if task.err == nil || task.err.Code != FailureTimeout {
		t.Fatalf("task error = %+v, want Code FailureTimeout", task.err)
	}
	if !strings.Contains(task.err.Message, "timed out") || !strings.Contains(task.err.Message, "sleep") {
		t.Fatalf("timeout message %q does not say what timed out", task.err.Message)
	}
	if task.err.Stack != "" {
		t.Fatalf("a timeout has a stack: %q", task.err.Stack)
	}
	if len(task.result.Data) != 0 {
		t.Fatalf("a failed task has a result: %q", task.result.Data)
	}
	if elapsed < d {
		t.Fatalf("task failed after %v, before its %v deadline", elapsed, d)
	}
	if s := rt.Stats(); s.Failed != 1 || s.Total != 1 {
		t.Fatalf("stats = %+v, want one failed task", s)
	}
}

func TestTaskTimeoutNotReachedOrDisabled(t *testing.T) {
	rt := newRT(t, 0)
	for _, timeout := range []time.Duration{hangGuard, 0, -1, -time.Hour} {
		id := mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", 0.005)}, timeout)
		if task, state := waitFinal(t, rt, id); state != StateCompleted || task.err != nil {
			t.Fatalf("timeout %v: state %v, err %v; want StateCompleted", timeout, state, task.err)
		}
	}
}

func TestTaskTimeoutCountsFromStartNotSpawn(t *testing.T) {
	rt := newRT(t, 1)
	key := gateKey(t, "blocker")
	blocker := mustSpawn(t, rt, "test_gate", gateArgs(key), 0)
	const timeout = 100 * time.Millisecond
	id := mustSpawn(t, rt, "test_ctxcheck", nil, timeout)
	if s, _ := rt.Status(id); s != StateQueued {
		t.Fatalf("second task is %v, want StateQueued", s)
	}
	time.Sleep(timeout + 50*time.Millisecond) // longer than its timeout, while queued
	book.open(key)
	waitFinal(t, rt, blocker)
	task, state := waitFinal(t, rt, id)
	if state != StateCompleted {
		t.Fatalf("a task whose deadline passed while it was queued ended in %v (%+v), want StateCompleted",
			state, task.err)
	}
}

// ---- max concurrency ----

func TestMaxConcurrencyWithSleepTasks(t *testing.T) {
	const limit, n = 2, 6
	const d = 30 * time.Millisecond
	rt := newRT(t, limit)

	stop := make(chan struct{})
	maxRunning := make(chan int64)
	go func() {
		var m int64
		for {
			s := rt.Stats()
			if r := s.Active - s.Queued; r > m {
				m = r
			}
			select {
			case <-stop:
				maxRunning <- m
				return
			default:
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()

	start := time.Now()
	var ids []int64
	for i := 0; i < n; i++ {
		ids = append(ids, mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", d.Seconds())}, 0))
	}
	for _, id := range ids {
		if _, state := waitFinal(t, rt, id); state != StateCompleted {
			t.Fatalf("task %d ended in %v", id, state)
		}
	}
	elapsed := time.Since(start)
	close(stop)
	if m := <-maxRunning; m > limit || m < 1 {
		t.Fatalf("%d tasks ran at once with a limit of %d", m, limit)
	}
	// With at most 2 at a time, 6 tasks of d need at least 3 rounds.
	if min := time.Duration(n/limit) * d; elapsed < min {
		t.Fatalf("%d tasks of %v took %v with a limit of %d; at least %v expected", n, d, elapsed, limit, min)
	}
}

func TestQueuedTasksStartInSpawnOrder(t *testing.T) {
	const limit, n = 2, 6
	rt := newRT(t, limit)
	group := gateGroup(t)
	keys := make([]string, n)
	ids := make([]int64, n)
	for i := range keys {
		keys[i] = gateKey(t, fmt.Sprint(i))
		ids[i] = mustSpawn(t, rt, "test_gate", gateArgs(keys[i]), 0)
	}
	for i, id := range ids {
		want := StateRunning
		if i >= limit {
			want = StateQueued
		}
		if s, _ := rt.Status(id); s != want {
			t.Fatalf("task #%d is %v, want %v", i, s, want)
		}
	}
	if s := rt.Stats(); s.Active != n || s.Queued != n-limit {
		t.Fatalf("stats = %+v, want Active %d, Queued %d", s, n, n-limit)
	}
	waitFor(t, "the first two tasks to start", func() bool { return len(book.startOrder(group)) == limit })

	// Finish the running tasks one by one: each frees one slot, which must go
	// to the oldest queued task.
	for i := 0; i < n-limit; i++ {
		book.open(keys[i])
		next := keys[i+limit]
		waitFor(t, "queued task "+next+" to start", func() bool { return book.hasStarted(next) })
		if got := len(book.startOrder(group)); got != i+limit+1 {
			t.Fatalf("after finishing %d tasks, %d have started; want %d", i+1, got, i+limit+1)
		}
	}
	for i := n - limit; i < n; i++ {
		book.open(keys[i])
	}
	for _, id := range ids {
		if _, state := waitFinal(t, rt, id); state != StateCompleted {
			t.Fatalf("task %d ended in %v", id, state)
		}
	}

	order := book.startOrder(group)
	first := append([]string(nil), order[:limit]...)
	sort.Strings(first)
	if first[0] != keys[0] || first[1] != keys[1] {
		t.Fatalf("the first tasks to start were %v, want %v", order[:limit], keys[:limit])
	}
	for i := limit; i < n; i++ {
		if order[i] != keys[i] {
			t.Fatalf("start order %v, want queued tasks in spawn order %v", order, keys)
		}
	}
	if m := book.max(group); m > limit {
		t.Fatalf("%d gate tasks ran at once with a limit of %d", m, limit)
	}
}

func TestCancelledOrReleasedQueuedTaskNeverRuns(t *testing.T) {
	rt := newRT(t, 1)
	a, b, c, d, e := gateKey(t, "a"), gateKey(t, "b"), gateKey(t, "c"), gateKey(t, "d"), gateKey(t, "e")
	ida := mustSpawn(t, rt, "test_gate", gateArgs(a), 0)
	idb := mustSpawn(t, rt, "test_gate", gateArgs(b), 0) // queued, will be cancelled
	idc := mustSpawn(t, rt, "test_gate", gateArgs(c), 0) // queued
	idd := mustSpawn(t, rt, "test_gate", gateArgs(d), 0) // queued, will be released
	ide := mustSpawn(t, rt, "test_gate", gateArgs(e), 0) // queued

	if ok, err := rt.Cancel(idb); !ok || err != nil {
		t.Fatalf("Cancel(queued) = %v, %v; want true, nil", ok, err)
	}
	if s, _ := rt.Status(idb); s != StateCancelled {
		t.Fatalf("cancelled queued task is %v", s)
	}
	if err := rt.Release(idd); err != nil {
		t.Fatal(err)
	}
	if s := rt.Stats(); s.Total != 4 || s.Active != 3 || s.Queued != 2 || s.Cancelled != 1 {
		t.Fatalf("stats = %+v, want Total 4, Active 3, Queued 2, Cancelled 1", s)
	}

	book.open(a)
	waitFor(t, "c to start after a", func() bool { return book.hasStarted(c) })
	book.open(c)
	waitFor(t, "e to start after c", func() bool { return book.hasStarted(e) })
	book.open(e)
	for _, id := range []int64{ida, idc, ide} {
		if _, s := waitFinal(t, rt, id); s != StateCompleted {
			t.Fatalf("task %d ended in %v", id, s)
		}
	}
	waitFor(t, "all slots to be freed", func() bool { return slotsInUse(rt) == 0 })
	if book.hasStarted(b) || book.hasStarted(d) {
		t.Fatalf("a cancelled or released queued task ran: start order %v", book.startOrder(gateGroup(t)))
	}
	if want := []string{a, c, e}; fmt.Sprint(book.startOrder(gateGroup(t))) != fmt.Sprint(want) {
		t.Fatalf("start order %v, want %v", book.startOrder(gateGroup(t)), want)
	}
	if s, _ := rt.Status(idb); s != StateCancelled {
		t.Fatalf("cancelled queued task ended in %v", s)
	}
	if s := rt.Stats(); s.Total != 4 || s.Completed != 3 || s.Cancelled != 1 || s.Active != 0 {
		t.Fatalf("final stats = %+v", s)
	}
}

func TestUnlimitedRuntimeRunsEverythingAtOnce(t *testing.T) {
	for _, limit := range []int{0, -3} {
		rt := newRT(t, limit)
		const n = 8
		var keys []string
		for i := 0; i < n; i++ {
			k := gateKey(t, fmt.Sprintf("%d-%d", limit, i))
			keys = append(keys, k)
			id := mustSpawn(t, rt, "test_gate", gateArgs(k), 0)
			if s, _ := rt.Status(id); s != StateRunning {
				t.Fatalf("limit %d: task %d is %v, want StateRunning", limit, id, s)
			}
		}
		if s := rt.Stats(); s.Queued != 0 || s.Active != n {
			t.Fatalf("limit %d: stats %+v", limit, s)
		}
		for _, k := range keys {
			book.open(k)
		}
	}
}

// ---- inline kinds, SpawnTask, ReleaseMany, the paged task table ----

func TestSpawnTaskInlineKindFinishesDuringSpawn(t *testing.T) {
	rt := newRT(t, 1)
	task, state, err := rt.SpawnTask("test_inline", []kind.Value{vStr("data", "now")}, 0)
	if err != nil || state != StateCompleted || task == nil {
		t.Fatalf("SpawnTask(echo) = %v, %v, %v; want a completed task", task, state, err)
	}
	if !settled(rt, task) {
		t.Fatal("an inline task is unfinished after its spawn")
	}
	if string(task.result.Data) != "now" || task.err != nil {
		t.Fatalf("inline result %q, err %+v", task.result.Data, task.err)
	}
	if s := rt.Stats(); s.Total != 1 || s.Completed != 1 || s.Active != 0 {
		t.Fatalf("stats after an inline task: %+v", s)
	}
	if ok, err := rt.Cancel(task.ID); ok || err != nil {
		t.Fatalf("Cancel(inline) = %v, %v; want false, nil", ok, err)
	}
	if slotsInUse(rt) != 0 {
		t.Fatal("an inline task holds a slot")
	}

	// With no free slot, an inline kind waits its turn like any other.
	key := gateKey(t, "blocker")
	blocker := mustSpawn(t, rt, "test_gate", gateArgs(key), 0)
	queued, state, err := rt.SpawnTask("test_inline", []kind.Value{vStr("data", "later")}, 0)
	if err != nil || state != StateQueued {
		t.Fatalf("SpawnTask(echo) with no free slot = %v, %v; want StateQueued", state, err)
	}
	if ok, err := rt.Cancel(queued.ID); !ok || err != nil {
		t.Fatalf("Cancel(queued inline) = %v, %v; want true, nil", ok, err)
	}
	again, _, err := rt.SpawnTask("test_inline", []kind.Value{vStr("data", "later")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	book.open(key)
	waitFinal(t, rt, blocker)
	if task, state := waitFinal(t, rt, again.ID); state != StateCompleted || string(task.result.Data) != "later" {
		t.Fatalf("queued inline task: %v %q", state, task.result.Data)
	}
	if s, _ := rt.Status(queued.ID); s != StateCancelled {
		t.Fatalf("cancelled queued inline task is %v", s)
	}

	// Released and closed inline tasks behave like the others.
	if err := rt.Release(task.ID); err != nil {
		t.Fatal(err)
	}
	if s, _ := rt.Status(task.ID); s != StateNotFound {
		t.Fatalf("released inline task is %v", s)
	}
}

func TestSpawnTaskReportsTheStateAfterSpawn(t *testing.T) {
	rt := newRT(t, 1)
	a, b := gateKey(t, "a"), gateKey(t, "b")
	ta, sa, err := rt.SpawnTask("test_gate", gateArgs(a), 0)
	if err != nil || sa != StateRunning || ta.ID != 1 {
		t.Fatalf("first SpawnTask = %v, %v, %v", ta, sa, err)
	}
	tb, sb, err := rt.SpawnTask("test_gate", gateArgs(b), 0)
	if err != nil || sb != StateQueued || tb.ID != 2 {
		t.Fatalf("second SpawnTask = %v, %v, %v", tb, sb, err)
	}
	if task, state, err := rt.SpawnTask("test_no_such_kind", nil, 0); task != nil || state != StateNotFound || err == nil {
		t.Fatalf("SpawnTask(unknown) = %v, %v, %v", task, state, err)
	}
	book.open(a)
	book.open(b)
	waitFinal(t, rt, tb.ID)
	rt.Close()
	if task, state, err := rt.SpawnTask("echo", []kind.Value{vStr("data", "x")}, 0); task != nil || state != StateNotFound || !errors.Is(err, ErrClosed) {
		t.Fatalf("SpawnTask after Close = %v, %v, %v", task, state, err)
	}
}

func TestReleaseMany(t *testing.T) {
	rt := newRT(t, 2)
	var ids []int64
	var keys []string
	for i := 0; i < 4; i++ {
		k := gateKey(t, fmt.Sprint(i))
		keys = append(keys, k)
		ids = append(ids, mustSpawn(t, rt, "test_gate", gateArgs(k), 0))
	}
	eid := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "x")}, 0)
	var tasks []*Task
	for _, id := range ids {
		task, _, _ := rt.Wait(id, 0)
		tasks = append(tasks, task)
	}
	// Queued ids first, duplicates and unknown ids included.
	if err := rt.ReleaseMany([]int64{ids[3], ids[2], 999, ids[1], ids[1], ids[0], -1}); err != nil {
		t.Fatalf("ReleaseMany = %v", err)
	}
	for i, task := range tasks {
		if taskState(rt, task) != StateCancelled {
			t.Fatalf("task #%d is %v after ReleaseMany, want StateCancelled", i, taskState(rt, task))
		}
		if s, _ := rt.Status(task.ID); s != StateNotFound {
			t.Fatalf("released task #%d is %v", i, s)
		}
	}
	if s := rt.Stats(); s.Total != 1 || s.Active != 1 || s.Queued != 1 {
		t.Fatalf("stats after ReleaseMany: %+v (the echo should be queued and alone)", s)
	}
	waitFinal(t, rt, eid) // the slots freed by the releases go to the echo
	if err := rt.ReleaseMany(nil); err != nil {
		t.Fatal(err)
	}
	if err := rt.ReleaseMany([]int64{eid}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all slots to be freed", func() bool { return slotsInUse(rt) == 0 })
	checkZeroStats(t, rt.Stats())
	for _, k := range keys {
		if book.hasStarted(k) && book.exit(k) != "ctx" {
			t.Fatalf("released gate %s exited by %q", k, book.exit(k))
		}
	}
	if book.hasStarted(keys[2]) || book.hasStarted(keys[3]) {
		t.Fatal("a released queued task ran")
	}
	rt.Close()
	if err := rt.ReleaseMany([]int64{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReleaseMany after Close = %v, want ErrClosed", err)
	}
}

// TestManyIDsAcrossTablePages spawns and releases tasks in a scattered order
// over several thousand ids (many pages of the task table) and checks every
// id against a model.
func TestManyIDsAcrossTablePages(t *testing.T) {
	rt := newRT(t, 0)
	const n = 3000
	live := map[int64]bool{}
	var liveList []int64
	rng := uint64(12345)
	rand := func(k int) int { // a small deterministic xorshift
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return int(rng % uint64(k))
	}
	release := func(id int64) {
		t.Helper()
		if err := rt.Release(id); err != nil {
			t.Fatal(err)
		}
		delete(live, id)
	}
	checkAll := func(upTo int64) {
		t.Helper()
		for id := int64(-2); id <= upTo+1100; id++ {
			s, err := rt.Status(id)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]State{true: StateCompleted, false: StateNotFound}[live[id]]; s != want {
				t.Fatalf("Status(%d) = %v, want %v", id, s, want)
			}
		}
		if s := rt.Stats(); s.Total != int64(len(live)) || s.Completed != int64(len(live)) {
			t.Fatalf("stats %+v with %d live tasks", s, len(live))
		}
	}

	var last int64
	for i := 0; i < n; i++ {
		id := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "x")}, 0)
		if id <= last {
			t.Fatalf("id %d after %d", id, last)
		}
		last = id
		waitFinal(t, rt, id)
		live[id] = true
		liveList = append(liveList, id)
		switch {
		case rand(4) == 0 && len(liveList) > 1:
			// Release a random live task, but keep id 1 for now so that
			// the first page stays.
			j := 1 + rand(len(liveList)-1)
			release(liveList[j])
			liveList = append(liveList[:j], liveList[j+1:]...)
		case i%700 == 699:
			// Release everything but id 1 and the newest 100: whole pages
			// in the middle become empty.
			keep := liveList[:1]
			for _, old := range liveList[1 : len(liveList)-100] {
				release(old)
			}
			liveList = append(keep, liveList[len(liveList)-100:]...)
		}
	}
	checkAll(last)

	// Releasing id 1 lets the table drop its leading pages; later ids stay.
	release(1)
	liveList = liveList[1:]
	checkAll(last)
	for i := 0; i < 600; i++ { // more ids after the drop
		id := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "y")}, 0)
		if id <= last {
			t.Fatalf("id %d after %d", id, last)
		}
		last = id
		live[id] = true
		liveList = append(liveList, id)
	}
	checkAll(last)
	for len(liveList) > 0 {
		j := rand(len(liveList))
		release(liveList[j])
		liveList = append(liveList[:j], liveList[j+1:]...)
	}
	checkAll(last)
	checkZeroStats(t, rt.Stats())
	if id := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "z")}, 0); id != last+1 {
		t.Fatalf("id after emptying the table = %d, want %d", id, last+1)
	}
}

func TestStreamsOfATaskThatNeverRanAreClosed(t *testing.T) {
	rt := newRT(t, 1)
	mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", 60)}, 0) // holds the only slot
	queued, err := NewChannel(4)
	if err != nil {
		t.Fatal(err)
	}
	stream := kind.Value{Name: "stream", Type: kind.ValueStream, Stream: queued}
	id := mustSpawn(t, rt, "exec", []kind.Value{{Name: "argv", Type: kind.ValueList, Items: []kind.Value{vStr("", "true")}}, stream}, 0)
	if state, _ := rt.Status(id); state != StateQueued {
		t.Fatalf("the exec task is %v, want queued", state)
	}
	if _, err := rt.Cancel(id); err != nil {
		t.Fatal(err)
	}
	if _, err := queued.Recv(hangGuard); !errors.Is(err, ErrChannelClosed) {
		t.Fatalf("Recv on the stream of a task cancelled while queued: %v, want ErrChannelClosed", err)
	}

	// The same for the queued items of a lane that is closed.
	fed, err := NewChannel(4)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rt.OpenLane("exec", 1, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	item := []kind.Value{{Name: "argv", Type: kind.ValueList, Items: []kind.Value{vStr("", "true")}},
		{Name: "stream", Type: kind.ValueStream, Stream: fed}}
	if err := l.Feed([][]kind.Value{item}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := fed.Recv(hangGuard); !errors.Is(err, ErrChannelClosed) {
		t.Fatalf("Recv on the stream of a dropped lane item: %v, want ErrChannelClosed", err)
	}
}

func TestClosingAWaitSetWakesATakeWaitingOnIt(t *testing.T) {
	ws, err := NewWaitSet(false)
	if err != nil {
		t.Fatal(err)
	}
	taken := make(chan error, 1)
	go func() {
		_, err := ws.Take(1, -1) // no timeout: only the close can end it
		taken <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it block (if it has not yet, it sees the close at once)
	ws.Close()
	select {
	case err := <-taken:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Take after Close: %v, want ErrClosed", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("Close did not wake the waiting Take")
	}
}
