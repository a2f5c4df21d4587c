/* shims.h - C side of the Go binding: trampolines with the burrow_process_fn / burrow_log_fn
 * signatures that gather a message's fields in one struct and call the //export'ed Go
 * functions. userdata is C memory holding a runtime/cgo.Handle value, never a Go pointer. */
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

burrow_outcome burrow_go_process_trampoline(void *userdata, const burrow_message *msg);
burrow_outcome burrow_go_noop_process(void *userdata, const burrow_message *msg);
void burrow_go_log_trampoline(void *userdata, burrow_log_level level, const char *target, const char *message);
burrow_result burrow_go_header(const burrow_message *msg, size_t index, const char **name, size_t *name_len,
			       const uint8_t **value, size_t *value_len);

/* Runs the pool with the Go trampoline (the stopping callback tells Go when the run begins to
 * stop, whatever the reason) (handle: the cgo.Handle of the Go pool) or, when noop,
 * with burrow_go_noop_process (the benchmark's C callback path). Library log lines from this
 * thread and from the worker threads' hand-overs carry log_id (see log.go). */
burrow_result burrow_go_pool_run(burrow_pool *pool, uintptr_t handle, uintptr_t log_id, int noop, char *errstr,
				 size_t errstr_size);

#endif
