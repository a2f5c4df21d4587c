#include <stdlib.h>

#include "shims.h"
#include "_cgo_export.h"

/* The log id of the pool this thread works for (0: none), read by the log trampoline so that
 * a library log line reaches that pool's Logger. Set on the thread running the pool for the
 * duration of the run, and on the thread taking messages at each take. */
static __thread uintptr_t burrow_go_thread_log_id;

/* Reads what Go copies out of a taken message. */
static void read_msg(burrow_completion *c, burrow_go_msg *m)
{
	const burrow_message *msg = burrow_completion_message(c);
	m->msg = msg;
	m->completion = c;
	m->partition = burrow_message_partition(msg);
	m->offset = burrow_message_offset(msg);
	m->attempt = burrow_message_attempt(msg);
	m->header_count = burrow_message_header_count(msg);
	if (burrow_message_topic(msg, &m->topic, &m->topic_len) != BURROW_RESULT_OK) {
		m->topic = NULL;
		m->topic_len = 0;
	}
	if (burrow_message_key(msg, &m->key, &m->key_len) != BURROW_RESULT_OK) {
		m->key = NULL;
		m->key_len = 0;
	}
	if (burrow_message_value(msg, &m->value, &m->value_len) != BURROW_RESULT_OK) {
		m->value = NULL;
		m->value_len = 0;
	}
	if (burrow_message_timestamp(msg, &m->ts_type, &m->ts_ms) != BURROW_RESULT_OK) {
		m->ts_type = BURROW_TIMESTAMP_NOT_AVAILABLE;
		m->ts_ms = -1;
	}
}

burrow_result burrow_go_take(burrow_pool *pool, uintptr_t log_id, burrow_go_msg *out, size_t max,
			     uint32_t timeout_ms, size_t *n)
{
	burrow_completion *taken[BURROW_GO_TAKE_MAX];
	burrow_result rc;
	size_t i;

	*n = 0;
	if (max > BURROW_GO_TAKE_MAX)
		max = BURROW_GO_TAKE_MAX;
	burrow_go_thread_log_id = log_id;
	rc = burrow_pool_take(pool, taken, max, timeout_ms, n);
	if (rc != BURROW_RESULT_OK)
		return rc;
	/* The messages and the pointers read from them stay valid until their completions are
	 * completed; Go copies what it needs and hands each completion to a goroutine. */
	for (i = 0; i < *n; i++)
		read_msg(taken[i], &out[i]);
	return BURROW_RESULT_OK;
}

/* What a run passes as userdata: the cgo.Handle of the Go pool. */
typedef struct burrow_go_run {
	uintptr_t handle;
} burrow_go_run;

/* Called once by the library when the run begins to stop (stop, halt, fatal error). */
static void burrow_go_stopping_trampoline(void *userdata)
{
	const burrow_go_run *run = userdata;
	goStopping(run->handle);
}

/* The C callback path used by the benchmark: finishes every message at once. */
burrow_outcome burrow_go_noop_process(void *userdata, const burrow_message *msg)
{
	(void)userdata;
	(void)msg;
	return BURROW_OUTCOME_DONE;
}

void burrow_go_log_trampoline(void *userdata, burrow_log_level level, const char *target, const char *message)
{
	(void)userdata;
	goLog(burrow_go_thread_log_id, level, (char *)target, (char *)message);
}

burrow_result burrow_go_header(const burrow_message *msg, size_t index, const char **name, size_t *name_len,
			       const uint8_t **value, size_t *value_len)
{
	return burrow_message_header(msg, index, name, name_len, value, value_len);
}

burrow_result burrow_go_pool_run(burrow_pool *pool, uintptr_t handle, uintptr_t log_id, int noop, char *errstr,
				 size_t errstr_size)
{
	/* Valid until the run returns, which is after the stopping callback. */
	burrow_go_run run = {handle};
	uintptr_t outer = burrow_go_thread_log_id;
	burrow_result rc;

	burrow_go_thread_log_id = log_id;
	rc = burrow_pool_set_stopping_callback(pool, burrow_go_stopping_trampoline, &run);
	if (rc == BURROW_RESULT_OK) {
		if (noop)
			rc = burrow_pool_run(pool, burrow_go_noop_process, NULL, errstr, errstr_size);
		else
			rc = burrow_pool_run_external(pool, errstr, errstr_size);
	}
	burrow_go_thread_log_id = outer;
	return rc;
}
