package burrow

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestDefaultConfig(t *testing.T) {
	logger := zap.NewNop()
	c := DefaultConfig(logger)
	assert.Equal(t, 10, c.NumWorkers)
	assert.Equal(t, 1000, c.JobQueueSize)
	assert.Equal(t, 1000, c.ResultQueueSize)
	assert.Equal(t, 5*time.Second, c.CommitInterval)
	assert.Equal(t, 1000, c.CommitBatchSize)
	assert.Equal(t, 10, c.MaxConsecutiveErrors)
	assert.Equal(t, 3, c.MaxRetries)
	assert.Equal(t, 100*time.Millisecond, c.RetryBackoffBase)
	assert.Same(t, logger, c.Logger)
	assert.False(t, c.EnableMetrics)
	assert.False(t, c.EnableOrderedProcessing)
	assert.Equal(t, 30*time.Second, c.ShutdownTimeout)
	assert.NoError(t, c.Validate())
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		field  string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero workers", func(c *Config) { c.NumWorkers = 0 }, "NumWorkers"},
		{"negative workers", func(c *Config) { c.NumWorkers = -1 }, "NumWorkers"},
		{"nil logger", func(c *Config) { c.Logger = nil }, "Logger"},
		{"zero interval", func(c *Config) { c.CommitInterval = 0 }, "CommitInterval"},
		{"negative interval", func(c *Config) { c.CommitInterval = -time.Second }, "CommitInterval"},
		{"zero job queue", func(c *Config) { c.JobQueueSize = 0 }, "JobQueueSize"},
		{"zero result queue", func(c *Config) { c.ResultQueueSize = 0 }, "ResultQueueSize"},
		{"zero batch", func(c *Config) { c.CommitBatchSize = 0 }, "CommitBatchSize"},
		{"zero max errors", func(c *Config) { c.MaxConsecutiveErrors = 0 }, "MaxConsecutiveErrors"},
		{"negative retries", func(c *Config) { c.MaxRetries = -1 }, "MaxRetries"},
		{"zero retries ok", func(c *Config) { c.MaxRetries = 0 }, ""},
		{"negative backoff", func(c *Config) { c.RetryBackoffBase = -1 }, "RetryBackoffBase"},
		{"backoff max below base", func(c *Config) { c.RetryBackoffMax = time.Millisecond }, "RetryBackoffMax"},
		{"negative shutdown", func(c *Config) { c.ShutdownTimeout = -1 }, "ShutdownTimeout"},
		{"bad ordering", func(c *Config) { c.Ordering = "random" }, "Ordering"},
		{"ordering key", func(c *Config) { c.Ordering = OrderingKey }, ""},
		{"ordered + unordered", func(c *Config) { c.EnableOrderedProcessing = true; c.Ordering = OrderingUnordered }, "Ordering"},
		{"bad policy", func(c *Config) { c.OnFailure = "ignore" }, "OnFailure"},
		{"dead letter without topic", func(c *Config) { c.OnFailure = OnFailureDeadLetter }, "DeadLetterTopic"},
		{"dead letter", func(c *Config) { c.OnFailure = OnFailureDeadLetter; c.DeadLetterTopic = "dlq" }, ""},
		{"negative inflight", func(c *Config) { c.MaxInflightPerPartition = -1 }, "MaxInflightPerPartition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig(zap.NewNop())
			tt.modify(&c)
			err := c.Validate()
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidConfig))
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestNewPoolRejectsInvalidConfig(t *testing.T) {
	consumer, err := NewConsumer(&ConfigMap{"bootstrap.servers": cluster.Bootstrap, "group.id": "g"})
	require.NoError(t, err)
	c := DefaultConfig(nil)
	_, err = NewPool(consumer, c)
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "Logger")
}

func TestLibraryRejectsConfigNamingTheKey(t *testing.T) {
	_, err := NewConsumer(&ConfigMap{"bootstrap.servers": cluster.Bootstrap, "burrow.workers": "lots"})
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "burrow.workers")

	consumer, err := NewConsumer(&ConfigMap{"bootstrap.servers": cluster.Bootstrap}) // no group.id
	require.NoError(t, err)
	_, err = NewPool(consumer, DefaultConfig(zap.NewNop()))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "group.id")
}

func TestEveryConfigFieldIsAcceptedByTheLibrary(t *testing.T) {
	topic, group := names(t)
	c := testConfig(t)
	c.NumWorkers = 50
	c.Ordering = OrderingKey
	c.OnFailure = OnFailureDeadLetter
	c.DeadLetterTopic = topic + "-dlq"
	c.RetryBackoffMax = time.Second
	c.MaxInflightPerPartition = 500
	c.EnableMetrics = true
	keys := c.burrowKeys()
	assert.Contains(t, keys, [2]string{"burrow.workers", "50"})
	assert.Contains(t, keys, [2]string{"burrow.ordering", "key"})
	assert.Contains(t, keys, [2]string{"burrow.retry.backoff.max.ms", "1000"})
	require.NoError(t, cluster.CreateTopic(topic, 1))
	newPool(t, topic, group, c)

	c2 := testConfig(t)
	c2.EnableOrderedProcessing = true
	assert.Contains(t, c2.burrowKeys(), [2]string{"burrow.ordering", "partition"})
}

func TestVersion(t *testing.T) {
	require.NoError(t, CheckVersion())
	assert.Equal(t, HeaderVersion, LibraryVersion())
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"0.1.0", "0.1.0", true},
		{"0.1.0", "0.1.3", true},
		{"0.1.2", "0.1.1", false},
		{"0.1.0", "0.2.0", false},
		{"0.1.0", "1.1.0", false},
		{"0.1.0", "garbage", false},
	}
	for _, tt := range tests {
		err := checkVersion(tt.want, tt.got)
		if tt.ok {
			assert.NoError(t, err, tt)
		} else {
			assert.ErrorIs(t, err, ErrVersionMismatch, tt)
		}
	}
}
