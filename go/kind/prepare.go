package kind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Plan is a prepared task, as the engine runs it: Work to run on a
// goroutine or, for a Timer kind (Timed), a Delay after which the task
// completes with what Work returns at once.
type Plan struct {
	Work  Work
	Timed bool
	Delay time.Duration
	// Streams are the channels its arguments gave it (Args.Stream): the
	// engine closes them when the task ends, whether or not its work ran.
	Streams []Stream
}

// argsPool recycles the Args of Prepare: a spawn needs one only while it
// validates.
var argsPool = sync.Pool{New: func() any { return new(Args) }}

// Prepare finds the kind named name and prepares a task of it from values
// on host (nil: a host that keeps no shared state). It fails with an
// *UnknownKindError or an error matching ErrInvalidArgument. The engine
// calls it for every spawn; values, and the names in them, need to live only
// until it returns.
func Prepare(host Host, name string, values []Value) (*Kind, Plan, error) {
	e, ok := defaultRegistry.kinds[name]
	if !ok {
		return nil, Plan{}, &UnknownKindError{Name: strings.Clone(name)} // name may alias C memory
	}
	k := e.kind
	if len(values) > MaxArgs {
		return nil, Plan{}, &ArgError{Kind: k.Name, Msg: fmt.Sprintf("takes at most %d arguments, got %d", MaxArgs, len(values))}
	}
	if host == nil {
		host = detachedHost{}
	}
	a := argsPool.Get().(*Args)
	defer func() {
		*a = Args{} // drop the values: the kind kept copies of what it needs
		argsPool.Put(a)
	}()
	*a = Args{kind: k, values: values, host: host}
	var p Plan
	var err error
	if k.Timer != nil {
		var res Result
		p.Timed = true
		p.Delay, res, err = k.Timer(a)
		p.Work = completeWith(res)
	} else {
		p.Work, err = k.Prepare(a)
	}
	if err == nil {
		err = a.done()
	}
	if err != nil {
		if !errors.Is(err, ErrInvalidArgument) {
			// Prepare's errors are about the arguments, whatever their type.
			err = &ArgError{Kind: k.Name, Msg: err.Error()}
		}
		return nil, Plan{}, err
	}
	if p.Work == nil {
		return nil, Plan{}, fmt.Errorf("%w: kind '%s' prepared no work", ErrInvalidArgument, k.Name)
	}
	if len(a.streams) > 0 {
		p.Streams = append([]Stream(nil), a.streams...)
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
