package engine

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"gogoroutines.dev/go/kind"
)

// testPanicker is the function whose name must show up in a panic's stack.
//
//go:noinline
func testPanicker(value string) {
	panic("test panic value: " + value)
}

type testPanicError struct{ what string }

func (e *testPanicError) Error() string { return "custom panic error: " + e.what }

func init() {
	kind.Register(&kind.Kind{
		Name:   "test_panic",
		Doc:    "test only: panics with a message containing `value`",
		Params: []kind.Param{{Name: "value", Type: kind.String, Required: true}},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			v := a.Str("value")
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(context.Context) (kind.Result, error) {
				testPanicker(v)
				return kind.Result{Data: []byte("unreachable")}, nil
			}, nil
		},
	})
	kind.Register(&kind.Kind{
		Name: "test_panic_error",
		Doc:  "test only: panics with an error value",
		Prepare: func(a *kind.Args) (kind.Work, error) {
			return func(context.Context) (kind.Result, error) {
				panic(&testPanicError{what: "disk on fire"})
			}, nil
		},
	})
	kind.Register(&kind.Kind{
		Name: "test_goexit",
		Doc:  "test only: ends its goroutine with runtime.Goexit, returning nothing",
		Prepare: func(a *kind.Args) (kind.Work, error) {
			return func(context.Context) (kind.Result, error) {
				runtime.Goexit()
				return kind.Result{}, nil
			}, nil
		},
	})
	kind.Register(&kind.Kind{
		Name: "test_panic_nil",
		Doc:  "test only: panics with nil",
		Prepare: func(a *kind.Args) (kind.Work, error) {
			return func(context.Context) (kind.Result, error) {
				panic(nil) // recover() sees a *runtime.PanicNilError (Go >= 1.21)
			}, nil
		},
	})
	kind.Register(&kind.Kind{
		Name:   "test_panic_after_cancel",
		Doc:    "test only: waits for its context, then panics",
		Params: []kind.Param{{Name: "key", Type: kind.String, Required: true}},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			key := a.Str("key")
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (kind.Result, error) {
				book.begin(key)
				<-ctx.Done()
				book.end(key, "ctx")
				panic("panic after cancel")
			}, nil
		},
	})
}

func TestPanickingTaskFails(t *testing.T) {
	rt := newRT(t, 1)
	id := mustSpawn(t, rt, "test_panic", []kind.Value{vStr("value", "xyzzy-42")}, 0)
	task, state := waitFinal(t, rt, id)
	if state != StateFailed {
		t.Fatalf("state = %v, want StateFailed", state)
	}
	terr := task.err
	if terr == nil {
		t.Fatal("a panicked task has no error")
	}
	if terr.Code != FailurePanic {
		t.Fatalf("Code = %v, want FailurePanic", terr.Code)
	}
	if !strings.Contains(terr.Message, "test panic value: xyzzy-42") {
		t.Fatalf("message %q does not contain the panic value", terr.Message)
	}
	if !strings.Contains(terr.Message, "test_panic") {
		t.Fatalf("message %q does not name the kind", terr.Message)
	}
	if terr.Error() != terr.Message {
		t.Fatalf("Error() = %q, Message = %q", terr.Error(), terr.Message)
	}
	if !strings.Contains(terr.Stack, "goroutine") {
		t.Fatalf("stack does not look like a Go stack:\n%s", terr.Stack)
	}
	if !strings.Contains(terr.Stack, "testPanicker") {
		t.Fatalf("stack does not name the panicking function:\n%s", terr.Stack)
	}
	if len(task.result.Data) != 0 {
		t.Fatalf("a panicked task has a result: %q", task.result.Data)
	}
	if s := rt.Stats(); s.Failed != 1 || s.Active != 0 || s.Total != 1 {
		t.Fatalf("stats = %+v, want one failed task", s)
	}

	// The panic freed the only slot: the runtime goes on working.
	next := mustSpawn(t, rt, "echo", []kind.Value{vStr("data", "after")}, 0)
	if task, state := waitFinal(t, rt, next); state != StateCompleted || string(task.result.Data) != "after" {
		t.Fatalf("task after a panic: %v %q", state, task.result.Data)
	}
}

func TestPanicWithErrorAndNilValues(t *testing.T) {
	rt := newRT(t, 0)

	id := mustSpawn(t, rt, "test_panic_error", nil, 0)
	task, state := waitFinal(t, rt, id)
	if state != StateFailed || task.err == nil || task.err.Code != FailurePanic {
		t.Fatalf("panic(error): state %v, err %+v", state, task.err)
	}
	if !strings.Contains(task.err.Message, "custom panic error: disk on fire") {
		t.Fatalf("message %q does not contain the panic error", task.err.Message)
	}
	var target *testPanicError
	if errors.As(task.err, &target) {
		t.Fatal("TaskError should carry a message, not wrap the panic value")
	}

	id = mustSpawn(t, rt, "test_panic_nil", nil, 0)
	task, state = waitFinal(t, rt, id)
	if state != StateFailed || task.err == nil || task.err.Code != FailurePanic {
		t.Fatalf("panic(nil): state %v, err %+v", state, task.err)
	}
	if !strings.Contains(task.err.Stack, "goroutine") {
		t.Fatalf("panic(nil) stack:\n%s", task.err.Stack)
	}
}

func TestPanicAfterCancelKeepsTheTaskCancelled(t *testing.T) {
	rt := newRT(t, 0)
	key := gateKey(t, "p")
	id := mustSpawn(t, rt, "test_panic_after_cancel", gateArgs(key), 0)
	waitFor(t, "the task to start", func() bool { return book.hasStarted(key) })
	if ok, err := rt.Cancel(id); !ok || err != nil {
		t.Fatalf("Cancel = %v, %v", ok, err)
	}
	waitFor(t, "the work to see the cancel", func() bool { return book.exit(key) != "" })
	waitFor(t, "the panicking goroutine to finish", func() bool { return slotsInUse(rt) == 0 })
	task, state := waitFinal(t, rt, id)
	if state != StateCancelled || task.err != nil {
		t.Fatalf("state %v, err %+v; want StateCancelled with no error", state, task.err)
	}
	if s := rt.Stats(); s.Cancelled != 1 || s.Failed != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestPanicWithTimeoutIsStillAPanic(t *testing.T) {
	rt := newRT(t, 0)
	id := mustSpawn(t, rt, "test_panic", []kind.Value{vStr("value", "v")}, time.Hour)
	task, state := waitFinal(t, rt, id)
	if state != StateFailed || task.err == nil || task.err.Code != FailurePanic {
		t.Fatalf("state %v, err %+v; want a FailurePanic", state, task.err)
	}
}

func TestWorkEndingItsGoroutineFailsTheTask(t *testing.T) {
	rt := newRT(t, 1)
	id := mustSpawn(t, rt, "test_goexit", nil, 0)
	task, state := waitFinal(t, rt, id)
	if state != StateFailed || !strings.Contains(task.err.Message, "ended its goroutine without a result") {
		t.Fatalf("state %v, error %+v", state, task.err)
	}
	if next := mustSpawn(t, rt, "sleep", []kind.Value{vFloat("seconds", 0)}, 0); next == 0 { // its slot was freed
		t.Fatal("no id")
	} else if _, state := waitFinal(t, rt, next); state != StateCompleted {
		t.Fatalf("the next task: %v", state)
	}
}
