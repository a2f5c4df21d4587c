package burrow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestEndToEnd(t *testing.T) {
	const n, parts = 300, 3
	topic, group := names(t)
	fill(t, topic, parts, n, 7)
	c := testConfig(t)
	c.NumWorkers = 20
	p := newPool(t, topic, group, c)

	var mu sync.Mutex
	seen := map[string]*Message{}
	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		mu.Lock()
		defer mu.Unlock()
		seen[string(m.Value)] = m
		return nil
	}, 30*time.Second, func(s Stats) bool { return s.MessagesProcessed >= n })
	require.ErrorIs(t, err, context.Canceled)

	require.Len(t, seen, n)
	for i := range n {
		m := seen[fmt.Sprintf("v%d", i)]
		require.NotNil(t, m, i)
		assert.Equal(t, topic, *m.TopicPartition.Topic)
		assert.Equal(t, int32(i%parts), m.TopicPartition.Partition)
		assert.Equal(t, Offset(i/parts), m.TopicPartition.Offset)
		assert.Equal(t, fmt.Sprintf("k%d", i%7), string(m.Key))
		assert.Equal(t, []Header{{Key: "h", Value: []byte("x")}}, m.Headers)
		assert.Equal(t, TimestampCreateTime, m.TimestampType)
		assert.WithinDuration(t, time.Now(), m.Timestamp, time.Minute)
		assert.Equal(t, 1, m.Attempt)
	}
	for part := range int32(parts) {
		assert.Equal(t, int64(n/parts), committed(t, group, topic, part), "partition %d", part)
	}
	s := p.GetStats()
	assert.Equal(t, int64(n), s.MessagesProcessed)
	assert.Zero(t, s.MessagesFailed)
	assert.Positive(t, s.OffsetsCommitted)
	assert.Zero(t, s.WorkersActive)
}

func TestRetries(t *testing.T) {
	const n = 40
	topic, group := names(t)
	fill(t, topic, 1, n, n)
	c := testConfig(t)
	c.MaxRetries = 5
	p := newPool(t, topic, group, c)

	var attempts sync.Map
	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		attempts.Store(string(m.Value), m.Attempt)
		if m.Attempt < 3 {
			return errors.New("transient")
		}
		return nil
	}, 30*time.Second, func(s Stats) bool { return s.MessagesProcessed >= n })
	require.ErrorIs(t, err, context.Canceled)
	s := p.GetStats()
	assert.Equal(t, int64(n), s.MessagesProcessed)
	assert.Equal(t, int64(2*n), s.MessagesRetried)
	assert.Zero(t, s.MessagesFailed)
	attempts.Range(func(k, v any) bool { assert.Equal(t, 3, v, k); return true })
	assert.Equal(t, int64(n), committed(t, group, topic, 0))
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	const n = 50
	topic, group := names(t)
	fill(t, topic, 1, n, n)
	c := testConfig(t)
	c.OnFailure = OnFailureSkip
	p := newPool(t, topic, group, c)

	var calls atomic.Int64
	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		calls.Add(1)
		if m.TopicPartition.Offset%5 == 0 {
			return Permanent(fmt.Errorf("bad record %d", m.TopicPartition.Offset))
		}
		return nil
	}, 30*time.Second, func(s Stats) bool { return s.MessagesProcessed+s.MessagesFailed >= n })
	require.ErrorIs(t, err, context.Canceled)
	s := p.GetStats()
	assert.Equal(t, int64(n), calls.Load(), "permanent errors must not be retried")
	assert.Equal(t, int64(n/5), s.MessagesFailed)
	assert.Equal(t, int64(n/5), s.MessagesSkipped)
	assert.Zero(t, s.MessagesRetried)
	assert.Equal(t, int64(n), committed(t, group, topic, 0), "skipped messages are committed past")
}

func TestPanicIsRecoveredAsFailure(t *testing.T) {
	const n = 10
	topic, group := names(t)
	fill(t, topic, 1, n, n)
	c := testConfig(t)
	c.MaxRetries = 1
	c.OnFailure = OnFailureSkip
	p := newPool(t, topic, group, c)

	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		if m.TopicPartition.Offset < 4 {
			panic("boom")
		}
		return nil
	}, 30*time.Second, func(s Stats) bool { return s.MessagesProcessed+s.MessagesFailed >= n })
	require.ErrorIs(t, err, context.Canceled)
	s := p.GetStats()
	assert.Equal(t, int64(4), s.MessagesFailed)
	assert.Equal(t, int64(4), s.MessagesRetried)
	assert.Equal(t, int64(n-4), s.MessagesProcessed)
}

func TestHaltReturnsCause(t *testing.T) {
	topic, group := names(t)
	fill(t, topic, 1, 20, 20)
	c := testConfig(t)
	p := newPool(t, topic, group, c)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.Run(ctx, func(ctx context.Context, m *Message) error {
		return Permanent(errors.New("poison"))
	})
	// The default policy halts at the first permanent failure and names it.
	require.ErrorIs(t, err, ErrHalted)
	assert.NoError(t, ctx.Err())
	assert.Contains(t, err.Error(), "poison")
	assert.Contains(t, err.Error(), "failed permanently")
	assert.Contains(t, err.Error(), topic+"[0]@")
	s := p.GetStats()
	assert.GreaterOrEqual(t, s.MessagesFailed, int64(1))
	assert.Equal(t, int64(1), s.Halts)
}

func TestOrderingByKey(t *testing.T) {
	const n, keys = 400, 8
	topic, group := names(t)
	fill(t, topic, 2, n, keys)
	c := testConfig(t)
	c.NumWorkers = 32
	c.Ordering = OrderingKey
	p := newPool(t, topic, group, c)

	var mu sync.Mutex
	last := map[string]Offset{}
	busy := map[string]bool{}
	var violations []string
	var parallel atomic.Int64
	var running atomic.Int64
	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		if r := running.Add(1); r > 1 {
			parallel.Add(1)
		}
		defer running.Add(-1)
		k := string(m.Key)
		mu.Lock()
		if busy[k] {
			violations = append(violations, "concurrent "+k)
		}
		if prev, ok := last[k]; ok && prev >= m.TopicPartition.Offset {
			violations = append(violations, fmt.Sprintf("%s: %d after %d", k, m.TopicPartition.Offset, prev))
		}
		busy[k] = true
		last[k] = m.TopicPartition.Offset
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		busy[k] = false
		mu.Unlock()
		return nil
	}, 60*time.Second, func(s Stats) bool { return s.MessagesProcessed >= n })
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, violations)
	assert.Positive(t, parallel.Load(), "different keys should run in parallel")
	assert.Equal(t, int64(n/2), committed(t, group, topic, 0))
	assert.Equal(t, int64(n/2), committed(t, group, topic, 1))
}

func TestCancelMidStreamCommitsProgress(t *testing.T) {
	const n = 2000
	topic, group := names(t)
	fill(t, topic, 1, n, n)
	c := testConfig(t)
	c.NumWorkers = 8
	c.CommitInterval = time.Hour // only the final commit at stop can commit
	c.CommitBatchSize = 1_000_000
	p := newPool(t, topic, group, c)

	var done sync.Map
	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		time.Sleep(2 * time.Millisecond)
		done.Store(int64(m.TopicPartition.Offset), true)
		return nil
	}, 30*time.Second, func(s Stats) bool {
		if s.MessagesProcessed >= 200 {
			return true
		}
		return false
	})
	require.ErrorIs(t, err, context.Canceled)
	s := p.GetStats()
	assert.Less(t, s.MessagesProcessed, int64(n), "cancelled mid-stream")
	off := committed(t, group, topic, 0)
	// Gap-safe final commit: exactly up to the first offset not processed.
	firstGap := int64(0)
	for {
		if _, ok := done.Load(firstGap); !ok {
			break
		}
		firstGap++
	}
	assert.Positive(t, off)
	assert.Equal(t, firstGap, off, "final commit at stop covers the processed prefix")
	t.Logf("processed %d, committed %d", s.MessagesProcessed, off)
}

func TestStatsWhileRunning(t *testing.T) {
	const n = 200
	topic, group := names(t)
	fill(t, topic, 1, n, n)
	c := testConfig(t)
	c.NumWorkers = 10
	p := newPool(t, topic, group, c)

	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- p.Run(ctx, func(ctx context.Context, m *Message) error {
			<-release
			return nil
		})
	}()
	require.Eventually(t, func() bool { return p.GetStats().WorkersActive == 10 }, 20*time.Second, 5*time.Millisecond)
	s := p.GetStats()
	assert.Positive(t, s.JobsQueued+int(s.MessagesInflight))
	assert.Equal(t, 1, s.PartitionsAssigned)
	close(release)
	require.Eventually(t, func() bool { return p.GetStats().MessagesProcessed == n }, 20*time.Second, 5*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	s = p.GetStats()
	assert.Zero(t, s.WorkersActive)
	assert.Equal(t, int64(n), s.MessagesProcessed)
	assert.Positive(t, s.OffsetsCommitted)
}

func TestMetricsHandler(t *testing.T) {
	const n = 20
	topic, group := names(t)
	fill(t, topic, 1, n, n)
	c := testConfig(t)
	c.EnableMetrics = true
	p := newPool(t, topic, group, c)
	err := runUntil(t, p, func(ctx context.Context, m *Message) error { return nil }, 30*time.Second,
		func(s Stats) bool { return s.MessagesProcessed >= n })
	require.ErrorIs(t, err, context.Canceled)

	srv := httptest.NewServer(p.MetricsHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "version=0.0.4")
	assert.Contains(t, string(body), "burrow_messages_processed_total")
	assert.Contains(t, string(body), topic)
}

func TestLogsGoToZap(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	topic, group := names(t)
	fill(t, topic, 1, 5, 5)
	c := testConfig(t)
	c.Logger = zap.New(core)
	p := newPool(t, topic, group, c)
	err := runUntil(t, p, func(ctx context.Context, m *Message) error { return nil }, 30*time.Second,
		func(s Stats) bool { return s.MessagesProcessed >= 5 })
	require.ErrorIs(t, err, context.Canceled)
	require.Positive(t, logs.Len())
	var targets int
	for _, e := range logs.All() {
		if e.ContextMap()["target"] != "" {
			targets++
		}
	}
	assert.Positive(t, targets)
}

// Each pool's Logger receives the lines of its own run, even when another pool was created
// later (the library has one log callback per process).
func TestLoggerPerPool(t *testing.T) {
	coreA, logsA := observer.New(zapcore.DebugLevel)
	coreB, logsB := observer.New(zapcore.DebugLevel)
	topicA, groupA := names(t)
	fill(t, topicA, 1, 5, 5)
	cA := testConfig(t)
	cA.Logger = zap.New(coreA)
	pA := newPool(t, topicA, groupA, cA)
	topicB, groupB := names(t)
	require.NoError(t, cluster.CreateTopic(topicB, 1))
	cB := testConfig(t)
	cB.Logger = zap.New(coreB)
	newPool(t, topicB, groupB, cB) // created last, never run

	require.ErrorIs(t, runUntil(t, pA, func(context.Context, *Message) error { return nil }, 30*time.Second,
		func(s Stats) bool { return s.MessagesProcessed >= 5 }), context.Canceled)
	var fromA int
	for _, e := range logsA.All() {
		if strings.HasPrefix(e.ContextMap()["target"].(string), "burrow") {
			fromA++
		}
	}
	assert.Positive(t, fromA, "pool A's run logged to A's logger")
	for _, e := range logsB.All() {
		assert.NotContains(t, e.Message, topicA, "a line of pool A's run reached pool B's logger: %s %v", e.Message, e.ContextMap())
	}
}

func TestLifecycle(t *testing.T) {
	topic, group := names(t)
	require.NoError(t, cluster.CreateTopic(topic, 1))
	p := newPool(t, topic, group, testConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, p.Run(ctx, func(context.Context, *Message) error { return nil }), context.Canceled)
	require.ErrorIs(t, p.Run(context.Background(), func(context.Context, *Message) error { return nil }), ErrClosed)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close())
	assert.Equal(t, Stats{}, p.GetStats())
	require.ErrorIs(t, p.Subscribe(topic), ErrClosed)

	consumer, err := NewConsumer(&ConfigMap{"bootstrap.servers": cluster.Bootstrap, "group.id": group})
	require.NoError(t, err)
	p2, err := NewPool(consumer, testConfig(t))
	require.NoError(t, err)
	defer p2.Close()
	_, err = NewPool(consumer, testConfig(t))
	require.ErrorIs(t, err, ErrClosed, "a consumer backs one pool")
	require.Error(t, consumer.SubscribeTopics([]string{"x"}, func(*Consumer, Event) error { return nil }))
	require.ErrorIs(t, consumer.SubscribeTopics([]string{"x"}, nil), ErrClosed,
		"a consumer that backs a pool can no longer subscribe (Pool.Subscribe does)")
	require.ErrorIs(t, consumer.Subscribe("x", nil), ErrClosed)
}

func TestCloseWhileRunning(t *testing.T) {
	topic, group := names(t)
	fill(t, topic, 1, 50, 50)
	p := newPool(t, topic, group, testConfig(t))
	errc := make(chan error, 1)
	go func() {
		errc <- p.Run(context.Background(), func(ctx context.Context, m *Message) error {
			time.Sleep(time.Millisecond)
			return nil
		})
	}()
	require.Eventually(t, func() bool { return p.GetStats().MessagesProcessed > 5 }, 20*time.Second, 5*time.Millisecond)
	require.NoError(t, p.Close())
	require.NoError(t, <-errc)
}

func TestManyGoroutineWorkers(t *testing.T) {
	const n, workers = 3000, 10_000
	topic, group := names(t)
	fill(t, topic, 4, n, n)
	c := testConfig(t)
	c.NumWorkers = workers
	c.JobQueueSize = workers
	p := newPool(t, topic, group, c)
	var peak, running atomic.Int64
	start := time.Now()
	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		r := running.Add(1)
		for {
			old := peak.Load()
			if r <= old || peak.CompareAndSwap(old, r) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		running.Add(-1)
		return nil
	}, 60*time.Second, func(s Stats) bool { return s.MessagesProcessed >= n })
	require.ErrorIs(t, err, context.Canceled)
	t.Logf("%d messages sleeping 100ms with %d goroutine workers: %v, peak concurrency %d", n, workers, time.Since(start), peak.Load())
	assert.Greater(t, peak.Load(), int64(1000), "sleeping workers must not hold OS threads")
}

// The example dashboard must chart only metrics the library exports.
func TestGrafanaDashboardQueriesExportedMetrics(t *testing.T) {
	topic, group := names(t)
	fill(t, topic, 1, 5, 5)
	c := testConfig(t)
	c.EnableMetrics = true
	p := newPool(t, topic, group, c)
	require.ErrorIs(t, runUntil(t, p, func(context.Context, *Message) error { return nil }, 30*time.Second,
		func(s Stats) bool { return s.MessagesProcessed >= 5 }), context.Canceled)
	text, err := p.MetricsText()
	require.NoError(t, err)
	families := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\w+) `).FindAllStringSubmatch(text, -1) {
		families[m[1]] = true
	}
	require.NotEmpty(t, families)

	raw, err := os.ReadFile("examples/with-metrics/grafana-dashboard.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	for _, panel := range dash.Panels {
		require.NotEmpty(t, panel.Targets, panel.Title)
		for _, target := range panel.Targets {
			names := regexp.MustCompile(`burrow_\w+`).FindAllString(target.Expr, -1)
			require.NotEmpty(t, names, panel.Title)
			for _, name := range names {
				base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(name, "")
				assert.True(t, families[base], "panel %q queries %s, not exported", panel.Title, name)
			}
		}
	}
}

// Keys and values of every size class the feeder allocates (newMessage), records without a key
// and tombstones arrive intact, as separate capped slices.
func TestKeyAndValueShapes(t *testing.T) {
	topic, group := names(t)
	require.NoError(t, cluster.CreateTopic(topic, 1))
	big := bytes.Repeat([]byte("v"), 5000)
	records := []struct{ key, value []byte }{
		{nil, []byte("no key")},
		{[]byte("tombstone"), nil},
		{[]byte("k"), []byte("small")},
		{[]byte("k100"), bytes.Repeat([]byte("x"), 100)},
		{bytes.Repeat([]byte("k"), 200), bytes.Repeat([]byte("y"), 700)},
		{[]byte("big"), big},
	}
	for _, r := range records {
		require.NoError(t, cluster.Produce(topic, 0, r.key, r.value))
	}
	require.NoError(t, cluster.Flush(30000))
	p := newPool(t, topic, group, testConfig(t))
	var mu sync.Mutex
	got := map[Offset]*Message{}
	err := runUntil(t, p, func(ctx context.Context, m *Message) error {
		mu.Lock()
		defer mu.Unlock()
		got[m.TopicPartition.Offset] = m
		return nil
	}, 30*time.Second, func(s Stats) bool { return s.MessagesProcessed >= int64(len(records)) })
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, got, len(records))
	for i, r := range records {
		m := got[Offset(i)]
		require.NotNil(t, m, i)
		assert.Equal(t, r.key == nil, m.Key == nil, "record %d: key nil", i)
		assert.Equal(t, r.value == nil, m.Value == nil, "record %d: value nil", i)
		assert.Equal(t, string(r.key), string(m.Key), i)
		assert.Equal(t, string(r.value), string(m.Value), i)
		assert.Equal(t, len(m.Key), cap(m.Key), "record %d: key capped", i)
		assert.Equal(t, len(m.Value), cap(m.Value), "record %d: value capped", i)
		if m.Key != nil && m.Value != nil {
			_ = append(m.Key, 'Z') // must not write into the value
			assert.Equal(t, string(r.value), string(m.Value), i)
		}
	}
}
