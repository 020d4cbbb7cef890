package cabi

/*
#define GOGOROUTINES_CGO_PREAMBLE
#include <stdlib.h>
#include "gogo_abi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/kind"
)

// This file converts between the C ABI's types and the engine's: handles,
// argument arrays, error structs and status codes. exports.go uses it.

// registry maps the handles given to C to Go objects: runtimes, wait sets,
// channels and lanes, one registry each.
// Handles start at 1 and are never reused. Objects are created rarely and
// looked up on every call, so lookups read an immutable map through an
// atomic pointer, and changes copy it.
type registry[T any] struct {
	mu   sync.Mutex
	last uint64
	m    atomic.Pointer[map[uint64]*T]
}

var (
	runtimes registry[engine.Runtime]
	waitSets registry[engine.WaitSet]
	channels registry[engine.Channel]
	lanes    registry[engine.Lane]
)

func (r *registry[T]) add(v *T) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last++
	next := map[uint64]*T{r.last: v}
	if old := r.m.Load(); old != nil {
		for h, x := range *old {
			next[h] = x
		}
	}
	r.m.Store(&next)
	return r.last
}

// remove invalidates the handle h and returns what it named (nil if nothing).
func (r *registry[T]) remove(h uint64) *T {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.m.Load()
	if old == nil || (*old)[h] == nil {
		return nil
	}
	removed := (*old)[h]
	next := make(map[uint64]*T, len(*old))
	for k, x := range *old {
		if k != h {
			next[k] = x
		}
	}
	r.m.Store(&next)
	return removed
}

func (r *registry[T]) get(h uint64) *T {
	if m := r.m.Load(); m != nil {
		return (*m)[h]
	}
	return nil
}

// lookupRuntime resolves a runtime handle; a closed or bogus handle gives nil.
func lookupRuntime(h C.uint64_t) *engine.Runtime { return runtimes.get(uint64(h)) }

// decodeBatch copies a batch (one GOGO_ARG_LIST argument whose items are
// GOGO_ARG_MAPs) into one argument list per item.
//
// Each item's arguments are decoded as the top-level arguments of a spawn
// (their names alias C memory, see decodeArgs), and all of them share one
// backing array: a batch costs a few allocations, not a few per item.
func decodeBatch(batch *C.gogo_arg) ([][]kind.Value, error) {
	if batch == nil || batch._type != C.GOGO_ARG_LIST {
		return nil, fmt.Errorf("%w: a batch must be a list of argument maps", kind.ErrInvalidArgument)
	}
	cItems, err := cArgs(batch.items, batch.len, 1)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", kind.ErrInvalidArgument, err)
	}
	total := 0
	for i := range cItems {
		if cItems[i]._type != C.GOGO_ARG_MAP {
			return nil, fmt.Errorf("%w: item %d of the batch is not an argument map", kind.ErrInvalidArgument, i)
		}
		total += int(cItems[i].len)
	}
	backing := make([]kind.Value, total)
	items := make([][]kind.Value, len(cItems))
	for i := range cItems {
		cargs, err := cArgs(cItems[i].items, cItems[i].len, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: item %d: %v", kind.ErrInvalidArgument, i, err)
		}
		values := backing[:len(cargs):len(cargs)]
		backing = backing[len(cargs):]
		if err := decodeInto(values, cargs, 0); err != nil {
			return nil, fmt.Errorf("%w: item %d: %v", kind.ErrInvalidArgument, i, err)
		}
		items[i] = values
	}
	return items, nil
}

// goBytes copies n bytes of C memory into a new Go slice (no 2 GiB limit,
// unlike C.GoBytes).
func goBytes(p *C.char, n C.size_t) []byte {
	if n == 0 {
		return []byte{}
	}
	b := make([]byte, int(n))
	copy(b, unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)))
	return b
}

// cView returns a Go string aliasing C memory, valid only during the call.
func cView(p *C.char, n C.size_t) string {
	if n == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Pointer(p)), int(n))
}

// decodeArgs copies an array of C arguments into Go values.
func decodeArgs(p *C.gogo_arg, n C.size_t, depth int) ([]kind.Value, error) {
	cargs, err := cArgs(p, n, depth)
	if err != nil || len(cargs) == 0 {
		return nil, err
	}
	values := make([]kind.Value, len(cargs))
	if err := decodeInto(values, cargs, depth); err != nil {
		return nil, err
	}
	return values, nil
}

// spawnValues recycles the argument arrays of single spawns: a spawn only
// reads them (kinds keep copies of what they need, and each payload has its
// own allocation), so they are garbage as soon as it returns, and a burst of
// spawns would otherwise fill the heap with them.
var spawnValues = sync.Pool{New: func() any { return new([maxPooledArgs]kind.Value) }}

const maxPooledArgs = 8

// decodeSpawnArgs is decodeArgs for the top-level arguments of one spawn,
// into a pooled array when they are few (then pooled is not nil: give it to
// recycleSpawnArgs once the spawn has returned).
func decodeSpawnArgs(p *C.gogo_arg, n C.size_t) (values []kind.Value, pooled *[maxPooledArgs]kind.Value, err error) {
	if n == 0 || n > maxPooledArgs {
		values, err = decodeArgs(p, n, 0)
		return values, nil, err
	}
	cargs, err := cArgs(p, n, 0)
	if err != nil {
		return nil, nil, err
	}
	pooled = spawnValues.Get().(*[maxPooledArgs]kind.Value)
	if err := decodeInto(pooled[:len(cargs)], cargs, 0); err != nil {
		recycleSpawnArgs(pooled)
		return nil, nil, err
	}
	return pooled[:len(cargs)], pooled, nil
}

// recycleSpawnArgs returns an array of decodeSpawnArgs to the pool.
func recycleSpawnArgs(pooled *[maxPooledArgs]kind.Value) {
	if pooled != nil {
		clear(pooled[:]) // drop the payloads
		spawnValues.Put(pooled)
	}
}

// cArgs views an array of n C arguments at nesting depth depth.
func cArgs(p *C.gogo_arg, n C.size_t, depth int) ([]C.gogo_arg, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, fmt.Errorf("argument array is NULL but its length is %d", n)
	}
	if depth > kind.MaxValueDepth {
		return nil, fmt.Errorf("arguments nested deeper than %d levels", kind.MaxValueDepth)
	}
	return unsafe.Slice(p, int(n)), nil
}

// decodeInto copies C arguments into values (of the same length).
func decodeInto(values []kind.Value, cargs []C.gogo_arg, depth int) error {
	for i := range cargs {
		c := &cargs[i]
		v := &values[i]
		// A top-level name only serves to find the argument during the
		// spawn, so it may alias C memory; a map key is data and is copied.
		if depth == 0 {
			v.Name = cView(c.name, c.name_len)
		} else {
			v.Name = string(goBytes(c.name, c.name_len))
		}
		v.Type = kind.ValueType(c._type)
		switch v.Type {
		case kind.ValueNone:
		case kind.ValueStr, kind.ValueBytes:
			v.Bytes = goBytes(c.data, c.len)
		case kind.ValueInt, kind.ValueBool:
			v.Int = int64(c.int_value)
		case kind.ValueStream:
			// Tasks get the channel itself: handles are the C ABI's business.
			ch := channels.get(uint64(c.int_value))
			if ch == nil {
				return fmt.Errorf("argument '%s' is a channel that was released", v.Name)
			}
			v.Stream = ch
		case kind.ValueFloat:
			v.Float = float64(c.float_value)
		case kind.ValueList, kind.ValueMap:
			items, err := decodeArgs(c.items, c.len, depth+1)
			if err != nil {
				return err
			}
			v.Items = items
		default:
			return fmt.Errorf("argument '%s' has unknown type code %d", v.Name, int32(v.Type))
		}
	}
	return nil
}

// setError fills a gogo_error with malloc'ed copies of message and stack.
func setError(cerr *C.gogo_error, code engine.Failure, message, stack string) {
	if cerr == nil {
		return
	}
	cerr.code = C.int32_t(code)
	cerr.message, cerr.message_len = cCopy(message)
	cerr.stack, cerr.stack_len = cCopy(stack)
}

// cCopy copies s into malloc'ed memory with a terminating NUL (for C
// callers' convenience; the length does not include it).
func cCopy(s string) (*C.char, C.size_t) {
	if s == "" {
		return nil, 0
	}
	p := (*C.char)(C.malloc(C.size_t(len(s) + 1)))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(p)), len(s)+1)
	copy(buf, s)
	buf[len(s)] = 0
	return p, C.size_t(len(s))
}

// statusOf maps an error of the Go API to its status code, filling cerr with
// the message. This is the only place where Go errors become status codes.
func statusOf(err error, cerr *C.gogo_error) C.int {
	var (
		kindErr *kind.UnknownKindError
		taskErr *engine.TaskError
	)
	switch {
	case err == nil:
		return C.GOGO_OK
	case errors.As(err, &kindErr):
		setError(cerr, engine.FailureError, err.Error(), "")
		return C.GOGO_E_UNKNOWN_KIND
	case errors.Is(err, kind.ErrInvalidArgument):
		setError(cerr, engine.FailureError, err.Error(), "")
		return C.GOGO_E_INVALID_ARGUMENT
	case errors.Is(err, engine.ErrNotFound):
		return C.GOGO_E_NOT_FOUND
	case errors.Is(err, engine.ErrClosed):
		return C.GOGO_E_CLOSED
	case errors.Is(err, engine.ErrTimeout):
		return C.GOGO_E_TIMEOUT
	case errors.Is(err, engine.ErrChannelClosed):
		return C.GOGO_E_CHANNEL_CLOSED
	case errors.As(err, &taskErr):
		setError(cerr, taskErr.Code, taskErr.Message, taskErr.Stack)
		return C.GOGO_E_TASK_FAILED
	}
	setError(cerr, engine.FailureError, err.Error(), "")
	return C.GOGO_E_INTERNAL
}

// recoverExport turns a panic inside an export into GOGO_E_INTERNAL, so that
// no panic ever unwinds into C. Every export defers it.
func recoverExport(rc *C.int, cerr *C.gogo_error) {
	if r := recover(); r != nil {
		setError(cerr, engine.FailurePanic, fmt.Sprintf("internal error in gogoroutines: %v", r), string(debug.Stack()))
		*rc = C.GOGO_E_INTERNAL
	}
}

// copyResult writes the length of a finished task's result to outLen and
// copies the result into buf if it fits in capacity bytes; it reports whether
// it did.
func copyResult(t *engine.Task, buf *C.char, capacity C.size_t, outLen *C.size_t) bool {
	data := t.Result().Data
	*outLen = C.size_t(len(data))
	if len(data) > int(capacity) {
		return false
	}
	if len(data) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(data)), data)
	}
	return true
}

// writeOutcomes writes outcomes to the caller's array and their data, packed,
// to its buffer (which the caller sized for them), and returns their number.
func writeOutcomes(got []engine.Outcome, outcomes *C.gogo_outcome, buf *C.char, capacity C.size_t) C.size_t {
	out := unsafe.Slice(outcomes, len(got))
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity))
	offset := 0
	for i, o := range got {
		copy(dst[offset:], o.Data)
		out[i] = C.gogo_outcome{
			task_id: C.int64_t(o.ID), state: C.int32_t(o.State), failure: C.int32_t(o.Failure),
			offset: C.size_t(offset), len: C.size_t(len(o.Data)),
		}
		offset += len(o.Data)
	}
	return C.size_t(len(got))
}

// writeItem hands an item to C as malloc'ed bytes.
func writeItem(item kind.Item, data **C.char, n *C.size_t, text *C.int32_t) {
	*data, *n = cBytes(item.Data)
	*text = 0
	if item.Text {
		*text = 1
	}
}

// cBytes copies b into malloc'ed memory (never NULL, so that an empty item
// is told apart from none).
func cBytes(b []byte) (*C.char, C.size_t) {
	p := (*C.char)(C.malloc(C.size_t(len(b) + 1)))
	copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), len(b)+1), b)
	return p, C.size_t(len(b))
}

// goIDs copies n task ids from C memory.
func goIDs(ids *C.int64_t, n C.size_t) []int64 {
	out := make([]int64, int(n))
	for i, id := range unsafe.Slice(ids, int(n)) {
		out[i] = int64(id)
	}
	return out
}

// duration converts an ABI timeout in nanoseconds (< 0: no limit).
func duration(ns C.int64_t) time.Duration {
	if ns < 0 {
		return -1
	}
	return time.Duration(ns)
}
