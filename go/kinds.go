package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Result is what a task hands back: its payload, as bytes, and metadata
// about how it went (an HTTP status, an exit code), which is kept even when
// the task fails.
type Result struct {
	Data []byte
	// Meta builds the metadata when someone reads it (most never do: a
	// fan-out, a map), as a value that marshals to a JSON object. nil: none.
	// A func, not the value itself, keeps Task small and a map unbuilt.
	Meta func() any
}

// Work is one prepared task: everything it needs was validated and copied at
// spawn time, so running it can only fail for reasons of its own.
type Work func(ctx context.Context) (Result, error)

// Param documents one argument of a kind; `python -m gogoroutines` lists them.
type Param struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Default  string `json:"default,omitempty"`
	Required bool   `json:"required"`
	Doc      string `json:"doc"`
}

// Kind is one kind of task: a name, its documented parameters, and Prepare,
// which validates the arguments and returns the work to run.
//
// Inline marks work that finishes at once without blocking (echo): it runs
// on the spawning call itself instead of a new goroutine, because waking a
// thread for a new goroutine costs several times more than such work.
//
// A kind whose work is only "wait, then complete" (sleep, the seed's kinds)
// sets Timer instead of Prepare: its tasks are a timer and a table entry,
// with no goroutine and no stack while they wait, so a million sleepers cost
// little memory.
type Kind struct {
	Name    string                                       `json:"name"`
	Doc     string                                       `json:"doc"`
	Params  []Param                                      `json:"params"`
	Inline  bool                                         `json:"inline"`
	Prepare func(a *Args) (Work, error)                  `json:"-"`
	Timer   func(a *Args) (time.Duration, Result, error) `json:"-"`
}

// plan is a prepared task: work to run, or (for a Timer kind) a delay after
// which the task completes with what its work returns at once.
type plan struct {
	work  Work
	timed bool
	delay time.Duration
}

// argsPool recycles the Args that prepare wraps each spawn's values in.
var argsPool = sync.Pool{New: func() any { return new(Args) }}

// kinds is the registry of task kinds, filled by the init functions of the
// kind_*.go files and read-only afterwards.
var kinds = map[string]*Kind{}

// register adds a kind to the registry; a duplicate name is a programming error.
func register(k *Kind) {
	if _, dup := kinds[k.Name]; dup {
		panic("gogoroutines: kind registered twice: " + k.Name)
	}
	kinds[k.Name] = k
}

// UnknownKindError is returned by a spawn naming an unregistered kind.
type UnknownKindError struct {
	Name string
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("unknown task kind '%s'; known kinds: %s", e.Name, strings.Join(kindNames(), ", "))
}

// kindNames returns the registered kind names in sorted order.
func kindNames() []string {
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// prepare finds the kind named name and prepares its work from values.
func prepare(rt *Runtime, name string, values []Value) (*Kind, plan, error) {
	k, ok := kinds[name]
	if !ok {
		return nil, plan{}, &UnknownKindError{Name: strings.Clone(name)} // name may alias C memory
	}
	if len(values) > MaxArgs {
		return nil, plan{}, &ArgError{Kind: k.Name, Msg: fmt.Sprintf("takes at most %d arguments, got %d", MaxArgs, len(values))}
	}
	a := argsPool.Get().(*Args)
	defer func() { // kinds keep copies of what they need, never a
		*a = Args{}
		argsPool.Put(a)
	}()
	*a = Args{kind: k.Name, values: values, rt: rt}
	var p plan
	var err error
	if k.Timer != nil {
		var res Result
		p.timed = true
		p.delay, res, err = k.Timer(a)
		p.work = completeWith(res)
	} else {
		p.work, err = k.Prepare(a)
	}
	if err != nil {
		return nil, plan{}, err
	}
	if err := a.Done(k.Params); err != nil {
		return nil, plan{}, err
	}
	return k, p, nil
}

// completeWith returns work that returns res at once. Work for the empty
// result (every sleep) is shared, so a sleeping task holds no closure.
func completeWith(res Result) Work {
	if res.Data == nil && res.Meta == nil {
		return completeEmpty
	}
	return func(context.Context) (Result, error) { return res, nil }
}

func completeEmpty(context.Context) (Result, error) { return Result{}, nil }

// sleepCtx waits for d or until ctx is done, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// metaOf is Result.Meta for metadata built already.
func metaOf(m map[string]any) func() any { return func() any { return m } }
