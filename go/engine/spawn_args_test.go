package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"gogoroutines.dev/go/kind"
)

// ---- seed kinds ----

func TestSeedKindsResults(t *testing.T) {
	cases := []struct {
		kind     string
		values   []kind.Value
		want     string
		minDelay time.Duration
	}{
		{"goroutine", nil, "Goroutine completed successfully!", 100 * time.Millisecond},
		{"task", []kind.Value{vStr("task", "X")}, "Task 'X' completed!", 200 * time.Millisecond},
		{"task", []kind.Value{vStr("task", "Fetch users")}, "Task 'Fetch users' completed!", 200 * time.Millisecond},
		{"task", []kind.Value{vStr("task", "")}, "Task '' completed!", 200 * time.Millisecond},
		{"delayed", []kind.Value{vInt("delay_ms", 30)}, "Callback executed after 30ms", 30 * time.Millisecond},
		{"delayed", []kind.Value{vInt("delay_ms", 0)}, "Callback executed after 0ms", 0},
	}
	for _, c := range cases {
		c := c
		t.Run(c.kind+"/"+c.want, func(t *testing.T) {
			t.Parallel()
			rt := newRT(t, 0)
			start := time.Now()
			id := mustSpawn(t, rt, c.kind, c.values, 0)
			task, state := waitFinal(t, rt, id)
			elapsed := time.Since(start)
			if state != StateCompleted || task.err != nil {
				t.Fatalf("state %v, err %+v; want StateCompleted", state, task.err)
			}
			if got := string(task.result.Data); got != c.want {
				t.Fatalf("result %q, want %q", got, c.want)
			}
			if elapsed < c.minDelay {
				t.Fatalf("completed after %v, before its %v delay", elapsed, c.minDelay)
			}
		})
	}
}

func TestSeedKindsHonourCancel(t *testing.T) {
	rt := newRT(t, 0)
	for _, c := range []struct {
		kind   string
		values []kind.Value
	}{
		{"goroutine", nil},
		{"task", []kind.Value{vStr("task", "t")}},
		{"delayed", []kind.Value{vInt("delay_ms", 60_000)}},
		{"sleep", []kind.Value{vFloat("seconds", 60)}},
	} {
		id := mustSpawn(t, rt, c.kind, c.values, 0)
		if ok, err := rt.Cancel(id); !ok || err != nil {
			t.Fatalf("%s: Cancel = %v, %v", c.kind, ok, err)
		}
	}
	// Every cancelled work must return promptly and free its goroutine.
	waitFor(t, "cancelled seed tasks to return", func() bool { return slotsInUse(rt) == 0 })
}

func TestSleep(t *testing.T) {
	rt := newRT(t, 0)
	for _, v := range []kind.Value{vFloat("seconds", 0.04), vInt("seconds", 0), vFloat("seconds", 0), vFloat("seconds", math.Copysign(0, -1))} {
		want := time.Duration(0)
		if v.Type == kind.ValueFloat {
			want = time.Duration(v.Float * float64(time.Second))
		}
		start := time.Now()
		id := mustSpawn(t, rt, "sleep", []kind.Value{v}, 0)
		task, state := waitFinal(t, rt, id)
		elapsed := time.Since(start)
		if state != StateCompleted || task.err != nil {
			t.Fatalf("sleep(%+v): state %v, err %+v", v, state, task.err)
		}
		if len(task.result.Data) != 0 {
			t.Fatalf("sleep(%+v) result %q, want empty", v, task.result.Data)
		}
		if elapsed < want {
			t.Fatalf("sleep(%+v) completed after %v, before %v", v, elapsed, want)
		}
	}
	// A longer sleep is still running when a shorter wait gives up.
	id := mustSpawn(t, rt, "sleep", []kind.Value{vInt("seconds", 60)}, 0)
	if _, state, err := rt.Wait(id, 20*time.Millisecond); !errors.Is(err, ErrTimeout) || state != StateRunning {
		t.Fatalf("sleep(60 s) after 20 ms: %v, %v", state, err)
	}
}

func TestEcho(t *testing.T) {
	big := make([]byte, 10<<20)
	for i := range big {
		big[i] = byte(i * 31 % 251) // includes zeros
	}
	cases := []struct {
		name string
		v    kind.Value
		want []byte
	}{
		{"bytes with NULs", vBytes("data", []byte("a\x00b\x00\x00c\xff")), []byte("a\x00b\x00\x00c\xff")},
		{"str with NUL", vStr("data", "héllo\x00world"), []byte("héllo\x00world")},
		{"leading and trailing NUL", vBytes("data", []byte{0, 1, 2, 0}), []byte{0, 1, 2, 0}},
		{"empty bytes", vBytes("data", []byte{}), nil},
		{"empty str", vStr("data", ""), nil},
		{"10 MiB", vBytes("data", big), big},
	}
	rt := newRT(t, 0)
	for _, c := range cases {
		want := append([]byte(nil), c.want...)
		id := mustSpawn(t, rt, "echo", []kind.Value{c.v}, 0)
		task, state := waitFinal(t, rt, id)
		if state != StateCompleted {
			t.Fatalf("%s: state %v", c.name, state)
		}
		if !bytes.Equal(task.result.Data, want) {
			t.Fatalf("%s: result of %d bytes differs from the %d bytes sent", c.name, len(task.result.Data), len(want))
		}
		if err := rt.Release(id); err != nil {
			t.Fatal(err)
		}
	}
}

// ---- argument validation ----

func TestUnknownKind(t *testing.T) {
	rt := newRT(t, 0)
	for _, name := range []string{"test_no_such_kind", "", "Sleep", "sleep "} {
		id, err := rt.Spawn(name, nil, 0)
		var ke *kind.UnknownKindError
		if !errors.As(err, &ke) {
			t.Fatalf("Spawn(%q) error %T %v, want *kind.UnknownKindError", name, err, err)
		}
		if id != 0 || ke.Name != name {
			t.Fatalf("Spawn(%q) = %d, error names %q", name, id, ke.Name)
		}
		msg := err.Error()
		if !strings.Contains(msg, "'"+name+"'") {
			t.Fatalf("message %q does not name the unknown kind %q", msg, name)
		}
		for _, known := range append([]string{"delayed", "echo", "goroutine", "sleep", "task"}, kind.Names()...) {
			if !strings.Contains(msg, known) {
				t.Fatalf("message %q does not list the known kind %q", msg, known)
			}
		}
	}
	checkZeroStats(t, rt.Stats())
}

func TestArgumentValidation(t *testing.T) {
	cases := []struct {
		name   string
		kind   string
		values []kind.Value
		arg    string   // kind.ArgError.Arg, "" for unexpected arguments
		want   []string // substrings of Error()
	}{
		{"sleep missing", "sleep", nil, "seconds", []string{"'seconds'", "required"}},
		{"sleep None", "sleep", []kind.Value{vNone("seconds")}, "seconds", []string{"'seconds'", "required"}},
		{"sleep str", "sleep", []kind.Value{vStr("seconds", "1")}, "seconds", []string{"'seconds'", "str"}},
		{"sleep bytes", "sleep", []kind.Value{vBytes("seconds", []byte("1"))}, "seconds", []string{"'seconds'", "bytes"}},
		{"sleep bool", "sleep", []kind.Value{vBool("seconds", true)}, "seconds", []string{"'seconds'", "bool"}},
		{"sleep list", "sleep", []kind.Value{{Name: "seconds", Type: kind.ValueList}}, "seconds", []string{"'seconds'", "list"}},
		{"sleep negative float", "sleep", []kind.Value{vFloat("seconds", -0.5)}, "seconds", []string{"'seconds'", "negative"}},
		{"sleep negative int", "sleep", []kind.Value{vInt("seconds", -1)}, "seconds", []string{"'seconds'", "negative"}},
		{"sleep NaN", "sleep", []kind.Value{vFloat("seconds", math.NaN())}, "seconds", []string{"'seconds'", "NaN"}},
		{"sleep -Inf", "sleep", []kind.Value{vFloat("seconds", math.Inf(-1))}, "seconds", []string{"'seconds'"}},
		{"sleep +Inf", "sleep", []kind.Value{vFloat("seconds", math.Inf(1))}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep huge float", "sleep", []kind.Value{vFloat("seconds", 1e300)}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep huge int", "sleep", []kind.Value{vInt("seconds", math.MaxInt64)}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep just over the limit", "sleep", []kind.Value{vFloat("seconds", kind.MaxSeconds+1)}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep extra argument", "sleep", []kind.Value{vFloat("seconds", 0), vInt("bogus", 1)}, "", []string{"'bogus'", "seconds"}},
		{"sleep two extra arguments", "sleep", []kind.Value{vStr("zeta", "z"), vFloat("seconds", 0), vInt("alpha", 1)}, "", []string{"arguments 'alpha', 'zeta'"}},
		{"delayed missing", "delayed", nil, "delay_ms", []string{"'delay_ms'", "required"}},
		{"delayed None", "delayed", []kind.Value{vNone("delay_ms")}, "delay_ms", []string{"'delay_ms'", "required"}},
		{"delayed negative", "delayed", []kind.Value{vInt("delay_ms", -1)}, "delay_ms", []string{"'delay_ms'", "negative"}},
		{"delayed float", "delayed", []kind.Value{vFloat("delay_ms", 30)}, "delay_ms", []string{"'delay_ms'", "float"}},
		{"delayed str", "delayed", []kind.Value{vStr("delay_ms", "30")}, "delay_ms", []string{"'delay_ms'", "str"}},
		{"delayed huge", "delayed", []kind.Value{vInt("delay_ms", math.MaxInt64)}, "delay_ms", []string{"'delay_ms'", "too large"}},
		{"delayed extra", "delayed", []kind.Value{vInt("delay_ms", 1), vStr("extra", "")}, "", []string{"'extra'", "delay_ms"}},
		{"task missing", "task", nil, "task", []string{"'task'", "required"}},
		{"task None", "task", []kind.Value{vNone("task")}, "task", []string{"'task'", "required"}},
		{"task bytes", "task", []kind.Value{vBytes("task", []byte("x"))}, "task", []string{"'task'", "str"}},
		{"task int", "task", []kind.Value{vInt("task", 1)}, "task", []string{"'task'", "int"}},
		{"echo missing", "echo", nil, "data", []string{"'data'", "required"}},
		{"echo None", "echo", []kind.Value{vNone("data")}, "data", []string{"'data'", "required"}},
		{"echo int", "echo", []kind.Value{vInt("data", 1)}, "data", []string{"'data'", "int"}},
		{"echo map", "echo", []kind.Value{{Name: "data", Type: kind.ValueMap}}, "data", []string{"'data'", "map"}},
		{"echo misspelt", "echo", []kind.Value{vStr("dta", "x")}, "data", []string{"'data'", "required"}},
		{"goroutine extra", "goroutine", []kind.Value{vInt("x", 1)}, "", []string{"'x'", "takes no arguments"}},
	}
	rt := newRT(t, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := rt.Spawn(c.kind, c.values, 0)
			var ae *kind.ArgError
			if !errors.As(err, &ae) {
				t.Fatalf("Spawn error %T %v, want *kind.ArgError", err, err)
			}
			if id != 0 {
				t.Fatalf("a rejected spawn returned id %d", id)
			}
			if ae.Kind != c.kind || ae.Arg != c.arg {
				t.Fatalf("kind.ArgError{Kind %q, Arg %q}, want {%q, %q}", ae.Kind, ae.Arg, c.kind, c.arg)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, c.kind+": ") {
				t.Fatalf("message %q does not start with the kind", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
	// Nothing was added to the table by the rejected spawns.
	checkZeroStats(t, rt.Stats())
	if id := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "x")}, 0); id != 1 {
		t.Fatalf("first accepted spawn after rejected ones got id %d, want 1", id)
	}
}

func TestArgumentBoundariesAccepted(t *testing.T) {
	rt := newRT(t, 0)
	for _, c := range []struct {
		kind   string
		values []kind.Value
	}{
		{"sleep", []kind.Value{vFloat("seconds", kind.MaxSeconds)}},
		{"sleep", []kind.Value{vInt("seconds", kind.MaxSeconds)}},
		{"sleep", []kind.Value{vFloat("seconds", 1e-12)}},
		{"delayed", []kind.Value{vInt("delay_ms", kind.MaxSeconds*1000)}},
		{"echo", []kind.Value{vBytes("data", nil)}},
	} {
		id, err := rt.Spawn(c.kind, c.values, 0)
		if err != nil {
			t.Fatalf("Spawn(%s, %+v) = %v, want it accepted", c.kind, c.values, err)
		}
		if err := rt.Release(id); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTooManyArguments(t *testing.T) {
	rt := newRT(t, 0)
	values := []kind.Value{vStr("data", "x")}
	for i := 0; len(values) <= kind.MaxArgs; i++ {
		values = append(values, vInt(fmt.Sprintf("extra%02d", i), int64(i)))
	}
	_, err := rt.Spawn("echo", values, 0)
	var ae *kind.ArgError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), fmt.Sprint(kind.MaxArgs)) {
		t.Fatalf("Spawn with %d arguments = %v, want an kind.ArgError naming the limit %d", len(values), err, kind.MaxArgs)
	}
	// Exactly kind.MaxArgs arguments are checked one by one: the last unknown one
	// is reported, too.
	values = values[:kind.MaxArgs]
	_, err = rt.Spawn("echo", values, 0)
	last := values[kind.MaxArgs-1].Name
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "'"+last+"'") || !strings.Contains(err.Error(), "'extra00'") {
		t.Fatalf("Spawn with %d arguments = %v, want an kind.ArgError naming '%s'", kind.MaxArgs, err, last)
	}
}
