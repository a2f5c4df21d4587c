package burrow

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchRun fills a fresh topic with n records over parts partitions (untimed), then times a
// pool consuming all of them and reports msg/s. cNoop selects the pure C callback path.
func benchRun(b *testing.B, n, parts int, c Config, fn ProcessFunc, cNoop bool) {
	var total, steady time.Duration
	var steadyMsgs int64
	for range b.N {
		b.StopTimer()
		topic, group := names(b)
		require.NoError(b, cluster.CreateTopic(topic, parts))
		value := make([]byte, 100)
		for i := range n {
			require.NoError(b, cluster.Produce(topic, int32(i%parts), nil, value))
		}
		require.NoError(b, cluster.Flush(60000))
		p := newPool(b, topic, group, c)
		b.StartTimer()
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- p.run(ctx, fn, cNoop) }()
		var first time.Time
		var firstCount int64
		for {
			done := p.GetStats().MessagesProcessed
			if done > 0 && first.IsZero() {
				first, firstCount = time.Now(), done
			}
			if done >= int64(n) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		total += time.Since(start)
		steady += time.Since(first)
		steadyMsgs += int64(n) - firstCount
		b.StopTimer()
		cancel()
		require.ErrorIs(b, <-errc, context.Canceled)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msg/s")
	// From the first finished message on: excludes the group join and first fetch.
	b.ReportMetric(float64(steadyMsgs)/steady.Seconds(), "steady-msg/s")
}

func BenchmarkNoopGoWrapper(b *testing.B) {
	c := testConfig(b)
	c.NumWorkers = 64
	benchRun(b, 200_000, 8, c, func(context.Context, *Message) error { return nil }, false)
}

func BenchmarkNoopCCallback(b *testing.B) {
	c := testConfig(b)
	c.NumWorkers = 4 // burrow.workers = 4 library threads call the C callback
	benchRun(b, 200_000, 8, c, nil, true)
}

func BenchmarkSleep10msWith1000Goroutines(b *testing.B) {
	c := testConfig(b)
	c.NumWorkers = 1000
	benchRun(b, 100_000, 8, c, func(context.Context, *Message) error {
		time.Sleep(10 * time.Millisecond)
		return nil
	}, false)
}
