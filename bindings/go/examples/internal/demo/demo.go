// Package demo gives the examples a Kafka to talk to: with -demo, an in-process mock cluster
// filled with sample records; otherwise the broker named by -brokers.
package demo

import (
	"flag"
	"fmt"

	burrow "github.com/burrow-kafka/burrow/bindings/go"
)

var (
	// Demo runs the example against an in-process mock cluster and stops once every sample
	// record is processed.
	Demo    = flag.Bool("demo", false, "run against an in-process mock cluster with sample data")
	brokers = flag.String("brokers", "localhost:9092", "bootstrap.servers (without -demo)")
)

// Kafka returns bootstrap.servers and a cleanup function. With -demo it creates topic with
// partitions partitions holding n records: key "user-<i%keys>", value "event-<i>".
func Kafka(topic string, partitions, n, keys int) (string, func(), error) {
	if !*Demo {
		return *brokers, func() {}, nil
	}
	cluster, err := burrow.NewMockCluster(1)
	if err != nil {
		return "", nil, err
	}
	if err := cluster.CreateTopic(topic, partitions); err != nil {
		cluster.Close()
		return "", nil, err
	}
	for i := range n {
		key := []byte(fmt.Sprintf("user-%d", i%keys))
		if err := cluster.Produce(topic, -1, key, []byte(fmt.Sprintf("event-%d", i))); err != nil {
			cluster.Close()
			return "", nil, err
		}
	}
	if err := cluster.Flush(10000); err != nil {
		cluster.Close()
		return "", nil, err
	}
	return cluster.Bootstrap, cluster.Close, nil
}
