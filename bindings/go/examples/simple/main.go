// simple: the smallest Burrow program. It consumes "events" with 10 goroutine workers and
// commits what is done; Ctrl-C stops it gracefully (in-flight messages finish, final commit).
//
//	go run ./examples/simple -demo                    # in-process mock cluster
//	go run ./examples/simple -brokers localhost:9092  # a real broker
package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"time"

	burrow "github.com/burrow-kafka/burrow/bindings/go"
	"github.com/burrow-kafka/burrow/bindings/go/examples/internal/demo"
	"go.uber.org/zap"
)

func main() {
	flag.Parse()
	logger, _ := zap.NewDevelopment()
	defer logger.Sync()

	const topic, records = "events", 100
	bootstrap, cleanup, err := demo.Kafka(topic, 3, records, 10)
	if err != nil {
		logger.Fatal("kafka", zap.Error(err))
	}
	defer cleanup()

	// The same shape as confluent-kafka-go: librdkafka properties in a ConfigMap.
	consumer, err := burrow.NewConsumer(&burrow.ConfigMap{
		"bootstrap.servers": bootstrap,
		"group.id":          "simple-example",
		"auto.offset.reset": "earliest",
	})
	if err != nil {
		logger.Fatal("consumer", zap.Error(err))
	}
	if err := consumer.SubscribeTopics([]string{topic}, nil); err != nil {
		logger.Fatal("subscribe", zap.Error(err))
	}

	// Defaults: 10 workers, commit every 5 s or 1000 messages, 3 retries.
	config := burrow.DefaultConfig(logger)
	config.CommitInterval = time.Second
	pool, err := burrow.NewPool(consumer, config)
	if err != nil {
		logger.Fatal("pool", zap.Error(err))
	}
	defer pool.Close() // frees the pool and closes its Kafka consumer

	// Ctrl-C cancels ctx; Run then drains, commits and returns context.Canceled.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *demo.Demo { // stop once the sample records are done
		go func() {
			for pool.GetStats().MessagesProcessed < records {
				time.Sleep(10 * time.Millisecond)
			}
			stop()
		}()
	}

	// Runs in one of config.NumWorkers goroutines. nil = done, an error = retry later.
	err = pool.Run(ctx, func(ctx context.Context, msg *burrow.Message) error {
		logger.Debug("processing", zap.Stringer("at", msg.TopicPartition), zap.ByteString("value", msg.Value))
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Fatal("run", zap.Error(err))
	}
	s := pool.GetStats()
	logger.Info("stopped", zap.Int64("processed", s.MessagesProcessed), zap.Int64("commits", s.OffsetsCommitted))
}
