package burrow

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

var (
	cluster *MockCluster
	seq     atomic.Int64
)

func TestMain(m *testing.M) {
	var err error
	cluster, err = NewMockCluster(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cluster.Close()
	os.Exit(code)
}

// names returns a fresh topic and group for a test.
func names(t testing.TB) (topic, group string) {
	n := seq.Add(1)
	return fmt.Sprintf("go-%s-%d", t.Name(), n), fmt.Sprintf("g-%s-%d", t.Name(), n)
}

// fill creates topic with partitions partitions and produces n records, record i to partition
// i % partitions with key "k<i % keys>" and value "v<i>".
func fill(t testing.TB, topic string, partitions, n, keys int) {
	t.Helper()
	require.NoError(t, cluster.CreateTopic(topic, partitions))
	for i := range n {
		key := []byte(fmt.Sprintf("k%d", i%keys))
		require.NoError(t, cluster.Produce(topic, int32(i%partitions), key, []byte(fmt.Sprintf("v%d", i)),
			Header{Key: "h", Value: []byte("x")}))
	}
	require.NoError(t, cluster.Flush(30000))
}

func testConfig(t testing.TB) Config {
	c := DefaultConfig(zap.NewNop())
	c.CommitInterval = 100 * time.Millisecond
	c.RetryBackoffBase = 10 * time.Millisecond
	c.ShutdownTimeout = 10 * time.Second
	return c
}

func newPool(t testing.TB, topic, group string, c Config) *Pool {
	t.Helper()
	consumer, err := NewConsumer(&ConfigMap{
		"bootstrap.servers": cluster.Bootstrap,
		"group.id":          group,
		"auto.offset.reset": "earliest",
	})
	require.NoError(t, err)
	require.NoError(t, consumer.SubscribeTopics([]string{topic}, nil))
	p, err := NewPool(consumer, c)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

// runUntil runs the pool until cond holds on its stats (then cancels) or timeout.
func runUntil(t testing.TB, p *Pool, fn ProcessFunc, timeout time.Duration, cond func(Stats) bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx, fn) }()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-errc:
			return err
		case <-time.After(5 * time.Millisecond):
		}
		if cond(p.GetStats()) {
			cancel()
			return <-errc
		}
		if time.Now().After(deadline) {
			cancel()
			err := <-errc
			t.Fatalf("timeout: stats %+v (run: %v)", p.GetStats(), err)
		}
	}
}

func committed(t testing.TB, group, topic string, partition int32) int64 {
	t.Helper()
	off, err := cluster.Committed(group, topic, partition)
	require.NoError(t, err)
	return off
}
