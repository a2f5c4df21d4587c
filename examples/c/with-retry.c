/*
 * with-retry.c - retriable versus non-retriable failures.
 *
 *     ./with-retry                                  # in-process mock Kafka
 *     ./with-retry --brokers 127.0.0.1:9092 --topic orders [--dead-letter orders.dlq]
 *
 * Imagine each record is an order sent to a payment service:
 *   - sometimes the service times out: a *retriable* failure. Return BURROW_OUTCOME_RETRY;
 *     Burrow retries after an exponential backoff (burrow.retry.backoff.ms x 2^attempt, capped)
 *     without holding a worker while it waits, up to burrow.max.retries times;
 *   - sometimes the order itself is invalid: retrying cannot help, a *non-retriable* failure.
 *     Return BURROW_OUTCOME_FAIL; the failure policy applies at once.
 * The failure policy (burrow.on.failure) decides what happens to a message that failed for good:
 *   halt        (default) stop the pool: running work drains, commits stop exactly at the
 *               failed message, and burrow_pool_run returns BURROW_RESULT_HALTED naming it;
 *   skip        log it, count it, treat it as finished;
 *   dead-letter copy it (with burrow.origin.* and burrow.error headers) to
 *               burrow.dead.letter.topic, then treat it as finished.
 *   With skip and dead-letter, burrow.max.consecutive.errors failures in a row halt the pool.
 * This example uses skip, or dead-letter with --dead-letter TOPIC.
 * burrow_message_set_error attaches the reason, which ends up in the logs and in the
 * burrow.error header of dead-lettered copies.
 */
#define _POSIX_C_SOURCE 200809L
#include "example_common.h"

struct app {
    pthread_mutex_t lock;
    burrow_pool *pool;
    long finished, succeeded_after_retry, invalid;
    long stop_after;
};

static void finished_one(struct app *app) {
    /* caller holds app->lock */
    if (++app->finished == app->stop_after) burrow_pool_stop(app->pool);
}

static burrow_outcome process(void *userdata, const burrow_message *msg) {
    struct app *app = (struct app *)userdata;
    int64_t offset = burrow_message_offset(msg);
    uint32_t attempt = burrow_message_attempt(msg); /* 1 = first delivery, 2 = first retry ... */

    /* Step 1: a permanent failure. Every 25th order is invalid: retrying cannot help. */
    if (offset % 25 == 24) {
        static const char why[] = "invalid order: negative amount";
        burrow_message_set_error(msg, why, sizeof why - 1);
        printf("  partition %d offset %lld: %s -> FAIL (no retry; the policy applies)\n",
               (int)burrow_message_partition(msg), (long long)offset, why);
        pthread_mutex_lock(&app->lock);
        app->invalid++;
        finished_one(app);
        pthread_mutex_unlock(&app->lock);
        return BURROW_OUTCOME_FAIL;
    }

    /* Step 2: a transient failure. Every 7th message "times out" on its first two attempts.
     * The third attempt succeeds: the message is retried, not lost, and the partition's commits
     * wait for it (nothing after it is committed as the base offset in the meantime). */
    if (offset % 7 == 3 && attempt <= 2) {
        static const char why[] = "payment service timed out";
        burrow_message_set_error(msg, why, sizeof why - 1);
        printf("  partition %d offset %lld attempt %u: %s -> RETRY\n",
               (int)burrow_message_partition(msg), (long long)offset, attempt, why);
        return BURROW_OUTCOME_RETRY;
    }

    /* Step 3: success. */
    pthread_mutex_lock(&app->lock);
    if (attempt > 1) app->succeeded_after_retry++;
    finished_one(app);
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
    const char *topics[1];
    const char *dead_letter;
    burrow_result r;

    example_init(&ex, "with-retry", argc, argv, 2, 200, 10);
    dead_letter = example_arg(&ex, "--dead-letter", NULL);

    /* Step 4: the retry and failure settings. */
    config = example_config(&ex);
    example_set(config, "burrow.workers", "8");
    example_set(config, "burrow.max.retries", "3");          /* up to 4 attempts in all */
    example_set(config, "burrow.retry.backoff.ms", "50");    /* 50 ms, 100 ms, 200 ms ... */
    example_set(config, "burrow.retry.backoff.max.ms", "2000");
    if (dead_letter != NULL) {
        if (ex.mock) burrow_mock_cluster_create_topic(ex.mock, dead_letter, 1);
        example_set(config, "burrow.on.failure", "dead-letter");
        example_set(config, "burrow.dead.letter.topic", dead_letter);
    } else {
        example_set(config, "burrow.on.failure", "skip");
    }

    r = burrow_pool_new(config, err, sizeof err, &pool);
    burrow_config_free(config);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_new", r, err);
    topics[0] = ex.topic;
    if ((r = burrow_pool_subscribe(pool, topics, 1, err, sizeof err)) != BURROW_RESULT_OK)
        example_die("burrow_pool_subscribe", r, err);

    memset(&app, 0, sizeof app);
    pthread_mutex_init(&app.lock, NULL);
    app.pool = pool;
    app.stop_after = ex.count;
    example_watch_signals(pool);

    /* Step 5: run. With the default policy (halt), burrow_pool_run would return
     * BURROW_RESULT_HALTED after too many permanent failures in a row, with the cause in err. */
    r = burrow_pool_run(pool, process, &app, err, sizeof err);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_run", r, err);

    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    burrow_pool_stats(pool, &stats);
    printf("with-retry: %llu done, %ld of them after a retry; %llu retries scheduled; "
           "%llu failed for good (%llu skipped, %llu dead-lettered)\n",
           (unsigned long long)stats.messages_processed, app.succeeded_after_retry,
           (unsigned long long)stats.messages_retried, (unsigned long long)stats.messages_failed,
           (unsigned long long)stats.messages_skipped,
           (unsigned long long)stats.messages_dead_lettered);

    burrow_pool_free(pool);
    pthread_mutex_destroy(&app.lock);
    example_finish(&ex);
    return stats.messages_failed == (unsigned long long)app.invalid ? 0 : 1;
}
