// ordered-processing: records with the same key are processed one after another, in offset
// order, while different keys run in parallel (Ordering = OrderingKey). The original's
// EnableOrderedProcessing (one record at a time per partition) is OrderingPartition.
//
//	go run ./examples/ordered-processing -demo
package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"sync"
	"time"

	burrow "github.com/burrow-kafka/burrow/bindings/go"
	"github.com/burrow-kafka/burrow/bindings/go/examples/internal/demo"
	"go.uber.org/zap"
)

func main() {
	flag.Parse()
	logger, _ := zap.NewDevelopment()
	defer logger.Sync()

	const topic, records = "account-events", 200
	bootstrap, cleanup, err := demo.Kafka(topic, 2, records, 8)
	if err != nil {
		logger.Fatal("kafka", zap.Error(err))
	}
	defer cleanup()

	consumer, err := burrow.NewConsumer(&burrow.ConfigMap{
		"bootstrap.servers": bootstrap,
		"group.id":          "ordered-example",
		"auto.offset.reset": "earliest",
	})
	if err != nil {
		logger.Fatal("consumer", zap.Error(err))
	}
	if err := consumer.SubscribeTopics([]string{topic}, nil); err != nil {
		logger.Fatal("subscribe", zap.Error(err))
	}

	config := burrow.DefaultConfig(logger)
	config.NumWorkers = 32
	config.Ordering = burrow.OrderingKey // per key; records without key are unordered
	pool, err := burrow.NewPool(consumer, config)
	if err != nil {
		logger.Fatal("pool", zap.Error(err))
	}
	defer pool.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *demo.Demo {
		go func() {
			for pool.GetStats().MessagesProcessed < records {
				time.Sleep(10 * time.Millisecond)
			}
			stop()
		}()
	}

	// Check the guarantee while processing: per key, offsets only grow.
	var mu sync.Mutex
	last := map[string]burrow.Offset{}
	violations := 0
	err = pool.Run(ctx, func(ctx context.Context, msg *burrow.Message) error {
		key := string(msg.Key) + "@" + string(rune('0'+msg.TopicPartition.Partition))
		mu.Lock()
		if prev, ok := last[key]; ok && prev >= msg.TopicPartition.Offset {
			violations++
		}
		last[key] = msg.TopicPartition.Offset
		mu.Unlock()
		time.Sleep(time.Millisecond) // e.g. apply the event to the account
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Fatal("run", zap.Error(err))
	}
	logger.Info("stopped", zap.Int64("processed", pool.GetStats().MessagesProcessed), zap.Int("order_violations", violations))
	if violations > 0 {
		os.Exit(1)
	}
}
