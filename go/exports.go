package main

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
	"runtime"
	"unsafe"
)

// The C ABI: every exported function and nothing else. Each one defers
// recoverExport, returns a status code and writes results to out-parameters.
// The conversions live in cabi.go, the logic in runtime.go and task.go.

// gogo_info writes a malloc'ed JSON document describing the Go runtime and the
// registered task kinds with their parameters.
//
//export gogo_info
func gogo_info(out **C.char, outLen *C.size_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	list := make([]*Kind, 0, len(kinds))
	for _, name := range kindNames() {
		list = append(list, kinds[name])
	}
	doc, err := json.Marshal(map[string]any{
		"go_version": runtime.Version(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
		"num_cpu":    runtime.NumCPU(),
		"goos":       runtime.GOOS,
		"goarch":     runtime.GOARCH,
		"kinds":      list,
	})
	if err != nil {
		return statusOf(err, nil)
	}
	*out, *outLen = cCopy(string(doc))
	return C.GOGO_OK
}

// gogo_runtime_new creates a runtime and writes its handle (never 0).
// max_concurrency <= 0 means no limit.
//
//export gogo_runtime_new
func gogo_runtime_new(maxConcurrency C.int64_t, out *C.uint64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	if int64(maxConcurrency) > int64(^uint32(0)>>1) {
		return statusOf(fmt.Errorf("%w: max_concurrency %d is too large", errInvalid, maxConcurrency), cerr)
	}
	*out = C.uint64_t(runtimes.add(NewRuntime(int(maxConcurrency))))
	return C.GOGO_OK
}

// gogo_runtime_close cancels every unfinished task of the runtime, empties its
// table and invalidates the handle. Closing a closed handle is not an error.
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

// gogo_runtime_stats writes a consistent snapshot of the runtime's counters.
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

// gogo_task_spawn validates the arguments of a task of the named kind, starts
// it and writes its id and its state right after the spawn. timeout_ns < 0
// means no deadline of its own; 0 is invalid. Bad arguments give
// GOGO_E_INVALID_ARGUMENT (or GOGO_E_UNKNOWN_KIND) with a message naming what
// was wrong.
//
// Some kinds finish during the spawn (state GOGO_STATE_COMPLETED). Then, if
// buf is not NULL, the result's length is written to len and, when it is at
// most cap, the result is copied into buf: the caller needs no second call.
//
//export gogo_task_spawn
func gogo_task_spawn(h C.uint64_t, kind *C.char, kindLen C.size_t, args *C.gogo_arg, nargs C.size_t,
	timeoutNs C.int64_t, outID *C.int64_t, outState *C.int32_t, buf *C.char, capacity C.size_t,
	outLen *C.size_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	if timeoutNs == 0 {
		return statusOf(fmt.Errorf("%w: a task timeout must be positive", errInvalid), cerr)
	}
	values, pooled, err := decodeSpawnArgs(args, nargs)
	if err != nil {
		return statusOf(fmt.Errorf("%w: %v", errInvalid, err), cerr)
	}
	t, state, err := rt.SpawnTask(cView(kind, kindLen), values, duration(timeoutNs))
	recycleSpawnArgs(pooled)
	if err != nil {
		return statusOf(err, cerr)
	}
	*outID = C.int64_t(t.ID)
	*outState = C.int32_t(state)
	if state == StateCompleted && buf != nil {
		copyResult(t, buf, capacity, outLen)
	}
	return C.GOGO_OK
}

// gogo_task_spawn_many spawns one task of the named kind per item of batch,
// a single GOGO_ARG_LIST argument whose items are GOGO_ARG_MAPs of arguments,
// and writes the ids, in item order, to ids (room for as many as items).
// Every item is validated first: a bad one fails the whole batch, with a
// message naming its index.
//
//export gogo_task_spawn_many
func gogo_task_spawn_many(h C.uint64_t, kind *C.char, kindLen C.size_t, batch *C.gogo_arg,
	timeoutNs C.int64_t, ids *C.int64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	if timeoutNs == 0 {
		return statusOf(fmt.Errorf("%w: a task timeout must be positive", errInvalid), cerr)
	}
	items, err := decodeBatch(batch)
	if err != nil {
		return statusOf(err, cerr)
	}
	got, err := rt.SpawnMany(cView(kind, kindLen), items, duration(timeoutNs))
	if err != nil {
		return statusOf(err, cerr)
	}
	out := unsafe.Slice(ids, len(got))
	for i, id := range got {
		out[i] = C.int64_t(id)
	}
	return C.GOGO_OK
}

// gogo_task_collect reports the outcomes of finished tasks among ids[0:n],
// in order, and releases them: for each, outcomes[i] gets its id, state,
// failure code and the offset and length in buf of its data (the result, or
// a failed task's error message). It stops before the first unfinished task
// or when buf is full, and writes how many it reported to count. If the first
// task's data alone does not fit, it returns GOGO_E_BUFFER_TOO_SMALL with the
// needed size in outcomes[0].len and releases nothing.
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
	if first, err := rt.peekSize(idList[0]); err == nil && first > int(capacity) {
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

// gogo_task_status writes the task's state (GOGO_STATE_NOT_FOUND if the id is
// unknown or released) without waiting.
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

// gogo_task_wait blocks until the task finishes or timeout_ns passes (< 0: no
// limit, 0: just look), then writes its state. It returns GOGO_E_TIMEOUT if the
// task is still queued or running.
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

// gogo_task_result waits like gogo_task_wait, then hands back the outcome: for
// a completed task its result is copied into buf and its length written to
// len (GOGO_E_BUFFER_TOO_SMALL, with the needed length, if cap is too small);
// a failed task gives GOGO_E_TASK_FAILED with err filled, a cancelled one
// GOGO_E_TASK_CANCELLED. The result stays in the table until released.
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
	case StateFailed:
		return statusOf(t.err, cerr)
	case StateCancelled:
		return C.GOGO_E_TASK_CANCELLED
	}
	if !copyResult(t, buf, capacity, outLen) {
		return C.GOGO_E_BUFFER_TOO_SMALL
	}
	return C.GOGO_OK
}

// gogo_task_meta writes a malloc'ed JSON object with the metadata of a
// finished task (an HTTP status, an exit code...; "{}" when its kind has
// none). It returns GOGO_E_TIMEOUT while the task is unfinished.
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
	doc, err := t.metaJSON()
	if err != nil {
		return statusOf(err, nil)
	}
	*out, *outLen = cCopy(string(doc))
	return C.GOGO_OK
}

// gogo_task_cancel cancels an unfinished task and writes 1, or writes 0 if it
// had already finished.
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

// gogo_task_release_many releases n tasks at once, as gogo_task_release does.
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

// gogo_task_release removes the task from the table (cancelling it if it is
// unfinished). Releasing an unknown or released id is not an error.
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

// gogo_lane_open opens a lane (see lane.go) for tasks of the named kind on
// the runtime and writes its handle: items fed to it run at most concurrency
// at once (>= 1), each with the timeout timeout_ns (< 0: none). With ordered
// nonzero, gogo_lane_take hands outcomes out in input order, else as the
// items finish. Close it with gogo_lane_close.
//
//export gogo_lane_open
func gogo_lane_open(h C.uint64_t, kind *C.char, kindLen C.size_t, concurrency C.int64_t,
	ordered C.int, timeoutNs C.int64_t, lane *C.uint64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	rt := lookupRuntime(h)
	if rt == nil {
		return C.GOGO_E_CLOSED
	}
	if timeoutNs == 0 {
		return statusOf(fmt.Errorf("%w: a task timeout must be positive", errInvalid), cerr)
	}
	limit := int(min(max(concurrency, 0), C.int64_t(maxLaneConcurrency+1)))
	if limit > maxLaneConcurrency {
		return statusOf(fmt.Errorf("%w: a lane's concurrency must be at most %d", errInvalid, maxLaneConcurrency), cerr)
	}
	l, err := rt.OpenLane(cView(kind, kindLen), limit, ordered != 0, duration(timeoutNs))
	if err != nil {
		return statusOf(err, cerr)
	}
	*lane = C.uint64_t(lanes.add(l))
	return C.GOGO_OK
}

// maxLaneConcurrency bounds a lane's concurrency (as Python bounds map's).
const maxLaneConcurrency = 1 << 20

// gogo_lane_feed adds the items of batch (a single GOGO_ARG_LIST argument
// whose items are GOGO_ARG_MAPs of arguments) to the lane, after those fed
// before. Every item is validated first: a bad one adds nothing, and its
// message names its index in the lane's whole input ("item 12: ...").
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

// gogo_lane_take waits until an outcome is ready or timeout_ns passes (< 0:
// no limit, 0: just look; GOGO_E_TIMEOUT if none), then, to batch wake-ups,
// until min_ready are ready, nothing runs, or linger_ns has passed since the
// first was ready. It writes up to max outcomes (task_id is only a name for
// messages), their data packed into buf, and their number to count. If the
// first outcome's data alone is larger than cap it returns
// GOGO_E_BUFFER_TOO_SMALL with the needed size in outcomes[0].len and takes
// nothing.
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
		return statusOf(errInvalid, nil)
	}
	got, needed, err := l.Take(int(min(maxCount, 1<<30)), int(min(minReady, 1<<30)),
		int(min(capacity, 1<<62)), max(duration(lingerNs), 0), duration(timeoutNs))
	if errors.Is(err, ErrBufferTooSmall) {
		unsafe.Slice(outcomes, 1)[0].len = C.size_t(needed)
		return C.GOGO_E_BUFFER_TOO_SMALL
	}
	if err != nil {
		return statusOf(err, nil)
	}
	*count = writeOutcomes(got, outcomes, buf, capacity)
	return C.GOGO_OK
}

// gogo_lane_close closes the lane: its running items are cancelled, waiting
// items and outcomes not taken are dropped. Closing twice is fine.
//
//export gogo_lane_close
func gogo_lane_close(lh C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if l := lanes.remove(uint64(lh)); l != nil {
		l.Close()
	}
	return C.GOGO_OK
}

// gogo_waitset_new creates a wait set (see waitset.go) and writes its handle;
// with with_fd != 0 it also writes the read end of a non-blocking pipe that
// becomes readable when completions are ready (for event loops), else -1.
//
//export gogo_waitset_new
func gogo_waitset_new(withFd C.int, out *C.uint64_t, outFd *C.int, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	ws, err := NewWaitSet(withFd != 0)
	if err != nil {
		return statusOf(err, cerr)
	}
	*out = C.uint64_t(waitSets.add(ws))
	*outFd = C.int(ws.Fd())
	return C.GOGO_OK
}

// gogo_waitset_watch makes the wait set receive tags[i] when task ids[i] of
// the runtime finishes, for i < n (at once for a finished task). It stops at
// the first unknown id with GOGO_E_NOT_FOUND and writes its index to failed.
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

// gogo_waitset_take waits until a watched task has finished or timeout_ns
// passes (< 0: no limit, 0: just look), then writes up to cap tags of finished
// tasks, oldest first, and their number. GOGO_E_TIMEOUT if none in time.
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
		return statusOf(errInvalid, nil)
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

// gogo_waitset_close closes the wait set and its pipe; closing twice is fine.
//
//export gogo_waitset_close
func gogo_waitset_close(wh C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if ws := waitSets.remove(uint64(wh)); ws != nil {
		ws.Close()
	}
	return C.GOGO_OK
}

// gogo_channel_new creates a channel with room for capacity items (0: a
// send waits for a receiver) and writes its handle.
//
//export gogo_channel_new
func gogo_channel_new(capacity C.int64_t, out *C.uint64_t, cerr *C.gogo_error) (rc C.int) {
	defer recoverExport(&rc, cerr)
	if capacity < 0 || capacity > maxChannelCapacity {
		return statusOf(fmt.Errorf("%w: capacity must be between 0 and %d, got %d", errInvalid, maxChannelCapacity, capacity), cerr)
	}
	*out = C.uint64_t(channels.add(NewChannel(int(capacity))))
	return C.GOGO_OK
}

// gogo_channel_send copies data into an item and sends it, waiting up to
// timeout_ns (< 0: no limit). GOGO_E_TIMEOUT if it could not go in time,
// GOGO_E_CHANNEL_CLOSED if the channel is closed.
//
//export gogo_channel_send
func gogo_channel_send(h C.uint64_t, data *C.char, n C.size_t, text C.int32_t, timeoutNs C.int64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	ch := channels.get(uint64(h))
	if ch == nil {
		return C.GOGO_E_CLOSED
	}
	err := ch.Send(context.Background(), Item{Data: goBytes(data, n), Text: text != 0}, duration(timeoutNs))
	return statusOf(err, nil)
}

// gogo_channel_recv receives an item, waiting up to timeout_ns, and writes
// it as malloc'ed data (free it with gogo_free). GOGO_E_CHANNEL_CLOSED once
// the channel is closed and empty.
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

// gogo_channel_select receives from the first of n channels to have an item,
// waiting up to timeout_ns, and writes its index and the item (as
// gogo_channel_recv does). For a channel that is closed and empty it writes
// its index and returns GOGO_E_CHANNEL_CLOSED.
//
//export gogo_channel_select
func gogo_channel_select(hs *C.uint64_t, n C.size_t, timeoutNs C.int64_t, index *C.size_t,
	data **C.char, size *C.size_t, text *C.int32_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if n == 0 {
		return statusOf(fmt.Errorf("%w: select needs at least one channel", errInvalid), nil)
	}
	chans := make([]*Channel, int(n))
	for i, h := range unsafe.Slice(hs, int(n)) {
		if chans[i] = channels.get(uint64(h)); chans[i] == nil {
			return C.GOGO_E_CLOSED
		}
	}
	i, item, err := Select(chans, duration(timeoutNs))
	if i >= 0 {
		*index = C.size_t(i)
	}
	if err != nil {
		return statusOf(err, nil)
	}
	writeItem(item, data, size, text)
	return C.GOGO_OK
}

// gogo_channel_close closes the channel (closing twice is fine).
//
//export gogo_channel_close
func gogo_channel_close(h C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	if ch := channels.get(uint64(h)); ch != nil {
		ch.Close()
	}
	return C.GOGO_OK
}

// gogo_channel_len writes how many items wait in the channel.
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

// gogo_channel_release drops the caller's handle; tasks streaming into the
// channel keep it alive until they finish.
//
//export gogo_channel_release
func gogo_channel_release(h C.uint64_t) (rc C.int) {
	defer recoverExport(&rc, nil)
	channels.remove(uint64(h))
	return C.GOGO_OK
}

// gogo_free releases memory that Go handed to the caller.
//
//export gogo_free
func gogo_free(p unsafe.Pointer) {
	C.free(p)
}

// gogo_error_clear frees the strings of err and zeroes it.
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

func main() {}
