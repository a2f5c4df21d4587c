package burrow

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Collector goes into an application's own registry, next to its metrics; two pools in
// one registry are told apart by a constant label.
func TestCollectorInApplicationRegistry(t *testing.T) {
	const n = 30
	reg := prometheus.NewRegistry()
	appCounter := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_requests_total", Help: "the application's own"})
	reg.MustRegister(appCounter)
	appCounter.Add(3)

	pools := map[string]int{"a": n, "b": n / 3}
	for name, count := range pools {
		topic, group := names(t)
		fill(t, topic, 2, count, count)
		c := testConfig(t)
		c.EnableMetrics = true
		p := newPool(t, topic, group, c)
		reg.MustRegister(p.Collector(prometheus.Labels{"pool": name}))
		require.ErrorIs(t, runUntil(t, p, func(context.Context, *Message) error { return nil }, 30*time.Second,
			func(s Stats) bool { return s.MessagesProcessed >= int64(count) }), context.Canceled)
	}

	families, err := reg.Gather()
	require.NoError(t, err, "a registry with two pools and the application's metrics gathers cleanly")
	processed := map[string]float64{}
	var sawHistogram, sawApp bool
	for _, f := range families {
		switch f.GetName() {
		case "app_requests_total":
			sawApp = true
		case "burrow_processing_duration_seconds":
			sawHistogram = f.GetMetric()[0].GetHistogram().GetSampleCount() > 0
		case "burrow_messages_processed_total":
			for _, m := range f.GetMetric() {
				var pool, status string
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "pool":
						pool = l.GetValue()
					case "status":
						status = l.GetValue()
					}
				}
				if status == "success" {
					processed[pool] += m.GetCounter().GetValue()
				}
			}
		}
	}
	assert.True(t, sawApp)
	assert.True(t, sawHistogram, "histograms come through with their samples")
	assert.Equal(t, float64(pools["a"]), processed["a"])
	assert.Equal(t, float64(pools["b"]), processed["b"])
}

func TestCollectorAfterClose(t *testing.T) {
	topic, group := names(t)
	require.NoError(t, cluster.CreateTopic(topic, 1))
	c := testConfig(t)
	c.EnableMetrics = true
	p := newPool(t, topic, group, c)
	col := p.Collector(nil)
	require.NoError(t, p.Close())
	assert.Zero(t, testutil.CollectAndCount(col))
}
