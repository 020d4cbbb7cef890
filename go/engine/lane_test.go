package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gogoroutines.dev/go/kind"
)

func openLane(t *testing.T, rt *Runtime, kind string, limit int, ordered bool) *Lane {
	t.Helper()
	l, err := rt.OpenLane(kind, limit, ordered, 0)
	if err != nil {
		t.Fatalf("OpenLane(%q): %v", kind, err)
	}
	t.Cleanup(l.Close)
	return l
}

func echoItems(from, n int) [][]kind.Value {
	items := make([][]kind.Value, n)
	for i := range items {
		items[i] = []kind.Value{vStr("data", strconv.Itoa(from+i))}
	}
	return items
}

// takeAll takes outcomes until n are in hand, failing after hangGuard.
func takeAll(t *testing.T, l *Lane, n int) []Outcome {
	t.Helper()
	var out []Outcome
	deadline := time.Now().Add(hangGuard)
	for len(out) < n {
		got, _, err := l.Take(n-len(out), 1, 1<<20, time.Millisecond, time.Until(deadline))
		if err != nil {
			t.Fatalf("Take after %d of %d outcomes: %v", len(out), n, err)
		}
		out = append(out, got...)
	}
	return out
}

func TestLaneHandsOutcomesOutInInputOrder(t *testing.T) {
	rt := newRT(t, 0)
	l := openLane(t, rt, "echo", 64, true)
	for from := 0; from < 3000; from += 700 {
		if err := l.Feed(echoItems(from, min(700, 3000-from))); err != nil {
			t.Fatal(err)
		}
	}
	for i, o := range takeAll(t, l, 3000) {
		if o.State != StateCompleted || string(o.Data) != strconv.Itoa(i) {
			t.Fatalf("outcome %d: state %v data %q", i, o.State, o.Data)
		}
	}
	checkZeroStats(t, rt.Stats())
}

func TestOrderedLaneWaitsForTheEarlierItems(t *testing.T) {
	rt := newRT(t, 0)
	l := openLane(t, rt, "sleep", 8, true)
	if err := l.Feed([][]kind.Value{{vFloat("seconds", 0.2)}, {vFloat("seconds", 0)}, {vFloat("seconds", 0)}}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := l.Take(10, 1, 1<<20, 0, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Take while item 0 sleeps: %v, %v; want ErrTimeout", got, err)
	}
	if got := takeAll(t, l, 3); got[0].ID >= got[1].ID || got[1].ID >= got[2].ID {
		t.Fatalf("outcomes out of input order: %+v", got)
	}
}

func TestUnorderedLaneHandsOutcomesOutAsTheyFinish(t *testing.T) {
	rt := newRT(t, 0)
	l := openLane(t, rt, "sleep", 8, false)
	items := [][]kind.Value{{vFloat("seconds", 0.3)}, {vFloat("seconds", 0.1)}, {vFloat("seconds", 0)}}
	if err := l.Feed(items); err != nil {
		t.Fatal(err)
	}
	got := takeAll(t, l, 3)
	first := got[0].ID
	if got[0].ID != first || got[1].ID != first-1 || got[2].ID != first-2 {
		t.Fatalf("want the items in reverse input order (shortest sleep first), got ids %d %d %d",
			got[0].ID, got[1].ID, got[2].ID)
	}
}

func TestLaneRunsAtMostItsLimitAndRefillsByItself(t *testing.T) {
	rt := newRT(t, 0)
	group := gateGroup(t)
	l := openLane(t, rt, "test_gate", 3, false)
	var items [][]kind.Value
	for i := range 10 {
		items = append(items, gateArgs(fmt.Sprintf("%s#%d", group, i)))
	}
	if err := l.Feed(items); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 items running", func() bool { return len(book.startOrder(group)) == 3 })
	s := rt.Stats()
	if s.Active != 10 || s.Queued != 7 || s.Total != 10 {
		t.Fatalf("stats with 3 of 10 running: %+v", s)
	}
	// Each opened gate frees a slot that the lane fills with no call from us.
	for i := range 10 {
		book.open(fmt.Sprintf("%s#%d", group, i))
	}
	takeAll(t, l, 10)
	if m := book.max(group); m != 3 {
		t.Fatalf("at most %d items ran at once, want 3", m)
	}
	checkZeroStats(t, rt.Stats())
}

func TestLanesShareTheRuntimeLimitWithTableTasks(t *testing.T) {
	rt := newRT(t, 2)
	group := gateGroup(t)
	task := mustSpawn(t, rt, "test_gate", gateArgs(group+"#task"), 0)
	l := openLane(t, rt, "test_gate", 10, false)
	if err := l.Feed([][]kind.Value{gateArgs(group + "#a"), gateArgs(group + "#b")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one lane item running", func() bool { return len(book.startOrder(group)) == 2 })
	queued := mustSpawn(t, rt, "test_gate", gateArgs(group+"#queued"), 0)
	book.open(group + "#task") // frees a slot: the lane's waiting item "b" takes it (it came first)
	waitFinal(t, rt, task)
	waitFor(t, "b running", func() bool { return book.hasStarted(group + "#b") })
	if book.hasStarted(group + "#queued") {
		t.Fatal("the table task queued after the lane's item started first")
	}
	book.open(group + "#a")
	waitFor(t, "queued running", func() bool { return book.hasStarted(group + "#queued") })
	book.open(group + "#b")
	book.open(group + "#queued")
	takeAll(t, l, 2)
	waitFinal(t, rt, queued)
	if m := book.max(group); m != 2 {
		t.Fatalf("at most %d ran at once, want the runtime's limit 2", m)
	}
}

func TestClosingALaneCancelsItsItemsAndFreesTheirSlots(t *testing.T) {
	rt := newRT(t, 0)
	group := gateGroup(t)
	l, err := rt.OpenLane("test_gate", 4, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	var items [][]kind.Value
	for i := range 6 {
		items = append(items, gateArgs(fmt.Sprintf("%s#%d", group, i)))
	}
	sleepers := [][]kind.Value{{vFloat("seconds", 30)}}
	if err := l.Feed(items); err != nil {
		t.Fatal(err)
	}
	sl, err := rt.OpenLane("sleep", 4, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := sl.Feed(sleepers); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "4 items running", func() bool { return len(book.startOrder(group)) == 4 })
	within(t, "Close", func() { l.Close(); sl.Close(); l.Close() })
	waitFor(t, "the cancelled work to end", func() bool { return slotsInUse(rt) == 0 })
	for i := range 4 {
		if how := book.exit(fmt.Sprintf("%s#%d", group, i)); how != "ctx" {
			t.Fatalf("item %d ended by %q, want its context cancelled", i, how)
		}
	}
	checkZeroStats(t, rt.Stats())
	if _, _, err := l.Take(1, 1, 1<<20, 0, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Take on a closed lane: %v", err)
	}
	if err := l.Feed(echoItems(0, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Feed on a closed lane: %v", err)
	}
}

func TestClosingTheRuntimeWakesATakeAndClosesItsLanes(t *testing.T) {
	rt := mustRuntime(0)
	l, err := rt.OpenLane("sleep", 4, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Feed([][]kind.Value{{vFloat("seconds", 30)}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, _, err := l.Take(1, 1, 1<<20, 0, -1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	within(t, "Runtime.Close", rt.Close)
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Take: %v, want ErrClosed", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("Take still waits after Runtime.Close")
	}
	l.Close() // after the runtime: fine
}

func TestABadItemAddsNothingAndNamesItsInputIndex(t *testing.T) {
	rt := newRT(t, 0)
	l := openLane(t, rt, "echo", 8, true)
	if err := l.Feed(echoItems(0, 5)); err != nil {
		t.Fatal(err)
	}
	bad := echoItems(5, 4)
	bad[2] = []kind.Value{vInt("data", 3)}
	err := l.Feed(bad)
	var argErr *kind.ArgError
	if !errors.As(err, &argErr) || !strings.HasPrefix(err.Error(), "item 7: ") || !strings.Contains(err.Error(), "'data'") {
		t.Fatalf("Feed with a bad item: %v", err)
	}
	if err := l.Feed(echoItems(5, 1)); err != nil {
		t.Fatal(err)
	}
	got := takeAll(t, l, 6)
	if string(got[5].Data) != "5" {
		t.Fatalf("item 5 after the rejected batch: %q", got[5].Data)
	}
	if _, err := rt.OpenLane("no such kind", 1, true, 0); err == nil {
		t.Fatal("OpenLane accepted an unknown kind")
	}
	if _, err := rt.OpenLane("echo", 0, true, 0); !errors.Is(err, kind.ErrInvalidArgument) {
		t.Fatalf("OpenLane with limit 0: %v", err)
	}
}

func TestLaneFailuresAreOutcomes(t *testing.T) {
	rt := newRT(t, 0)
	l, err := rt.OpenLane("sleep", 8, true, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	if err := l.Feed([][]kind.Value{{vFloat("seconds", 10)}, {vFloat("seconds", 0)}}); err != nil {
		t.Fatal(err)
	}
	got := takeAll(t, l, 2)
	if got[0].State != StateFailed || got[0].Failure != FailureTimeout || !strings.Contains(string(got[0].Data), "timed out") {
		t.Fatalf("item with a 10 s sleep and a 50 ms timeout: %+v %q", got[0], got[0].Data)
	}
	if got[1].State != StateCompleted {
		t.Fatalf("item 1: %+v", got[1])
	}
	fl := openLane(t, rt, "read_file", 2, false)
	if err := fl.Feed([][]kind.Value{{vStr("path", "/nonexistent/gogoroutines")}}); err != nil {
		t.Fatal(err)
	}
	if o := takeAll(t, fl, 1)[0]; o.State != StateFailed || o.Failure != FailureError || !strings.Contains(string(o.Data), "failed") {
		t.Fatalf("read_file of a missing file: %+v %q", o, o.Data)
	}
	checkZeroStats(t, rt.Stats())
}

func TestTakeBatchesWakeUpsUntilMinReadyOrLinger(t *testing.T) {
	rt := newRT(t, 0)
	l := openLane(t, rt, "sleep", 16, false)
	items := make([][]kind.Value, 10)
	for i := range items {
		items[i] = []kind.Value{vFloat("seconds", 0.05)}
	}
	if err := l.Feed(items); err != nil {
		t.Fatal(err)
	}
	// All 10 end about together: a Take wanting 10 gets them in one go.
	got, _, err := l.Take(100, 10, 1<<20, time.Second, hangGuard)
	if err != nil || len(got) != 10 {
		t.Fatalf("Take(minReady 10): %d outcomes, %v", len(got), err)
	}
	// One quick item and one slow: lingering 20 ms hands out the quick one alone.
	if err := l.Feed([][]kind.Value{{vFloat("seconds", 0)}, {vFloat("seconds", 5)}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, _, err = l.Take(100, 2, 1<<20, 20*time.Millisecond, hangGuard)
	if err != nil || len(got) != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("Take(minReady 2, linger 20ms): %d outcomes after %v, %v", len(got), time.Since(start), err)
	}
}

func TestTakeRespectsTheBudgetAndReportsAnOversizedOutcome(t *testing.T) {
	rt := newRT(t, 0)
	l := openLane(t, rt, "echo", 8, true)
	big := strings.Repeat("x", 1000)
	if err := l.Feed([][]kind.Value{{vStr("data", big)}, {vStr("data", big)}, {vStr("data", "small")}}); err != nil {
		t.Fatal(err)
	}
	if _, needed, err := l.Take(10, 1, 999, 0, 0); !errors.Is(err, ErrBufferTooSmall) || needed != 1000 {
		t.Fatalf("Take with a 999-byte budget: needed %d, %v", needed, err)
	}
	got, _, err := l.Take(10, 1, 1500, 0, 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("Take with a 1500-byte budget: %d outcomes, %v; want 1", len(got), err)
	}
	got, _, err = l.Take(10, 1, 2000, 0, 0)
	if err != nil || len(got) != 2 || string(got[1].Data) != "small" {
		t.Fatalf("Take with a 2000-byte budget: %d outcomes, %v; want 2", len(got), err)
	}
}

func TestLaneFedAndTakenFromTwoGoroutines(t *testing.T) {
	rt := newRT(t, 0)
	l := openLane(t, rt, "sleep", 32, true)
	const n = 5000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for from := 0; from < n; from += 100 {
			items := make([][]kind.Value, 100)
			for i := range items {
				items[i] = []kind.Value{vFloat("seconds", float64((from+i)%3)/1000)}
			}
			if err := l.Feed(items); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	got := takeAll(t, l, n)
	wg.Wait()
	for i := 1; i < n; i++ {
		if got[i].ID <= got[i-1].ID {
			t.Fatalf("outcome %d out of order", i)
		}
	}
	checkZeroStats(t, rt.Stats())
}

func TestASlotFreedAfterItsLaneClosedStartsWhatWaits(t *testing.T) {
	rt := newRT(t, 1)
	group := gateGroup(t)
	l, err := rt.OpenLane("test_gate", 1, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Feed([][]kind.Value{gateArgs(group + "#item")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the item running", func() bool { return book.hasStarted(group + "#item") })
	queued := mustSpawn(t, rt, "test_gate", gateArgs(group+"#task"), 0)
	l.Close() // cancels the item; its slot frees when its work returns
	waitFor(t, "the queued task running", func() bool { return book.hasStarted(group + "#task") })
	book.open(group + "#task")
	if _, state := waitFinal(t, rt, queued); state != StateCompleted {
		t.Fatalf("the queued task: %v", state)
	}
}
