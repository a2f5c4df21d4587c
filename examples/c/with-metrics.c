/*
 * with-metrics.c - Prometheus metrics from a C program.
 *
 *     ./with-metrics [--all]                          # mock Kafka; prints the metrics text
 *     ./with-metrics --serve 127.0.0.1:9464           # also serves http://127.0.0.1:9464/metrics
 *                                                     # and runs until Ctrl-C
 *     ./with-metrics --brokers 127.0.0.1:9092 --topic orders --serve 0.0.0.0:9464
 *
 * Two ways to get the metrics out:
 *   - burrow.metrics.addr: Burrow serves them over HTTP itself (GET /metrics), for Prometheus
 *     to scrape;
 *   - burrow_pool_metrics_text: the same text as a string, for programs that already have an
 *     HTTP server or push metrics elsewhere. The string belongs to the caller, who frees it with
 *     burrow_string_free.
 * Both need burrow.metrics=true. Series include burrow_messages_processed_total{topic,partition,
 * status}, burrow_processing_duration_seconds, burrow_offset_lag, burrow_inflight_messages and the
 * age of the oldest unfinished message per partition (the "stuck partition" signal).
 */
#define _POSIX_C_SOURCE 200809L
#include "example_common.h"

struct app {
    pthread_mutex_t lock;
    burrow_pool *pool;
    long processed, stop_after;
};

static burrow_outcome process(void *userdata, const burrow_message *msg) {
    struct app *app = (struct app *)userdata;
    /* Simulated I/O: 1-4 ms per message, so the duration histogram has something to show. */
    example_sleep_ms(1 + burrow_message_offset(msg) % 4);
    pthread_mutex_lock(&app->lock);
    if (++app->processed == app->stop_after) burrow_pool_stop(app->pool);
    pthread_mutex_unlock(&app->lock);
    return BURROW_OUTCOME_DONE;
}

/* Prints the lines of the metrics text that start with one of our favourite series. */
static void print_metrics(const burrow_pool *pool, int all) {
    char *text = NULL;
    size_t len = 0;
    char *line, *save = NULL;
    /* Step 3: the text is allocated by the library; free it with burrow_string_free. */
    if (burrow_pool_metrics_text(pool, &text, &len) != BURROW_RESULT_OK) return;
    printf("---- metrics (%zu bytes of Prometheus text) ----\n", len);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        if (all || strncmp(line, "burrow_messages_processed_total", 31) == 0 ||
            strncmp(line, "burrow_offsets_committed_total", 30) == 0 ||
            strncmp(line, "burrow_processing_duration_seconds_count", 40) == 0 ||
            strncmp(line, "burrow_worker_utilization", 25) == 0)
            printf("%s\n", line);
    burrow_string_free(text);
}

int main(int argc, char **argv) {
    struct example ex;
    struct app app;
    burrow_config *config;
    burrow_pool *pool = NULL;
    char err[512] = "";
    const char *topics[1];
    const char *serve;
    burrow_result r;

    example_init(&ex, "with-metrics", argc, argv, 2, 300, 10);
    serve = example_arg(&ex, "--serve", NULL);

    /* Step 1: turn metrics on, and optionally the HTTP endpoint. */
    config = example_config(&ex);
    example_set(config, "burrow.workers", "16");
    example_set(config, "burrow.metrics", "true");
    if (serve != NULL) {
        example_set(config, "burrow.metrics.addr", serve);
        ex.count = 0; /* keep serving until Ctrl-C */
    }

    /* The HTTP server starts with the pool: a busy address fails here (BURROW_RESULT_METRICS). */
    r = burrow_pool_new(config, err, sizeof err, &pool);
    burrow_config_free(config);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_new", r, err);
    if (serve != NULL) printf("with-metrics: serving http://%s/metrics - Ctrl-C to stop\n", serve);
    topics[0] = ex.topic;
    if ((r = burrow_pool_subscribe(pool, topics, 1, err, sizeof err)) != BURROW_RESULT_OK)
        example_die("burrow_pool_subscribe", r, err);

    memset(&app, 0, sizeof app);
    pthread_mutex_init(&app.lock, NULL);
    app.pool = pool;
    app.stop_after = ex.count;
    example_watch_signals(pool);

    /* Step 2: run (the metrics are readable from any thread meanwhile). */
    r = burrow_pool_run(pool, process, &app, err, sizeof err);
    if (r != BURROW_RESULT_OK) example_die("burrow_pool_run", r, err);

    /* Step 3: read them as text. Pass --all to see every series. */
    print_metrics(pool, example_flag(&ex, "--all"));

    burrow_pool_free(pool);
    pthread_mutex_destroy(&app.lock);
    example_finish(&ex);
    return 0;
}
