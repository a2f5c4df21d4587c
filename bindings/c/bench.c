/*
 * bench.c - throughput of the C callback path from a real C program: a no-op process callback
 * over 200,000 records of the in-process mock Kafka (4 partitions, default 10 workers).
 * Reports messages per second between the first and the last callback, median of N rounds.
 *
 * The same-process comparison with the Rust closure path is tests/ffi_overhead.rs; `make c-bench`
 * runs both. Environment: BENCH_MESSAGES, BENCH_ROUNDS, BENCH_WORKERS, BENCH_INFLIGHT
 * (burrow.max.inflight.per.partition, default 100000).
 */
#include <burrow.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC "bench"
#define PARTITIONS 4

struct state {
    pthread_mutex_t lock; /* only taken for the first and the last message */
    long count, n;
    double first, last;
    burrow_pool *pool;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long env_or(const char *name, long fallback) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

static burrow_outcome noop(void *userdata, const burrow_message *msg) {
    struct state *s = (struct state *)userdata;
    long c = __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
    (void)msg;
    if (c == 1) {
        pthread_mutex_lock(&s->lock);
        s->first = now();
        pthread_mutex_unlock(&s->lock);
    }
    if (c == s->n) {
        pthread_mutex_lock(&s->lock);
        s->last = now();
        pthread_mutex_unlock(&s->lock);
        burrow_pool_stop(s->pool);
    }
    return BURROW_OUTCOME_DONE;
}

static void must(burrow_result r, const char *what, const char *err) {
    if (r != BURROW_RESULT_OK) {
        fprintf(stderr, "%s: %s %s\n", what, burrow_result_message(r), err ? err : "");
        exit(1);
    }
}

static double round_rate(const char *bootstrap, int round, long n, const char *workers,
                         const char *inflight) {
    char err[512] = "", group[64];
    burrow_config *c = burrow_config_new();
    burrow_pool *pool = NULL;
    struct state s;
    const char *topics[1] = {TOPIC};
    snprintf(group, sizeof group, "bench-c-%d", round);
    must(burrow_config_set(c, "bootstrap.servers", bootstrap, err, sizeof err), "config", err);
    must(burrow_config_set(c, "group.id", group, err, sizeof err), "config", err);
    must(burrow_config_set(c, "auto.offset.reset", "earliest", err, sizeof err), "config", err);
    must(burrow_config_set(c, "burrow.workers", workers, err, sizeof err), "config", err);
    /* as in tests/ffi_overhead.rs: no backpressure pause/resume cycles shaping the run */
    must(burrow_config_set(c, "burrow.max.inflight.per.partition", inflight, err, sizeof err),
         "config", err);
    must(burrow_pool_new(c, err, sizeof err, &pool), "burrow_pool_new", err);
    burrow_config_free(c);
    must(burrow_pool_subscribe(pool, topics, 1, err, sizeof err), "subscribe", err);
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    s.n = n;
    s.pool = pool;
    must(burrow_pool_run(pool, noop, &s, err, sizeof err), "burrow_pool_run", err);
    must(burrow_pool_free(pool), "burrow_pool_free", NULL);
    pthread_mutex_destroy(&s.lock);
    return (double)(n - 1) / (s.last - s.first);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    long n = env_or("BENCH_MESSAGES", 200000), i;
    int rounds = (int)env_or("BENCH_ROUNDS", 3), r;
    char workers[16], inflight[16];
    burrow_mock_cluster *mc = NULL;
    double rates[16], started;
    const char *bootstrap;

    if (rounds < 1 || rounds > 16) rounds = 3;
    snprintf(workers, sizeof workers, "%ld", env_or("BENCH_WORKERS", 10));
    snprintf(inflight, sizeof inflight, "%ld", env_or("BENCH_INFLIGHT", 100000));
    must(burrow_mock_cluster_new(1, &mc), "mock", NULL);
    bootstrap = burrow_mock_cluster_bootstrap(mc);
    must(burrow_mock_cluster_create_topic(mc, TOPIC, PARTITIONS), "topic", NULL);
    started = now();
    for (i = 0; i < n; i++) {
        char v[24];
        int len = snprintf(v, sizeof v, "%ld", i);
        must(burrow_mock_cluster_produce(mc, TOPIC, (int)(i % PARTITIONS), NULL, 0,
                                         (const uint8_t *)v, (size_t)len, NULL, 0),
             "produce", NULL);
    }
    must(burrow_mock_cluster_flush(mc, 120000), "flush", NULL);
    fprintf(stderr, "produced %ld records in %.2f s\n", n, now() - started);

    for (r = 0; r < rounds; r++) {
        rates[r] = round_rate(bootstrap, r, n, workers, inflight);
        fprintf(stderr, "round %d: C program  %10.0f msg/s\n", r, rates[r]);
    }
    qsort(rates, (size_t)rounds, sizeof rates[0], cmp);
    printf("C program, %ld messages, %d partitions, %s workers, no-op callback: "
           "median %.0f msg/s over %d rounds\n", n, PARTITIONS, workers, rates[rounds / 2], rounds);
    burrow_mock_cluster_free(mc);
    return 0;
}
