package burrow

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangLimit bounds every wait for Run in these tests: a Run that has not returned by then is a
// hang (the stops under test take about a second).
const hangLimit = 20 * time.Second

// waitRun waits for Run's result, failing the test (instead of hanging it) after hangLimit.
func waitRun(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(hangLimit):
		t.Fatalf("Run has not returned %v after the stop", hangLimit)
		return nil
	}
}

// stopScenario: one partition of more records than the pool holds, 2 workers, a job queue of
// 100, ShutdownTimeout 1 s. fn runs in the goroutines; the pool is started and the function
// returns once both workers are inside fn, the hand-off channel is full and so is the library's
// job queue, so the pool holds off fetching.
func stopScenario(t *testing.T, fn ProcessFunc) (p *Pool, group, topic string, cancel context.CancelFunc, errc chan error) {
	t.Helper()
	topic, group = names(t)
	const queue = 100
	// The Go side holds at most a take (up to the queue) in each goroutine's batch, in each of
	// the channel's 2 batches and in the batch the feeder is handing over.
	fill(t, topic, 1, queue+5*queue+100, 20)
	c := testConfig(t)
	c.NumWorkers = 2
	c.JobQueueSize = queue
	c.ShutdownTimeout = time.Second
	c.CommitInterval = time.Hour // only the final commit commits
	c.CommitBatchSize = 1_000_000
	p = newPool(t, topic, group, c)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc = make(chan error, 1)
	go func() { errc <- p.Run(ctx, fn) }()
	require.Eventually(t, func() bool {
		s := p.GetStats()
		return s.WorkersActive == 2 && len(p.jobs) == cap(p.jobs) && s.JobsQueued-int(p.waiting()) >= queue
	}, hangLimit, 5*time.Millisecond, "workers busy, hand-off channel and job queue full")
	// Messages handed over and waiting: at least one per batch in the channel, counted in Stats
	// with the library's queue.
	assert.GreaterOrEqual(t, p.waiting(), int64(cap(p.jobs)))
	assert.GreaterOrEqual(t, p.GetStats().JobsQueued, queue+int(p.waiting()), "the library's queue and the batches count as queued")
	return p, group, topic, cancel, errc
}

// A ProcessFunc waiting on its ctx (an HTTP or database call) must not hang the stop: its ctx
// is cancelled ShutdownTimeout after the stop began, and what did not finish is not committed.
func TestCancelWithProcessFuncsWaitingOnCtx(t *testing.T) {
	var cancelledAt sync.Map
	var started atomic.Int64
	p, group, topic, cancel, errc := stopScenario(t, func(ctx context.Context, m *Message) error {
		started.Add(1)
		<-ctx.Done()
		cancelledAt.Store(m.TopicPartition.Offset, time.Now())
		return ctx.Err()
	})
	stoppedAt := time.Now()
	cancel()
	err := waitRun(t, errc)
	elapsed := time.Since(stoppedAt)
	require.ErrorIs(t, err, context.Canceled)
	t.Logf("Run returned %v after cancel", elapsed)
	assert.Zero(t, p.waiting(), "every message handed over was released or run")
	assert.Zero(t, p.busy())

	n := 0
	cancelledAt.Range(func(k, v any) bool {
		n++
		// The ProcessFuncs had ShutdownTimeout before their ctx was cancelled.
		assert.GreaterOrEqual(t, v.(time.Time).Sub(stoppedAt), 900*time.Millisecond, "offset %v", k)
		return true
	})
	assert.Equal(t, 2, n, "both running ProcessFuncs saw their ctx cancelled")
	assert.Equal(t, int64(2), started.Load(), "messages not started before the stop are not started after it")
	assert.LessOrEqual(t, committed(t, group, topic, 0), int64(0), "nothing finished: nothing committed past offset 0")
	assert.Zero(t, p.GetStats().MessagesProcessed)
}

// ProcessFuncs that finish within ShutdownTimeout after the stop are committed; the ones that
// were not started are not.
func TestCancelLetsInflightFinish(t *testing.T) {
	release := make(chan struct{})
	var finishedWithLiveCtx atomic.Int64
	var finished sync.Map
	p, group, topic, cancel, errc := stopScenario(t, func(ctx context.Context, m *Message) error {
		select {
		case <-release:
			if ctx.Err() == nil {
				finishedWithLiveCtx.Add(1)
			}
			finished.Store(int64(m.TopicPartition.Offset), true)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	cancel()
	time.Sleep(200 * time.Millisecond)
	close(release)
	require.ErrorIs(t, waitRun(t, errc), context.Canceled)
	assert.Equal(t, int64(2), finishedWithLiveCtx.Load(), "both in-flight ProcessFuncs finished with a live ctx")
	assert.Equal(t, int64(2), p.GetStats().MessagesProcessed, "nothing else was started")
	firstGap := int64(0)
	for {
		if _, ok := finished.Load(firstGap); !ok {
			break
		}
		firstGap++
	}
	assert.Equal(t, firstGap, committed(t, group, topic, 0), "committed up to the first message not finished")
}

// Close from inside a ProcessFunc starts the stop and returns: no deadlock.
func TestCloseInsideProcessFunc(t *testing.T) {
	topic, group := names(t)
	fill(t, topic, 1, 50, 50)
	c := testConfig(t)
	c.NumWorkers = 1 // offsets 0-2 are finished when offset 3 closes the pool
	c.ShutdownTimeout = time.Second
	p := newPool(t, topic, group, c)
	var closeErr atomic.Value
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- p.Run(context.Background(), func(ctx context.Context, m *Message) error {
			if m.TopicPartition.Offset == 3 {
				once.Do(func() {
					closeErr.Store(errorOrNil{p.Close()})
					closeErr.Store(errorOrNil{p.Close()}) // the second is a no-op
				})
			}
			return nil
		})
	}()
	require.NoError(t, waitRun(t, errc), "a Close stops the run without error")
	require.NotNil(t, closeErr.Load(), "Close was called")
	assert.NoError(t, closeErr.Load().(errorOrNil).err)
	assert.Equal(t, Stats{}, p.GetStats(), "closed")
	assert.GreaterOrEqual(t, committed(t, group, topic, 0), int64(4), "the final commit covers offsets 0-3")
	require.ErrorIs(t, p.Run(context.Background(), func(context.Context, *Message) error { return nil }), ErrClosed)
	require.NoError(t, p.Close())
}

type errorOrNil struct{ err error }

// Stop from inside a ProcessFunc (the original package's way to stop from a worker).
func TestStopInsideProcessFunc(t *testing.T) {
	topic, group := names(t)
	fill(t, topic, 1, 50, 50)
	p := newPool(t, topic, group, testConfig(t))
	errc := make(chan error, 1)
	go func() {
		errc <- p.Run(context.Background(), func(ctx context.Context, m *Message) error {
			if m.TopicPartition.Offset == 3 {
				p.Stop()
				p.Stop()
			}
			return nil
		})
	}()
	require.NoError(t, waitRun(t, errc))
	assert.Positive(t, p.GetStats().MessagesProcessed)
}

func TestStopEdgeCases(t *testing.T) {
	noop := func(context.Context, *Message) error { return nil }
	run := func(t *testing.T, p *Pool, ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- p.Run(ctx, noop) }()
		return waitRun(t, errc)
	}
	t.Run("cancelled before Run", func(t *testing.T) {
		topic, group := names(t)
		fill(t, topic, 1, 5, 5)
		p := newPool(t, topic, group, testConfig(t))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		cancel() // twice: no effect
		require.ErrorIs(t, run(t, p, ctx), context.Canceled)
		assert.Zero(t, p.GetStats().MessagesProcessed, "did not consume")
		assert.Equal(t, int64(-1), committed(t, group, topic, 0))
		require.ErrorIs(t, run(t, p, context.Background()), ErrClosed, "a pool runs once")
	})
	t.Run("deadline before Run", func(t *testing.T) {
		topic, group := names(t)
		require.NoError(t, cluster.CreateTopic(topic, 1))
		p := newPool(t, topic, group, testConfig(t))
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		require.ErrorIs(t, run(t, p, ctx), context.DeadlineExceeded)
	})
	t.Run("Stop before Run", func(t *testing.T) {
		topic, group := names(t)
		require.NoError(t, cluster.CreateTopic(topic, 1))
		p := newPool(t, topic, group, testConfig(t))
		p.Stop()
		p.Stop()
		require.NoError(t, run(t, p, context.Background()))
	})
	t.Run("cancelled twice while running", func(t *testing.T) {
		topic, group := names(t)
		fill(t, topic, 1, 5, 5)
		p := newPool(t, topic, group, testConfig(t))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- p.Run(ctx, noop) }()
		require.Eventually(t, func() bool { return p.GetStats().MessagesProcessed == 5 }, hangLimit, 5*time.Millisecond)
		cancel()
		cancel()
		p.Stop()
		require.ErrorIs(t, waitRun(t, errc), context.Canceled)
		assert.Equal(t, int64(5), committed(t, group, topic, 0))
	})
	t.Run("Run after Close", func(t *testing.T) {
		topic, group := names(t)
		require.NoError(t, cluster.CreateTopic(topic, 1))
		p := newPool(t, topic, group, testConfig(t))
		require.NoError(t, p.Close())
		require.NoError(t, p.Close())
		require.ErrorIs(t, run(t, p, context.Background()), ErrClosed)
		require.ErrorIs(t, p.Subscribe(topic), ErrClosed)
		_, err := p.MetricsText()
		require.ErrorIs(t, err, ErrClosed)
		p.Stop() // no effect, no crash
	})
	t.Run("Close while running returns at once", func(t *testing.T) {
		topic, group := names(t)
		fill(t, topic, 1, 5, 5)
		c := testConfig(t)
		c.ShutdownTimeout = time.Second
		p := newPool(t, topic, group, c)
		release := make(chan struct{})
		errc := make(chan error, 1)
		go func() {
			errc <- p.Run(context.Background(), func(ctx context.Context, m *Message) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			})
		}()
		require.Eventually(t, func() bool { return p.GetStats().WorkersActive > 0 }, hangLimit, 5*time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- p.Close() }()
		select {
		case err := <-closed:
			require.NoError(t, err)
		case <-time.After(hangLimit):
			t.Fatal("Close waited for the run")
		}
		close(release)
		require.NoError(t, waitRun(t, errc))
	})
}

// A pool dropped without Close is freed by its finalizer.
func TestUnreachablePoolIsFreed(t *testing.T) {
	topic, group := names(t)
	require.NoError(t, cluster.CreateTopic(topic, 1))
	before := livePools.Load()
	func() {
		consumer, err := NewConsumer(&ConfigMap{"bootstrap.servers": cluster.Bootstrap, "group.id": group})
		require.NoError(t, err)
		_, err = NewPool(consumer, testConfig(t))
		require.NoError(t, err)
	}()
	require.Equal(t, before+1, livePools.Load())
	deadline := time.Now().Add(hangLimit)
	for livePools.Load() > before && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, before, livePools.Load(), "the finalizer freed the native pool")
}

// A pool that halts by itself (here: the failure policy halt, on a permanent failure) stops
// like a cancelled one: the ProcessFuncs waiting on their ctx get ShutdownTimeout, then their
// ctx is cancelled, and Run returns the halt within ShutdownTimeout plus one commit; the
// committed offset stops at the failed message.
func TestHaltWithProcessFuncsWaitingOnCtx(t *testing.T) {
	topic, group := names(t)
	fill(t, topic, 1, 20, 20)
	c := testConfig(t)
	// More goroutines than messages: the library hands messages over from several threads at
	// once, so with fewer goroutines the later offsets could take them all and wait on their ctx
	// while offset 0, the one that fails, waits for a goroutine.
	c.NumWorkers = 32
	c.ShutdownTimeout = time.Second
	c.CommitInterval = time.Hour
	c.CommitBatchSize = 1_000_000
	p := newPool(t, topic, group, c)

	var failedAt atomic.Int64 // UnixNano of the permanent failure
	var cancelledAt sync.Map
	var waiting atomic.Int64
	errc := make(chan error, 1)
	go func() {
		errc <- p.Run(context.Background(), func(ctx context.Context, m *Message) error {
			if m.TopicPartition.Offset == 0 {
				// Fail only once another ProcessFunc waits on its ctx, so the halt finds work
				// running.
				for waiting.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
				failedAt.Store(time.Now().UnixNano())
				return Permanent(errors.New("poison"))
			}
			waiting.Add(1)
			<-ctx.Done()
			cancelledAt.Store(m.TopicPartition.Offset, time.Now())
			return ctx.Err()
		})
	}()
	err := waitRun(t, errc)
	returned := time.Now()
	require.ErrorIs(t, err, ErrHalted)
	assert.Contains(t, err.Error(), "poison")
	halt := time.Unix(0, failedAt.Load())
	elapsed := returned.Sub(halt)
	t.Logf("Run returned %v after the halt", elapsed)
	assert.Less(t, elapsed, c.ShutdownTimeout+5*time.Second, "ShutdownTimeout plus one commit")

	n := 0
	cancelledAt.Range(func(k, v any) bool {
		n++
		assert.GreaterOrEqual(t, v.(time.Time).Sub(halt), 900*time.Millisecond,
			"offset %v: ctx cancelled only after ShutdownTimeout", k)
		return true
	})
	assert.GreaterOrEqual(t, n, 1, "the waiting ProcessFuncs saw their ctx cancelled")
	assert.LessOrEqual(t, committed(t, group, topic, 0), int64(0), "nothing committed past the failed message")
	assert.Equal(t, int64(1), p.GetStats().Halts)
}
