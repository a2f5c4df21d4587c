// with-metrics: serves the pool's Prometheus metrics on http://localhost:2112/metrics through
// pool.MetricsHandler() (the library's text exposition; no Prometheus client dependency).
// grafana-dashboard.json next to this file charts them.
//
//	go run ./examples/with-metrics -demo
//	curl localhost:2112/metrics
//
// Alternatively Config.MetricsAddr = ":2112" lets the library serve /metrics itself.
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	burrow "github.com/burrow-kafka/burrow/bindings/go"
	"github.com/burrow-kafka/burrow/bindings/go/examples/internal/demo"
	"go.uber.org/zap"
)

var addr = flag.String("addr", "localhost:2112", "metrics listen address")

func main() {
	flag.Parse()
	logger, _ := zap.NewDevelopment()
	defer logger.Sync()

	const topic, records = "clicks", 300
	bootstrap, cleanup, err := demo.Kafka(topic, 3, records, 20)
	if err != nil {
		logger.Fatal("kafka", zap.Error(err))
	}
	defer cleanup()

	consumer, err := burrow.NewConsumer(&burrow.ConfigMap{
		"bootstrap.servers": bootstrap,
		"group.id":          "metrics-example",
		"auto.offset.reset": "earliest",
	})
	if err != nil {
		logger.Fatal("consumer", zap.Error(err))
	}
	if err := consumer.SubscribeTopics([]string{topic}, nil); err != nil {
		logger.Fatal("subscribe", zap.Error(err))
	}

	config := burrow.DefaultConfig(logger)
	config.EnableMetrics = true // without it the metrics text is empty
	config.NumWorkers = 50
	pool, err := burrow.NewPool(consumer, config)
	if err != nil {
		logger.Fatal("pool", zap.Error(err))
	}
	defer pool.Close()

	mux := http.NewServeMux()
	mux.Handle("/metrics", pool.MetricsHandler())
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Fatal("listen", zap.Error(err))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	logger.Info("metrics", zap.String("url", "http://"+ln.Addr().String()+"/metrics"))

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

	err = pool.Run(ctx, func(ctx context.Context, msg *burrow.Message) error {
		time.Sleep(5 * time.Millisecond) // shows up in burrow_processing_duration_seconds
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Fatal("run", zap.Error(err))
	}

	// In the demo, scrape once ourselves to show what Prometheus would get.
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		logger.Fatal("scrape", zap.Error(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	logger.Info("scraped", zap.Int("bytes", len(body)))
	if len(body) == 0 {
		os.Exit(1)
	}
}
