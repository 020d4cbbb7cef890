package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"gogoroutines.dev/go/kind"
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

// Error returns the message.
func (e *TaskError) Error() string { return e.Message }

// Task is one unit of work in a runtime's table.
//
// state, result, err and watchers are guarded by the runtime's mutex; result
// and err are written once, when the task reaches a final state, and are
// read-only afterwards. A runtime holds one Task per id until the id is
// released, so its size is most of what a sleeping task costs: fields only
// one sort of task uses are few (112 bytes, a size class of the allocator;
// a blocked Wait's channel lives in the runtime, not here).
type Task struct {
	ID      int64
	Kind    *kind.Kind
	state   State
	slot    int32         // a Timer kind's index + 1 in the timer queue; 0: not in it
	timeout time.Duration // 0: no deadline of its own
	// work is the task's work; for a Timer kind, it returns at once what the
	// task completes with (or its timeout error, once start saw the timeout
	// come before the delay).
	work   kind.Work
	due    int64                                // a Timer kind's delay, then (after start) its monoNow due time
	cancel context.CancelFunc                   // cancels a started goroutine's work
	finish func(*Task, kind.Result, *TaskError) // what a started Timer kind's task calls when due

	result   kind.Result
	err      *TaskError
	watchers *watchNode // wait sets to tell when it finishes, latest first
}

// timed reports whether the task is of a Timer kind.
func (t *Task) timed() bool { return t.Kind.Timer != nil }

// runInline runs the work of an Inline kind on the calling goroutine.
func (t *Task) runInline() (kind.Result, *TaskError) {
	if t.timed() {
		res, _ := t.work(context.Background()) // an Inline Timer kind waits for nothing
		return res, nil
	}
	ctx := context.Background()
	if t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	return t.runProtected(ctx)
}

// start creates the task's context and runs its work on a pooled goroutine.
// It is called with the runtime's mutex held; finish is called when the work
// returns, whatever the state of the task is by then.
func (t *Task) start(finish func(*Task, kind.Result, *TaskError)) {
	t.state = StateRunning
	if t.timed() {
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
	runWork(func() {
		// Deferred, so that the slot is freed and the task settled even if
		// the work ends its goroutine with runtime.Goexit.
		var res kind.Result
		var err *TaskError
		returned := false
		defer func() {
			cancel()
			if !returned { // the error is made only then: it costs a few allocations
				err = &TaskError{Code: FailureError,
					Message: fmt.Sprintf("task %d (%s) ended its goroutine without a result", t.ID, t.Kind.Name)}
			}
			finish(t, res, err)
		}()
		res, err = t.runProtected(ctx)
		returned = true
	})
}

// startTimer puts a Timer kind's task in the timer queue, due when its delay
// (or its own timeout, if that comes first) has passed.
func (t *Task) startTimer(finish func(*Task, kind.Result, *TaskError)) {
	delay := time.Duration(t.due)
	if t.timeout > 0 && t.timeout < delay {
		delay, t.work = t.timeout, timedOut
	}
	t.due = monoNow() + int64(delay)
	t.finish = finish
	timers.add(t)
}

// timedOut is the work of a Timer kind's task whose timeout comes first.
func timedOut(context.Context) (kind.Result, error) { return kind.Result{}, context.DeadlineExceeded }

// completeTimer ends a Timer kind's task that is due: the timer queue calls
// it, with no lock held, once the task has left the queue.
func (t *Task) completeTimer() {
	res, err := t.work(context.Background())
	if err != nil {
		t.finish(t, kind.Result{}, t.timeoutError())
		return
	}
	t.finish(t, res, nil)
}

// stop ends the work of a started task: it cancels the context of goroutine
// work, or takes a Timer kind's task out of the timer queue. It reports
// whether the finish given to start will still be called (always for
// goroutine work, which returns when it sees the cancellation; for a Timer
// kind, only if the queue had already taken it out to complete it). Called
// with the runtime's mutex held.
func (t *Task) stop() (finishPending bool) {
	switch {
	case t.timed():
		return !timers.remove(t)
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
func (t *Task) runProtected(ctx context.Context) (res kind.Result, terr *TaskError) {
	defer func() {
		if r := recover(); r != nil {
			res = kind.Result{}
			terr = &TaskError{
				Code:    FailurePanic,
				Message: fmt.Sprintf("task %d (%s) panicked: %v", t.ID, t.Kind.Name, r),
				Stack:   string(debug.Stack()),
			}
		}
	}()
	res, err := t.work(ctx)
	if err == nil {
		return res, nil
	}
	failed := kind.Result{Meta: res.Meta}
	if errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return failed, t.timeoutError()
	}
	return failed, &TaskError{
		Code:    FailureError,
		Message: fmt.Sprintf("task %d (%s) failed: %v", t.ID, t.Kind.Name, err),
	}
}

// State is the state of a task that Wait reported as finished (a final
// state never changes; an unfinished one is the runtime's to read).
func (t *Task) State() State { return t.state }

// Result is what a finished task handed back (for a failed one, its meta
// only). Call it once Wait reported a final state: it never changes then.
func (t *Task) Result() kind.Result { return t.result }

// Err is the failure of a task that Wait reported as StateFailed.
func (t *Task) Err() *TaskError { return t.err }

// MetaJSON is the metadata of a finished task as a JSON object ("{}" if none).
func (t *Task) MetaJSON() ([]byte, error) {
	if t.result.Meta == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(t.result.Meta())
}
