// Command go-driver is the Go contender of burrow-bench (src/bin/burrow-bench): it consumes a
// topic through the Go package (bindings/go) with goroutine workers and prints the same
// `progress N`, `ready` and `result key=value ...` lines as burrow-bench's own consumer
// processes. burrow-bench builds and starts it; it is not meant to be run by hand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	burrow "github.com/burrow-kafka/burrow/bindings/go"
	"go.uber.org/zap"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// tally counts completions and keeps each message's end-to-end latency (µs).
type tally struct {
	expect, warmup uint64
	done           atomic.Uint64
	samples        []uint32
	started        time.Time
	startedMicros  int64        // started, µs since the Unix epoch
	t10, t90, last atomic.Int64 // ns since start, 0 = not yet
	finished       chan struct{}
	once           sync.Once
}

// complete reads one clock per message, as burrow-bench's own tally does
// (src/bin/burrow-bench/tally.rs): the monotonic time since the start, added to the wall clock
// at the start (time.Now reads two clocks).
func (t *tally) complete(ts time.Time) {
	since := time.Since(t.started)
	lat := int64(0)
	if !ts.IsZero() {
		lat = max(t.startedMicros+since.Microseconds()-ts.UnixMicro(), 0)
	}
	i := t.done.Add(1) - 1
	if i < uint64(len(t.samples)) {
		atomic.StoreUint32(&t.samples[i], uint32(min(lat, int64(^uint32(0)))))
	}
	n := i + 1
	if n == max(t.expect/10, 1) {
		t.t10.Store(int64(since))
	}
	if n == max(t.expect*9/10, 1) {
		t.t90.Store(int64(since))
	}
	if n == t.expect {
		t.last.Store(int64(since))
		t.once.Do(func() { close(t.finished) })
	}
}

func secs(ns int64) float64 {
	if ns == 0 {
		return -1
	}
	return float64(ns) / 1e9
}

func main() {
	var (
		path, bootstrap, topic, group, ordering, samples string
		expect, warmup                                   uint64
		workers, workMs, timeoutS                        int
		deferred                                         bool
		config                                           multi
		floorS                                           float64
	)
	flag.StringVar(&path, "path", "go", "contender name")
	flag.StringVar(&bootstrap, "bootstrap", "", "bootstrap servers")
	flag.StringVar(&topic, "topic", "", "topic")
	flag.StringVar(&group, "group", "", "consumer group")
	flag.Uint64Var(&expect, "expect", 0, "messages to process")
	flag.Uint64Var(&warmup, "warmup", 0, "warm-up messages (not in the latency figures)")
	flag.IntVar(&workers, "workers", 16, "goroutines")
	flag.IntVar(&workMs, "work-ms", 0, "simulated I/O per message (ms)")
	flag.StringVar(&ordering, "ordering", "unordered", "unordered, key or partition")
	flag.BoolVar(&deferred, "deferred", false, "ignored: Go workers always complete through the deferred path")
	flag.Var(&config, "config", "extra key=value (repeatable)")
	flag.IntVar(&timeoutS, "timeout-s", 300, "deadline (s)")
	flag.StringVar(&samples, "samples", "", "file for the sorted latency samples (µs)")
	flag.Float64Var(&floorS, "floor-s", 0, "measure the sleep floor instead: -workers goroutines each sleeping -work-ms in a loop for this many seconds, no Kafka")
	flag.Parse()
	if floorS > 0 {
		fmt.Printf("floor per_s=%.0f\n", floor(workers, time.Duration(workMs)*time.Millisecond, time.Duration(floorS*float64(time.Second))))
		return
	}
	if err := run(path, bootstrap, topic, group, ordering, samples, expect, warmup, workers, workMs, timeoutS, config); err != nil {
		fmt.Fprintln(os.Stderr, "go-driver:", err)
		os.Exit(2)
	}
}

// floor is how many sleeps of `work` per second `workers` goroutines complete, each sleeping in a
// loop for `d`: the most the Go path can reach with that simulated work, Kafka aside (the Go
// runtime's timers wake a sleeping goroutine a little late). The goroutines start out of phase
// (goroutine i first sleeps i/workers of `work`), as jobs reach a pool's workers one after
// another; each counts its own sleeps over its own time and the floor is the sum of their rates.
func floor(workers int, work, d time.Duration) float64 {
	var mu sync.Mutex
	total := 0.0
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(work * time.Duration(i) / time.Duration(workers))
			start := time.Now()
			sleeps := 0
			for time.Since(start) < d {
				time.Sleep(work)
				sleeps++
			}
			rate := float64(sleeps) / time.Since(start).Seconds()
			mu.Lock()
			total += rate
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

func run(path, bootstrap, topic, group, ordering, samples string, expect, warmup uint64,
	workers, workMs, timeoutS int, config []string) error {
	started := time.Now()
	t := &tally{expect: expect, warmup: warmup, samples: make([]uint32, expect),
		started: started, startedMicros: started.UnixMicro(), finished: make(chan struct{})}
	cm := burrow.ConfigMap{"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
	for _, kv := range config {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--config %q: expected key=value", kv)
		}
		cm[k] = v
	}
	consumer, err := burrow.NewConsumer(&cm)
	if err != nil {
		return err
	}
	if err := consumer.SubscribeTopics([]string{topic}, nil); err != nil {
		return err
	}
	cfg := burrow.DefaultConfig(zap.NewNop())
	cfg.NumWorkers = workers
	cfg.Ordering = burrow.Ordering(ordering)
	pool, err := burrow.NewPool(consumer, cfg)
	if err != nil {
		return err
	}
	work := time.Duration(workMs) * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- pool.Run(ctx, func(_ context.Context, m *burrow.Message) error {
			if work > 0 {
				time.Sleep(work)
			}
			ts := time.Time{}
			if m.TimestampType != burrow.TimestampNotAvailable {
				ts = m.Timestamp
			}
			t.complete(ts)
			return nil
		})
	}()
	deadline := time.After(time.Duration(timeoutS) * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	ready := warmup == 0
	all := false
wait:
	for {
		if !ready && t.done.Load() >= warmup {
			fmt.Println("ready")
			ready = true
		}
		fmt.Printf("progress %d\n", t.done.Load())
		step := time.After(10 * time.Millisecond)
		if ready {
			step = tick.C
		}
		select {
		case <-t.finished:
			all = true
			break wait
		case <-deadline:
			break wait
		case err := <-errc:
			return fmt.Errorf("pool stopped early: %w", err)
		case <-step:
		}
	}
	cancel()
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Printf("progress %d\n", t.done.Load())
	// The run's CPU, before the report's own work (sorting and writing the samples), as
	// burrow-bench's consumers measure it.
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	// VmHWM of this address space: ru_maxrss also counts the parent's memory copied by fork.
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
					ru.Maxrss = kb
				}
			}
		}
	}
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	done := min(t.done.Load(), expect)
	lat := append([]uint32(nil), t.samples[min(warmup, done):done]...)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return -1
		}
		i := int(float64(len(lat))*p+0.999999) - 1
		i = max(min(i, len(lat)-1), 0)
		return float64(lat[i]) / 1000
	}
	if samples != "" {
		b := make([]byte, 0, len(lat)*6)
		for _, v := range lat {
			b = strconv.AppendUint(b, uint64(v), 10)
			b = append(b, '\n')
		}
		if err := os.WriteFile(samples, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("result path=%s done=%d expect=%d t10=%.4f t90=%.4f tlast=%.4f cpu_s=%.3f maxrss_kb=%d "+
		"p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
		path, t.done.Load(), expect, secs(t.t10.Load()), secs(t.t90.Load()), secs(t.last.Load()), cpu, ru.Maxrss,
		pct(0.5), pct(0.95), pct(0.99), pct(0.999), pct(1))
	if !all {
		fmt.Fprintln(os.Stderr, "go-driver: deadline passed before every message was processed")
		os.Exit(3)
	}
	return nil
}
