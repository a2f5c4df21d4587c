/*
 * Tests of the Burrow C API, written as a C user would use it. Compiled as C11 and as C++17
 * (-Wall -Wextra -Werror), run under AddressSanitizer and under valgrind (see ../Makefile).
 *
 * Every pool runs against an in-process mock Kafka cluster (burrow_mock_cluster_*), and the
 * tests check what the cluster holds (committed offsets, dead-lettered records), not only what
 * the library reports about itself. Misuse (NULLs, run twice, run after stop, free while
 * running, free(NULL), bad configuration) must give the documented result codes.
 */
#include <burrow.h>
#include <burrow.h> /* included twice on purpose: the include guard must hold */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- a tiny test harness ---------------------------------------------------------------- */

static int checks_passed, checks_failed;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (cond) {                                                                       \
            checks_passed++;                                                              \
        } else {                                                                          \
            checks_failed++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                                 \
    } while (0)

#define CHECK_RESULT(expr, expected)                                                      \
    do {                                                                                  \
        burrow_result r_ = (expr);                                                        \
        if (r_ == (burrow_result)(expected)) {                                            \
            checks_passed++;                                                              \
        } else {                                                                          \
            checks_failed++;                                                              \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %s\n", __FILE__,        \
                    __LINE__, #expr, (unsigned)r_, burrow_result_message(r_), #expected); \
        }                                                                                 \
    } while (0)

static burrow_mock_cluster *cluster;

/* ---- log callback: counts events, remembers whether some text was seen ------------------- */

struct log_sink {
    pthread_mutex_t lock;
    int events;
    int deferred_misuse_seen; /* the error logged for DEFERRED without burrow_message_defer */
};

static struct log_sink logs = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

static void on_log(void *userdata, burrow_log_level level, const char *target,
                   const char *message) {
    struct log_sink *s = (struct log_sink *)userdata;
    (void)level;
    (void)target;
    pthread_mutex_lock(&s->lock);
    s->events++;
    if (strstr(message, "returned BURROW_OUTCOME_DEFERRED without") != NULL)
        s->deferred_misuse_seen++;
    pthread_mutex_unlock(&s->lock);
    if (getenv("TEST_VERBOSE_LOGS") != NULL)
        fprintf(stderr, "[log %d %s] %s\n", level, target, message);
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* A config for the mock cluster: fast commits, earliest offsets. extra = {key, value, ..., NULL} */
static burrow_config *test_config(const char *group, const char *const *extra) {
    burrow_config *c = burrow_config_new();
    char err[512];
    const char *base[] = {"bootstrap.servers", burrow_mock_cluster_bootstrap(cluster),
                          "group.id", group,
                          "auto.offset.reset", "earliest",
                          "burrow.commit.interval.ms", "100",
                          "burrow.retry.backoff.ms", "10",
                          "burrow.shutdown.timeout.ms", "5000",
                          NULL};
    size_t i;
    for (i = 0; base[i] != NULL; i += 2)
        CHECK_RESULT(burrow_config_set(c, base[i], base[i + 1], err, sizeof err), BURROW_RESULT_OK);
    for (i = 0; extra != NULL && extra[i] != NULL; i += 2)
        CHECK_RESULT(burrow_config_set(c, extra[i], extra[i + 1], err, sizeof err), BURROW_RESULT_OK);
    return c;
}

static burrow_pool *test_pool(const char *group, const char *topic, const char *const *extra) {
    burrow_config *c = test_config(group, extra);
    burrow_pool *pool = NULL;
    char err[512] = "";
    const char *topics[1];
    topics[0] = topic;
    CHECK_RESULT(burrow_pool_new(c, err, sizeof err, &pool), BURROW_RESULT_OK);
    burrow_config_free(c); /* the pool keeps its own copy */
    if (pool == NULL) {
        fprintf(stderr, "burrow_pool_new: %s\n", err);
        exit(2);
    }
    CHECK_RESULT(burrow_pool_subscribe(pool, topics, 1, err, sizeof err), BURROW_RESULT_OK);
    return pool;
}

/* Produces n records: record i goes to partition i % partitions, value "<i>", header idx=<i>,
 * key "k<i % 7>" except every fifth record, which has no key. Record 0 also has a null header. */
static void produce(const char *topic, int partitions, int n) {
    int i;
    CHECK_RESULT(burrow_mock_cluster_create_topic(cluster, topic, partitions), BURROW_RESULT_OK);
    for (i = 0; i < n; i++) {
        char key[16], value[16];
        burrow_mock_header h[2];
        int klen = snprintf(key, sizeof key, "k%d", i % 7);
        int vlen = snprintf(value, sizeof value, "%d", i);
        h[0].name = "idx";
        h[0].name_len = 3;
        h[0].value = (const uint8_t *)value;
        h[0].value_len = (size_t)vlen;
        h[1].name = "nullh";
        h[1].name_len = 5;
        h[1].value = NULL;
        h[1].value_len = 0;
        CHECK_RESULT(burrow_mock_cluster_produce(
                         cluster, topic, i % partitions,
                         i % 5 == 4 ? NULL : (const uint8_t *)key, i % 5 == 4 ? 0 : (size_t)klen,
                         (const uint8_t *)value, (size_t)vlen, h, i == 0 ? 2 : 1),
                     BURROW_RESULT_OK);
    }
    CHECK_RESULT(burrow_mock_cluster_flush(cluster, 30000), BURROW_RESULT_OK);
}

static int64_t committed(const char *group, const char *topic, int partition) {
    int64_t off = -2;
    CHECK_RESULT(burrow_mock_cluster_committed(cluster, group, topic, partition, 10000, &off),
                 BURROW_RESULT_OK);
    return off;
}

/* Parses the decimal value of a message (our records' values are "<i>"). */
static long value_of(const burrow_message *msg) {
    const uint8_t *v = NULL;
    size_t len = 0;
    char buf[32];
    if (burrow_message_value(msg, &v, &len) != BURROW_RESULT_OK || v == NULL || len >= sizeof buf)
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return strtol(buf, NULL, 10);
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ---- version and result codes ------------------------------------------------------------- */

static void test_version_and_results(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", BURROW_VERSION_MAJOR, BURROW_VERSION_MINOR,
             BURROW_VERSION_PATCH);
    CHECK(strcmp(burrow_version(), expected) == 0);
    CHECK(BURROW_RESULT_OK == 0);
    CHECK(strcmp(burrow_result_message(BURROW_RESULT_OK), "ok") == 0);
    CHECK(strstr(burrow_result_message(BURROW_RESULT_BUSY), "stop") != NULL);
    CHECK(strcmp(burrow_result_message(12345), "unknown result code") == 0);
    CHECK(burrow_result_message(BURROW_RESULT_UNAVAILABLE) != NULL);
}

/* ---- configuration ------------------------------------------------------------------------ */

static void test_config_errors(void) {
    burrow_config *c = burrow_config_new();
    char err[512];
    char tiny[8];
    burrow_pool *pool = (burrow_pool *)0x1; /* must stay untouched on failure */

    CHECK(c != NULL);
    CHECK_RESULT(burrow_config_set(c, "burrow.workers", "4", err, sizeof err), BURROW_RESULT_OK);

    /* unknown burrow key: the message names the key and lists the known ones */
    err[0] = '\0';
    CHECK_RESULT(burrow_config_set(c, "burrow.wrokers", "5", err, sizeof err), BURROW_RESULT_CONFIG);
    CHECK(strstr(err, "burrow.wrokers") != NULL);
    CHECK(strstr(err, "burrow.workers") != NULL);

    /* bad value: names key, value and what is allowed */
    err[0] = '\0';
    CHECK_RESULT(burrow_config_set(c, "burrow.workers", "lots", err, sizeof err), BURROW_RESULT_CONFIG);
    CHECK(strstr(err, "burrow.workers") != NULL);
    CHECK(strstr(err, "lots") != NULL);
    CHECK(strstr(err, "integer") != NULL);

    err[0] = '\0';
    CHECK_RESULT(burrow_config_set(c, "burrow.ordering", "random", err, sizeof err), BURROW_RESULT_CONFIG);
    CHECK(strstr(err, "unordered, key, partition") != NULL);

    /* unknown librdkafka key */
    err[0] = '\0';
    CHECK_RESULT(burrow_config_set(c, "bootstrap.servesr", "x", err, sizeof err), BURROW_RESULT_CONFIG);
    CHECK(strstr(err, "bootstrap.servesr") != NULL);

    /* auto commit cannot be turned on */
    CHECK_RESULT(burrow_config_set(c, "enable.auto.commit", "true", err, sizeof err), BURROW_RESULT_CONFIG);
    CHECK(strstr(err, "must be false") != NULL);

    /* secrets are never echoed */
    err[0] = '\0';
    CHECK_RESULT(burrow_config_set(c, "burrow.sasl.password", "hunter2", err, sizeof err), BURROW_RESULT_CONFIG);
    CHECK(strstr(err, "hunter2") == NULL);

    /* errstr: optional, truncated and always NUL-terminated */
    CHECK_RESULT(burrow_config_set(c, "burrow.workers", "lots", NULL, 0), BURROW_RESULT_CONFIG);
    memset(tiny, 'x', sizeof tiny);
    CHECK_RESULT(burrow_config_set(c, "burrow.workers", "lots", tiny, sizeof tiny), BURROW_RESULT_CONFIG);
    CHECK(strlen(tiny) == sizeof tiny - 1);

    /* not UTF-8 */
    CHECK_RESULT(burrow_config_set(c, "burrow.workers", "\xff\xfe", err, sizeof err),
                 BURROW_RESULT_INVALID_ARGUMENT);

    /* NULLs */
    CHECK_RESULT(burrow_config_set(NULL, "burrow.workers", "4", err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_config_set(c, NULL, "4", err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_config_set(c, "burrow.workers", NULL, err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);

    /* a pool needs a group.id: error names it, out-param untouched */
    err[0] = '\0';
    CHECK_RESULT(burrow_pool_new(c, err, sizeof err, &pool), BURROW_RESULT_CONFIG);
    CHECK(strstr(err, "group.id") != NULL);
    CHECK(pool == (burrow_pool *)0x1);
    CHECK_RESULT(burrow_pool_new(NULL, err, sizeof err, &pool), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_new(c, err, sizeof err, NULL), BURROW_RESULT_NULL_ARGUMENT);

    burrow_config_free(c);
    burrow_config_free(NULL); /* no-op */
}

/* ---- NULL arguments everywhere ------------------------------------------------------------ */

static burrow_outcome never_called(void *userdata, const burrow_message *msg) {
    (void)userdata;
    (void)msg;
    return BURROW_OUTCOME_DONE;
}

static void test_null_arguments(void) {
    const char *s = NULL;
    size_t n = 0;
    const uint8_t *b = NULL;
    burrow_timestamp_type t = 0;
    int64_t ms = 0;
    burrow_completion *comp = NULL;
    burrow_stats st;
    char *text = NULL;
    const char *topics[1] = {NULL};
    char err[128];

    /* message accessors */
    CHECK_RESULT(burrow_message_topic(NULL, &s, &n), BURROW_RESULT_NULL_ARGUMENT);
    CHECK(burrow_message_partition(NULL) == -1);
    CHECK(burrow_message_offset(NULL) == -1);
    CHECK(burrow_message_attempt(NULL) == 0);
    CHECK_RESULT(burrow_message_key(NULL, &b, &n), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_message_value(NULL, &b, &n), BURROW_RESULT_NULL_ARGUMENT);
    CHECK(burrow_message_header_count(NULL) == 0);
    CHECK_RESULT(burrow_message_header(NULL, 0, &s, &n, &b, &n), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_message_timestamp(NULL, &t, &ms), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_message_set_error(NULL, "x", 1), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_message_defer(NULL, &comp), BURROW_RESULT_NULL_ARGUMENT);

    /* completions */
    CHECK(burrow_completion_message(NULL) == NULL);
    CHECK_RESULT(burrow_completion_complete(NULL, BURROW_OUTCOME_DONE, NULL, 0), BURROW_RESULT_NULL_ARGUMENT);
    burrow_completion_free(NULL);

    /* pools */
    CHECK_RESULT(burrow_pool_subscribe(NULL, topics, 1, err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_run(NULL, never_called, NULL, err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_stop(NULL), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_free(NULL), BURROW_RESULT_OK); /* free(NULL) is a no-op */
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_RESULT(burrow_pool_stats(NULL, &st), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_metrics_text(NULL, &text, &n), BURROW_RESULT_NULL_ARGUMENT);
    burrow_string_free(NULL);

    /* mock cluster */
    CHECK_RESULT(burrow_mock_cluster_new(1, NULL), BURROW_RESULT_NULL_ARGUMENT);
    CHECK(burrow_mock_cluster_bootstrap(NULL) == NULL);
    CHECK_RESULT(burrow_mock_cluster_create_topic(NULL, "t", 1), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_mock_cluster_produce(cluster, "t", 0, NULL, 0, NULL, 0, NULL, 1),
                 BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_mock_cluster_flush(NULL, 0), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_mock_cluster_committed(cluster, NULL, "t", 0, 0, &ms), BURROW_RESULT_NULL_ARGUMENT);
    burrow_mock_cluster_free(NULL);

    /* log callback: bad level */
    CHECK_RESULT(burrow_set_log_callback(on_log, &logs, 99), BURROW_RESULT_INVALID_ARGUMENT);
}

/* ---- lifecycle misuse: stop before run, run twice, NULL callback, free after -------------- */

static void test_lifecycle_misuse(void) {
    char err[256];
    burrow_pool *pool = test_pool("g-lifecycle", "lifecycle", NULL);
    const char *none[1] = {"x"};
    burrow_stats st;

    CHECK_RESULT(burrow_pool_subscribe(pool, none, 0, err, sizeof err), BURROW_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(burrow_pool_subscribe(pool, NULL, 1, err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);

    /* a NULL callback is refused without starting the run */
    CHECK_RESULT(burrow_pool_run(pool, NULL, NULL, err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);

    /* stats: struct_size too small is refused; a shorter (older) struct is filled partially */
    memset(&st, 0, sizeof st);
    st.struct_size = 4;
    CHECK_RESULT(burrow_pool_stats(pool, &st), BURROW_RESULT_INVALID_ARGUMENT);
    memset(&st, 0xAB, sizeof st);
    st.struct_size = (uint32_t)offsetof(burrow_stats, messages_retried);
    CHECK_RESULT(burrow_pool_stats(pool, &st), BURROW_RESULT_OK);
    CHECK(st.messages_processed == 0 && st.messages_failed == 0);
    CHECK(st.messages_retried == 0xABABABABABABABABull); /* beyond struct_size: untouched */
    CHECK(st.struct_size == (uint32_t)offsetof(burrow_stats, messages_retried));
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_RESULT(burrow_pool_stats(pool, &st), BURROW_RESULT_OK);
    CHECK(st.workers == 10); /* default burrow.workers */

    /* stop before run: run returns OK at once, without calling the callback */
    CHECK_RESULT(burrow_pool_stop(pool), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_stop(pool), BURROW_RESULT_OK); /* again: no-op */
    CHECK_RESULT(burrow_pool_run(pool, never_called, NULL, err, sizeof err), BURROW_RESULT_OK);

    /* run twice */
    err[0] = '\0';
    CHECK_RESULT(burrow_pool_run(pool, never_called, NULL, err, sizeof err), BURROW_RESULT_ALREADY_RUN);
    CHECK(strstr(err, "already run") != NULL);
    /* subscribe after the run: closed */
    CHECK_RESULT(burrow_pool_subscribe(pool, none, 1, err, sizeof err), BURROW_RESULT_CLOSED);
    CHECK_RESULT(burrow_pool_stop(pool), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_free(pool), BURROW_RESULT_OK);

    /* a pool that is freed without ever running */
    pool = test_pool("g-lifecycle2", "lifecycle", NULL);
    CHECK_RESULT(burrow_pool_free(pool), BURROW_RESULT_OK);
}

/* ---- happy path: every message once, accessors, stop from the callback, free while running */

#define HAPPY_N 300
#define HAPPY_PARTITIONS 3

struct happy {
    pthread_mutex_t lock;
    burrow_pool *pool;
    int seen[HAPPY_N];
    int distinct;
    int bad;             /* accessor mismatches */
    int inside_checks;   /* free / run from inside a callback, done once */
    int inside_ok;
    pthread_cond_t probed; /* the first callback waits until the prober thread is done */
    int probe_done;
};

static burrow_outcome happy_process(void *userdata, const burrow_message *msg) {
    struct happy *h = (struct happy *)userdata;
    const char *topic = NULL, *hname = NULL;
    size_t topic_len = 0, klen = 0, hname_len = 0, hvlen = 0;
    const uint8_t *key = NULL, *hval = NULL;
    burrow_timestamp_type ttype = 0;
    int64_t ts = 0;
    long idx = value_of(msg);
    int bad = 0;
    char expected_key[16], hbuf[16];
    int eklen;

    if (burrow_message_topic(msg, &topic, &topic_len) != BURROW_RESULT_OK || topic_len != 5 ||
        memcmp(topic, "happy", 5) != 0)
        bad++;
    if (idx < 0 || idx >= HAPPY_N) {
        bad++;
        idx = 0;
    }
    if (burrow_message_partition(msg) != idx % HAPPY_PARTITIONS) bad++;
    if (burrow_message_offset(msg) != idx / HAPPY_PARTITIONS) bad++;
    if (burrow_message_attempt(msg) != 1) bad++;
    if (burrow_message_key(msg, &key, &klen) != BURROW_RESULT_OK) bad++;
    eklen = snprintf(expected_key, sizeof expected_key, "k%ld", idx % 7);
    if (idx % 5 == 4) {
        if (key != NULL || klen != 0) bad++;
    } else if (key == NULL || klen != (size_t)eklen || memcmp(key, expected_key, klen) != 0) {
        bad++;
    }
    if (burrow_message_header_count(msg) != (idx == 0 ? 2u : 1u)) bad++;
    if (burrow_message_header(msg, 0, &hname, &hname_len, &hval, &hvlen) != BURROW_RESULT_OK ||
        hname_len != 3 || memcmp(hname, "idx", 3) != 0 || hval == NULL || hvlen < 1 ||
        hvlen >= sizeof hbuf) {
        bad++;
    } else { /* header values are not NUL-terminated: copy before parsing */
        memcpy(hbuf, hval, hvlen);
        hbuf[hvlen] = '\0';
        if (strtol(hbuf, NULL, 10) != idx) bad++;
    }
    if (idx == 0 && (burrow_message_header(msg, 1, &hname, &hname_len, &hval, &hvlen) != BURROW_RESULT_OK ||
                     hval != NULL || hvlen != 0))
        bad++;
    if (burrow_message_header(msg, 5, &hname, &hname_len, &hval, &hvlen) != BURROW_RESULT_OUT_OF_RANGE) bad++;
    if (burrow_message_timestamp(msg, &ttype, &ts) != BURROW_RESULT_OK ||
        ttype != BURROW_TIMESTAMP_CREATE_TIME || ts <= 0)
        bad++;
    if (burrow_message_topic(msg, NULL, &topic_len) != BURROW_RESULT_NULL_ARGUMENT) bad++;

    pthread_mutex_lock(&h->lock);
    h->bad += bad;
    if (h->seen[idx]++ == 0) h->distinct++;
    if (!h->inside_checks) {
        char err[128];
        struct timespec until;
        h->inside_checks = 1;
        /* from inside a callback: free is refused, run is refused */
        h->inside_ok = burrow_pool_free(h->pool) == BURROW_RESULT_BUSY &&
                       burrow_pool_run(h->pool, happy_process, h, err, sizeof err) ==
                           BURROW_RESULT_ALREADY_RUN;
        /* hold this callback (so the pool is surely running) until the prober has probed */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 30;
        while (!h->probe_done)
            if (pthread_cond_timedwait(&h->probed, &h->lock, &until) != 0) break;
    }
    if (h->distinct == HAPPY_N) burrow_pool_stop(h->pool); /* stop from inside a callback */
    pthread_mutex_unlock(&h->lock);
    return BURROW_OUTCOME_DONE;
}

struct prober {
    struct happy *h;
    int free_busy, run_already, stats_ok;
};

/* Another thread: while the pool runs, free is refused and run is refused; stats work. */
static void *probe_running_pool(void *arg) {
    struct prober *p = (struct prober *)arg;
    int started = 0, i;
    char err[128];
    burrow_stats st;
    for (i = 0; i < 6000 && !started; i++) { /* wait for the first callback (it then waits) */
        pthread_mutex_lock(&p->h->lock);
        started = p->h->inside_checks;
        pthread_mutex_unlock(&p->h->lock);
        if (!started) sleep_ms(5);
    }
    if (started) {
        p->free_busy = burrow_pool_free(p->h->pool) == BURROW_RESULT_BUSY;
        p->run_already = burrow_pool_run(p->h->pool, happy_process, p->h, err, sizeof err) ==
                         BURROW_RESULT_ALREADY_RUN;
        memset(&st, 0, sizeof st);
        st.struct_size = sizeof st;
        p->stats_ok = burrow_pool_stats(p->h->pool, &st) == BURROW_RESULT_OK && st.workers == 8 &&
                      st.workers_busy >= 1;
    }
    pthread_mutex_lock(&p->h->lock);
    p->h->probe_done = 1;
    pthread_cond_broadcast(&p->h->probed);
    pthread_mutex_unlock(&p->h->lock);
    return NULL;
}

static void test_happy_path(void) {
    static struct happy h; /* large: not on the stack */
    struct prober p;
    pthread_t prober_thread;
    const char *extra[] = {"burrow.workers", "8", "burrow.metrics", "true", NULL};
    char err[256] = "";
    burrow_stats st;
    char *text = NULL;
    size_t text_len = 0;
    int i, once = 1, p_;

    produce("happy", HAPPY_PARTITIONS, HAPPY_N);
    memset(&h, 0, sizeof h);
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.probed, NULL);
    h.pool = test_pool("g-happy", "happy", extra);
    memset(&p, 0, sizeof p);
    p.h = &h;
    pthread_create(&prober_thread, NULL, probe_running_pool, &p);

    CHECK_RESULT(burrow_pool_run(h.pool, happy_process, &h, err, sizeof err), BURROW_RESULT_OK);
    pthread_join(prober_thread, NULL);

    CHECK(h.distinct == HAPPY_N);
    for (i = 0; i < HAPPY_N; i++) once = once && h.seen[i] == 1;
    CHECK(once); /* no failure, no rebalance: each message exactly once */
    CHECK(h.bad == 0);
    CHECK(h.inside_ok);
    CHECK(p.free_busy);
    CHECK(p.run_already);
    CHECK(p.stats_ok);

    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_RESULT(burrow_pool_stats(h.pool, &st), BURROW_RESULT_OK);
    CHECK(st.messages_processed == HAPPY_N);
    CHECK(st.messages_failed == 0);
    CHECK(st.offsets_committed > 0);

    CHECK_RESULT(burrow_pool_metrics_text(h.pool, &text, &text_len), BURROW_RESULT_OK);
    CHECK(text != NULL && strlen(text) == text_len);
    CHECK(text != NULL && strstr(text, "burrow_messages_processed_total") != NULL);
    burrow_string_free(text);

    /* what the cluster holds: everything committed */
    for (p_ = 0; p_ < HAPPY_PARTITIONS; p_++)
        CHECK(committed("g-happy", "happy", p_) == HAPPY_N / HAPPY_PARTITIONS);

    /* after the run: run again is refused, free works */
    CHECK_RESULT(burrow_pool_run(h.pool, happy_process, &h, err, sizeof err), BURROW_RESULT_ALREADY_RUN);
    CHECK_RESULT(burrow_pool_free(h.pool), BURROW_RESULT_OK);
    pthread_cond_destroy(&h.probed);
    pthread_mutex_destroy(&h.lock);
}

/* ---- outcomes: retry, fail, deferred from another thread, and outcome misuse -------------- */

#define OUT_N 40

struct pending {
    burrow_completion *c;
    long offset;
};

struct outcomes {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    burrow_pool *pool;
    struct pending queue[OUT_N * 4];
    int head, tail, quit;
    int max_attempt[OUT_N];
    int finished[OUT_N]; /* done or permanently failed */
    int finished_count;
    int bad;
};

static void finish_offset(struct outcomes *o, long offset) {
    /* caller holds the lock */
    if (!o->finished[offset]++) {
        if (++o->finished_count == OUT_N) burrow_pool_stop(o->pool);
    }
}

/* The "event loop" thread that completes deferred messages later. */
static void *completer(void *arg) {
    struct outcomes *o = (struct outcomes *)arg;
    pthread_mutex_lock(&o->lock);
    for (;;) {
        struct pending p;
        const burrow_message *m;
        uint32_t attempt;
        int bad, done;
        while (o->head == o->tail && !o->quit) pthread_cond_wait(&o->wake, &o->lock);
        if (o->head == o->tail) break;
        p = o->queue[o->head++ % (OUT_N * 4)];
        pthread_mutex_unlock(&o->lock);

        sleep_ms(2); /* the work happens "later" */
        m = burrow_completion_message(p.c);
        attempt = burrow_message_attempt(m);
        bad = m == NULL || burrow_message_offset(m) != p.offset;
        if (p.offset == 1 && attempt == 1) {
            /* misuse: DEFERRED is not a final outcome; counts as a retriable failure */
            bad += burrow_completion_complete(p.c, BURROW_OUTCOME_DEFERRED, NULL, 0) !=
                   BURROW_RESULT_INVALID_ARGUMENT;
            done = 0;
        } else if (p.offset % 8 == 6 && attempt == 1) {
            bad += burrow_completion_complete(p.c, BURROW_OUTCOME_RETRY, "later", 5) != BURROW_RESULT_OK;
            done = 0;
        } else {
            bad += burrow_completion_complete(p.c, BURROW_OUTCOME_DONE, NULL, 0) != BURROW_RESULT_OK;
            done = 1;
        }
        pthread_mutex_lock(&o->lock);
        o->bad += bad;
        if (done) finish_offset(o, p.offset);
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

static burrow_outcome outcomes_process(void *userdata, const burrow_message *msg) {
    struct outcomes *o = (struct outcomes *)userdata;
    long off = (long)burrow_message_offset(msg);
    uint32_t attempt = burrow_message_attempt(msg);
    burrow_completion *c = NULL, *again = NULL;
    burrow_outcome result = BURROW_OUTCOME_DONE;
    int bad = 0;

    if (off < 0 || off >= OUT_N) return BURROW_OUTCOME_FAIL;
    pthread_mutex_lock(&o->lock);
    if ((int)attempt > o->max_attempt[off]) o->max_attempt[off] = (int)attempt;
    pthread_mutex_unlock(&o->lock);

    switch (off % 8) {
    case 0: /* retriable failure once, then done */
        if (attempt == 1) {
            burrow_message_set_error(msg, "flaky", 5);
            return BURROW_OUTCOME_RETRY;
        }
        break;
    case 1: /* deferred, completed by the other thread */
    case 6:
        bad += burrow_message_defer(msg, &c) != BURROW_RESULT_OK;
        bad += burrow_message_defer(msg, &again) != BURROW_RESULT_ALREADY_DEFERRED;
        bad += burrow_message_defer(burrow_completion_message(c), &again) !=
               BURROW_RESULT_ALREADY_DEFERRED;
        bad += again != NULL;
        pthread_mutex_lock(&o->lock);
        o->bad += bad;
        o->queue[o->tail % (OUT_N * 4)].c = c;
        o->queue[o->tail % (OUT_N * 4)].offset = off;
        o->tail++;
        pthread_cond_signal(&o->wake);
        pthread_mutex_unlock(&o->lock);
        return BURROW_OUTCOME_DEFERRED;
    case 2: /* misuse: DEFERRED without deferring = retriable failure */
        if (attempt == 1) return BURROW_OUTCOME_DEFERRED;
        break;
    case 3: /* misuse: an outcome that does not exist = retriable failure */
        if (attempt == 1) return (burrow_outcome)42;
        break;
    case 4: /* deferred, then given up at once: retriable failure */
        if (attempt == 1) {
            bad += burrow_message_defer(msg, &c) != BURROW_RESULT_OK;
            burrow_completion_free(c);
            pthread_mutex_lock(&o->lock);
            o->bad += bad;
            pthread_mutex_unlock(&o->lock);
            return BURROW_OUTCOME_DEFERRED;
        }
        break;
    case 5: /* permanent failure: skipped by policy, never retried */
        burrow_message_set_error(msg, "bad record", 10);
        result = BURROW_OUTCOME_FAIL;
        break;
    default:
        break;
    }
    pthread_mutex_lock(&o->lock);
    finish_offset(o, off);
    pthread_mutex_unlock(&o->lock);
    return result;
}

static void test_outcomes(void) {
    static struct outcomes o;
    pthread_t thread;
    const char *extra[] = {"burrow.workers", "4", "burrow.max.retries", "5",
                           "burrow.on.failure", "skip", NULL};
    char err[256] = "";
    burrow_stats st;
    int i, events_before;

    produce("outcomes", 1, OUT_N);
    memset(&o, 0, sizeof o);
    pthread_mutex_init(&o.lock, NULL);
    pthread_cond_init(&o.wake, NULL);
    o.pool = test_pool("g-outcomes", "outcomes", extra);
    pthread_create(&thread, NULL, completer, &o);
    pthread_mutex_lock(&logs.lock);
    events_before = logs.deferred_misuse_seen;
    pthread_mutex_unlock(&logs.lock);

    CHECK_RESULT(burrow_pool_run(o.pool, outcomes_process, &o, err, sizeof err), BURROW_RESULT_OK);

    pthread_mutex_lock(&o.lock);
    o.quit = 1;
    pthread_cond_signal(&o.wake);
    pthread_mutex_unlock(&o.lock);
    pthread_join(thread, NULL);

    CHECK(o.bad == 0);
    CHECK(o.finished_count == OUT_N);
    for (i = 0; i < OUT_N; i++) {
        int expect = (i % 8 == 5 || i % 8 == 7 || (i % 8 == 1 && i != 1)) ? 1 : 2;
        if (o.max_attempt[i] != expect) {
            fprintf(stderr, "offset %d: %d attempts, expected %d\n", i, o.max_attempt[i], expect);
            CHECK(o.max_attempt[i] == expect);
        }
    }
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_RESULT(burrow_pool_stats(o.pool, &st), BURROW_RESULT_OK);
    CHECK(st.messages_failed == OUT_N / 8);  /* offsets 5, 13, 21, 29, 37 */
    CHECK(st.messages_skipped == OUT_N / 8);
    CHECK(st.messages_retried == 5 * (OUT_N / 8) + 1);
    CHECK(committed("g-outcomes", "outcomes", 0) == OUT_N);
    pthread_mutex_lock(&logs.lock);
    CHECK(logs.deferred_misuse_seen > events_before); /* the misuse was logged */
    pthread_mutex_unlock(&logs.lock);

    CHECK_RESULT(burrow_pool_free(o.pool), BURROW_RESULT_OK);
    pthread_cond_destroy(&o.wake);
    pthread_mutex_destroy(&o.lock);
}

/* ---- dead letter: error text of a failure travels to the dead-letter copy ----------------- */

struct dl_reader {
    pthread_mutex_t lock;
    burrow_pool *pool;
    int seen;
    char error[64];
    char origin_offset[16];
};

static burrow_outcome dl_source(void *userdata, const burrow_message *msg) {
    int64_t off = burrow_message_offset(msg);
    (void)userdata;
    if (off == 2) {
        burrow_message_set_error(msg, "bad payload 2 and more", 13); /* only the first 13 bytes */
        return BURROW_OUTCOME_FAIL;
    }
    if (off == 4) burrow_pool_stop((burrow_pool *)userdata);
    return BURROW_OUTCOME_DONE;
}

static void copy_header(const burrow_message *msg, const char *name, char *out, size_t out_size) {
    size_t i, n = burrow_message_header_count(msg);
    for (i = 0; i < n; i++) {
        const char *hn;
        size_t hn_len, hv_len;
        const uint8_t *hv;
        if (burrow_message_header(msg, i, &hn, &hn_len, &hv, &hv_len) == BURROW_RESULT_OK &&
            hn_len == strlen(name) && memcmp(hn, name, hn_len) == 0 && hv != NULL &&
            hv_len < out_size) {
            memcpy(out, hv, hv_len);
            out[hv_len] = '\0';
        }
    }
}

static burrow_outcome dl_reader_process(void *userdata, const burrow_message *msg) {
    struct dl_reader *r = (struct dl_reader *)userdata;
    pthread_mutex_lock(&r->lock);
    r->seen++;
    copy_header(msg, "burrow.error", r->error, sizeof r->error);
    copy_header(msg, "burrow.origin.offset", r->origin_offset, sizeof r->origin_offset);
    burrow_pool_stop(r->pool);
    pthread_mutex_unlock(&r->lock);
    return BURROW_OUTCOME_DONE;
}

static void test_dead_letter(void) {
    const char *extra[] = {"burrow.workers", "1", "burrow.ordering", "partition",
                           "burrow.on.failure", "dead-letter", "burrow.dead.letter.topic", "dlq",
                           "burrow.max.retries", "0", NULL};
    char err[256] = "";
    burrow_pool *pool;
    struct dl_reader r;

    produce("dl-source", 1, 5);
    CHECK_RESULT(burrow_mock_cluster_create_topic(cluster, "dlq", 1), BURROW_RESULT_OK);
    pool = test_pool("g-dl", "dl-source", extra);
    CHECK_RESULT(burrow_pool_run(pool, dl_source, pool, err, sizeof err), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_free(pool), BURROW_RESULT_OK);
    CHECK(committed("g-dl", "dl-source", 0) == 5);

    /* read the dead-letter topic back with another pool */
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.lock, NULL);
    r.pool = test_pool("g-dl-reader", "dlq", NULL);
    CHECK_RESULT(burrow_pool_run(r.pool, dl_reader_process, &r, err, sizeof err), BURROW_RESULT_OK);
    CHECK(r.seen >= 1);
    CHECK(strcmp(r.error, "bad payload 2") == 0);
    CHECK(strcmp(r.origin_offset, "2") == 0);
    CHECK_RESULT(burrow_pool_free(r.pool), BURROW_RESULT_OK);
    pthread_mutex_destroy(&r.lock);
}

/* ---- a completion may outlive its pool; an unfinished message is never committed past ---- */

struct keeper {
    pthread_mutex_t lock;
    burrow_pool *pool;
    burrow_completion *kept;
    int done;
};

static burrow_outcome keep_first(void *userdata, const burrow_message *msg) {
    struct keeper *k = (struct keeper *)userdata;
    burrow_outcome out = BURROW_OUTCOME_DONE;
    pthread_mutex_lock(&k->lock);
    if (burrow_message_offset(msg) == 0 && k->kept == NULL) {
        if (burrow_message_defer(msg, &k->kept) == BURROW_RESULT_OK) out = BURROW_OUTCOME_DEFERRED;
    } else if (burrow_message_offset(msg) > 0) {
        k->done++;
    }
    if (k->kept != NULL && k->done == 2) burrow_pool_stop(k->pool);
    pthread_mutex_unlock(&k->lock);
    return out;
}

static void test_completion_outlives_pool(void) {
    const char *extra[] = {"burrow.workers", "2", "burrow.shutdown.timeout.ms", "200", NULL};
    char err[256] = "";
    struct keeper k;
    const burrow_message *m;
    const uint8_t *v = NULL;
    size_t vlen = 0;

    produce("outlive", 1, 3);
    memset(&k, 0, sizeof k);
    pthread_mutex_init(&k.lock, NULL);
    k.pool = test_pool("g-outlive", "outlive", extra);
    CHECK_RESULT(burrow_pool_run(k.pool, keep_first, &k, err, sizeof err), BURROW_RESULT_OK);
    CHECK(k.kept != NULL && k.done == 2);
    /* offset 0 never finished: the commit may not pass it, though offsets 1 and 2 are done
     * (nothing committed, or offset 0 with commit metadata recording 1 and 2) */
    CHECK(committed("g-outlive", "outlive", 0) <= 0);
    CHECK_RESULT(burrow_pool_free(k.pool), BURROW_RESULT_OK);

    /* the pool is gone; the deferred message is still readable and can be completed */
    m = burrow_completion_message(k.kept);
    CHECK(burrow_message_offset(m) == 0);
    CHECK_RESULT(burrow_message_value(m, &v, &vlen), BURROW_RESULT_OK);
    CHECK(vlen == 1 && v != NULL && v[0] == '0');
    CHECK_RESULT(burrow_completion_complete(k.kept, BURROW_OUTCOME_DONE, NULL, 0), BURROW_RESULT_OK);
    pthread_mutex_destroy(&k.lock);
}

/* ---- halt: the failure policy stops the pool; the cause is in errstr ---------------------- */

static burrow_outcome halt_process(void *userdata, const burrow_message *msg) {
    (void)userdata;
    return burrow_message_offset(msg) >= 3 ? BURROW_OUTCOME_FAIL : BURROW_OUTCOME_DONE;
}

static void test_halt(void) {
    const char *extra[] = {"burrow.workers", "1", "burrow.ordering", "partition",
                           "burrow.max.retries", "0", NULL};
    char err[256] = "";
    burrow_pool *pool;

    produce("halt", 1, 10);
    pool = test_pool("g-halt", "halt", extra);
    CHECK_RESULT(burrow_pool_run(pool, halt_process, NULL, err, sizeof err), BURROW_RESULT_HALTED);
    /* halt stops at the first permanent failure and names it */
    CHECK(strstr(err, "[0]@3 failed permanently") != NULL);
    CHECK(committed("g-halt", "halt", 0) == 3); /* everything before the first failure */
    CHECK_RESULT(burrow_pool_free(pool), BURROW_RESULT_OK);
}

/* ---- stopping callback: called once when the pool begins to stop, for any reason --------- */

struct stopping {
    pthread_mutex_t lock;
    burrow_completion *held; /* a deferred message that finishes only when the pool stops */
    int deferred;
    int calls;
    int run_returned;        /* set after burrow_pool_run returned */
    int calls_before_return; /* calls seen while burrow_pool_run had not returned */
};

static void on_stopping(void *userdata) {
    struct stopping *s = (struct stopping *)userdata;
    burrow_completion *held;
    static const char why[] = "cancelled: the pool is stopping";

    pthread_mutex_lock(&s->lock);
    s->calls++;
    if (!s->run_returned) {
        s->calls_before_return++;
    }
    held = s->held;
    s->held = NULL;
    pthread_mutex_unlock(&s->lock);
    if (held != NULL) { /* allowed inside the callback: completion functions */
        burrow_completion_complete(held, BURROW_OUTCOME_RETRY, why, sizeof why - 1);
    }
}

static burrow_outcome stopping_process(void *userdata, const burrow_message *msg) {
    struct stopping *s = (struct stopping *)userdata;
    int64_t offset = burrow_message_offset(msg);
    int waited;

    if (offset == 0) {
        burrow_completion *c = NULL;
        if (burrow_message_defer(msg, &c) != BURROW_RESULT_OK) {
            return BURROW_OUTCOME_RETRY;
        }
        pthread_mutex_lock(&s->lock);
        s->held = c;
        s->deferred = 1;
        pthread_mutex_unlock(&s->lock);
        return BURROW_OUTCOME_DEFERRED;
    }
    if (offset == 1) { /* fail (halting the pool) once offset 0 waits, bounded */
        for (waited = 0; waited < 10000; waited++) {
            int deferred;
            pthread_mutex_lock(&s->lock);
            deferred = s->deferred;
            pthread_mutex_unlock(&s->lock);
            if (deferred) {
                break;
            }
            sleep_ms(1);
        }
        return BURROW_OUTCOME_FAIL;
    }
    return BURROW_OUTCOME_DONE;
}

static void test_stopping_callback(void) {
    const char *extra[] = {"burrow.workers", "2", "burrow.max.retries", "0",
                           "burrow.shutdown.timeout.ms", "20000", NULL};
    char err[256] = "";
    struct stopping s;
    burrow_stats st;
    burrow_pool *pool;

    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    CHECK_RESULT(burrow_pool_set_stopping_callback(NULL, on_stopping, &s), BURROW_RESULT_NULL_ARGUMENT);

    /* a halt: the callback releases the deferred message at once, so the drain does not wait
     * for burrow.shutdown.timeout.ms (no shutdown timeout counted) */
    produce("stopping", 1, 10);
    pool = test_pool("g-stopping", "stopping", extra);
    CHECK_RESULT(burrow_pool_set_stopping_callback(pool, NULL, NULL), BURROW_RESULT_OK); /* removes */
    CHECK_RESULT(burrow_pool_set_stopping_callback(pool, on_stopping, &s), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_run(pool, stopping_process, &s, err, sizeof err), BURROW_RESULT_HALTED);
    pthread_mutex_lock(&s.lock);
    s.run_returned = 1;
    pthread_mutex_unlock(&s.lock);
    CHECK(strstr(err, "[0]@1 failed permanently") != NULL);
    CHECK(s.calls == 1 && s.calls_before_return == 1);
    CHECK(s.held == NULL);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_RESULT(burrow_pool_stats(pool, &st), BURROW_RESULT_OK);
    CHECK(st.shutdown_timeouts == 0);
    CHECK(st.halts == 1);
    CHECK(committed("g-stopping", "stopping", 0) <= 0); /* offset 0 never finished */
    /* once run: refused, the callback is not called again */
    CHECK_RESULT(burrow_pool_set_stopping_callback(pool, on_stopping, &s), BURROW_RESULT_ALREADY_RUN);
    CHECK_RESULT(burrow_pool_free(pool), BURROW_RESULT_OK);
    CHECK(s.calls == 1);

    /* stopped before running: still called once, before burrow_pool_run returns */
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    pool = test_pool("g-stopping2", "stopping", NULL);
    CHECK_RESULT(burrow_pool_set_stopping_callback(pool, on_stopping, &s), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_stop(pool), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_run(pool, never_called, NULL, err, sizeof err), BURROW_RESULT_OK);
    CHECK(s.calls == 1 && s.calls_before_return == 1);
    CHECK_RESULT(burrow_pool_free(pool), BURROW_RESULT_OK);
}

/* ---- a run without worker threads: the caller's threads take messages in batches --------- */

#define EXT_N 300
#define EXT_PARTITIONS 3

struct external {
    burrow_pool *pool;
    pthread_mutex_t lock;
    int seen[EXT_N];
    int distinct;
    int biggest; /* the largest batch one take returned */
    int closed;  /* takers that saw BURROW_RESULT_CLOSED */
    int bad;
};

static void *taker(void *arg) {
    struct external *e = (struct external *)arg;
    burrow_completion *batch[32];
    for (;;) {
        size_t n = 99, i;
        burrow_result rc = burrow_pool_take(e->pool, batch, 32, 100, &n);
        if (rc == BURROW_RESULT_CLOSED) {
            pthread_mutex_lock(&e->lock);
            e->closed++;
            e->bad += n != 0;
            pthread_mutex_unlock(&e->lock);
            return NULL;
        }
        if (rc != BURROW_RESULT_OK || n > 32) {
            pthread_mutex_lock(&e->lock);
            e->bad++;
            pthread_mutex_unlock(&e->lock);
            return NULL;
        }
        for (i = 0; i < n; i++) {
            const burrow_message *msg = burrow_completion_message(batch[i]);
            long v = value_of(msg);
            burrow_completion *again = NULL;
            int stop = 0;
            /* a taken message is deferred already */
            CHECK_RESULT(burrow_message_defer(msg, &again), BURROW_RESULT_ALREADY_DEFERRED);
            pthread_mutex_lock(&e->lock);
            if ((int)n > e->biggest) e->biggest = (int)n;
            if (v < 0 || v >= EXT_N) {
                e->bad++;
            } else if (e->seen[v]++ == 0 && ++e->distinct == EXT_N) {
                stop = 1;
            }
            pthread_mutex_unlock(&e->lock);
            CHECK_RESULT(burrow_completion_complete(batch[i], BURROW_OUTCOME_DONE, NULL, 0), BURROW_RESULT_OK);
            if (stop) burrow_pool_stop(e->pool);
        }
    }
}

static void test_run_external(void) {
    static struct external e; /* large: not on the stack */
    pthread_t takers[2];
    burrow_completion *batch[4];
    size_t n = 7;
    char err[256] = "";
    int i, p_;
    burrow_pool *threads;

    produce("external", EXT_PARTITIONS, EXT_N);
    memset(&e, 0, sizeof e);
    pthread_mutex_init(&e.lock, NULL);
    e.pool = test_pool("g-external", "external", NULL);

    /* misuse */
    CHECK_RESULT(burrow_pool_take(NULL, batch, 4, 0, &n), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_take(e.pool, NULL, 4, 0, &n), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_take(e.pool, batch, 4, 0, NULL), BURROW_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(burrow_pool_run_external(NULL, err, sizeof err), BURROW_RESULT_NULL_ARGUMENT);
    /* before the run: nothing within the timeout */
    CHECK_RESULT(burrow_pool_take(e.pool, batch, 4, 10, &n), BURROW_RESULT_OK);
    CHECK(n == 0);

    for (i = 0; i < 2; i++) pthread_create(&takers[i], NULL, taker, &e);
    CHECK_RESULT(burrow_pool_run_external(e.pool, err, sizeof err), BURROW_RESULT_OK);
    for (i = 0; i < 2; i++) pthread_join(takers[i], NULL);

    CHECK(e.distinct == EXT_N);
    CHECK(e.bad == 0);
    CHECK(e.closed == 2); /* every taker learned that the run is over */
    CHECK(e.biggest > 1); /* takes return batches */
    for (p_ = 0; p_ < EXT_PARTITIONS; p_++)
        CHECK(committed("g-external", "external", p_) == EXT_N / EXT_PARTITIONS);
    CHECK_RESULT(burrow_pool_take(e.pool, batch, 4, 0, &n), BURROW_RESULT_CLOSED);
    CHECK_RESULT(burrow_pool_run_external(e.pool, err, sizeof err), BURROW_RESULT_ALREADY_RUN);
    CHECK_RESULT(burrow_pool_run(e.pool, never_called, NULL, err, sizeof err), BURROW_RESULT_ALREADY_RUN);
    CHECK_RESULT(burrow_pool_free(e.pool), BURROW_RESULT_OK);
    pthread_mutex_destroy(&e.lock);

    /* a pool run with worker threads has nothing to take */
    threads = test_pool("g-external-threads", "external", NULL);
    CHECK_RESULT(burrow_pool_stop(threads), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_run(threads, never_called, NULL, err, sizeof err), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_pool_take(threads, batch, 4, 0, &n), BURROW_RESULT_CLOSED);
    CHECK_RESULT(burrow_pool_free(threads), BURROW_RESULT_OK);
}

int main(void) {
    int log_events;

    CHECK_RESULT(burrow_set_log_callback(on_log, &logs, BURROW_LOG_INFO), BURROW_RESULT_OK);
    CHECK_RESULT(burrow_mock_cluster_new(1, &cluster), BURROW_RESULT_OK);
    CHECK(burrow_mock_cluster_bootstrap(cluster) != NULL);

    test_version_and_results();
    test_config_errors();
    test_null_arguments();
    test_lifecycle_misuse();
    test_happy_path();
    test_outcomes();
    test_dead_letter();
    test_completion_outlives_pool();
    test_halt();
    test_stopping_callback();
    test_run_external();

    burrow_mock_cluster_free(cluster);

    pthread_mutex_lock(&logs.lock);
    log_events = logs.events;
    pthread_mutex_unlock(&logs.lock);
    CHECK(log_events > 0);
    /* stop forwarding: afterwards the callback is not running anywhere */
    CHECK_RESULT(burrow_set_log_callback(NULL, NULL, BURROW_LOG_INFO), BURROW_RESULT_OK);

    printf("%d passed, %d failed\n", checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}
