package engine

import (
	"container/heap"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"gogoroutines.dev/go/kind"
)

func TestTimerTaskCancelFreesItsSlot(t *testing.T) {
	rt := mustRuntime(1)
	defer rt.Close()
	sleeper := mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", 60)}, 0)
	echo := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "next")}, 0)
	if st, _ := rt.Status(echo); st != StateQueued {
		t.Fatalf("echo behind a running sleeper is %v, want queued", st)
	}
	if ok, _ := rt.Cancel(sleeper); !ok {
		t.Fatal("cancel of a sleeping task returned false")
	}
	task, state, err := rt.Wait(echo, 5*time.Second)
	if err != nil || state != StateCompleted || string(task.result.Data) != "next" {
		t.Fatalf("queued echo after the cancel: %v %v", state, err)
	}
}

func TestTimerTaskTimeoutAndResult(t *testing.T) {
	rt := mustRuntime(0)
	defer rt.Close()
	late := mustSpawn(t, rt, "delayed", []kind.Value{vInt("delay_ms", 60000)}, 20*time.Millisecond)
	task, state, _ := rt.Wait(late, 5*time.Second)
	if state != StateFailed || task.err == nil || task.err.Code != FailureTimeout {
		t.Fatalf("delayed past its timeout: %v %+v", state, task.err)
	}
	onTime := mustSpawn(t, rt, "delayed", []kind.Value{vInt("delay_ms", 10)}, time.Second)
	task, state, _ = rt.Wait(onTime, 5*time.Second)
	if state != StateCompleted || string(task.result.Data) != "Callback executed after 10ms" {
		t.Fatalf("delayed within its timeout: %v %q", state, task.result.Data)
	}
}

func TestSleepersHoldNoGoroutines(t *testing.T) {
	rt := mustRuntime(0)
	defer rt.Close()
	before := runtime.NumGoroutine()
	for i := 0; i < 10000; i++ {
		mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", 60)}, 0)
	}
	if after := runtime.NumGoroutine(); after-before > 100 {
		t.Fatalf("10,000 sleeping tasks added %d goroutines", after-before)
	}
	if s := rt.Stats(); s.Active != 10000 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTimerQueueCompletesInDueOrder(t *testing.T) {
	rt := newRT(t, 0)
	ws, err := NewWaitSet(false)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// Spawned latest first: the queue, not the spawn order, decides.
	delays := []int64{60, 45, 30, 15, 0}
	for i, ms := range delays {
		id := mustSpawn(t, rt, "delayed", []kind.Value{vInt("delay_ms", ms)}, 0)
		if err := rt.Watch(id, ws, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var order []uint64
	for len(order) < len(delays) {
		tags, err := ws.Take(len(delays), hangGuard)
		if err != nil {
			t.Fatalf("after %v: %v", order, err)
		}
		order = append(order, tags...)
	}
	for i, tag := range order {
		if want := uint64(len(delays) - 1 - i); tag != want {
			t.Fatalf("completion order %v, want the shortest delay first", order)
		}
	}
}

// queued counts the tasks that are in the timer queue.
func queued(tasks []*Task) int {
	timers.mu.Lock()
	defer timers.mu.Unlock()
	n := 0
	for _, task := range tasks {
		if task.slot != 0 {
			n++
		}
	}
	return n
}

func TestTimerQueueForgetsStoppedTasks(t *testing.T) {
	rt := mustRuntime(0)
	tasks := make([]*Task, 999)
	for i := range tasks {
		task, _, err := rt.SpawnTask("sleep", []kind.Value{vFloat("seconds", 60+float64(i%7))}, 0)
		if err != nil {
			t.Fatal(err)
		}
		tasks[i] = task
	}
	if got := queued(tasks); got != len(tasks) {
		t.Fatalf("%d sleepers in the timer queue, want %d", got, len(tasks))
	}
	// Cancel a third, release a third, and leave the rest to Close.
	for i, task := range tasks {
		switch i % 3 {
		case 0:
			if ok, err := rt.Cancel(task.ID); !ok || err != nil {
				t.Fatalf("Cancel(%d) = %v, %v", task.ID, ok, err)
			}
		case 1:
			if err := rt.Release(task.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := queued(tasks), len(tasks)/3; got != want {
		t.Fatalf("%d sleepers in the timer queue after cancel and release, want %d", got, want)
	}
	rt.Close()
	if got := queued(tasks); got != 0 {
		t.Fatalf("%d sleepers left in the timer queue after Close", got)
	}
}

func TestTimerQueueKeepsOrderUnderRemovals(t *testing.T) {
	var q timerQueue
	tasks := make([]*Task, 500)
	for i := range tasks {
		tasks[i] = &Task{due: int64((i * 7919) % 1000)}
		heap.Push(&q.heap, tasks[i])
	}
	for i := 0; i < len(tasks); i += 3 {
		q.removeAt(int(tasks[i].slot) - 1)
		if tasks[i].slot != 0 {
			t.Fatalf("a removed task keeps slot %d", tasks[i].slot)
		}
	}
	last := int64(-1)
	for len(q.heap) > 0 {
		for i, task := range q.heap {
			if int(task.slot) != i+1 {
				t.Fatalf("task at index %d has slot %d", i, task.slot)
			}
		}
		due := q.heap[0].due
		if due < last {
			t.Fatalf("due %d came out after %d", due, last)
		}
		last = due
		q.removeAt(0)
	}
}

// A runtime holds a Task for every id it has not released: the allocator
// rounds its size up to a class (96, 112, 128 bytes...), and a field more
// would cost every sleeping task 16 bytes.
func TestTaskFitsItsSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(Task{}); size > 112 {
		t.Fatalf("a Task takes %d bytes, more than the 112-byte size class", size)
	}
	if size := unsafe.Sizeof(tablePage{}); size != 4096 {
		t.Fatalf("a task table page takes %d bytes, want exactly 4096", size)
	}
}
