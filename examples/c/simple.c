/*
 * simple.c - the smallest complete Burrow consumer in C.
 *
 * Runs against an in-process mock Kafka by default (no broker needed):
 *     make c-examples            # from the repository root, or:
 *     cc simple.c $(pkg-config --cflags --libs burrow) -o simple && ./simple
 * Against a real broker:
 *     ./simple --brokers 127.0.0.1:9092 --topic orders [--group billing] [--count 1000]
 *
 * What it shows: configuration, creating a pool, subscribing through the pool, a process
 * callback that reads a message through the accessors, stopping from inside the callback,
 * stats, and cleanup in the right order.
 */
#define _POSIX_C_SOURCE 200809L
#include "example_common.h"

/* Step 1: the state shared by all callback invocations. The callback runs on several worker
 * threads at once (burrow.workers), so everything in here is protected by a mutex. */
struct app {
    pthread_mutex_t lock;
    burrow_pool *pool;
    long processed;
    long stop_after; /* 0 = never (real broker: Ctrl-C) */
};

/* Step 2: the process callback. It receives each message on a worker thread. The message and
 * every pointer read from it are valid until the callback returns. Returning DONE lets Burrow
 * commit the offset once every earlier message of the partition is done too. */
static burrow_outcome process(void *userdata, const burrow_message *msg) {
    struct app *app = (struct app *)userdata;
    const char *topic;
    size_t topic_len, key_len, value_len;
    const uint8_t *key, *value;
    long n;

    burrow_message_topic(msg, &topic, &topic_len);
    burrow_message_key(msg, &key, &key_len);     /* key == NULL: the record has no key */
    burrow_message_value(msg, &value, &value_len);

    /* ... the real work would go here: an HTTP call, a database write ... */

    pthread_mutex_lock(&app->lock);
    n = ++app->processed;
    if (n <= 5 || n % 100 == 0)
        /* Bytes are pointer + length, not NUL-terminated: print them with %.*s. */
        printf("  #%ld %.*s[%d]@%lld key=%.*s value=%.*s\n", n, (int)topic_len, topic,
               (int)burrow_message_partition(msg), (long long)burrow_message_offset(msg),
               key ? (int)key_len : 6, key ? (const char *)key : "(none)", (int)value_len,
               value ? (const char *)value : "");
    /* Step 3: stopping from inside a callback is allowed: the pool finishes what is in flight,
     * commits, leaves the group, and burrow_pool_run returns. */
    if (app->stop_after > 0 && n == app->stop_after) burrow_pool_stop(app->pool);
    pthread_mutex_unlock(&app->lock);
    return BURROW_OUTCOME_DONE;
}

int main(int argc, char **argv) {
    struct example ex;
    struct app app;
    burrow_config *config;
    burrow_pool *pool = NULL;
    burrow_stats stats;
    char err[512] = "";
    burrow_result r;
    const char *topics[1];

    example_init(&ex, "simple", argc, argv, 3, 500, 10);

    /* Step 4: configuration. Keys starting with "burrow." configure the pool; every other key
     * goes to librdkafka. Each set is validated at once; errors name the key and the value. */
    config = example_config(&ex);
    example_set(config, "burrow.workers", "16"); /* 16 messages processed at once */

    /* Step 5: the pool owns a Kafka consumer. burrow_pool_new copies the config, so the config
     * can be freed right away. */
    r = burrow_pool_new(config, err, sizeof err, &pool);
    burrow_config_free(config);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_new", r, err);

    /* Step 6: subscribe through the pool, so its rebalance handling is in place. */
    topics[0] = ex.topic;
    if ((r = burrow_pool_subscribe(pool, topics, 1, err, sizeof err)) != BURROW_RESULT_OK)
        example_die("burrow_pool_subscribe", r, err);

    /* Step 7: run. This blocks until burrow_pool_stop (from the callback, or from the Ctrl-C
     * thread) or until the pool halts. When it returns, no callback is running any more. */
    pthread_mutex_init(&app.lock, NULL);
    app.pool = pool;
    app.processed = 0;
    app.stop_after = ex.count;
    example_watch_signals(pool);
    r = burrow_pool_run(pool, process, &app, err, sizeof err);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_run", r, err);

    /* Step 8: stats. struct_size tells the library how large our (header's) struct is, so a
     * newer library never writes past it. */
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    burrow_pool_stats(pool, &stats);
    printf("simple: processed %llu messages, %llu offset commits\n",
           (unsigned long long)stats.messages_processed,
           (unsigned long long)stats.offsets_committed);

    /* Step 9: cleanup. The pool first (its run is over), then the mock cluster it talked to. */
    burrow_pool_free(pool);
    pthread_mutex_destroy(&app.lock);
    example_finish(&ex);
    return stats.messages_processed >= (unsigned long long)app.stop_after ? 0 : 1;
}
