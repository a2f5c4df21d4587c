/* shims.h - C side of the Go binding. The process callback runs in C only: it gathers a
 * message's fields in one struct, defers the message and queues it on a feed, from which one Go
 * goroutine takes messages in batches (one cgo call per batch, no call from C into Go per
 * message). The log and stopping trampolines call the //export'ed Go functions. userdata is C
 * memory holding a runtime/cgo.Handle value, never a Go pointer. */
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

/* A bounded queue of deferred messages from the library's threads to the Go feeder goroutine. */
typedef struct burrow_go_feed burrow_go_feed;

/* A feed holding at most capacity messages (NULL when out of memory). */
burrow_go_feed *burrow_go_feed_new(size_t capacity);
/* Waits until the feed holds messages or is closed, then moves up to max of them to out;
 * returns how many (0: closed and empty, nothing more will come). */
size_t burrow_go_feed_take(burrow_go_feed *feed, burrow_go_msg *out, size_t max);
/* Messages queued on the feed now. */
size_t burrow_go_feed_len(burrow_go_feed *feed);
/* Frees a feed that is closed and empty (after burrow_go_pool_run has returned and the feeder
 * has taken the last message). */
void burrow_go_feed_free(burrow_go_feed *feed);

burrow_outcome burrow_go_process_trampoline(void *userdata, const burrow_message *msg);
burrow_outcome burrow_go_noop_process(void *userdata, const burrow_message *msg);
void burrow_go_log_trampoline(void *userdata, burrow_log_level level, const char *target, const char *message);
burrow_result burrow_go_header(const burrow_message *msg, size_t index, const char **name, size_t *name_len,
			       const uint8_t **value, size_t *value_len);

/* Runs the pool with the feeding trampoline (every message is deferred and queued on feed; the
 * stopping callback tells Go, through handle, the cgo.Handle of the Go pool, when the run begins
 * to stop, whatever the reason) or, when noop, with burrow_go_noop_process (the benchmark's C
 * callback path). Closes feed when the run is over: no message is queued after that. Library
 * log lines from this thread and from the worker threads' hand-overs carry log_id (see log.go). */
burrow_result burrow_go_pool_run(burrow_pool *pool, uintptr_t handle, uintptr_t log_id, int noop,
				 burrow_go_feed *feed, char *errstr, size_t errstr_size);

#endif
