// Package testkit holds what the Go tests of the kinds share: argument
// values, a runtime that ends with its test, and waits bounded against hangs.
// (The engine's own tests cannot import it: it imports the engine.)
package testkit

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/kind"
)

// HangGuard bounds every wait in the tests. It is only a guard against hangs:
// no test asserts that anything finishes faster than this.
const HangGuard = 10 * time.Second

// Float, Int, Str, Bytes, Bool and None make named argument values.
func Float(name string, f float64) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueFloat, Float: f}
}

// Int makes an int argument.
func Int(name string, i int64) kind.Value { return kind.Value{Name: name, Type: kind.ValueInt, Int: i} }

// Str makes a string argument.
func Str(name, s string) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueStr, Bytes: []byte(s)}
}

// Bytes makes a bytes argument.
func Bytes(name string, b []byte) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueBytes, Bytes: b}
}

// Bool makes a bool argument.
func Bool(name string, b bool) kind.Value {
	v := kind.Value{Name: name, Type: kind.ValueBool}
	if b {
		v.Int = 1
	}
	return v
}

// None makes an argument given as None.
func None(name string) kind.Value { return kind.Value{Name: name, Type: kind.ValueNone} }

// Stream makes a channel argument.
func Stream(name string, ch *engine.Channel) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueStream, Stream: ch}
}

// NewRuntime returns a runtime that is closed when the test ends, so that no
// task of a test outlives it.
func NewRuntime(t testing.TB, maxConcurrency int) *engine.Runtime {
	t.Helper()
	rt, err := engine.NewRuntime(maxConcurrency)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

// NewChannel returns a channel with no runtime, or fails the test.
func NewChannel(t testing.TB, capacity int) *engine.Channel {
	t.Helper()
	ch, err := engine.NewChannel(capacity)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// Spawn spawns a task or fails the test.
func Spawn(t testing.TB, rt *engine.Runtime, kindName string, values []kind.Value, timeout time.Duration) int64 {
	t.Helper()
	id, err := rt.Spawn(kindName, values, timeout)
	if err != nil {
		t.Fatalf("Spawn(%q, %v): %v", kindName, values, err)
	}
	if id <= 0 {
		t.Fatalf("Spawn(%q) returned id %d", kindName, id)
	}
	return id
}

// WaitFinal waits (at most HangGuard) until task id is finished.
func WaitFinal(t testing.TB, rt *engine.Runtime, id int64) (*engine.Task, engine.State) {
	t.Helper()
	task, state, err := rt.Wait(id, HangGuard)
	if err != nil {
		t.Fatalf("Wait(%d): state %v, err %v", id, state, err)
	}
	if !state.Done() {
		t.Fatalf("Wait(%d) returned unfinished state %v without error", id, state)
	}
	return task, state
}

// WaitFor polls cond until it holds, failing the test after HangGuard.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(HangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// List makes a list argument of items.
func List(name string, items ...kind.Value) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueList, Items: items}
}

// Map makes a map argument of the named items.
func Map(name string, items ...kind.Value) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueMap, Items: items}
}

// RandomBytes returns n bytes of a pseudo-random sequence seeded by n.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// Run spawns a task of kindName on a runtime of its own, waits for it and
// returns its result or its failure.
func Run(t testing.TB, kindName string, values ...kind.Value) ([]byte, *engine.TaskError) {
	t.Helper()
	rt := NewRuntime(t, 0)
	task, _, err := rt.SpawnTask(kindName, values, 0)
	if err != nil {
		t.Fatalf("spawn %s: %v", kindName, err)
	}
	if _, _, err := rt.Wait(task.ID, HangGuard); err != nil {
		t.Fatalf("wait %s: %v", kindName, err)
	}
	return task.Result().Data, task.Err()
}

// SpawnFails checks that spawning kindName with values fails with an
// argument error whose message contains want.
func SpawnFails(t testing.TB, kindName string, values []kind.Value, want string) {
	t.Helper()
	rt := NewRuntime(t, 0)
	_, err := rt.Spawn(kindName, values, 0)
	var argErr *kind.ArgError
	if !errors.As(err, &argErr) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s %v: error %v, want an argument error containing %q", kindName, values, err, want)
	}
}
