/* Links libburrow.a statically with the flags `pkg-config --static --libs burrow` gives (see
 * `make pkgconfig-static-test`), then consumes 10 records from the mock cluster and checks the
 * committed offset. */
#include <burrow.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define N 10

static atomic_int processed;

static burrow_outcome process(void *userdata, const burrow_message *msg)
{
	(void)msg;
	if (atomic_fetch_add(&processed, 1) + 1 == N)
		burrow_pool_stop((burrow_pool *)userdata);
	return BURROW_OUTCOME_DONE;
}

#define CHECK(call)                                                                                \
	do {                                                                                       \
		burrow_result rc_ = (call);                                                        \
		if (rc_ != BURROW_RESULT_OK) {                                                     \
			fprintf(stderr, "%s: %s (%s)\n", #call, burrow_result_message(rc_), errstr); \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

int main(void)
{
	char errstr[512] = "";
	burrow_mock_cluster *cluster;
	burrow_config *config = burrow_config_new();
	burrow_pool *pool;
	const char *topics[] = {"static"};
	int64_t committed = -1;

	CHECK(burrow_mock_cluster_new(1, &cluster));
	CHECK(burrow_mock_cluster_create_topic(cluster, "static", 1));
	for (int i = 0; i < N; i++)
		CHECK(burrow_mock_cluster_produce(cluster, "static", 0, NULL, 0, (const uint8_t *)"v", 1, NULL, 0));
	CHECK(burrow_mock_cluster_flush(cluster, 10000));
	CHECK(burrow_config_set(config, "bootstrap.servers", burrow_mock_cluster_bootstrap(cluster), errstr, sizeof errstr));
	CHECK(burrow_config_set(config, "group.id", "static", errstr, sizeof errstr));
	CHECK(burrow_config_set(config, "auto.offset.reset", "earliest", errstr, sizeof errstr));
	CHECK(burrow_pool_new(config, errstr, sizeof errstr, &pool));
	burrow_config_free(config);
	CHECK(burrow_pool_subscribe(pool, topics, 1, errstr, sizeof errstr));
	CHECK(burrow_pool_run(pool, process, pool, errstr, sizeof errstr));
	CHECK(burrow_pool_free(pool));
	CHECK(burrow_mock_cluster_committed(cluster, "static", "static", 0, 5000, &committed));
	burrow_mock_cluster_free(cluster);
	if (committed != N) {
		fprintf(stderr, "committed %lld, want %d\n", (long long)committed, N);
		return 1;
	}
	printf("static link OK: libburrow %s, committed %lld\n", burrow_version(), (long long)committed);
	return 0;
}
