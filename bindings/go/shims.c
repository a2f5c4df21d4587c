#include <pthread.h>
#include <stdlib.h>

#include "shims.h"
#include "_cgo_export.h"

struct burrow_go_feed {
	pthread_mutex_t mu;
	pthread_cond_t filled;  /* the feeder waits for messages */
	pthread_cond_t drained; /* library threads wait for room */
	burrow_go_msg *ring;
	size_t capacity, head, len;
	int closed;
	int taker_waits;  /* the feeder sleeps on filled */
	size_t pushers_wait; /* library threads sleeping on drained */
};

burrow_go_feed *burrow_go_feed_new(size_t capacity)
{
	burrow_go_feed *f = calloc(1, sizeof *f);
	if (f == NULL)
		return NULL;
	f->ring = calloc(capacity ? capacity : 1, sizeof *f->ring);
	if (f->ring == NULL) {
		free(f);
		return NULL;
	}
	f->capacity = capacity ? capacity : 1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->filled, NULL);
	pthread_cond_init(&f->drained, NULL);
	return f;
}

void burrow_go_feed_free(burrow_go_feed *f)
{
	if (f == NULL)
		return;
	pthread_cond_destroy(&f->drained);
	pthread_cond_destroy(&f->filled);
	pthread_mutex_destroy(&f->mu);
	free(f->ring);
	free(f);
}

/* Queues one message, waiting while the feed is full (the Go side is busy: this bounds what is
 * in flight). The feeder never waits on Go while the pool stops, so the wait ends. */
static void feed_push(burrow_go_feed *f, const burrow_go_msg *m)
{
	pthread_mutex_lock(&f->mu);
	while (f->len == f->capacity) {
		f->pushers_wait++;
		pthread_cond_wait(&f->drained, &f->mu);
		f->pushers_wait--;
	}
	f->ring[(f->head + f->len) % f->capacity] = *m;
	f->len++;
	if (f->taker_waits)
		pthread_cond_signal(&f->filled);
	pthread_mutex_unlock(&f->mu);
}

static void feed_close(burrow_go_feed *f)
{
	pthread_mutex_lock(&f->mu);
	f->closed = 1;
	pthread_cond_broadcast(&f->filled);
	pthread_mutex_unlock(&f->mu);
}

size_t burrow_go_feed_len(burrow_go_feed *f)
{
	size_t n;
	pthread_mutex_lock(&f->mu);
	n = f->len;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t burrow_go_feed_take(burrow_go_feed *f, burrow_go_msg *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&f->mu);
	while (f->len == 0 && !f->closed) {
		f->taker_waits = 1;
		pthread_cond_wait(&f->filled, &f->mu);
		f->taker_waits = 0;
	}
	while (n < max && f->len > 0) {
		out[n++] = f->ring[f->head];
		f->head = (f->head + 1) % f->capacity;
		f->len--;
	}
	if (n > 0 && f->pushers_wait > 0)
		pthread_cond_broadcast(&f->drained);
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* The log id of the pool this thread works for (0: none), read by the log trampoline so that
 * a library log line reaches that pool's Logger. Set on the thread running the pool for the
 * duration of the run, and on a worker thread at each hand-over. */
static __thread uintptr_t burrow_go_thread_log_id;

/* What a run passes as userdata: the cgo.Handle of the Go pool, its log id and its feed. */
typedef struct burrow_go_run {
	uintptr_t handle;
	uintptr_t log_id;
	burrow_go_feed *feed;
} burrow_go_run;

burrow_outcome burrow_go_process_trampoline(void *userdata, const burrow_message *msg)
{
	const burrow_go_run *run = userdata;
	burrow_go_msg m;
	burrow_go_thread_log_id = run->log_id;
	m.msg = msg;
	m.completion = NULL;
	m.partition = burrow_message_partition(msg);
	m.offset = burrow_message_offset(msg);
	m.attempt = burrow_message_attempt(msg);
	m.header_count = burrow_message_header_count(msg);
	if (burrow_message_topic(msg, &m.topic, &m.topic_len) != BURROW_RESULT_OK) {
		m.topic = NULL;
		m.topic_len = 0;
	}
	if (burrow_message_key(msg, &m.key, &m.key_len) != BURROW_RESULT_OK) {
		m.key = NULL;
		m.key_len = 0;
	}
	if (burrow_message_value(msg, &m.value, &m.value_len) != BURROW_RESULT_OK) {
		m.value = NULL;
		m.value_len = 0;
	}
	if (burrow_message_timestamp(msg, &m.ts_type, &m.ts_ms) != BURROW_RESULT_OK) {
		m.ts_type = BURROW_TIMESTAMP_NOT_AVAILABLE;
		m.ts_ms = -1;
	}
	if (burrow_message_defer(msg, &m.completion) != BURROW_RESULT_OK) {
		static const char err[] = "burrow go binding: burrow_message_defer failed";
		burrow_message_set_error(msg, err, sizeof err - 1);
		return BURROW_OUTCOME_RETRY;
	}
	/* The deferred message and the pointers read above stay valid until the completion is
	 * completed; Go copies what it needs and hands the completion to a goroutine. */
	m.msg = burrow_completion_message(m.completion);
	feed_push(run->feed, &m);
	return BURROW_OUTCOME_DEFERRED;
}

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

burrow_result burrow_go_pool_run(burrow_pool *pool, uintptr_t handle, uintptr_t log_id, int noop,
				 burrow_go_feed *feed, char *errstr, size_t errstr_size)
{
	/* Valid until burrow_pool_run returns, which is after the last callback (process and
	 * stopping). */
	burrow_go_run run = {handle, log_id, feed};
	uintptr_t outer = burrow_go_thread_log_id;
	burrow_result rc;

	burrow_go_thread_log_id = log_id;
	rc = burrow_pool_set_stopping_callback(pool, burrow_go_stopping_trampoline, &run);
	if (rc == BURROW_RESULT_OK)
		rc = burrow_pool_run(pool, noop ? burrow_go_noop_process : burrow_go_process_trampoline, &run,
				     errstr, errstr_size);
	/* No process callback runs after burrow_pool_run returns: nothing more is queued. */
	feed_close(feed);
	burrow_go_thread_log_id = outer;
	return rc;
}
