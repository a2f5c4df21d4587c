/*
 * Shared plumbing for the C examples: command-line options, a demo Kafka (librdkafka's
 * in-process mock cluster) when no broker is given, Ctrl-C handling, and a log callback.
 * Each example's own file shows the part of the Burrow API it is about.
 *
 * Options (all optional):
 *   --brokers HOST:PORT   a real Kafka (or set BURROW_BROKERS); default: an in-process mock
 *   --topic NAME          topic to consume (default: burrow-demo)
 *   --group NAME          consumer group (default: burrow-example-<example name>)
 *   --count N             stop after N messages (mock default: all demo messages; real broker:
 *                         run until Ctrl-C)
 * Unknown options are left for the example (see example_arg()).
 */
#ifndef BURROW_EXAMPLE_COMMON_H
#define BURROW_EXAMPLE_COMMON_H

#include <burrow.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct example {
    const char *name;
    const char *brokers;          /* bootstrap.servers */
    const char *topic;
    char group[128];
    long count;                   /* stop after this many messages; 0 = until Ctrl-C */
    burrow_mock_cluster *mock;    /* NULL when running against a real broker */
    int argc;
    char **argv;
};

/* The value of option `name` (e.g. "--mode"), or `fallback`. */
static inline const char *example_arg(const struct example *ex, const char *name, const char *fallback) {
    int i;
    for (i = 1; i + 1 < ex->argc; i++)
        if (strcmp(ex->argv[i], name) == 0) return ex->argv[i + 1];
    return fallback;
}

/* Whether the flag `name` (e.g. "--all") is present. */
static inline int example_flag(const struct example *ex, const char *name) {
    int i;
    for (i = 1; i < ex->argc; i++)
        if (strcmp(ex->argv[i], name) == 0) return 1;
    return 0;
}

/* Prints Burrow's (and librdkafka's) warnings and errors. Called from any thread, concurrently:
 * it only calls fprintf, which locks stderr. */
static inline void example_log(void *userdata, burrow_log_level level, const char *target,
                        const char *message) {
    (void)userdata;
    fprintf(stderr, "[%s %s] %s\n", level >= BURROW_LOG_ERROR ? "ERROR" : "WARN", target, message);
}

static inline void example_die(const char *what, burrow_result r, const char *errstr) {
    fprintf(stderr, "%s failed: %s%s%s\n", what, burrow_result_message(r),
            errstr && *errstr ? ": " : "", errstr ? errstr : "");
    exit(1);
}

/* Blocks SIGINT and SIGTERM in this thread; threads created afterwards (the mock cluster's, the
 * pool's, librdkafka's) inherit the mask, so only example_signal_thread receives them. Called
 * first thing in example_init, before any library thread exists. */
static inline void example_block_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Parses the options. Without --brokers / BURROW_BROKERS, starts a mock cluster and fills
 * `topic` (with `partitions` partitions) with `demo_messages` records: key "user-<i % keys>",
 * value "order-<i>". The mock's records then define when the example stops.
 */
static inline void example_init(struct example *ex, const char *name, int argc, char **argv,
                         int partitions, long demo_messages, int keys) {
    const char *env = getenv("BURROW_BROKERS");
    const char *count;
    burrow_result r;
    long i;

    example_block_signals();
    setvbuf(stdout, NULL, _IOLBF, 0); /* line-buffered: our lines and the log lines interleave */
    memset(ex, 0, sizeof *ex);
    ex->name = name;
    ex->argc = argc;
    ex->argv = argv;
    ex->brokers = example_arg(ex, "--brokers", env && *env ? env : NULL);
    ex->topic = example_arg(ex, "--topic", "burrow-demo");
    snprintf(ex->group, sizeof ex->group, "%s", example_arg(ex, "--group", ""));
    if (ex->group[0] == '\0') snprintf(ex->group, sizeof ex->group, "burrow-example-%s", name);
    count = example_arg(ex, "--count", NULL);
    ex->count = count ? strtol(count, NULL, 10) : 0;

    /* Log warnings and errors to stderr (once per process; see burrow_set_log_callback). */
    burrow_set_log_callback(example_log, NULL, BURROW_LOG_WARN);

    if (ex->brokers != NULL) {
        printf("%s: consuming %s from %s as group %s\n", name, ex->topic, ex->brokers, ex->group);
        return;
    }
    /* No broker given: an in-process mock Kafka, filled with demo records. */
    if ((r = burrow_mock_cluster_new(1, &ex->mock)) != BURROW_RESULT_OK)
        example_die("burrow_mock_cluster_new", r, NULL);
    ex->brokers = burrow_mock_cluster_bootstrap(ex->mock);
    if ((r = burrow_mock_cluster_create_topic(ex->mock, ex->topic, partitions)) != BURROW_RESULT_OK)
        example_die("burrow_mock_cluster_create_topic", r, NULL);
    for (i = 0; i < demo_messages; i++) {
        char key[32], value[32];
        int klen = snprintf(key, sizeof key, "user-%ld", i % keys);
        int vlen = snprintf(value, sizeof value, "order-%ld", i);
        r = burrow_mock_cluster_produce(ex->mock, ex->topic, -1 /* partition by key */,
                                        (const uint8_t *)key, (size_t)klen, (const uint8_t *)value,
                                        (size_t)vlen, NULL, 0);
        if (r != BURROW_RESULT_OK) example_die("burrow_mock_cluster_produce", r, NULL);
    }
    if ((r = burrow_mock_cluster_flush(ex->mock, 30000)) != BURROW_RESULT_OK)
        example_die("burrow_mock_cluster_flush", r, NULL);
    if (ex->count == 0) ex->count = demo_messages;
    printf("%s: no --brokers given: using an in-process mock Kafka with %ld records in %s "
           "(%d partitions)\n", name, demo_messages, ex->topic, partitions);
}

/* A config with the connection, the group, and reading from the start of the topic. */
static inline burrow_config *example_config(const struct example *ex) {
    char err[512];
    burrow_config *config = burrow_config_new();
    burrow_result r;
    if ((r = burrow_config_set(config, "bootstrap.servers", ex->brokers, err, sizeof err)) ||
        (r = burrow_config_set(config, "group.id", ex->group, err, sizeof err)) ||
        (r = burrow_config_set(config, "auto.offset.reset", "earliest", err, sizeof err)))
        example_die("burrow_config_set", r, err);
    return config;
}

/* Sets one key or exits with the library's explanation (which names the key and value). */
static inline void example_set(burrow_config *config, const char *key, const char *value) {
    char err[512];
    burrow_result r = burrow_config_set(config, key, value, err, sizeof err);
    if (r != BURROW_RESULT_OK) example_die("burrow_config_set", r, err);
}

/*
 * Ctrl-C: signals are blocked in every thread (see example_block_signals) and one thread waits
 * for them with sigwait, then calls burrow_pool_stop - an ordinary function call, not one made
 * from a signal handler.
 */
static inline void *example_signal_thread(void *arg) {
    burrow_pool *pool = (burrow_pool *)arg;
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigwait(&set, &sig) == 0) {
        fprintf(stderr, "\nsignal %d: stopping (finishing messages in flight, committing)\n", sig);
        burrow_pool_stop(pool);
    }
    return NULL;
}

static inline void example_watch_signals(burrow_pool *pool) {
    pthread_t t;
    pthread_create(&t, NULL, example_signal_thread, pool);
    pthread_detach(t);
}

static inline double example_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void example_sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Frees the mock cluster, if any. Call after every pool is freed. */
static inline void example_finish(struct example *ex) {
    burrow_mock_cluster_free(ex->mock);
    ex->mock = NULL;
}

#endif /* BURROW_EXAMPLE_COMMON_H */
