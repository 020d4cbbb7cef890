/*
 * gogo_abi.h: the stable, hand-written half of the C ABI between the Go
 * archive (go/) and its callers (the C++ core in cpp/).
 *
 * cgo generates a second header with the prototypes of the exported gogo_*
 * functions; this one holds the types and status codes they use, so that C++
 * code can include it without cgo's generated boilerplate. The prototypes are
 * repeated at the bottom (guarded) so that C and C++ callers need only this file.
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
  int64_t goroutines; /* runtime.NumGoroutine() of the whole process */
} gogo_stats;

#ifndef GOGOROUTINES_CGO_PREAMBLE
/* Prototypes of the Go exports (go/exports.go documents each one). */
int gogo_info(char** json, size_t* json_len);
int gogo_runtime_new(int64_t max_concurrency, uint64_t* runtime, gogo_error* err);
int gogo_runtime_close(uint64_t runtime);
int gogo_runtime_stats(uint64_t runtime, gogo_stats* stats);
int gogo_task_spawn(uint64_t runtime, const char* kind, size_t kind_len, const gogo_arg* args,
                    size_t nargs, int64_t timeout_ns, int64_t* task_id, int32_t* state, char* buf,
                    size_t cap, size_t* len, gogo_error* err);
int gogo_task_spawn_many(uint64_t runtime, const char* kind, size_t kind_len, const gogo_arg* batch,
                         int64_t timeout_ns, int64_t* task_ids, gogo_error* err);
int gogo_task_collect(uint64_t runtime, const int64_t* task_ids, size_t n, gogo_outcome* outcomes,
                      char* buf, size_t cap, size_t* count);
int gogo_task_status(uint64_t runtime, int64_t task_id, int32_t* state);
int gogo_task_wait(uint64_t runtime, int64_t task_id, int64_t timeout_ns, int32_t* state);
int gogo_task_result(uint64_t runtime, int64_t task_id, int64_t timeout_ns, char* buf, size_t cap,
                     size_t* len, gogo_error* err);
int gogo_task_meta(uint64_t runtime, int64_t task_id, char** json, size_t* json_len);
int gogo_task_cancel(uint64_t runtime, int64_t task_id, int32_t* cancelled);
int gogo_task_release(uint64_t runtime, int64_t task_id);
int gogo_task_release_many(uint64_t runtime, const int64_t* task_ids, size_t n);
int gogo_lane_open(uint64_t runtime, const char* kind, size_t kind_len, int64_t concurrency,
                   int ordered, int64_t timeout_ns, uint64_t* lane, gogo_error* err);
int gogo_lane_feed(uint64_t lane, const gogo_arg* batch, gogo_error* err);
int gogo_lane_take(uint64_t lane, int64_t timeout_ns, size_t min_ready, int64_t linger_ns,
                   gogo_outcome* outcomes, size_t max, char* buf, size_t cap, size_t* count);
int gogo_lane_close(uint64_t lane);
int gogo_waitset_new(int with_fd, uint64_t* waitset, int* fd, gogo_error* err);
int gogo_waitset_watch(uint64_t waitset, uint64_t runtime, const int64_t* task_ids,
                       const uint64_t* tags, size_t n, size_t* failed);
int gogo_waitset_take(uint64_t waitset, int64_t timeout_ns, uint64_t* tags, size_t cap,
                      size_t* count);
int gogo_waitset_close(uint64_t waitset);
int gogo_channel_new(int64_t capacity, uint64_t* channel, gogo_error* err);
int gogo_channel_send(uint64_t channel, const char* data, size_t len, int32_t text,
                      int64_t timeout_ns);
int gogo_channel_recv(uint64_t channel, int64_t timeout_ns, char** data, size_t* len,
                      int32_t* text);
int gogo_channel_select(const uint64_t* channels, size_t n, int64_t timeout_ns, size_t* index,
                        char** data, size_t* len, int32_t* text);
int gogo_channel_close(uint64_t channel);
int gogo_channel_len(uint64_t channel, int64_t* len);
int gogo_channel_release(uint64_t channel);
void gogo_free(void* ptr);
void gogo_error_clear(gogo_error* err);
#endif

#ifdef __cplusplus
}
#endif

#endif /* GOGOROUTINES_ABI_H */
