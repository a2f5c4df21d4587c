// with-retry: transient errors are retried with exponential backoff; errors wrapped with
// burrow.Permanent are not retried and go to the failure policy (here: dead-letter topic).
//
//	go run ./examples/with-retry -demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	burrow "github.com/burrow-kafka/burrow/bindings/go"
	"github.com/burrow-kafka/burrow/bindings/go/examples/internal/demo"
	"go.uber.org/zap"
)

var errUnavailable = errors.New("downstream unavailable")

// handle simulates a call to a flaky service: every 4th record fails on its first two
// attempts (transient), and records ending in "7" are malformed (permanent).
func handle(ctx context.Context, msg *burrow.Message) error {
	value := string(msg.Value)
	if strings.HasSuffix(value, "7") {
		// Retrying cannot fix bad input: skip the retries.
		return burrow.Permanent(fmt.Errorf("malformed record %q", value))
	}
	if msg.TopicPartition.Offset%4 == 0 && msg.Attempt <= 2 {
		return fmt.Errorf("attempt %d: %w", msg.Attempt, errUnavailable) // retried
	}
	return nil
}

func main() {
	flag.Parse()
	logger, _ := zap.NewDevelopment()
	defer logger.Sync()

	const topic, records = "orders", 50
	bootstrap, cleanup, err := demo.Kafka(topic, 2, records, 5)
	if err != nil {
		logger.Fatal("kafka", zap.Error(err))
	}
	defer cleanup()

	consumer, err := burrow.NewConsumer(&burrow.ConfigMap{
		"bootstrap.servers": bootstrap,
		"group.id":          "with-retry-example",
		"auto.offset.reset": "earliest",
	})
	if err != nil {
		logger.Fatal("consumer", zap.Error(err))
	}

	config := burrow.DefaultConfig(logger)
	config.MaxRetries = 3                           // then the failure policy applies
	config.RetryBackoffBase = 20 * time.Millisecond // 20 ms, 40 ms, 80 ms, ...
	config.RetryBackoffMax = time.Second            // ... capped at 1 s
	config.OnFailure = burrow.OnFailureDeadLetter   // or OnFailureSkip / OnFailureHalt (default)
	config.DeadLetterTopic = topic + ".dlq"         // gets the record + a burrow.error header
	pool, err := burrow.NewPool(consumer, config)
	if err != nil {
		logger.Fatal("pool", zap.Error(err))
	}
	defer pool.Close()
	if err := pool.Subscribe(topic); err != nil { // pool.Subscribe works as well
		logger.Fatal("subscribe", zap.Error(err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *demo.Demo {
		go func() {
			for s := pool.GetStats(); s.MessagesProcessed+s.MessagesFailed < records; s = pool.GetStats() {
				time.Sleep(10 * time.Millisecond)
			}
			stop()
		}()
	}

	if err := pool.Run(ctx, handle); err != nil && !errors.Is(err, context.Canceled) {
		// With OnFailureSkip or OnFailureDeadLetter, MaxConsecutiveErrors permanent failures in
		// a row end here with an error wrapping burrow.ErrHalted (OnFailureHalt: the first).
		logger.Fatal("run", zap.Error(err))
	}
	s := pool.GetStats()
	logger.Info("stopped", zap.Int64("processed", s.MessagesProcessed), zap.Int64("retried", s.MessagesRetried),
		zap.Int64("failed", s.MessagesFailed), zap.Int64("dead_lettered", s.MessagesDeadLettered))
}
