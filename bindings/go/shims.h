/* shims.h - C side of the Go binding. The pool runs without worker threads; one Go goroutine
 * takes messages in batches with burrow_go_take, which gathers each message's fields in one
 * struct (one cgo call per batch, no call from C into Go per message). The log and stopping
 * trampolines call the //export'ed Go functions. userdata is C memory holding a
 * runtime/cgo.Handle value, never a Go pointer. */
#ifndef BURROW_GO_SHIMS_H
#define BURROW_GO_SHIMS_H

#include <burrow.h>

/* Everything Go copies out of a message, read in C so that the Go side makes one crossing. */
typedef struct burrow_go_msg {
	const char *topic;
	size_t topic_len;
	int32_t partition;
	int64_t offset;
	uint32_t attempt;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
	burrow_timestamp_type ts_type;
	int64_t ts_ms;
	size_t header_count;
	const burrow_message *msg;
	burrow_completion *completion;
} burrow_go_msg;

/* The most messages one burrow_go_take call takes. */
#define BURROW_GO_TAKE_MAX 256

/* Takes up to max (at most BURROW_GO_TAKE_MAX) messages of the pool's burrow_pool_run_external
 * run into out (burrow_pool_take, then every field Go copies, read in C), waiting up to
 * timeout_ms while there is none. Library log lines from this thread carry log_id. Returns
 * burrow_pool_take's result (BURROW_RESULT_CLOSED once the run is over). */
burrow_result burrow_go_take(burrow_pool *pool, uintptr_t log_id, burrow_go_msg *out, size_t max,
			     uint32_t timeout_ms, size_t *n);

burrow_outcome burrow_go_noop_process(void *userdata, const burrow_message *msg);
void burrow_go_log_trampoline(void *userdata, burrow_log_level level, const char *target, const char *message);
burrow_result burrow_go_header(const burrow_message *msg, size_t index, const char **name, size_t *name_len,
			       const uint8_t **value, size_t *value_len);

/* Runs the pool without worker threads (burrow_pool_run_external: the Go side takes the
 * messages with burrow_go_take) and with a stopping callback that tells Go, through handle, the
 * cgo.Handle of the Go pool, when the run begins to stop, whatever the reason; or, when noop,
 * with burrow_go_noop_process on the library's worker threads (the benchmark's C callback path).
 * Library log lines from this thread carry log_id (see log.go). */
burrow_result burrow_go_pool_run(burrow_pool *pool, uintptr_t handle, uintptr_t log_id, int noop, char *errstr,
				 size_t errstr_size);

#endif
