/*
 * gogo_abi.h: the C ABI between the Go archive (go/) and its callers (the C++
 * core in cpp/), and its contract: the types, the status codes and every
 * function, each documented here. C and C++ callers need only this file.
 *
 * Conventions (libgit2 style):
 *  - every export returns an int status: GOGO_OK or one of the negative codes;
 *  - data comes back through out-parameters;
 *  - memory handed to the caller (gogo_error strings, info JSON) is allocated by
 *    Go with malloc and released by the caller with gogo_free / gogo_error_clear;
 *  - payloads are (pointer, length) pairs, so embedded NUL bytes survive;
 *  - every call that may block takes a timeout in nanoseconds (< 0: no limit).
 */
#ifndef GOGOROUTINES_ABI_H
#define GOGOROUTINES_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every gogo_* export. */
enum gogo_status {
  GOGO_OK = 0,
  /* An argument, a task kind's argument or a timeout is invalid. */
  GOGO_E_INVALID_ARGUMENT = -1,
  /* The task kind named in a spawn is not registered. */
  GOGO_E_UNKNOWN_KIND = -2,
  /* No task with this id in this runtime (never spawned, or released). */
  GOGO_E_NOT_FOUND = -3,
  /* The timeout ran out and the task is still queued or running. */
  GOGO_E_TIMEOUT = -4,
  /* The task failed; the gogo_error out-parameter says why. */
  GOGO_E_TASK_FAILED = -5,
  /* The task was cancelled before it finished. */
  GOGO_E_TASK_CANCELLED = -6,
  /* The runtime handle is closed or was never valid. */
  GOGO_E_CLOSED = -7,
  /* The caller's buffer is too small; the needed length was written back. */
  GOGO_E_BUFFER_TOO_SMALL = -8,
  /* A bug inside Go (a recovered panic in an export); see the gogo_error. */
  GOGO_E_INTERNAL = -9,
  /* A send on a closed channel, or a receive on a closed, empty one. */
  GOGO_E_CHANNEL_CLOSED = -10
};

/* The state of one task, as reported by gogo_task_status / gogo_task_wait. */
enum gogo_task_state {
  GOGO_STATE_NOT_FOUND = -1,
  GOGO_STATE_RUNNING = 0,
  GOGO_STATE_COMPLETED = 1,
  GOGO_STATE_FAILED = 2,
  GOGO_STATE_CANCELLED = 3,
  /* Waiting for a free slot under the runtime's max_concurrency. */
  GOGO_STATE_QUEUED = 4
};

/* Why a task failed (gogo_error.code when a call returns GOGO_E_TASK_FAILED). */
enum gogo_failure {
  GOGO_FAILURE_ERROR = 0,   /* the task's work returned an error */
  GOGO_FAILURE_TIMEOUT = 1, /* the task's own deadline passed */
  GOGO_FAILURE_PANIC = 2    /* the task panicked; stack holds the Go stack */
};

/* The type of one argument value. */
enum gogo_arg_type {
  GOGO_ARG_NONE = 0,   /* no value: the kind's default applies */
  GOGO_ARG_STR = 1,    /* UTF-8 text in data/len */
  GOGO_ARG_BYTES = 2,  /* raw bytes in data/len */
  GOGO_ARG_INT = 3,    /* int_value */
  GOGO_ARG_FLOAT = 4,  /* float_value */
  GOGO_ARG_BOOL = 5,   /* int_value: 0 or 1 */
  GOGO_ARG_LIST = 6,   /* items/len: an array of len gogo_arg (names unused) */
  GOGO_ARG_MAP = 7,    /* items/len: an array of len gogo_arg, name is the key */
  GOGO_ARG_CHANNEL = 8 /* int_value: a channel handle (gogo_channel_new) */
};

/*
 * One named argument (or one list item / map entry). Go copies everything it
 * needs during the call: the caller's memory may be freed when it returns.
 */
typedef struct gogo_arg {
  const char* name;
  size_t name_len;
  int32_t type; /* enum gogo_arg_type */
  int64_t int_value;
  double float_value;
  const char* data;
  size_t len;
  const struct gogo_arg* items;
} gogo_arg;

/*
 * Error details filled by calls that fail with a message. Both strings are
 * malloc'ed by Go (NULL when empty); release them with gogo_error_clear.
 */
typedef struct gogo_error {
  int32_t code; /* enum gogo_failure, for GOGO_E_TASK_FAILED */
  char* message;
  size_t message_len;
  char* stack; /* the Go stack of a panic, else NULL */
  size_t stack_len;
} gogo_error;

/* How one finished task ended, as gogo_task_collect and gogo_lane_take report it. */
typedef struct gogo_outcome {
  int64_t task_id;
  int32_t state;   /* enum gogo_task_state (GOGO_STATE_NOT_FOUND for an unknown id) */
  int32_t failure; /* enum gogo_failure, for GOGO_STATE_FAILED */
  size_t offset;   /* where its data (result or error message) starts in the buffer */
  size_t len;      /* the data's length */
} gogo_outcome;

/* A snapshot of one runtime's task table, taken atomically. */
typedef struct gogo_stats {
  int64_t total;  /* tasks in the table: active + completed + failed + cancelled */
  int64_t active; /* queued or running */
  int64_t queued; /* waiting for a slot (part of active) */
  int64_t completed;
  int64_t failed;
  int64_t cancelled;
  int64_t goroutines; /* goroutines of the whole process, less idle pooled workers */
} gogo_stats;

/*
 * The limits that the Go engine checks arguments against, defined once in Go;
 * callers check against them too, to say what is wrong in their own words.
 */
typedef struct gogo_limits {
  int64_t max_concurrency;      /* of a runtime (gogo_runtime_new) */
  int64_t max_lane_concurrency; /* of a lane (gogo_lane_open) */
  int64_t max_channel_capacity; /* of a channel (gogo_channel_new) */
  int64_t max_args;             /* arguments of one task */
  int64_t max_value_depth;      /* nesting of list and map arguments */
  int64_t max_timeout_ns;       /* any timeout or duration */
} gogo_limits;

#ifndef GOGOROUTINES_CGO_PREAMBLE
/*
 * The exports of the Go archive (go/cabi/exports.go). cgo compiles that file
 * with GOGOROUTINES_CGO_PREAMBLE defined, since these prototypes say const
 * where cgo cannot; go/cabi/header_test.go checks them against the ones cgo
 * generates.
 */

/*
 * gogo_info writes a malloc'ed JSON document describing the Go runtime
 * (go_version, gomaxprocs, num_cpu, goos, goarch), the registered task kinds
 * (kinds: name, doc, params, inline, package, builtin), the limits that callers check
 * arguments against (limits: max_concurrency, max_lane_concurrency,
 * max_channel_capacity, max_args, max_value_depth, max_timeout_ns), and what
 * went wrong registering kinds (problems: a list of messages; while it is
 * not empty, gogo_runtime_new fails).
 */
int gogo_info(char** json, size_t* json_len);

/*
 * gogo_info_limits writes the limits (also in gogo_info's "limits"), without the
 * cost of a JSON document.
 */
int gogo_info_limits(gogo_limits* limits);

/*
 * gogo_runtime_new creates a runtime and writes its handle (never 0).
 * max_concurrency <= 0 means no limit; at most limits.max_concurrency. It
 * fails with GOGO_E_INTERNAL, err naming them, when task kinds could not be
 * registered (two packages registering one name).
 */
int gogo_runtime_new(int64_t max_concurrency, uint64_t* runtime, gogo_error* err);

/*
 * gogo_runtime_close cancels every unfinished task of the runtime, empties its
 * table and invalidates the handle. Closing a closed handle is not an error.
 */
int gogo_runtime_close(uint64_t runtime);

/*
 * gogo_runtime_stats writes a consistent snapshot of the runtime's counters.
 */
int gogo_runtime_stats(uint64_t runtime, gogo_stats* stats);

/*
 * gogo_task_spawn validates the arguments of a task of the named kind, starts
 * it and writes its id and its state right after the spawn. timeout_ns < 0
 * means no deadline of its own; 0 is invalid. Bad arguments give
 * GOGO_E_INVALID_ARGUMENT (or GOGO_E_UNKNOWN_KIND) with a message naming what
 * was wrong.
 *
 * Some kinds finish during the spawn (state GOGO_STATE_COMPLETED). Then, if
 * buf is not NULL, the result's length is written to len and, when it is at
 * most cap, the result is copied into buf: the caller needs no second call.
 */
int gogo_task_spawn(uint64_t runtime, const char* kind, size_t kind_len, const gogo_arg* args,
                    size_t nargs, int64_t timeout_ns, int64_t* task_id, int32_t* state, char* buf,
                    size_t cap, size_t* len, gogo_error* err);

/*
 * gogo_task_spawn_many spawns one task of the named kind per item of batch,
 * a single GOGO_ARG_LIST argument whose items are GOGO_ARG_MAPs of arguments,
 * and writes the ids, in item order, to ids (room for as many as items).
 * Every item is validated first: a bad one fails the whole batch, with a
 * message naming its index.
 */
int gogo_task_spawn_many(uint64_t runtime, const char* kind, size_t kind_len, const gogo_arg* batch,
                         int64_t timeout_ns, int64_t* task_ids, gogo_error* err);

/*
 * gogo_task_collect reports the outcomes of finished tasks among ids[0:n],
 * in order, and releases them: for each, outcomes[i] gets its id, state,
 * failure code and the offset and length in buf of its data (the result, or
 * a failed task's error message). It stops before the first unfinished task
 * or when buf is full, and writes how many it reported to count. If the first
 * task's data alone does not fit, it returns GOGO_E_BUFFER_TOO_SMALL with the
 * needed size in outcomes[0].len and releases nothing.
 */
int gogo_task_collect(uint64_t runtime, const int64_t* task_ids, size_t n, gogo_outcome* outcomes,
                      char* buf, size_t cap, size_t* count);

/*
 * gogo_task_status writes the task's state (GOGO_STATE_NOT_FOUND if the id is
 * unknown or released) without waiting.
 */
int gogo_task_status(uint64_t runtime, int64_t task_id, int32_t* state);

/*
 * gogo_task_wait blocks until the task finishes or timeout_ns passes (< 0: no
 * limit, 0: just look), then writes its state. It returns GOGO_E_TIMEOUT if the
 * task is still queued or running.
 */
int gogo_task_wait(uint64_t runtime, int64_t task_id, int64_t timeout_ns, int32_t* state);

/*
 * gogo_task_result waits like gogo_task_wait, then hands back the outcome: for
 * a completed task its result is copied into buf and its length written to
 * len (GOGO_E_BUFFER_TOO_SMALL, with the needed length, if cap is too small);
 * a failed task gives GOGO_E_TASK_FAILED with err filled, a cancelled one
 * GOGO_E_TASK_CANCELLED. The result stays in the table until released.
 */
int gogo_task_result(uint64_t runtime, int64_t task_id, int64_t timeout_ns, char* buf, size_t cap,
                     size_t* len, gogo_error* err);

/*
 * gogo_task_meta writes a malloc'ed JSON object with the metadata of a
 * finished task (an HTTP status, an exit code...; "{}" when its kind has
 * none). It returns GOGO_E_TIMEOUT while the task is unfinished.
 */
int gogo_task_meta(uint64_t runtime, int64_t task_id, char** json, size_t* json_len);

/*
 * gogo_task_cancel cancels an unfinished task and writes 1, or writes 0 if it
 * had already finished.
 */
int gogo_task_cancel(uint64_t runtime, int64_t task_id, int32_t* cancelled);

/*
 * gogo_task_release removes the task from the table (cancelling it if it is
 * unfinished). Releasing an unknown or released id is not an error.
 */
int gogo_task_release(uint64_t runtime, int64_t task_id);

/*
 * gogo_task_release_many releases n tasks at once, as gogo_task_release does.
 */
int gogo_task_release_many(uint64_t runtime, const int64_t* task_ids, size_t n);

/*
 * gogo_lane_open opens a lane (go/engine/lane.go) for tasks of the named kind on
 * the runtime and writes its handle: items fed to it run at most concurrency
 * at once (>= 1), each with the timeout timeout_ns (< 0: none). With ordered
 * nonzero, gogo_lane_take hands outcomes out in input order, else as the
 * items finish. Close it with gogo_lane_close.
 */
int gogo_lane_open(uint64_t runtime, const char* kind, size_t kind_len, int64_t concurrency,
                   int ordered, int64_t timeout_ns, uint64_t* lane, gogo_error* err);

/*
 * gogo_lane_feed adds the items of batch (a single GOGO_ARG_LIST argument
 * whose items are GOGO_ARG_MAPs of arguments) to the lane, after those fed
 * before. Every item is validated first: a bad one adds nothing, and its
 * message names its index in the lane's whole input ("item 12: ...").
 */
int gogo_lane_feed(uint64_t lane, const gogo_arg* batch, gogo_error* err);

/*
 * gogo_lane_take waits until an outcome is ready or timeout_ns passes (< 0:
 * no limit, 0: just look; GOGO_E_TIMEOUT if none), then, to batch wake-ups,
 * until min_ready are ready, nothing runs, or linger_ns has passed since the
 * first was ready. It writes up to max outcomes (task_id is only a name for
 * messages), their data packed into buf, and their number to count. If the
 * first outcome's data alone is larger than cap it returns
 * GOGO_E_BUFFER_TOO_SMALL with the needed size in outcomes[0].len and takes
 * nothing.
 */
int gogo_lane_take(uint64_t lane, int64_t timeout_ns, size_t min_ready, int64_t linger_ns,
                   gogo_outcome* outcomes, size_t max, char* buf, size_t cap, size_t* count);

/*
 * gogo_lane_close closes the lane: its running items are cancelled, waiting
 * items and outcomes not taken are dropped. Closing twice is fine.
 */
int gogo_lane_close(uint64_t lane);

/*
 * gogo_waitset_new creates a wait set (go/engine/waitset.go) and writes its handle;
 * with with_fd != 0 it also writes the read end of a non-blocking pipe that
 * becomes readable when completions are ready (for event loops), else -1.
 */
int gogo_waitset_new(int with_fd, uint64_t* waitset, int* fd, gogo_error* err);

/*
 * gogo_waitset_watch makes the wait set receive tags[i] when task ids[i] of
 * the runtime finishes, for i < n (at once for a finished task). It stops at
 * the first unknown id with GOGO_E_NOT_FOUND and writes its index to failed.
 */
int gogo_waitset_watch(uint64_t waitset, uint64_t runtime, const int64_t* task_ids,
                       const uint64_t* tags, size_t n, size_t* failed);

/*
 * gogo_waitset_take waits until a watched task has finished or timeout_ns
 * passes (< 0: no limit, 0: just look), then writes up to cap tags of finished
 * tasks, oldest first, and their number. GOGO_E_TIMEOUT if none in time.
 */
int gogo_waitset_take(uint64_t waitset, int64_t timeout_ns, uint64_t* tags, size_t cap,
                      size_t* count);

/*
 * gogo_waitset_close closes the wait set and its pipe; closing twice is fine.
 */
int gogo_waitset_close(uint64_t waitset);

/*
 * gogo_channel_new creates a channel with room for capacity items (0: a
 * send waits for a receiver) and writes its handle. With runtime != 0 the
 * channel belongs to that runtime: closing the runtime closes it (until
 * gogo_channel_release); with 0 it belongs to no runtime.
 */
int gogo_channel_new(uint64_t runtime, int64_t capacity, uint64_t* channel, gogo_error* err);

/*
 * gogo_channel_send copies data into an item and sends it, waiting up to
 * timeout_ns (< 0: no limit). GOGO_E_TIMEOUT if it could not go in time,
 * GOGO_E_CHANNEL_CLOSED if the channel is closed.
 */
int gogo_channel_send(uint64_t channel, const char* data, size_t len, int32_t text,
                      int64_t timeout_ns);

/*
 * gogo_channel_recv receives an item, waiting up to timeout_ns, and writes
 * it as malloc'ed data (free it with gogo_free). GOGO_E_CHANNEL_CLOSED once
 * the channel is closed and empty.
 */
int gogo_channel_recv(uint64_t channel, int64_t timeout_ns, char** data, size_t* len,
                      int32_t* text);

/*
 * gogo_channel_select receives from the first of n channels to have an item,
 * waiting up to timeout_ns, and writes its index and the item (as
 * gogo_channel_recv does). For a channel that is closed and empty it writes
 * its index and returns GOGO_E_CHANNEL_CLOSED.
 */
int gogo_channel_select(const uint64_t* channels, size_t n, int64_t timeout_ns, size_t* index,
                        char** data, size_t* len, int32_t* text);

/*
 * gogo_channel_close closes the channel (closing twice is fine).
 */
int gogo_channel_close(uint64_t channel);

/*
 * gogo_channel_len writes how many items wait in the channel.
 */
int gogo_channel_len(uint64_t channel, int64_t* len);

/*
 * gogo_channel_release drops the caller's handle; tasks streaming into the
 * channel keep it alive until they finish.
 */
int gogo_channel_release(uint64_t channel);

/*
 * gogo_free releases memory that Go handed to the caller.
 */
void gogo_free(void* ptr);

/*
 * gogo_error_clear frees the strings of err and zeroes it.
 */
void gogo_error_clear(gogo_error* err);
#endif

#ifdef __cplusplus
}
#endif

#endif /* GOGOROUTINES_ABI_H */
