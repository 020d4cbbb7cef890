// Package kind is the API for writing task kinds: the kinds of work that
// gogoroutines runs on goroutines for Python and C++ callers.
//
// A kind is a name, a table of parameters and a Prepare function. When a
// caller spawns a task (rt.go("mykind", path="/data") in Python), the engine
// finds the kind by name and calls Prepare with the task's arguments on the
// spawning thread. Prepare validates them and returns the Work to run; the
// engine then runs that Work on a goroutine, with a context that is cancelled
// when the task is cancelled or its timeout passes, and hands its Result back
// to the caller.
//
// A package registers its kinds in an init function:
//
//	func init() {
//		kind.Register(&kind.Kind{
//			Name: "count_lines",
//			Doc:  "Counts the lines of data.",
//			Params: []kind.Param{
//				{Name: "data", Type: kind.Data, Required: true, Doc: "the text"},
//			},
//			Prepare: func(a *kind.Args) (kind.Work, error) {
//				data := a.Data("data")
//				if err := a.Err(); err != nil {
//					return nil, err
//				}
//				return func(ctx context.Context) (kind.Result, error) {
//					n := bytes.Count(data, []byte("\n"))
//					return kind.Result{Data: []byte(strconv.Itoa(n))}, nil
//				}, nil
//			},
//		})
//	}
//
// docs/go-kinds.md in the gogoroutines repository tells the whole contract
// and how to build a kind into the Python package or a C++ program.
package kind

import (
	"context"
	"time"
)

// Kind describes one kind of task. Set exactly one of Prepare and Timer.
type Kind struct {
	// Name is what callers spawn the kind by: unique in the process, by
	// convention lower_case_with_underscores.
	Name string
	// Doc is one or two sentences for `python -m gogoroutines`: what the
	// task does and what its result is.
	Doc string
	// Params lists every argument the kind takes. Arguments not listed are
	// refused at spawn; the Args getters take their defaults from here.
	Params []Param

	// Prepare validates the arguments of one task and returns its work. It
	// runs during the spawn, on the caller's thread: it must not block or do
	// I/O beyond cheap checks. Everything the work needs must be copied out of
	// a (the getters return copies), since a is reused after Prepare returns.
	// An error it returns fails the spawn; return a.Err() or an error made by
	// a.Invalid so that the caller learns which argument was wrong.
	Prepare func(a *Args) (Work, error)

	// Timer is an alternative to Prepare for work that only waits and then
	// completes (a sleep): it returns the delay and the result to complete
	// with. Such a task holds no goroutine and no stack while it waits, so a
	// million of them are cheap.
	Timer func(a *Args) (time.Duration, Result, error)

	// Inline marks work that finishes at once without blocking (echo): the
	// engine runs it on the spawning thread instead of a goroutine, which
	// would cost more than the work itself. Never set it for work that can
	// block or take more than a microsecond or so.
	Inline bool

	// StopGrace is how long the work of a cancelled task may take to return
	// (exec: it terminates its child, then kills it after a grace period).
	// Closing a runtime waits that long, at most, for such work to end.
	StopGrace time.Duration
}

// Work is one prepared task. It runs on a goroutine of its own and should
// return soon after ctx is done (cancelled, or the task's timeout passed);
// the engine records the task as cancelled or timed out whatever Work
// returns then. A panic in Work fails the task with the Go stack; it never
// crashes the process.
type Work func(ctx context.Context) (Result, error)

// Result is what a task hands back to the caller.
type Result struct {
	// Data is the task's result, as bytes: Python decodes it as UTF-8 text
	// for task.result(), or hands it over as it is for task.result_bytes().
	Data []byte
	// Meta builds the task's metadata (an HTTP status, an exit code), a
	// value that marshals to a JSON object, when a caller reads task.meta.
	// It is a function so that nothing is built for the many tasks whose meta
	// nobody reads. nil: no metadata. Meta is kept when the task fails.
	Meta func() any
}

// MetaOf returns a Result.Meta for metadata built already.
func MetaOf(meta any) func() any { return func() any { return meta } }
