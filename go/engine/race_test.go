package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gogoroutines.dev/go/kind"
)

// raceDeadline bounds each concurrency test: past it the test fails as a
// deadlock instead of hanging the whole run.
const raceDeadline = 20 * time.Second

// runUntil runs f on a goroutine and fails the test if it has not returned
// by raceDeadline.
func runUntil(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(raceDeadline):
		t.Fatalf("%s did not finish within %v: deadlock?", what, raceDeadline)
	}
}

// raceSpawn spawns one short task of a random kind; every kind used here
// finishes (or fails) within milliseconds, so waiting for ever on it is safe.
func raceSpawn(rt *Runtime, rng *rand.Rand) (int64, error) {
	switch rng.IntN(5) {
	case 0:
		return rt.Spawn("sleep", []kind.Value{vFloat("seconds", float64(rng.IntN(3))/1000)}, 0)
	case 1:
		return rt.Spawn("echo", []kind.Value{vBytes("data", []byte{0, byte(rng.IntN(256))})}, 0)
	case 2:
		return rt.Spawn("delayed", []kind.Value{vInt("delay_ms", int64(rng.IntN(2)))}, 0)
	case 3: // fails on its own deadline
		return rt.Spawn("sleep", []kind.Value{vFloat("seconds", 60)}, time.Duration(1+rng.IntN(2))*time.Millisecond)
	default:
		return rt.Spawn("echo", []kind.Value{vStr("data", "x")}, time.Hour)
	}
}

func TestConcurrentMixedOperations(t *testing.T) {
	const (
		workers    = 8
		iterations = 150
		limit      = 4
	)
	rt := mustRuntime(limit)
	defer rt.Close()

	var (
		maxID    atomic.Int64
		progress atomic.Int64
		closed   atomic.Bool // set once Close has returned
		idsMu    sync.Mutex
		allIDs   []int64
	)
	noteID := func(id int64) {
		for {
			m := maxID.Load()
			if id <= m || maxID.CompareAndSwap(m, id) {
				return
			}
		}
	}

	worker := func(w int) {
		rng := rand.New(rand.NewPCG(uint64(w), 0x9e3779b97f4a7c15))
		var mine []int64
		defer func() {
			idsMu.Lock()
			allIDs = append(allIDs, mine...)
			idsMu.Unlock()
		}()
		sawClosed := false
		fail := func(format string, args ...any) {
			t.Errorf("worker %d: "+format, append([]any{w}, args...)...)
		}
		for i := 0; i < iterations; i++ {
			progress.Add(1)
			closedBefore := closed.Load()
			pick := rng.Int64N(maxID.Load()+3) - 1 // -1 .. max+1: unknown ids too
			var (
				err error
				op  string
			)
			switch rng.IntN(10) {
			case 0, 1, 2:
				op = "Spawn"
				var id int64
				id, err = raceSpawn(rt, rng)
				if err == nil {
					if len(mine) > 0 && id <= mine[len(mine)-1] {
						fail("Spawn returned id %d after %d", id, mine[len(mine)-1])
					}
					mine = append(mine, id)
					noteID(id)
				} else if !errors.Is(err, ErrClosed) {
					fail("Spawn: unexpected error %v", err)
				}
			case 3, 4:
				op = "Wait"
				timeout := []time.Duration{0, time.Millisecond, -1}[rng.IntN(3)]
				var state State
				var task *Task
				task, state, err = rt.Wait(pick, timeout)
				switch {
				case err == nil:
					if !state.Done() || task == nil || task.ID != pick {
						fail("Wait(%d, %v) = %v, %v without error", pick, timeout, task, state)
					}
				case errors.Is(err, ErrTimeout):
					// A final state can come with ErrTimeout when the task
					// finishes between the timer and Wait's final look: a
					// known bug of Runtime.Wait (see the report), tolerated
					// here so that this test checks only for races/deadlocks.
					if timeout < 0 || task == nil || state == StateNotFound {
						fail("Wait(%d, %v) timed out with %v, state %v", pick, timeout, task, state)
					}
				case errors.Is(err, ErrNotFound), errors.Is(err, ErrClosed):
					if state != StateNotFound || task != nil {
						fail("Wait(%d) = %v, %v with %v", pick, task, state, err)
					}
				default:
					fail("Wait: unexpected error %v", err)
				}
			case 5:
				op = "Status"
				var state State
				state, err = rt.Status(pick)
				if err != nil && !errors.Is(err, ErrClosed) {
					fail("Status: unexpected error %v", err)
				}
				if state < StateNotFound || state > StateQueued {
					fail("Status(%d) = %v", pick, state)
				}
			case 6:
				op = "Cancel"
				var ok bool
				ok, err = rt.Cancel(pick)
				if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrClosed) {
					fail("Cancel: unexpected error %v", err)
				}
				if ok && err != nil {
					fail("Cancel(%d) = true with %v", pick, err)
				}
				if ok {
					if s, serr := rt.Status(pick); serr == nil && s != StateCancelled && s != StateNotFound {
						fail("Cancel(%d) = true but its state is %v", pick, s)
					}
				}
			case 7:
				op = "Release"
				err = rt.Release(pick)
				if err != nil && !errors.Is(err, ErrClosed) {
					fail("Release: unexpected error %v", err)
				}
				if err == nil {
					if s, serr := rt.Status(pick); serr == nil && s != StateNotFound {
						fail("Status(%d) after Release = %v", pick, s)
					}
				}
			case 8:
				op = "Stats"
				if ierr := checkInvariant(rt.Stats()); ierr != nil {
					fail("%v", ierr)
				}
				continue
			case 9: // spawn, cancel and wait on a task of its own
				op = "Spawn+Cancel+Wait"
				var id int64
				id, err = rt.Spawn("echo", []kind.Value{vStr("data", "c")}, 0)
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						fail("Spawn: unexpected error %v", err)
					}
					break
				}
				mine = append(mine, id)
				noteID(id)
				var ok bool
				ok, err = rt.Cancel(id)
				if err != nil {
					if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotFound) {
						fail("Cancel(own %d): %v", id, err)
					}
					break
				}
				var state State
				_, state, err = rt.Wait(id, -1)
				if err == nil && ok && state != StateCancelled {
					fail("Cancel(own %d) = true, but Wait says %v", id, state)
				}
				if err == nil && !ok && state != StateCompleted && state != StateCancelled {
					fail("Cancel(own %d) = false, and Wait says %v", id, state)
				}
				if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotFound) {
					fail("Wait(own %d): %v", id, err)
				}
			}
			// Once closed, always closed.
			if errors.Is(err, ErrClosed) {
				sawClosed = true
			} else if sawClosed || closedBefore {
				fail("%s returned %v after the runtime was closed", op, err)
			}
		}
	}

	runUntil(t, "workers and closer", func() {
		var wg sync.WaitGroup
		workersDone := make(chan struct{})
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				worker(w)
			}(w)
		}
		closerDone := make(chan struct{})
		go func() {
			defer close(closerDone)
			// Close while the workers are still busy, two thirds of the way in.
		wait:
			for progress.Load() < workers*iterations*2/3 {
				select {
				case <-workersDone:
					break wait
				case <-time.After(time.Millisecond):
				}
			}
			rt.Close()
			closed.Store(true)
		}()
		wg.Wait()
		close(workersDone)
		<-closerDone
	})
	if t.Failed() {
		return
	}

	checkZeroStats(t, rt.Stats())
	waitFor(t, "every task goroutine to return after Close", func() bool { return slotsInUse(rt) == 0 })
	seen := map[int64]bool{}
	for _, id := range allIDs {
		if seen[id] {
			t.Fatalf("id %d was handed out twice", id)
		}
		seen[id] = true
	}
	if len(allIDs) == 0 {
		t.Fatal("no task was spawned")
	}
	if _, err := rt.Spawn("echo", []kind.Value{vStr("data", "x")}, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Spawn after the test = %v, want ErrClosed", err)
	}
}

func TestCloseWakesConcurrentWaiters(t *testing.T) {
	rt := mustRuntime(5)
	defer rt.Close()
	const n = 20
	var (
		ids   []int64
		tasks []*Task
	)
	for i := 0; i < n; i++ {
		id := mustSpawn(t, rt, "test_gate", gateArgs(gateKey(t, fmt.Sprint(i))), 0)
		task, _, _ := rt.Wait(id, 0)
		ids = append(ids, id)
		tasks = append(tasks, task)
	}

	runUntil(t, "waiters, pollers and Close", func() {
		var wg sync.WaitGroup
		started := make(chan struct{}, 2*n)
		for _, id := range ids {
			for k := 0; k < 2; k++ {
				wg.Add(1)
				go func(id int64) {
					defer wg.Done()
					started <- struct{}{}
					// Every waiter is blocked before Close, so each must
					// be woken with the cancelled state, not ErrClosed.
					_, state, err := rt.Wait(id, -1)
					if err != nil || state != StateCancelled {
						t.Errorf("Wait(%d) woke with %v, %v; want StateCancelled, nil", id, state, err)
					}
				}(id)
			}
		}
		stop := make(chan struct{})
		for p := 0; p < 2; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10000; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := checkInvariant(rt.Stats()); err != nil {
						t.Error(err)
						return
					}
					_, _ = rt.Status(ids[i%n])
				}
			}()
		}
		for i := 0; i < 2*n; i++ {
			<-started
		}
		// (Not waitFor: t.Fatal must not be called from this goroutine.)
		for deadline := time.Now().Add(hangGuard); blockedWaiters() < 2*n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("only %d of %d waiters blocked in Wait", blockedWaiters(), 2*n)
				break
			}
		}
		rt.Close()
		close(stop)
		wg.Wait()
	})
	for _, task := range tasks {
		if !settled(rt, task) {
			t.Fatalf("task %d not finished after Close", task.ID)
		}
		if task.state != StateCancelled {
			t.Fatalf("task %d ended in %v", task.ID, task.state)
		}
	}
	waitFor(t, "every task goroutine to return", func() bool { return slotsInUse(rt) == 0 })
	if got := len(book.startOrder(gateGroup(t))); got > 5 {
		t.Fatalf("%d gate tasks started with a limit of 5", got)
	}
}

func TestCancelRacesCompletion(t *testing.T) {
	rt := newRT(t, 0)
	const workers, per = 4, 100
	var completed, cancelled atomic.Int64
	runUntil(t, "cancel/complete race", func() {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < per; i++ {
					values := []kind.Value{vStr("data", "d")}
					name := "echo"
					if (i+w)%2 == 0 {
						name, values = "sleep", []kind.Value{vInt("seconds", 0)}
					}
					id, err := rt.Spawn(name, values, 0)
					if err != nil {
						t.Errorf("Spawn: %v", err)
						return
					}
					ok, err := rt.Cancel(id)
					if err != nil {
						t.Errorf("Cancel: %v", err)
						return
					}
					_, state, err := rt.Wait(id, -1)
					if err != nil {
						t.Errorf("Wait: %v", err)
						return
					}
					switch {
					case ok && state == StateCancelled:
						cancelled.Add(1)
					case !ok && state == StateCompleted:
						completed.Add(1)
					default:
						t.Errorf("Cancel(%d) = %v but the task ended in %v", id, ok, state)
						return
					}
				}
			}(w)
		}
		wg.Wait()
	})
	if t.Failed() {
		return
	}
	s := rt.Stats()
	if s.Total != workers*per || s.Completed != completed.Load() || s.Cancelled != cancelled.Load() ||
		s.Active != 0 || s.Failed != 0 {
		t.Fatalf("stats %+v, want %d completed and %d cancelled", s, completed.Load(), cancelled.Load())
	}
}

func TestReleaseRacesCompletion(t *testing.T) {
	rt := newRT(t, 2)
	const workers, per = 4, 100
	runUntil(t, "release/complete race", func() {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < per; i++ {
					id, err := rt.Spawn("sleep", []kind.Value{vInt("seconds", 0)}, 0)
					if err != nil {
						t.Errorf("Spawn: %v", err)
						return
					}
					if i%2 == 0 {
						_, _, _ = rt.Wait(id, time.Millisecond)
					}
					if err := rt.Release(id); err != nil {
						t.Errorf("Release: %v", err)
						return
					}
					if err := checkInvariant(rt.Stats()); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
	waitFor(t, "every task goroutine to return", func() bool { return slotsInUse(rt) == 0 })
	checkZeroStats(t, rt.Stats())
}
