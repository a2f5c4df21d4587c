package burrow

import (
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// Ordering says which messages must be processed one after another.
type Ordering string

// Ordering values (burrow.ordering).
const (
	// OrderingUnordered processes any message in parallel with any other.
	OrderingUnordered Ordering = "unordered"
	// OrderingKey processes messages with the same key (within a partition) in offset order.
	OrderingKey Ordering = "key"
	// OrderingPartition processes a partition's messages one at a time, in offset order.
	OrderingPartition Ordering = "partition"
)

// FailurePolicy says what happens to a message that failed permanently (retries exhausted or
// a Permanent error).
type FailurePolicy string

// FailurePolicy values (burrow.on.failure).
const (
	// OnFailureHalt stops the pool at the first message that fails permanently: running work
	// drains, the safe prefix is committed (up to the failed message) and Run returns an error
	// wrapping ErrHalted that names topic, partition, offset and cause.
	OnFailureHalt FailurePolicy = "halt"
	// OnFailureSkip commits past the message and goes on; MaxConsecutiveErrors permanent
	// failures in a row halt the pool instead.
	OnFailureSkip FailurePolicy = "skip"
	// OnFailureDeadLetter produces the message to DeadLetterTopic, then commits past it;
	// MaxConsecutiveErrors permanent failures in a row, or a copy that still fails after
	// MaxRetries produce retries, halt the pool.
	OnFailureDeadLetter FailurePolicy = "dead-letter"
)

// Config configures a Pool. The fields up to ShutdownTimeout are the original package's;
// start from DefaultConfig.
type Config struct {
	// NumWorkers is the number of goroutines running the ProcessFunc (the library runs no
	// worker threads for a Go pool, see NewPool).
	NumWorkers int
	// JobQueueSize: messages that may wait for a free worker (burrow.job.queue.size).
	JobQueueSize int
	// ResultQueueSize: finished messages waiting for the coordinator (burrow.result.queue.size).
	ResultQueueSize int
	// CommitInterval: commit at least this often while there is progress.
	CommitInterval time.Duration
	// CommitBatchSize: commit as soon as this many messages finished since the last commit.
	CommitBatchSize int
	// MaxConsecutiveErrors: permanent failures in a row that halt the pool under OnFailureSkip
	// and OnFailureDeadLetter (OnFailureHalt halts at the first).
	MaxConsecutiveErrors int
	// MaxRetries: retries after the first attempt before the failure policy applies.
	MaxRetries int
	// RetryBackoffBase: base of the exponential retry backoff.
	RetryBackoffBase time.Duration
	// Logger receives the pool's logs: the Go side's, and the library's (see SetLibraryLogger
	// for how library logs are routed when several pools live in one process).
	Logger *zap.Logger
	// EnableMetrics keeps Prometheus metrics (Pool.MetricsHandler, MetricsAddr).
	EnableMetrics bool
	// EnableOrderedProcessing is the original's switch: same as Ordering = OrderingPartition.
	EnableOrderedProcessing bool
	// ShutdownTimeout: how long a stop lets running ProcessFuncs finish before their ctx is
	// cancelled and the final commit is made (see Pool, Stopping).
	ShutdownTimeout time.Duration

	// Ordering: "" (unordered, or partition when EnableOrderedProcessing), or an Ordering.
	Ordering Ordering
	// OnFailure: "" (halt) or a FailurePolicy.
	OnFailure FailurePolicy
	// DeadLetterTopic receives permanently failed messages with OnFailureDeadLetter.
	DeadLetterTopic string
	// RetryBackoffMax caps the exponential backoff; 0 keeps the library default (60 s).
	RetryBackoffMax time.Duration
	// MaxInflightPerPartition: received-but-unfinished messages per partition before the
	// partition is paused; 0 keeps the library default (10000).
	MaxInflightPerPartition int
	// MetricsAddr, when set, serves GET /metrics on this address from the library (implies
	// EnableMetrics).
	MetricsAddr string
}

// DefaultConfig returns the original defaults: 10 workers, 1000/1000 queues, commit every 5 s
// or 1000 messages, halt at the first permanent failure (MaxConsecutiveErrors 10 for the
// skip and dead-letter policies), 3 retries from 100 ms, metrics off,
// unordered, 30 s shutdown timeout.
func DefaultConfig(logger *zap.Logger) Config {
	return Config{
		NumWorkers:              10,
		JobQueueSize:            1000,
		ResultQueueSize:         1000,
		CommitInterval:          5 * time.Second,
		CommitBatchSize:         1000,
		MaxConsecutiveErrors:    10,
		MaxRetries:              3,
		RetryBackoffBase:        100 * time.Millisecond,
		Logger:                  logger,
		EnableMetrics:           false,
		EnableOrderedProcessing: false,
		ShutdownTimeout:         30 * time.Second,
	}
}

func invalid(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// Validate checks the configuration; the error wraps ErrInvalidConfig and names the field.
func (c Config) Validate() error {
	switch {
	case c.NumWorkers <= 0:
		return invalid("NumWorkers", "must be > 0, got %d", c.NumWorkers)
	case c.NumWorkers > 1_000_000:
		return invalid("NumWorkers", "must be <= 1000000, got %d", c.NumWorkers)
	case c.JobQueueSize <= 0:
		return invalid("JobQueueSize", "must be > 0, got %d", c.JobQueueSize)
	case c.ResultQueueSize <= 0:
		return invalid("ResultQueueSize", "must be > 0, got %d", c.ResultQueueSize)
	case c.CommitInterval < time.Millisecond:
		return invalid("CommitInterval", "must be >= 1ms, got %v", c.CommitInterval)
	case c.CommitBatchSize <= 0:
		return invalid("CommitBatchSize", "must be > 0, got %d", c.CommitBatchSize)
	case c.MaxConsecutiveErrors <= 0:
		return invalid("MaxConsecutiveErrors", "must be > 0, got %d", c.MaxConsecutiveErrors)
	case c.MaxRetries < 0:
		return invalid("MaxRetries", "must be >= 0, got %d", c.MaxRetries)
	case c.RetryBackoffBase < 0:
		return invalid("RetryBackoffBase", "must be >= 0, got %v", c.RetryBackoffBase)
	case c.Logger == nil:
		return invalid("Logger", "is required (use zap.NewNop() for no logs)")
	case c.ShutdownTimeout < 0:
		return invalid("ShutdownTimeout", "must be >= 0, got %v", c.ShutdownTimeout)
	case c.RetryBackoffMax != 0 && c.RetryBackoffMax < c.RetryBackoffBase:
		return invalid("RetryBackoffMax", "must be >= RetryBackoffBase (%v), got %v", c.RetryBackoffBase, c.RetryBackoffMax)
	case c.MaxInflightPerPartition < 0:
		return invalid("MaxInflightPerPartition", "must be >= 0, got %d", c.MaxInflightPerPartition)
	}
	switch c.Ordering {
	case "", OrderingKey, OrderingPartition:
	case OrderingUnordered:
		if c.EnableOrderedProcessing {
			return invalid("Ordering", "is %q but EnableOrderedProcessing is true", c.Ordering)
		}
	default:
		return invalid("Ordering", "must be unordered, key or partition, got %q", c.Ordering)
	}
	if c.EnableOrderedProcessing && c.Ordering == OrderingKey {
		return invalid("Ordering", "is %q but EnableOrderedProcessing (partition) is true", c.Ordering)
	}
	switch c.OnFailure {
	case "", OnFailureHalt, OnFailureSkip:
	case OnFailureDeadLetter:
		if c.DeadLetterTopic == "" {
			return invalid("DeadLetterTopic", "is required when OnFailure is %q", c.OnFailure)
		}
	default:
		return invalid("OnFailure", "must be halt, skip or dead-letter, got %q", c.OnFailure)
	}
	return nil
}

// libraryWorkers is burrow.workers for the library: it starts no threads for the Go path (the
// goroutines take the messages), so the value only reaches the pool's workers gauge.
func libraryWorkers(numWorkers int) int {
	return min(numWorkers, 100_000)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// burrowKeys maps the Config to burrow.* keys, in a fixed order.
func (c Config) burrowKeys() [][2]string {
	kv := [][2]string{
		{"burrow.workers", strconv.Itoa(libraryWorkers(c.NumWorkers))},
		{"burrow.job.queue.size", strconv.Itoa(c.JobQueueSize)},
		{"burrow.result.queue.size", strconv.Itoa(c.ResultQueueSize)},
		{"burrow.commit.interval.ms", ms(max(c.CommitInterval, time.Millisecond))},
		{"burrow.commit.batch.size", strconv.Itoa(c.CommitBatchSize)},
		{"burrow.max.consecutive.errors", strconv.Itoa(c.MaxConsecutiveErrors)},
		{"burrow.max.retries", strconv.Itoa(c.MaxRetries)},
		{"burrow.retry.backoff.ms", ms(c.RetryBackoffBase)},
		{"burrow.shutdown.timeout.ms", ms(c.ShutdownTimeout)},
		{"burrow.metrics", strconv.FormatBool(c.EnableMetrics || c.MetricsAddr != "")},
	}
	ordering := c.Ordering
	if ordering == "" && c.EnableOrderedProcessing {
		ordering = OrderingPartition
	}
	if ordering != "" {
		kv = append(kv, [2]string{"burrow.ordering", string(ordering)})
	}
	if c.OnFailure != "" {
		kv = append(kv, [2]string{"burrow.on.failure", string(c.OnFailure)})
	}
	if c.DeadLetterTopic != "" {
		kv = append(kv, [2]string{"burrow.dead.letter.topic", c.DeadLetterTopic})
	}
	if c.RetryBackoffMax != 0 {
		kv = append(kv, [2]string{"burrow.retry.backoff.max.ms", ms(c.RetryBackoffMax)})
	}
	if c.MaxInflightPerPartition != 0 {
		kv = append(kv, [2]string{"burrow.max.inflight.per.partition", strconv.Itoa(c.MaxInflightPerPartition)})
	}
	if c.MetricsAddr != "" {
		kv = append(kv, [2]string{"burrow.metrics.addr", c.MetricsAddr})
	}
	return kv
}
