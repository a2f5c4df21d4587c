package burrow

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// ProcessFunc processes one message. nil marks it done; an error means retry (after a
// backoff, up to Config.MaxRetries); an error wrapped with Permanent skips the retries. A
// panic is recovered and counts as a retriable failure.
//
// ctx carries the values of Run's context but is not cancelled when Run's context is: a stop
// lets in-flight messages finish (up to Config.ShutdownTimeout), then ctx is cancelled.
type ProcessFunc func(ctx context.Context, msg *Message) error

// Stats are a pool's counters. The first five fields are the original package's.
type Stats struct {
	MessagesProcessed int64
	MessagesFailed    int64
	OffsetsCommitted  int64
	WorkersActive     int // goroutines inside the ProcessFunc now
	JobsQueued        int // messages waiting for a goroutine (library queue + Go channel)

	MessagesRetried      int64
	MessagesSkipped      int64
	MessagesDeadLettered int64
	MessagesInflight     int64
	CommitFailures       int64
	Rebalances           int64
	PartitionsAssigned   int
}

// Pool consumes messages in parallel with goroutine workers and commits what is safe.
type Pool struct {
	mu      sync.RWMutex // guards handle against Close; RLock for calls on a live pool
	handle  *C.burrow_pool
	config  Config
	running atomic.Bool
	ran     atomic.Bool
	runDone chan struct{}

	jobs   chan job
	active atomic.Int64
}

type job struct {
	msg        *Message
	completion *C.burrow_completion
}

// NewPool validates config, checks the library version, installs config.Logger as the
// process-wide log sink, creates the Kafka consumer from consumer's properties and subscribes
// it to consumer's topics (if any; else call Pool.Subscribe).
//
// burrow.workers (library threads) is min(NumWorkers, 4): those threads only hand messages to
// NumWorkers goroutines.
func NewPool(consumer *Consumer, config Config) (*Pool, error) {
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if err := CheckVersion(); err != nil {
		return nil, err
	}
	if consumer == nil {
		return nil, fmt.Errorf("%w: nil consumer", ErrInvalidConfig)
	}
	conf, topics, err := consumer.take()
	if err != nil {
		return nil, err
	}
	setLogger(config.Logger)
	cfg, err := newCConfig(conf, config.burrowKeys())
	if err != nil {
		return nil, err
	}
	defer C.burrow_config_free(cfg)
	errstr := make([]C.char, errstrSize)
	var handle *C.burrow_pool
	if rc := C.burrow_pool_new(cfg, &errstr[0], C.size_t(len(errstr)), &handle); rc != C.BURROW_RESULT_OK {
		return nil, resultError("NewPool", rc, errstr)
	}
	p := &Pool{
		handle:  handle,
		config:  config,
		runDone: make(chan struct{}),
		jobs:    make(chan job, min(config.NumWorkers, config.JobQueueSize)),
	}
	if len(topics) > 0 {
		if err := p.Subscribe(topics...); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Subscribe subscribes the pool to topics (a name starting with "^" is a regex). Call before
// Run.
func (p *Pool) Subscribe(topics ...string) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return fmt.Errorf("%w: Subscribe on a closed pool", ErrClosed)
	}
	ctopics := make([]*C.char, len(topics))
	for i, t := range topics {
		ctopics[i] = C.CString(t)
	}
	defer func() {
		for _, c := range ctopics {
			C.free(unsafe.Pointer(c))
		}
	}()
	// The array holds C pointers only; C may read Go memory that holds no Go pointers.
	carr := (**C.char)(C.malloc(C.size_t(len(topics)+1) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(carr))
	slice := unsafe.Slice(carr, len(topics)+1)
	copy(slice, ctopics)
	errstr := make([]C.char, errstrSize)
	rc := C.burrow_pool_subscribe(p.handle, carr, C.size_t(len(topics)), &errstr[0], C.size_t(len(errstr)))
	return resultError("Subscribe", rc, errstr)
}

// Run consumes until ctx is cancelled (then it stops polling, lets in-flight messages finish,
// commits, and returns ctx.Err()) or the pool halts (it returns the cause, wrapping
// ErrHalted). A pool runs once.
func (p *Pool) Run(ctx context.Context, fn ProcessFunc) error {
	if fn == nil {
		return fmt.Errorf("%w: nil ProcessFunc", ErrInvalidConfig)
	}
	return p.run(ctx, fn, false)
}

func (p *Pool) run(ctx context.Context, fn ProcessFunc, cNoop bool) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return fmt.Errorf("%w: Run on a closed pool", ErrClosed)
	}
	if !p.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: a pool runs once", ErrClosed)
	}
	p.running.Store(true)
	defer close(p.runDone)
	defer p.running.Store(false)

	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var workers sync.WaitGroup
	if !cNoop {
		for range p.config.NumWorkers {
			workers.Add(1)
			go func() {
				defer workers.Done()
				p.worker(workCtx, fn)
			}()
		}
	}

	h := cgo.NewHandle(p)
	defer h.Delete()

	type result struct {
		rc     C.burrow_result
		errstr []C.char
	}
	done := make(chan result, 1)
	go func() {
		errstr := make([]C.char, errstrSize)
		noop := C.int(0)
		if cNoop {
			noop = 1
		}
		rc := C.burrow_go_pool_run(p.handle, C.uintptr_t(h), noop, &errstr[0], C.size_t(len(errstr)))
		done <- result{rc, errstr}
	}()

	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		C.burrow_pool_stop(p.handle)
		res = <-done
	}
	// No callback runs any more: no more jobs. Messages still queued are finished by the
	// workers (their completions have no effect once the run is over).
	close(p.jobs)
	cancelWork()
	workers.Wait()
	runtime.KeepAlive(p)

	if err := ctx.Err(); err != nil && res.rc == C.BURROW_RESULT_OK {
		return err
	}
	return resultError("Run", res.rc, res.errstr)
}

func (p *Pool) worker(ctx context.Context, fn ProcessFunc) {
	for j := range p.jobs {
		p.active.Add(1)
		err := callSafely(ctx, fn, j.msg)
		p.active.Add(-1)
		outcome := C.burrow_outcome(C.BURROW_OUTCOME_DONE)
		var text string
		if err != nil {
			text = err.Error()
			outcome = C.BURROW_OUTCOME_RETRY
			if IsPermanent(err) {
				outcome = C.BURROW_OUTCOME_FAIL
			}
		}
		var ptr *C.char
		if len(text) > 0 {
			// Go memory without Go pointers, read by C during the call only (it copies).
			ptr = (*C.char)(unsafe.Pointer(unsafe.StringData(text)))
		}
		C.burrow_completion_complete(j.completion, outcome, ptr, C.size_t(len(text)))
	}
}

func callSafely(ctx context.Context, fn ProcessFunc, msg *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("burrow: ProcessFunc panicked: %v", r)
		}
	}()
	return fn(ctx, msg)
}

//export goProcess
func goProcess(handle C.uintptr_t, m *C.burrow_go_msg) C.burrow_outcome {
	p := cgo.Handle(handle).Value().(*Pool)
	msg := &Message{
		TopicPartition: TopicPartition{
			Partition: int32(m.partition),
			Offset:    Offset(m.offset),
		},
		Attempt:       int(m.attempt),
		TimestampType: TimestampType(m.ts_type),
	}
	topic := C.GoStringN(m.topic, C.int(m.topic_len))
	msg.TopicPartition.Topic = &topic
	msg.Key = goBytes(unsafe.Pointer(m.key), m.key_len)
	msg.Value = goBytes(unsafe.Pointer(m.value), m.value_len)
	if m.ts_ms >= 0 && msg.TimestampType != TimestampNotAvailable {
		msg.Timestamp = time.UnixMilli(int64(m.ts_ms))
	}
	if n := int(m.header_count); n > 0 {
		msg.Headers = make([]Header, 0, n)
		for i := range n {
			var name *C.char
			var nameLen, valueLen C.size_t
			var value *C.uint8_t
			if C.burrow_go_header(m.msg, C.size_t(i), &name, &nameLen, &value, &valueLen) != C.BURROW_RESULT_OK {
				break
			}
			msg.Headers = append(msg.Headers, Header{
				Key:   C.GoStringN(name, C.int(nameLen)),
				Value: goBytes(unsafe.Pointer(value), valueLen),
			})
		}
	}
	// Blocks while every goroutine is busy and the channel is full: the library thread waits,
	// which bounds memory.
	p.jobs <- job{msg: msg, completion: m.completion}
	return C.BURROW_OUTCOME_DEFERRED
}

func goBytes(ptr unsafe.Pointer, n C.size_t) []byte {
	if ptr == nil {
		return nil
	}
	if n == 0 {
		return []byte{}
	}
	return C.GoBytes(ptr, C.int(n))
}

// Stop asks a running pool to stop, as cancelling Run's context does. Safe at any time.
func (p *Pool) Stop() {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle != nil {
		C.burrow_pool_stop(p.handle)
	}
}

// GetStats returns the pool's counters (zero after Close).
func (p *Pool) GetStats() Stats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return Stats{}
	}
	var s C.burrow_stats
	s.struct_size = C.uint32_t(unsafe.Sizeof(s))
	C.burrow_pool_stats(p.handle, &s)
	queued := int(s.jobs_queued)
	if p.running.Load() {
		queued += len(p.jobs)
	}
	return Stats{
		MessagesProcessed:    int64(s.messages_processed),
		MessagesFailed:       int64(s.messages_failed),
		OffsetsCommitted:     int64(s.offsets_committed),
		WorkersActive:        int(p.active.Load()),
		JobsQueued:           queued,
		MessagesRetried:      int64(s.messages_retried),
		MessagesSkipped:      int64(s.messages_skipped),
		MessagesDeadLettered: int64(s.messages_dead_lettered),
		MessagesInflight:     int64(s.messages_inflight),
		CommitFailures:       int64(s.commit_failures),
		Rebalances:           int64(s.rebalances),
		PartitionsAssigned:   int(s.partitions_assigned),
	}
}

// MetricsText returns the pool's Prometheus metrics in the text exposition format 0.0.4
// (empty unless Config.EnableMetrics).
func (p *Pool) MetricsText() (string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return "", fmt.Errorf("%w: MetricsText on a closed pool", ErrClosed)
	}
	var text *C.char
	var n C.size_t
	if rc := C.burrow_pool_metrics_text(p.handle, &text, &n); rc != C.BURROW_RESULT_OK {
		return "", resultError("MetricsText", rc, nil)
	}
	defer C.burrow_string_free(text)
	return C.GoStringN(text, C.int(n)), nil
}

// MetricsHandler serves MetricsText for Prometheus (mount it on /metrics).
func (p *Pool) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		text, err := p.MetricsText()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(text))
	})
}

// Close stops the pool if it runs, waits for Run to return, then frees the pool and closes its
// Kafka consumer. Idempotent.
func (p *Pool) Close() error {
	// A stop before burrow_pool_run makes the run return at once, so no Run can start and
	// block Close from here on.
	p.Stop()
	if p.ran.Load() {
		<-p.runDone
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.handle == nil {
		return nil
	}
	rc := C.burrow_pool_free(p.handle)
	if rc != C.BURROW_RESULT_OK {
		return resultError("Close", rc, nil)
	}
	p.handle = nil
	return nil
}
