package burrow

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"
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
	JobsQueued        int // messages waiting for a goroutine (library queue, Go channel, goroutines' batches)

	MessagesRetried      int64
	MessagesSkipped      int64
	MessagesDeadLettered int64
	MessagesInflight     int64
	CommitFailures       int64
	Rebalances           int64
	PartitionsAssigned   int

	PartitionPauses     int64 // partitions paused for backpressure
	CommitTimeouts      int64 // commits given up after burrow.commit.timeout.ms
	FinalCommitFailures int64 // final commits that failed (Run returned ErrCommitFailed)
	DeadLetterFailures  int64 // dead-letter produces that failed
	ShutdownTimeouts    int64 // stops whose running work outlived ShutdownTimeout
	Halts               int64 // halts by the failure policy
}

// Pool consumes messages in parallel with goroutine workers and commits what is safe.
//
// # Stopping
//
// A run stops when Run's ctx is cancelled, when Stop or Close is called (from any goroutine,
// including from inside a ProcessFunc), or when the pool stops by itself: it halts (the failure
// policy, or MaxConsecutiveErrors), or the Kafka consumer fails fatally. Every stop follows the
// same timeline; the library tells the Go side at once when it begins to stop, whatever the
// reason. For a stop that begins at T:
//
//   - T: the pool stops polling Kafka. Messages received but not started are not started (they
//     stay uncommitted and are delivered again later, to this group's next consumer);
//     ProcessFuncs already running go on with their ctx still live.
//   - T + ShutdownTimeout at the latest: the ctx of the ProcessFuncs still running is cancelled.
//     The library commits what is finished (never past an unfinished message; after a halt, the
//     halted partition up to the failed message) and leaves the consumer group. Run returns
//     within ShutdownTimeout plus one commit (the library's burrow.commit.timeout.ms, 10 s by
//     default), with the result described under Run: ctx.Err(), nil, the halt (ErrHalted), a
//     fatal Kafka error (ErrKafka) or a failed final commit (ErrCommitFailed).
//   - Messages whose ProcessFunc returns after that are not committed: they are processed again
//     later. Run waits up to a second for ProcessFuncs to return once their ctx is cancelled; one
//     that ignores its ctx is left running and its result is discarded (logged as a warning).
//
// So a ProcessFunc that waits on its ctx (an HTTP or database call made with ctx) never holds
// a stop for more than ShutdownTimeout, whatever started the stop.
type Pool struct {
	mu      sync.RWMutex // guards handle, closed, running, ran
	handle  *C.burrow_pool
	closed  bool // Close was called: the handle is freed now, or by Run when it returns
	running bool
	ran     bool

	config Config
	log    *zap.Logger
	logID  uintptr // routes library log lines to log (log.go)

	stopOnce sync.Once
	stopping chan struct{} // closed when a stop begins (Stop, Close, ctx, or the end of the run)
	runDone  chan struct{} // closed when Run returns

	jobs chan batch
	// load is the Go side's work in two halves: the high 32 bits count messages handed to the
	// goroutines and not started (queued in the channel or behind a goroutine's running message
	// in its batch), the low 32 bits ProcessFuncs running. One word, so that starting a message
	// costs one atomic add.
	load atomic.Int64

	// topics interns topic names: messages of a topic share one *string (read-only, copied on
	// write under topicsMu), so a message costs no topic allocation.
	topics   atomic.Pointer[map[string]*string]
	topicsMu sync.Mutex
}

// topic returns the interned *string for the n bytes at ptr.
func (p *Pool) topic(ptr *C.char, n C.size_t) *string {
	name := unsafe.String((*byte)(unsafe.Pointer(ptr)), int(n)) // not kept: only a lookup key
	if m := p.topics.Load(); m != nil {
		if t, ok := (*m)[name]; ok {
			return t
		}
	}
	p.topicsMu.Lock()
	defer p.topicsMu.Unlock()
	old := p.topics.Load()
	if old != nil {
		if t, ok := (*old)[name]; ok {
			return t
		}
	}
	next := make(map[string]*string, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	t := C.GoStringN(ptr, C.int(n))
	next[t] = &t
	p.topics.Store(&next)
	return &t
}

type job struct {
	msg        *Message
	completion *C.burrow_completion
}

// batch is what the feeder hands to one worker goroutine: a message, and more only when the
// feeder took at least twice as many messages as there are goroutines (every goroutine has work
// then, and a batch spares a channel operation and a goroutine wake-up per message).
type batch struct {
	first job
	rest  []job
}

// Units of Pool.load.
const (
	loadRunning = 1
	loadQueued  = 1 << 32
)

// busy and waiting read Pool.load: ProcessFuncs running, messages handed over and not started.
func (p *Pool) busy() int64    { return p.load.Load() & (loadQueued - 1) }
func (p *Pool) waiting() int64 { return p.load.Load() >> 32 }

// errNotStarted is the outcome of a message handed to the Go side but not started because the
// pool is stopping: retriable, so the library leaves it unfinished (never committed).
const errNotStarted = "burrow: not started: the pool is stopping"

// abandonAfter is how long Run waits for ProcessFuncs to return once their ctx is cancelled.
const abandonAfter = time.Second

// livePools counts native pools not yet freed (tests check that finalizers free them).
var livePools atomic.Int64

// NewPool validates config, checks the library version, creates the Kafka consumer from
// consumer's properties and subscribes it to consumer's topics (if any; else call
// Pool.Subscribe). config.Logger receives the pool's logs (see Config.Logger).
//
// The library runs no worker threads for the pool: one goroutine takes its messages in batches
// and hands them to NumWorkers goroutines.
//
// Close the pool when done with it. A pool that becomes unreachable without Close is closed by
// a finalizer (a running pool is always reachable), but finalizers run at the garbage
// collector's pace: the Kafka consumer stays in its group until then.
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
	livePools.Add(1)
	p := &Pool{
		logID:    registerLogger(config.Logger),
		handle:   handle,
		config:   config,
		log:      config.Logger.WithOptions(zap.WithCaller(false)),
		stopping: make(chan struct{}),
		runDone:  make(chan struct{}),
		jobs:     make(chan batch, min(config.NumWorkers, config.JobQueueSize)),
	}
	runtime.SetFinalizer(p, func(p *Pool) { _ = p.Close() })
	if len(topics) > 0 {
		if err := p.Subscribe(topics...); err != nil {
			_ = p.Close()
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
	if p.handle == nil || p.closed {
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

// Run consumes until ctx is cancelled, Stop or Close is called, or the pool stops by itself
// (halt, fatal Kafka error); then it stops as described under Pool (Stopping): messages not
// started are not started, running ProcessFuncs get ShutdownTimeout before their ctx is
// cancelled, what finished is committed, and Run returns within ShutdownTimeout plus one commit:
//
//   - ctx.Err() when ctx was cancelled (also when it was cancelled before Run: the pool then
//     does not join the group);
//   - nil when Stop or Close stopped it;
//   - an error wrapping ErrHalted (with the cause) when the failure policy stopped it, or
//     ErrKafka on a fatal consumer error;
//   - an error wrapping ErrCommitFailed when the run stopped but its final commit failed (the
//     finished work since the last commit is processed again by the next consumer);
//   - an error wrapping ErrClosed, without running, after Close or when the pool has run
//     already: a pool runs once.
func (p *Pool) Run(ctx context.Context, fn ProcessFunc) error {
	if fn == nil {
		return fmt.Errorf("%w: nil ProcessFunc", ErrInvalidConfig)
	}
	return p.run(ctx, fn, false)
}

// start marks the pool running, or says why it cannot run.
func (p *Pool) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed || p.handle == nil:
		return fmt.Errorf("%w: Run on a closed pool", ErrClosed)
	case p.ran:
		return fmt.Errorf("%w: a pool runs once", ErrClosed)
	}
	p.ran, p.running = true, true
	return nil
}

// finish marks the run over and frees the native pool if Close was called meanwhile.
func (p *Pool) finish() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = false
	close(p.runDone)
	if p.closed {
		return p.free()
	}
	return nil
}

func (p *Pool) run(ctx context.Context, fn ProcessFunc, cNoop bool) (err error) {
	if err := p.start(); err != nil {
		return err
	}
	defer func() {
		if ferr := p.finish(); err == nil {
			err = ferr
		}
	}()
	if ctx.Err() != nil {
		p.beginStop()
	}
	// The feeder's batch buffer is C memory: cgo's pointer check would scan a Go buffer of
	// structs holding pointers on every call.
	cbuf := (*C.burrow_go_msg)(C.calloc(takeBatch, C.size_t(unsafe.Sizeof(C.burrow_go_msg{}))))
	if cbuf == nil {
		return fmt.Errorf("burrow: Run: cannot allocate the feeder's buffer")
	}
	defer C.free(unsafe.Pointer(cbuf))

	// The ProcessFuncs' ctx: the values of ctx, cancelled ShutdownTimeout after a stop begins
	// (or when the run is over, whichever comes first).
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
	// The handle stays valid until Run returns: only Run or a Close while running (which
	// defers the free to Run) frees it.
	ran := make(chan struct{}) // the library's run has returned
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		if !cNoop {
			p.feedJobs(cbuf, ran)
		}
	}()
	done := make(chan result, 1)
	go func() {
		errstr := make([]C.char, errstrSize)
		noop := C.int(0)
		if cNoop {
			noop = 1
		}
		rc := C.burrow_go_pool_run(p.handle, C.uintptr_t(h), C.uintptr_t(p.logID), noop, &errstr[0], C.size_t(len(errstr)))
		close(ran)
		done <- result{rc, errstr}
	}()

	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		p.beginStop()
	case <-p.stopping:
	}
	var grace *time.Timer
	if res.errstr == nil { // stopping: give the running ProcessFuncs ShutdownTimeout
		grace = time.AfterFunc(p.config.ShutdownTimeout, cancelWork)
		res = <-done
		grace.Stop()
	}
	// No callback runs any more, none will: no more jobs. Jobs still queued are not started.
	p.beginStopLocal()
	<-fed // the feeder has handed over or released every message it took
	close(p.jobs)
	cancelWork()
	p.waitWorkers(&workers)
	runtime.KeepAlive(p)

	if err := ctx.Err(); err != nil && res.rc == C.BURROW_RESULT_OK {
		return err
	}
	return resultError("Run", res.rc, res.errstr)
}

// beginStop starts a stop: jobs not started are released and the library stops polling.
// Idempotent; callable from any goroutine while the pool is not freed.
func (p *Pool) beginStop() {
	p.beginStopLocal()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle != nil {
		C.burrow_pool_stop(p.handle)
	}
}

// beginStopLocal marks the Go side as stopping.
func (p *Pool) beginStopLocal() {
	p.stopOnce.Do(func() { close(p.stopping) })
}

// waitWorkers waits for the worker goroutines, at most abandonAfter once their ctx is
// cancelled; ProcessFuncs still running then are left behind.
func (p *Pool) waitWorkers(workers *sync.WaitGroup) {
	exited := make(chan struct{})
	go func() {
		workers.Wait()
		close(exited)
	}()
	t := time.NewTimer(abandonAfter)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		p.log.Warn("burrow: ProcessFuncs still running after their context was cancelled; their results are discarded and the messages will be processed again",
			zap.Int64("running", p.busy()))
	}
}

func (p *Pool) worker(ctx context.Context, fn ProcessFunc) {
	for b := range p.jobs {
		p.process(ctx, fn, b.first)
		for _, j := range b.rest {
			p.process(ctx, fn, j)
		}
	}
}

// process runs fn on a job handed to this goroutine and completes it, or releases it (not
// started) once the pool is stopping.
func (p *Pool) process(ctx context.Context, fn ProcessFunc, j job) {
	select {
	case <-p.stopping:
		p.load.Add(-loadQueued)
		complete(j.completion, nil)
		return
	default:
	}
	p.load.Add(loadRunning - loadQueued)
	err := callSafely(ctx, fn, j.msg)
	p.load.Add(-loadRunning)
	complete(j.completion, &err)
}

// complete finishes a completion with the ProcessFunc's result, or (result nil) as not
// started.
func complete(c *C.burrow_completion, result *error) {
	outcome := C.burrow_outcome(C.BURROW_OUTCOME_DONE)
	var text string
	switch {
	case result == nil:
		text = errNotStarted
		outcome = C.BURROW_OUTCOME_RETRY
	case *result != nil:
		text = (*result).Error()
		outcome = C.BURROW_OUTCOME_RETRY
		if IsPermanent(*result) {
			outcome = C.BURROW_OUTCOME_FAIL
		}
	}
	var ptr *C.char
	if len(text) > 0 {
		// Go memory without Go pointers, read by C during the call only (it copies).
		ptr = (*C.char)(unsafe.Pointer(unsafe.StringData(text)))
	}
	C.burrow_completion_complete(c, outcome, ptr, C.size_t(len(text)))
}

func callSafely(ctx context.Context, fn ProcessFunc, msg *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("burrow: ProcessFunc panicked: %v", r)
		}
	}()
	return fn(ctx, msg)
}

// goStopping: the library began to stop the run (Stop, Close, ctx, a halt or a fatal error).
// Jobs not started are released and Run gives the running ProcessFuncs ShutdownTimeout before
// cancelling their ctx. Called once, on a library thread; returns at once.
//
//export goStopping
func goStopping(handle C.uintptr_t) {
	cgo.Handle(handle).Value().(*Pool).beginStopLocal()
}

// takeBatch is how many messages the feeder takes per cgo call.
const takeBatch = C.BURROW_GO_TAKE_MAX

// takeWait bounds each take's wait while the pool has no message for the Go side.
const takeWait = 250 * time.Millisecond

// feedJobs takes the run's messages from the library in batches (one cgo call per batch, into
// cbuf: takeBatch entries) and hands them to the worker goroutines. It returns once the run is
// over (ran is closed when the library's run has returned).
func (p *Pool) feedJobs(cbuf *C.burrow_go_msg, ran <-chan struct{}) {
	buf := unsafe.Slice(cbuf, takeBatch)
	var last *string // the topic of the last message
	for {
		var taken C.size_t
		rc := C.burrow_go_take(p.handle, C.uintptr_t(p.logID), cbuf, takeBatch, C.uint32_t(takeWait.Milliseconds()), &taken)
		switch rc {
		case C.BURROW_RESULT_OK:
		case C.BURROW_RESULT_CLOSED:
			return
		default:
			// Not expected: stop rather than leave the run without anyone taking its messages.
			p.log.Error("burrow: taking messages failed; stopping the pool", zap.Error(resultError("take", rc, nil)))
			p.beginStop()
			return
		}
		n := int(taken)
		if n == 0 {
			select {
			case <-ran: // the run ended without opening (it failed to start)
				return
			default:
			}
			continue
		}
		per := max(1, n/p.config.NumWorkers)
		for i := 0; i < n; {
			m := min(per, n-i)
			b := batch{first: job{msg: p.message(&buf[i], &last), completion: buf[i].completion}}
			if m > 1 {
				b.rest = make([]job, m-1)
				for r := range b.rest {
					c := &buf[i+1+r]
					b.rest[r] = job{msg: p.message(c, &last), completion: c.completion}
				}
			}
			i += m
			p.dispatch(b, int64(m))
		}
	}
}

// message copies a queued message into Go memory. lastTopic is the feeder's last interned
// topic.
func (p *Pool) message(m *C.burrow_go_msg, lastTopic **string) *Message {
	kn, vn := 0, 0
	if m.key != nil {
		kn = int(m.key_len)
	}
	if m.value != nil {
		vn = int(m.value_len)
	}
	msg, space := newMessage(kn + vn)
	msg.TopicPartition.Partition = int32(m.partition)
	msg.TopicPartition.Offset = Offset(m.offset)
	msg.Attempt = int(m.attempt)
	msg.TimestampType = TimestampType(m.ts_type)
	if m.topic != nil {
		// Consecutive messages mostly share their topic: compare with the last one before
		// looking the name up.
		name := unsafe.String((*byte)(unsafe.Pointer(m.topic)), int(m.topic_len))
		if last := *lastTopic; last != nil && *last == name {
			msg.TopicPartition.Topic = last
		} else {
			msg.TopicPartition.Topic = p.topic(m.topic, m.topic_len)
			*lastTopic = msg.TopicPartition.Topic
		}
	} else {
		empty := ""
		msg.TopicPartition.Topic = &empty
	}
	// Capped: appending to one never writes into the other.
	if m.key != nil {
		msg.Key = space[:kn:kn]
		copy(msg.Key, unsafe.Slice((*byte)(unsafe.Pointer(m.key)), kn))
	}
	if m.value != nil {
		msg.Value = space[kn : kn+vn : kn+vn]
		copy(msg.Value, unsafe.Slice((*byte)(unsafe.Pointer(m.value)), vn))
	}
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
	return msg
}

// dispatch hands a batch of n messages to a worker goroutine. It waits while every goroutine is
// busy and the channel is full: the library's job queue then fills and the pool holds off
// fetching, which bounds memory. A stop releases it: the messages are then not started.
func (p *Pool) dispatch(b batch, n int64) {
	select {
	case <-p.stopping:
		release(b)
		return
	default:
	}
	p.load.Add(n * loadQueued)
	select {
	case p.jobs <- b: // a goroutine is free or the channel has room: no two-way select
		return
	default:
	}
	select {
	case p.jobs <- b:
	case <-p.stopping:
		p.load.Add(-n * loadQueued)
		release(b)
	}
}

// release completes a batch's messages as not started.
func release(b batch) {
	complete(b.first.completion, nil)
	for _, j := range b.rest {
		complete(j.completion, nil)
	}
}

// newMessage allocates a Message together with n bytes for its key and value: one allocation
// instead of two for records up to 1 KiB (the bytes and the Message then live as long as either
// is referenced). The bytes are never nil, even when n is 0.
func newMessage(n int) (*Message, []byte) {
	switch {
	case n <= 16:
		x := new(struct {
			m Message
			b [16]byte
		})
		return &x.m, x.b[:n]
	case n <= 64:
		x := new(struct {
			m Message
			b [64]byte
		})
		return &x.m, x.b[:n]
	case n <= 128:
		x := new(struct {
			m Message
			b [128]byte
		})
		return &x.m, x.b[:n]
	case n <= 256:
		x := new(struct {
			m Message
			b [256]byte
		})
		return &x.m, x.b[:n]
	case n <= 1024:
		x := new(struct {
			m Message
			b [1024]byte
		})
		return &x.m, x.b[:n]
	}
	return new(Message), make([]byte, n)
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

// Stop starts stopping the pool, as cancelling Run's context does, and returns at once (Run
// returns once the stop is done, see Pool). Safe from any goroutine, including from inside a
// ProcessFunc, before Run (Run then returns nil at once), and any number of times.
func (p *Pool) Stop() {
	p.beginStop()
}

// GetStats returns the pool's counters (zero after Close).
func (p *Pool) GetStats() Stats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil || p.closed {
		return Stats{}
	}
	var s C.burrow_stats
	s.struct_size = C.uint32_t(unsafe.Sizeof(s))
	C.burrow_pool_stats(p.handle, &s)
	queued := int(s.jobs_queued)
	if p.running {
		queued += int(p.waiting())
	}
	return Stats{
		MessagesProcessed:    int64(s.messages_processed),
		MessagesFailed:       int64(s.messages_failed),
		OffsetsCommitted:     int64(s.offsets_committed),
		WorkersActive:        int(p.busy()),
		JobsQueued:           queued,
		MessagesRetried:      int64(s.messages_retried),
		MessagesSkipped:      int64(s.messages_skipped),
		MessagesDeadLettered: int64(s.messages_dead_lettered),
		MessagesInflight:     int64(s.messages_inflight),
		CommitFailures:       int64(s.commit_failures),
		Rebalances:           int64(s.rebalances),
		PartitionsAssigned:   int(s.partitions_assigned),
		PartitionPauses:      int64(s.partition_pauses),
		CommitTimeouts:       int64(s.commit_timeouts),
		FinalCommitFailures:  int64(s.final_commit_failures),
		DeadLetterFailures:   int64(s.dead_letter_failures),
		ShutdownTimeouts:     int64(s.shutdown_timeouts),
		Halts:                int64(s.halts),
	}
}

// Close releases the pool. If it runs, Close starts the stop (as Stop does) and returns at
// once without waiting for it: the stop then follows the timeline under Pool (Stopping) —
// ProcessFuncs running get ShutdownTimeout, then their ctx is cancelled, the final commit is
// made — and Run frees the pool when it returns. Otherwise Close frees the pool and its Kafka
// consumer now. Safe from any goroutine, including from inside a ProcessFunc (it never waits
// for the run). A second Close does nothing and returns nil. After Close, Run, Subscribe and
// MetricsText return ErrClosed and GetStats returns zeros.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	runtime.SetFinalizer(p, nil)
	if p.running {
		p.mu.Unlock()
		p.beginStop()
		return nil
	}
	defer p.mu.Unlock()
	return p.free()
}

// free frees the native pool; p.mu is held and the pool is not running.
func (p *Pool) free() error {
	if p.handle == nil {
		return nil
	}
	rc := C.burrow_pool_free(p.handle)
	if rc != C.BURROW_RESULT_OK {
		return resultError("Close", rc, nil)
	}
	p.handle = nil
	livePools.Add(-1)
	unregisterLogger(p.logID)
	return nil
}
