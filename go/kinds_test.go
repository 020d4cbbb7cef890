package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// ---- seed kinds ----

func TestSeedKindsResults(t *testing.T) {
	cases := []struct {
		kind     string
		values   []Value
		want     string
		minDelay time.Duration
	}{
		{"goroutine", nil, "Goroutine completed successfully!", 100 * time.Millisecond},
		{"task", []Value{vStr("task", "X")}, "Task 'X' completed!", 200 * time.Millisecond},
		{"task", []Value{vStr("task", "Fetch users")}, "Task 'Fetch users' completed!", 200 * time.Millisecond},
		{"task", []Value{vStr("task", "")}, "Task '' completed!", 200 * time.Millisecond},
		{"delayed", []Value{vInt("delay_ms", 30)}, "Callback executed after 30ms", 30 * time.Millisecond},
		{"delayed", []Value{vInt("delay_ms", 0)}, "Callback executed after 0ms", 0},
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
		values []Value
	}{
		{"goroutine", nil},
		{"task", []Value{vStr("task", "t")}},
		{"delayed", []Value{vInt("delay_ms", 60_000)}},
		{"sleep", []Value{vFloat("seconds", 60)}},
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
	for _, v := range []Value{vFloat("seconds", 0.04), vInt("seconds", 0), vFloat("seconds", 0), vFloat("seconds", math.Copysign(0, -1))} {
		want := time.Duration(0)
		if v.Type == TypeFloat {
			want = time.Duration(v.Float * float64(time.Second))
		}
		start := time.Now()
		id := mustSpawn(t, rt, "sleep", []Value{v}, 0)
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
	id := mustSpawn(t, rt, "sleep", []Value{vInt("seconds", 60)}, 0)
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
		v    Value
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
		id := mustSpawn(t, rt, "echo", []Value{c.v}, 0)
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
		var ke *UnknownKindError
		if !errors.As(err, &ke) {
			t.Fatalf("Spawn(%q) error %T %v, want *UnknownKindError", name, err, err)
		}
		if id != 0 || ke.Name != name {
			t.Fatalf("Spawn(%q) = %d, error names %q", name, id, ke.Name)
		}
		msg := err.Error()
		if !strings.Contains(msg, "'"+name+"'") {
			t.Fatalf("message %q does not name the unknown kind %q", msg, name)
		}
		for _, known := range append([]string{"delayed", "echo", "goroutine", "sleep", "task"}, kindNames()...) {
			if !strings.Contains(msg, known) {
				t.Fatalf("message %q does not list the known kind %q", msg, known)
			}
		}
	}
	checkZeroStats(t, rt.Stats())
}

func TestKindNamesSortedAndComplete(t *testing.T) {
	names := kindNames()
	if len(names) != len(kinds) {
		t.Fatalf("kindNames() has %d names, registry has %d", len(names), len(kinds))
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("kindNames() not sorted: %v", names)
		}
	}
	for _, seed := range []string{"delayed", "echo", "goroutine", "sleep", "task"} {
		k, ok := kinds[seed]
		if !ok || k.Name != seed || (k.Prepare == nil) == (k.Timer == nil) || k.Doc == "" {
			t.Fatalf("seed kind %q missing or incomplete: %+v", seed, k)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "echo") {
			t.Fatalf("registering a duplicate kind: recover() = %v", r)
		}
	}()
	register(&Kind{Name: "echo"})
}

func TestArgumentValidation(t *testing.T) {
	cases := []struct {
		name   string
		kind   string
		values []Value
		arg    string   // ArgError.Arg, "" for unexpected arguments
		want   []string // substrings of Error()
	}{
		{"sleep missing", "sleep", nil, "seconds", []string{"'seconds'", "required"}},
		{"sleep None", "sleep", []Value{vNone("seconds")}, "seconds", []string{"'seconds'", "required"}},
		{"sleep str", "sleep", []Value{vStr("seconds", "1")}, "seconds", []string{"'seconds'", "str"}},
		{"sleep bytes", "sleep", []Value{vBytes("seconds", []byte("1"))}, "seconds", []string{"'seconds'", "bytes"}},
		{"sleep bool", "sleep", []Value{vBool("seconds", true)}, "seconds", []string{"'seconds'", "bool"}},
		{"sleep list", "sleep", []Value{{Name: "seconds", Type: TypeList}}, "seconds", []string{"'seconds'", "list"}},
		{"sleep negative float", "sleep", []Value{vFloat("seconds", -0.5)}, "seconds", []string{"'seconds'", "negative"}},
		{"sleep negative int", "sleep", []Value{vInt("seconds", -1)}, "seconds", []string{"'seconds'", "negative"}},
		{"sleep NaN", "sleep", []Value{vFloat("seconds", math.NaN())}, "seconds", []string{"'seconds'", "NaN"}},
		{"sleep -Inf", "sleep", []Value{vFloat("seconds", math.Inf(-1))}, "seconds", []string{"'seconds'"}},
		{"sleep +Inf", "sleep", []Value{vFloat("seconds", math.Inf(1))}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep huge float", "sleep", []Value{vFloat("seconds", 1e300)}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep huge int", "sleep", []Value{vInt("seconds", math.MaxInt64)}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep just over the limit", "sleep", []Value{vFloat("seconds", maxSeconds+1)}, "seconds", []string{"'seconds'", "too large"}},
		{"sleep extra argument", "sleep", []Value{vFloat("seconds", 0), vInt("bogus", 1)}, "", []string{"'bogus'", "seconds"}},
		{"sleep two extra arguments", "sleep", []Value{vStr("zeta", "z"), vFloat("seconds", 0), vInt("alpha", 1)}, "", []string{"arguments 'alpha', 'zeta'"}},
		{"delayed missing", "delayed", nil, "delay_ms", []string{"'delay_ms'", "required"}},
		{"delayed None", "delayed", []Value{vNone("delay_ms")}, "delay_ms", []string{"'delay_ms'", "required"}},
		{"delayed negative", "delayed", []Value{vInt("delay_ms", -1)}, "delay_ms", []string{"'delay_ms'", "negative"}},
		{"delayed float", "delayed", []Value{vFloat("delay_ms", 30)}, "delay_ms", []string{"'delay_ms'", "float"}},
		{"delayed str", "delayed", []Value{vStr("delay_ms", "30")}, "delay_ms", []string{"'delay_ms'", "str"}},
		{"delayed huge", "delayed", []Value{vInt("delay_ms", math.MaxInt64)}, "delay_ms", []string{"'delay_ms'", "too large"}},
		{"delayed extra", "delayed", []Value{vInt("delay_ms", 1), vStr("extra", "")}, "", []string{"'extra'", "delay_ms"}},
		{"task missing", "task", nil, "task", []string{"'task'", "required"}},
		{"task None", "task", []Value{vNone("task")}, "task", []string{"'task'", "required"}},
		{"task bytes", "task", []Value{vBytes("task", []byte("x"))}, "task", []string{"'task'", "str"}},
		{"task int", "task", []Value{vInt("task", 1)}, "task", []string{"'task'", "int"}},
		{"echo missing", "echo", nil, "data", []string{"'data'", "required"}},
		{"echo None", "echo", []Value{vNone("data")}, "data", []string{"'data'", "required"}},
		{"echo int", "echo", []Value{vInt("data", 1)}, "data", []string{"'data'", "int"}},
		{"echo dict", "echo", []Value{{Name: "data", Type: TypeMap}}, "data", []string{"'data'", "dict"}},
		{"echo misspelt", "echo", []Value{vStr("dta", "x")}, "data", []string{"'data'", "required"}},
		{"goroutine extra", "goroutine", []Value{vInt("x", 1)}, "", []string{"'x'", "takes no arguments"}},
	}
	rt := newRT(t, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := rt.Spawn(c.kind, c.values, 0)
			var ae *ArgError
			if !errors.As(err, &ae) {
				t.Fatalf("Spawn error %T %v, want *ArgError", err, err)
			}
			if id != 0 {
				t.Fatalf("a rejected spawn returned id %d", id)
			}
			if ae.Kind != c.kind || ae.Arg != c.arg {
				t.Fatalf("ArgError{Kind %q, Arg %q}, want {%q, %q}", ae.Kind, ae.Arg, c.kind, c.arg)
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
	if id := mustSpawn(t, rt, "echo", []Value{vStr("data", "x")}, 0); id != 1 {
		t.Fatalf("first accepted spawn after rejected ones got id %d, want 1", id)
	}
}

func TestArgumentBoundariesAccepted(t *testing.T) {
	rt := newRT(t, 0)
	for _, c := range []struct {
		kind   string
		values []Value
	}{
		{"sleep", []Value{vFloat("seconds", maxSeconds)}},
		{"sleep", []Value{vInt("seconds", maxSeconds)}},
		{"sleep", []Value{vFloat("seconds", 1e-12)}},
		{"delayed", []Value{vInt("delay_ms", maxSeconds*1000)}},
		{"echo", []Value{vBytes("data", nil)}},
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

func TestNoneCountsAsAbsent(t *testing.T) {
	a := NewArgs("k", []Value{vNone("s"), vNone("d"), vNone("ms"), vNone("data")})
	if a.Present("s") {
		t.Fatal("Present(None) = true")
	}
	if s, err := a.Str("s", "default"); s != "default" || err != nil {
		t.Fatalf("Str(None) = %q, %v; want the default", s, err)
	}
	if d, err := a.Seconds("d", 1.5); d != 1500*time.Millisecond || err != nil {
		t.Fatalf("Seconds(None) = %v, %v; want the default", d, err)
	}
	if ms, d, err := a.Milliseconds("ms", 7); ms != 7 || d != 7*time.Millisecond || err != nil {
		t.Fatalf("Milliseconds(None) = %d, %v, %v; want the default", ms, d, err)
	}
	if _, err := a.RequiredData("data"); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("RequiredData(None) = %v, want 'is required'", err)
	}
	// A None argument the kind asked for is not an unexpected argument.
	if err := a.Done(nil); err != nil {
		t.Fatalf("Done after looking up every None argument = %v", err)
	}

	b := NewArgs("k", []Value{vStr("s", "given"), vInt("n", 3)})
	if !b.Present("s") || b.Present("missing") {
		t.Fatal("Present wrong for given / missing arguments")
	}
	if s, err := b.Str("s", "default"); s != "given" || err != nil {
		t.Fatalf("Str = %q, %v", s, err)
	}
	if _, err := b.Str("n", ""); err == nil || !strings.Contains(err.Error(), "'n'") {
		t.Fatalf("Str(int) = %v, want an error naming 'n'", err)
	}
	if d, err := b.Seconds("missing", 0.25); d != 250*time.Millisecond || err != nil {
		t.Fatalf("Seconds(absent) = %v, %v; want the default", d, err)
	}
	if _, err := b.Seconds("other", -1); err == nil {
		t.Fatal("a negative default for Seconds was accepted")
	}
	if _, _, err := b.Milliseconds("other", -1); err == nil {
		t.Fatal("a negative default for Milliseconds was accepted")
	}

	c := NewArgs("k", []Value{vInt("x", 1)})
	err := c.Done([]Param{{Name: "p"}, {Name: "q"}})
	var ae *ArgError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "'x'") || !strings.Contains(err.Error(), "takes: p, q") {
		t.Fatalf("Done with an unused argument = %v", err)
	}
}

func TestValueTypeString(t *testing.T) {
	want := map[ValueType]string{
		TypeNone: "None", TypeStr: "str", TypeBytes: "bytes", TypeInt: "int",
		TypeFloat: "float", TypeBool: "bool", TypeList: "list", TypeMap: "dict", 42: "type 42",
	}
	for typ, s := range want {
		if got := typ.String(); got != s {
			t.Errorf("ValueType(%d).String() = %q, want %q", int32(typ), got, s)
		}
	}
}

func TestArgErrorFormat(t *testing.T) {
	if got := (&ArgError{Kind: "k", Arg: "a", Msg: "is bad"}).Error(); got != "k: argument 'a' is bad" {
		t.Fatalf("got %q", got)
	}
	if got := (&ArgError{Kind: "k", Msg: "general"}).Error(); got != "k: general" {
		t.Fatalf("got %q", got)
	}
}

func TestTooManyArguments(t *testing.T) {
	rt := newRT(t, 0)
	values := []Value{vStr("data", "x")}
	for i := 0; len(values) <= MaxArgs; i++ {
		values = append(values, vInt(fmt.Sprintf("extra%02d", i), int64(i)))
	}
	_, err := rt.Spawn("echo", values, 0)
	var ae *ArgError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), fmt.Sprint(MaxArgs)) {
		t.Fatalf("Spawn with %d arguments = %v, want an ArgError naming the limit %d", len(values), err, MaxArgs)
	}
	// Exactly MaxArgs arguments are checked one by one: the last unknown one
	// is reported, too.
	values = values[:MaxArgs]
	_, err = rt.Spawn("echo", values, 0)
	last := values[MaxArgs-1].Name
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "'"+last+"'") || !strings.Contains(err.Error(), "'extra00'") {
		t.Fatalf("Spawn with %d arguments = %v, want an ArgError naming '%s'", MaxArgs, err, last)
	}
	// The argument in the last bit is seen when asked for.
	values[MaxArgs-1] = vStr("data", "last")
	values[0] = vInt("filler", 0)
	a := NewArgs("echo", values)
	if d, err := a.RequiredData("data"); err != nil || string(d) != "last" {
		t.Fatalf("RequiredData = %q, %v", d, err)
	}
	if err := a.Done(nil); err == nil || strings.Contains(err.Error(), "'data'") {
		t.Fatalf("Done = %v; want the fillers, not 'data', reported", err)
	}
}
