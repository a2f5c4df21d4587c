/*
 * ordered-processing.c - key ordering and partition ordering, and what they cost.
 *
 *     ./ordered-processing                      # mock Kafka: runs unordered, key, partition
 *     ./ordered-processing --mode key --brokers 127.0.0.1:9092 --topic orders
 *
 * burrow.ordering decides which messages may be processed at the same time:
 *
 *   unordered  (default) any free worker takes the next message. Fastest: with W workers and
 *              L seconds per message, up to W/L messages per second whatever the partition
 *              count. Two messages with the same key may run at once and finish in any order.
 *              Commits are still safe: Burrow only commits up to the first unfinished message.
 *
 *   key        messages with the same key (within a partition) run one at a time, in offset
 *              order; different keys run in parallel. Use it when per-entity order matters
 *              ("debit account 42" before "close account 42"). Throughput is bounded by the
 *              number of distinct keys in flight: one hot key is processed serially. A message
 *              that is retrying keeps its place: later messages of its key wait behind it.
 *              Messages without a key are unordered.
 *
 *   partition  one message at a time per partition, in offset order (a classic consumer loop,
 *              but with commits and retries handled). Throughput = partitions / L, however
 *              many workers you configure.
 *
 * The callback below checks the promise it was given: it records, per key, whether a message of
 * that key is being processed and the last offset seen, and counts violations. On the mock it
 * runs the three modes on the same records and prints the time each took.
 */
#define _POSIX_C_SOURCE 200809L
#include "example_common.h"

#define KEYS 8
#define WORK_MS 4 /* simulated I/O per message */

struct app {
    pthread_mutex_t lock;
    burrow_pool *pool;
    const char *mode;
    long processed, stop_after;
    /* per key slot: a message is in progress; last offset per (partition, key) */
    int busy[KEYS];
    int64_t last_offset[64][KEYS];
    int overlaps;   /* two messages of one key at the same time */
    int reordered;  /* a key's offsets not increasing within its partition */
    int busy_partition[64];
    int partition_overlaps;
};

/* "user-3" -> 3 (the demo keys); other keys are hashed into the KEYS slots. */
static int key_slot(const uint8_t *key, size_t len) {
    unsigned h = 0;
    size_t i;
    if (key == NULL) return -1;
    for (i = 0; i < len; i++) h = h * 31u + key[i];
    return (int)(h % KEYS);
}

static burrow_outcome process(void *userdata, const burrow_message *msg) {
    struct app *app = (struct app *)userdata;
    const uint8_t *key;
    size_t key_len;
    int slot, partition = burrow_message_partition(msg) & 63;
    int64_t offset = burrow_message_offset(msg);

    burrow_message_key(msg, &key, &key_len);
    slot = key_slot(key, key_len);

    /* Step 1: entering. Note what is in progress right now. */
    pthread_mutex_lock(&app->lock);
    if (slot >= 0) {
        if (app->busy[slot]) app->overlaps++;
        app->busy[slot]++;
        if (offset <= app->last_offset[partition][slot]) app->reordered++;
        app->last_offset[partition][slot] = offset;
    }
    if (app->busy_partition[partition]) app->partition_overlaps++;
    app->busy_partition[partition]++;
    pthread_mutex_unlock(&app->lock);

    /* Step 2: the work (an HTTP call, a database write ...). */
    example_sleep_ms(WORK_MS);

    /* Step 3: leaving. */
    pthread_mutex_lock(&app->lock);
    if (slot >= 0) app->busy[slot]--;
    app->busy_partition[partition]--;
    if (++app->processed == app->stop_after) burrow_pool_stop(app->pool);
    pthread_mutex_unlock(&app->lock);
    return BURROW_OUTCOME_DONE;
}

/* Runs one pool in `mode` over the topic with its own consumer group; prints what happened. */
static int run_mode(struct example *ex, const char *mode) {
    struct app app;
    burrow_config *config;
    burrow_pool *pool = NULL;
    char err[512] = "", group[192];
    const char *topics[1];
    burrow_result r;
    double started;
    int p, k, ok;

    /* Step 4: the ordering mode is one configuration key. 16 workers in every mode, so the
     * difference you see is the ordering constraint alone. */
    snprintf(group, sizeof group, "%s-%s", ex->group, mode);
    config = example_config(ex);
    example_set(config, "group.id", group);
    example_set(config, "burrow.workers", "16");
    example_set(config, "burrow.ordering", mode);

    r = burrow_pool_new(config, err, sizeof err, &pool);
    burrow_config_free(config);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_new", r, err);
    topics[0] = ex->topic;
    if ((r = burrow_pool_subscribe(pool, topics, 1, err, sizeof err)) != BURROW_RESULT_OK)
        example_die("burrow_pool_subscribe", r, err);

    memset(&app, 0, sizeof app);
    pthread_mutex_init(&app.lock, NULL);
    app.pool = pool;
    app.mode = mode;
    app.stop_after = ex->count;
    for (p = 0; p < 64; p++)
        for (k = 0; k < KEYS; k++) app.last_offset[p][k] = -1;
    example_watch_signals(pool);

    started = example_now();
    r = burrow_pool_run(pool, process, &app, err, sizeof err);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_run", r, err);

    printf("  %-9s %5ld messages in %5.2f s | same key at once: %4d | key out of order: %d | "
           "same partition at once: %d\n",
           mode, app.processed, example_now() - started, app.overlaps, app.reordered,
           app.partition_overlaps);
    /* Step 5: what each mode promises. */
    ok = 1;
    if (strcmp(mode, "key") == 0) ok = app.overlaps == 0 && app.reordered == 0;
    if (strcmp(mode, "partition") == 0)
        ok = app.overlaps == 0 && app.reordered == 0 && app.partition_overlaps == 0;
    burrow_pool_free(pool);
    pthread_mutex_destroy(&app.lock);
    return ok;
}

int main(int argc, char **argv) {
    struct example ex;
    const char *mode;
    int ok = 1;

    /* 2 partitions, 400 records, 8 keys ("user-0" .. "user-7"), partitioned by key. */
    example_init(&ex, "ordered-processing", argc, argv, 2, 400, KEYS);
    mode = example_arg(&ex, "--mode", NULL);
    printf("ordered-processing: %d ms of work per message, 16 workers\n", WORK_MS);
    if (mode != NULL) {
        ok = run_mode(&ex, mode);
    } else {
        ok &= run_mode(&ex, "unordered");
        ok &= run_mode(&ex, "key");
        ok &= run_mode(&ex, "partition");
    }
    printf("ordered-processing: %s\n", ok ? "every ordering promise held" : "ORDERING VIOLATED");
    example_finish(&ex);
    return ok ? 0 : 1;
}
