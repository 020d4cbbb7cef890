package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// State is where a task is in its life. Its numbers match enum gogo_task_state.
type State int32

// The task states: queued -> running -> completed | failed | cancelled.
const (
	StateNotFound  State = -1
	StateRunning   State = 0
	StateCompleted State = 1
	StateFailed    State = 2
	StateCancelled State = 3
	StateQueued    State = 4
)

// Done reports whether the state is final.
func (s State) Done() bool {
	return s == StateCompleted || s == StateFailed || s == StateCancelled
}

// Failure says why a task failed. Its numbers match enum gogo_failure.
type Failure int32

// The kinds of failure.
const (
	FailureError   Failure = 0
	FailureTimeout Failure = 1
	FailurePanic   Failure = 2
)

// TaskError is the error of a failed task, with the Go stack when it panicked.
type TaskError struct {
	Code    Failure
	Message string
	Stack   string
}

func (e *TaskError) Error() string { return e.Message }

// Task is one unit of work in a runtime's table.
//
// state is guarded by the runtime's mutex. result and err are written once,
// under that mutex, before done is closed; after <-done they are read-only.
type Task struct {
	ID      int64
	Kind    *Kind
	plan    plan
	timeout time.Duration // 0: no deadline of its own
	cancel  context.CancelFunc
	timer   *time.Timer // a Timer kind's pending completion
	done    chan struct{}

	state    State
	result   Result
	err      *TaskError
	watchers []watcher // wait sets to tell when it finishes
}

// closedChan is the done channel of tasks that finished during their spawn.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// runInline runs the work of an Inline kind on the calling goroutine.
func (t *Task) runInline() (Result, *TaskError) {
	if t.plan.timed {
		return t.plan.result, nil // an Inline Timer kind waits for nothing
	}
	ctx := context.Background()
	if t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	return t.runProtected(ctx)
}

// start creates the task's context and runs its work on a new goroutine.
// It is called with the runtime's mutex held; finish is called when the work
// returns, whatever the state of the task is by then.
func (t *Task) start(finish func(*Task, Result, *TaskError)) {
	t.state = StateRunning
	if t.plan.timed {
		t.startTimer(finish)
		return
	}
	ctx, cancel := context.Background(), context.CancelFunc(nil)
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	t.cancel = cancel
	go func() {
		// Deferred, so that the slot is freed and the task settled even if
		// the work ends its goroutine with runtime.Goexit.
		res, err := Result{}, &TaskError{Code: FailureError,
			Message: fmt.Sprintf("task %d (%s) ended its goroutine without a result", t.ID, t.Kind.Name)}
		defer func() {
			cancel()
			finish(t, res, err)
		}()
		res, err = t.runProtected(ctx)
	}()
}

// startTimer completes a Timer kind's task when its delay (or its own
// timeout, if that comes first) has passed. Cancelling stops the timer.
func (t *Task) startTimer(finish func(*Task, Result, *TaskError)) {
	if t.timeout > 0 && t.timeout < t.plan.delay {
		t.timer = time.AfterFunc(t.timeout, func() { finish(t, Result{}, t.timeoutError()) })
		return
	}
	t.timer = time.AfterFunc(t.plan.delay, func() { finish(t, t.plan.result, nil) })
}

// stop ends the work of a started task: it cancels the context of goroutine
// work, or stops the timer of a Timer kind. It reports whether the finish
// given to start will still be called (always for goroutine work, which
// returns when it sees the cancellation; never for a timer stopped before it
// fired). Called with the runtime's mutex held.
func (t *Task) stop() (finishPending bool) {
	switch {
	case t.timer != nil:
		return !t.timer.Stop()
	case t.cancel != nil:
		t.cancel()
	}
	return true
}

// timeoutError is the failure of a task whose own deadline passed.
func (t *Task) timeoutError() *TaskError {
	return &TaskError{
		Code:    FailureTimeout,
		Message: fmt.Sprintf("task %d (%s) timed out after %v", t.ID, t.Kind.Name, t.timeout),
	}
}

// runProtected runs the work and turns its error or panic into a TaskError.
func (t *Task) runProtected(ctx context.Context) (res Result, terr *TaskError) {
	defer func() {
		if r := recover(); r != nil {
			res = Result{}
			terr = &TaskError{
				Code:    FailurePanic,
				Message: fmt.Sprintf("task %d (%s) panicked: %v", t.ID, t.Kind.Name, r),
				Stack:   string(debug.Stack()),
			}
		}
	}()
	res, err := t.plan.work(ctx)
	if err == nil {
		return res, nil
	}
	failed := Result{Meta: res.Meta}
	if errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return failed, t.timeoutError()
	}
	return failed, &TaskError{
		Code:    FailureError,
		Message: fmt.Sprintf("task %d (%s) failed: %v", t.ID, t.Kind.Name, err),
	}
}
