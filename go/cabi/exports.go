package cabi

/*
#define GOGOROUTINES_CGO_PREAMBLE
#include <stdlib.h>
#include "gogo_abi.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/kind"
)

// The ABI's integers are 64-bit and pass to the engine as ints: this fails
// to compile where an int is narrower, instead of truncating there.
var _ [math.MaxInt - math.MaxInt64]struct{}

// The C ABI: every exported function and nothing else. gogo_abi.h is the
// contract: it documents each function, and a test checks that its
// prototypes are those cgo generates from these. Each export defers
// recoverExport, returns a status code and writes results to out-parameters;
// the conversions live in convert.go, the logic in the engine.

// gogo_info: see gogo_abi.h.
//
//export gogo_info
func gogo_info(out **C.char, outLen *C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	doc, err := json.Marshal(info())
	if err != nil {
		return statusOf(err, nil)
	}
	*out, *outLen = cCopy(string(doc))
	return C.GOGO_OK
}

// gogo_info_limits: see gogo_abi.h.
//
//export gogo_info_limits
func gogo_info_limits(out *C.gogo_limits) (rc C.int) {
	defer recoverExport(&rc, nil)
	l := goLimits()
	*out = C.gogo_limits{
		max_concurrency: C.int64_t(l.MaxConcurrency), max_lane_concurrency: C.int64_t(l.MaxLaneConcurrency),
		max_channel_capacity: C.int64_t(l.MaxChannelCapacity), max_args: C.int64_t(l.MaxArgs),
		max_value_depth: C.int64_t(l.MaxValueDepth), max_timeout_ns: C.int64_t(l.MaxTimeoutNs),
	}
	return C.GOGO_OK
}

// gogo_runtime_new: see gogo_abi.h.
//
//export gogo_runtime_new
func gogo_runtime_new(maxConcurrency C.int64_t, out *C.uint64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt, err := engine.NewRuntime(int(maxConcurrency))
	if err != nil {
		return statusOf(err, cerr)
	}
	*out = C.uint64_t(runtimes.add(rt))
	return C.GOGO_OK
}

// gogo_runtime_close: see gogo_abi.h.
//
//export gogo_runtime_close
func gogo_runtime_close(h C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_OK
	}
	rt.Close()
	runtimes.remove(uint64(h))
	return C.GOGO_OK
}

// gogo_runtime_stats: see gogo_abi.h.
//
//export gogo_runtime_stats
func gogo_runtime_stats(h C.uint64_t, out *C.gogo_stats) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	s := rt.Stats()
	*out = C.gogo_stats{
		total: C.int64_t(s.Total), active: C.int64_t(s.Active), queued: C.int64_t(s.Queued),
		completed: C.int64_t(s.Completed), failed: C.int64_t(s.Failed),
		cancelled: C.int64_t(s.Cancelled), goroutines: C.int64_t(s.Goroutines),
	}
	return C.GOGO_OK
}

// gogo_task_spawn: see gogo_abi.h.
//
//export gogo_task_spawn
func gogo_task_spawn(h C.uint64_t, kindName *C.char, kindLen C.size_t, args *C.gogo_arg, nargs C.size_t,
	timeoutNs C.int64_t, outID *C.int64_t, outState *C.int32_t, buf *C.char, capacity C.size_t,
	outLen *C.size_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	if timeoutNs == 0 {
		return statusOf(fmt.Errorf("%w: a task timeout must be positive", kind.ErrInvalidArgument), cerr)
	}
	values, pooled, err := decodeSpawnArgs(args, nargs)
	if err != nil {
		return statusOf(fmt.Errorf("%w: %v", kind.ErrInvalidArgument, err), cerr)
	}
	t, state, err := rt.SpawnTask(cView(kindName, kindLen), values, duration(timeoutNs))
	recycleSpawnArgs(pooled)
	if err != nil {
		return statusOf(err, cerr)
	}
	*outID = C.int64_t(t.ID)
	*outState = C.int32_t(state)
	if state == engine.StateCompleted && buf != nil {
		copyResult(t, buf, capacity, outLen)
	}
	return C.GOGO_OK
}

// gogo_task_spawn_many: see gogo_abi.h.
//
//export gogo_task_spawn_many
func gogo_task_spawn_many(h C.uint64_t, kindName *C.char, kindLen C.size_t, batch *C.gogo_arg,
	timeoutNs C.int64_t, ids *C.int64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	if timeoutNs == 0 {
		return statusOf(fmt.Errorf("%w: a task timeout must be positive", kind.ErrInvalidArgument), cerr)
	}
	items, err := decodeBatch(batch)
	if err != nil {
		return statusOf(err, cerr)
	}
	got, err := rt.SpawnMany(cView(kindName, kindLen), items, duration(timeoutNs))
	if err != nil {
		return statusOf(err, cerr)
	}
	out := unsafe.Slice(ids, len(got))
	for i, id := range got {
		out[i] = C.int64_t(id)
	}
	return C.GOGO_OK
}

// gogo_task_collect: see gogo_abi.h.
//
//export gogo_task_collect
func gogo_task_collect(h C.uint64_t, ids *C.int64_t, n C.size_t, outcomes *C.gogo_outcome,
	buf *C.char, capacity C.size_t, count *C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	*count = 0
	if n == 0 {
		return C.GOGO_OK
	}
	idList := goIDs(ids, n)
	if first, err := rt.OutcomeSize(idList[0]); err == nil && first > int(capacity) {
		unsafe.Slice(outcomes, 1)[0].len = C.size_t(first)
		return C.GOGO_E_BUFFER_TOO_SMALL
	}
	got, err := rt.Collect(idList, int(capacity))
	if err != nil {
		return statusOf(err, nil)
	}
	*count = writeOutcomes(got, outcomes, buf, capacity)
	return C.GOGO_OK
}

// gogo_task_status: see gogo_abi.h.
//
//export gogo_task_status
func gogo_task_status(h C.uint64_t, id C.int64_t, out *C.int32_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	state, err := rt.Status(int64(id))
	*out = C.int32_t(state)
	return statusOf(err, nil)
}

// gogo_task_wait: see gogo_abi.h.
//
//export gogo_task_wait
func gogo_task_wait(h C.uint64_t, id C.int64_t, timeoutNs C.int64_t, out *C.int32_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	_, state, err := rt.Wait(int64(id), duration(timeoutNs))
	*out = C.int32_t(state)
	return statusOf(err, nil)
}

// gogo_task_result: see gogo_abi.h.
//
//export gogo_task_result
func gogo_task_result(h C.uint64_t, id C.int64_t, timeoutNs C.int64_t, buf *C.char, capacity C.size_t,
	outLen *C.size_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	t, state, err := rt.Wait(int64(id), duration(timeoutNs))
	if err != nil {
		return statusOf(err, cerr)
	}
	switch state {
	case engine.StateFailed:
		return statusOf(t.Err(), cerr)
	case engine.StateCancelled:
		return C.GOGO_E_TASK_CANCELLED
	}
	if !copyResult(t, buf, capacity, outLen) {
		return C.GOGO_E_BUFFER_TOO_SMALL
	}
	return C.GOGO_OK
}

// gogo_task_meta: see gogo_abi.h.
//
//export gogo_task_meta
func gogo_task_meta(h C.uint64_t, id C.int64_t, out **C.char, outLen *C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	t, _, err := rt.Wait(int64(id), 0)
	if err != nil {
		return statusOf(err, nil)
	}
	doc, err := t.MetaJSON()
	if err != nil {
		return statusOf(err, nil)
	}
	*out, *outLen = cCopy(string(doc))
	return C.GOGO_OK
}

// gogo_task_cancel: see gogo_abi.h.
//
//export gogo_task_cancel
func gogo_task_cancel(h C.uint64_t, id C.int64_t, out *C.int32_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	cancelled, err := rt.Cancel(int64(id))
	*out = 0
	if cancelled {
		*out = 1
	}
	return statusOf(err, nil)
}

// gogo_task_release_many: see gogo_abi.h.
//
//export gogo_task_release_many
func gogo_task_release_many(h C.uint64_t, ids *C.int64_t, n C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	if n == 0 {
		return C.GOGO_OK
	}
	return statusOf(rt.ReleaseMany(goIDs(ids, n)), nil)
}

// gogo_task_release: see gogo_abi.h.
//
//export gogo_task_release
func gogo_task_release(h C.uint64_t, id C.int64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	return statusOf(rt.Release(int64(id)), nil)
}

// gogo_lane_open: see gogo_abi.h.
//
//export gogo_lane_open
func gogo_lane_open(h C.uint64_t, kindName *C.char, kindLen C.size_t, concurrency C.int64_t,
	ordered C.int, timeoutNs C.int64_t, lane *C.uint64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	if timeoutNs == 0 {
		return statusOf(fmt.Errorf("%w: a task timeout must be positive", kind.ErrInvalidArgument), cerr)
	}
	l, err := rt.OpenLane(cView(kindName, kindLen), int(concurrency), ordered != 0, duration(timeoutNs))
	if err != nil {
		return statusOf(err, cerr)
	}
	*lane = C.uint64_t(lanes.add(l))
	return C.GOGO_OK
}

// gogo_lane_feed: see gogo_abi.h.
//
//export gogo_lane_feed
func gogo_lane_feed(lh C.uint64_t, batch *C.gogo_arg, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	l := lanes.get(uint64(lh))
	if l == nil {
		return C.GOGO_E_CLOSED
	}
	items, err := decodeBatch(batch)
	if err != nil {
		return statusOf(err, cerr)
	}
	return statusOf(l.Feed(items), cerr)
}

// gogo_lane_take: see gogo_abi.h.
//
//export gogo_lane_take
func gogo_lane_take(lh C.uint64_t, timeoutNs C.int64_t, minReady C.size_t, lingerNs C.int64_t,
	outcomes *C.gogo_outcome, maxCount C.size_t, buf *C.char, capacity C.size_t,
	count *C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	l := lanes.get(uint64(lh))
	if l == nil {
		return C.GOGO_E_CLOSED
	}
	*count = 0
	if maxCount == 0 {
		return statusOf(kind.ErrInvalidArgument, nil)
	}
	got, needed, err := l.Take(int(min(maxCount, 1<<30)), int(min(minReady, 1<<30)),
		int(min(capacity, 1<<62)), max(duration(lingerNs), 0), duration(timeoutNs))
	if errors.Is(err, engine.ErrBufferTooSmall) {
		unsafe.Slice(outcomes, 1)[0].len = C.size_t(needed)
		return C.GOGO_E_BUFFER_TOO_SMALL
	}
	if err != nil {
		return statusOf(err, nil)
	}
	*count = writeOutcomes(got, outcomes, buf, capacity)
	return C.GOGO_OK
}

// gogo_lane_close: see gogo_abi.h.
//
//export gogo_lane_close
func gogo_lane_close(lh C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if l := lanes.remove(uint64(lh)); l != nil {
		l.Close()
	}
	return C.GOGO_OK
}

// gogo_waitset_new: see gogo_abi.h.
//
//export gogo_waitset_new
func gogo_waitset_new(withFd C.int, out *C.uint64_t, outFd *C.int, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	ws, err := engine.NewWaitSet(withFd != 0)
	if err != nil {
		return statusOf(err, cerr)
	}
	*out = C.uint64_t(waitSets.add(ws))
	*outFd = C.int(ws.Fd())
	return C.GOGO_OK
}

// gogo_waitset_watch: see gogo_abi.h.
//
//export gogo_waitset_watch
func gogo_waitset_watch(wh C.uint64_t, h C.uint64_t, ids *C.int64_t, tags *C.uint64_t, n C.size_t,
	failed *C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	ws := waitSets.get(uint64(wh))
	rt := lookupRuntime(h)
	if ws == nil || rt == nil {
		return C.GOGO_E_CLOSED
	}
	if n == 0 {
		return C.GOGO_OK
	}
	idList, tagList := unsafe.Slice(ids, int(n)), unsafe.Slice(tags, int(n))
	for i := range idList {
		if err := rt.Watch(int64(idList[i]), ws, uint64(tagList[i])); err != nil {
			*failed = C.size_t(i)
			return statusOf(err, nil)
		}
	}
	return C.GOGO_OK
}

// gogo_waitset_take: see gogo_abi.h.
//
//export gogo_waitset_take
func gogo_waitset_take(wh C.uint64_t, timeoutNs C.int64_t, tags *C.uint64_t, capacity C.size_t,
	count *C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	ws := waitSets.get(uint64(wh))
	if ws == nil {
		return C.GOGO_E_CLOSED
	}
	*count = 0
	if capacity == 0 {
		return statusOf(kind.ErrInvalidArgument, nil)
	}
	got, err := ws.Take(int(capacity), duration(timeoutNs))
	if err != nil {
		return statusOf(err, nil)
	}
	out := unsafe.Slice(tags, int(capacity))
	for i, tag := range got {
		out[i] = C.uint64_t(tag)
	}
	*count = C.size_t(len(got))
	return C.GOGO_OK
}

// gogo_waitset_close: see gogo_abi.h.
//
//export gogo_waitset_close
func gogo_waitset_close(wh C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if ws := waitSets.remove(uint64(wh)); ws != nil {
		ws.Close()
	}
	return C.GOGO_OK
}

// gogo_channel_new: see gogo_abi.h.
//
//export gogo_channel_new
func gogo_channel_new(h C.uint64_t, capacity C.int64_t, out *C.uint64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	size := int(capacity)
	var ch *engine.Channel
	var err error
	if h == 0 {
		ch, err = engine.NewChannel(size)
	} else if rt := lookupRuntime(h); rt == nil {
		return C.GOGO_E_CLOSED
	} else {
		ch, err = rt.NewChannel(size)
	}
	if err != nil {
		return statusOf(err, cerr)
	}
	*out = C.uint64_t(channels.add(ch))
	return C.GOGO_OK
}

// gogo_channel_send: see gogo_abi.h.
//
//export gogo_channel_send
func gogo_channel_send(h C.uint64_t, data *C.char, n C.size_t, text C.int32_t, timeoutNs C.int64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	ch := channels.get(uint64(h))
	if ch == nil {
		return C.GOGO_E_CLOSED
	}
	err := ch.SendWithin(context.Background(), kind.Item{Data: goBytes(data, n), Text: text != 0}, duration(timeoutNs))
	return statusOf(err, nil)
}

// gogo_channel_recv: see gogo_abi.h.
//
//export gogo_channel_recv
func gogo_channel_recv(h C.uint64_t, timeoutNs C.int64_t, data **C.char, n *C.size_t, text *C.int32_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	ch := channels.get(uint64(h))
	if ch == nil {
		return C.GOGO_E_CLOSED
	}
	item, err := ch.Recv(duration(timeoutNs))
	if err != nil {
		return statusOf(err, nil)
	}
	writeItem(item, data, n, text)
	return C.GOGO_OK
}

// gogo_channel_select: see gogo_abi.h.
//
//export gogo_channel_select
func gogo_channel_select(hs *C.uint64_t, n C.size_t, timeoutNs C.int64_t, index *C.size_t,
	data **C.char, size *C.size_t, text *C.int32_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if n == 0 {
		return statusOf(fmt.Errorf("%w: select needs at least one channel", kind.ErrInvalidArgument), nil)
	}
	chans := make([]*engine.Channel, int(n))
	for i, h := range unsafe.Slice(hs, int(n)) {
		if chans[i] = channels.get(uint64(h)); chans[i] == nil {
			return C.GOGO_E_CLOSED
		}
	}
	i, item, err := engine.Select(chans, duration(timeoutNs))
	if i >= 0 {
		*index = C.size_t(i)
	}
	if err != nil {
		return statusOf(err, nil)
	}
	writeItem(item, data, size, text)
	return C.GOGO_OK
}

// gogo_channel_close: see gogo_abi.h.
//
//export gogo_channel_close
func gogo_channel_close(h C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if ch := channels.get(uint64(h)); ch != nil {
		ch.Close()
	}
	return C.GOGO_OK
}

// gogo_channel_len: see gogo_abi.h.
//
//export gogo_channel_len
func gogo_channel_len(h C.uint64_t, out *C.int64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	ch := channels.get(uint64(h))
	if ch == nil {
		return C.GOGO_E_CLOSED
	}
	*out = C.int64_t(ch.Len())
	return C.GOGO_OK
}

// gogo_channel_release: see gogo_abi.h.
//
//export gogo_channel_release
func gogo_channel_release(h C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if ch := channels.remove(uint64(h)); ch != nil {
		ch.Release()
	}
	return C.GOGO_OK
}

// gogo_free: see gogo_abi.h.
//
//export gogo_free
func gogo_free(p unsafe.Pointer) {
	C.free(p)
}

// gogo_error_clear: see gogo_abi.h.
//
//export gogo_error_clear
func gogo_error_clear(cerr *C.gogo_error) {
	if cerr == nil {
		return
	}
	C.free(unsafe.Pointer(cerr.message))
	C.free(unsafe.Pointer(cerr.stack))
	*cerr = C.gogo_error{}
}
