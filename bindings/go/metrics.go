package burrow

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// MetricsText returns the pool's Prometheus metrics in the text exposition format 0.0.4
// (empty unless Config.EnableMetrics).
func (p *Pool) MetricsText() (string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil || p.closed {
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

// Collector returns a prometheus.Collector of the pool's metrics (Config.EnableMetrics must be
// set), for an application that registers it in its own registry next to its other metrics:
//
//	reg.MustRegister(pool.Collector(prometheus.Labels{"pool": "orders"}))
//
// constLabels (may be nil) are added to every series; give each pool registered in the same
// registry a distinct label, or their series collide. Each scrape reads the library's current
// values; after Close the collector yields nothing.
func (p *Pool) Collector(constLabels prometheus.Labels) prometheus.Collector {
	return &collector{pool: p, constLabels: constLabels}
}

type collector struct {
	pool        *Pool
	constLabels prometheus.Labels
}

// Describe sends nothing: the metric families depend on the partitions assigned, so the
// collector is unchecked (the registry accepts whatever Collect yields, checking consistency).
func (c *collector) Describe(chan<- *prometheus.Desc) {}

// Collect parses the library's text exposition and yields each sample as a constant metric.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	text, err := c.pool.MetricsText()
	if err != nil || text == "" {
		return
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("burrow_metrics_parse_error", "Burrow metrics text could not be parsed", nil, nil), err)
		return
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c.collectFamily(ch, families[name])
	}
}

func (c *collector) collectFamily(ch chan<- prometheus.Metric, f *dto.MetricFamily) {
	for _, m := range f.GetMetric() {
		labelNames := make([]string, 0, len(m.GetLabel()))
		labelValues := make([]string, 0, len(m.GetLabel()))
		for _, l := range m.GetLabel() {
			labelNames = append(labelNames, l.GetName())
			labelValues = append(labelValues, l.GetValue())
		}
		desc := prometheus.NewDesc(f.GetName(), f.GetHelp(), labelNames, c.constLabels)
		var metric prometheus.Metric
		var err error
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			metric, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, m.GetCounter().GetValue(), labelValues...)
		case dto.MetricType_GAUGE:
			metric, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, m.GetGauge().GetValue(), labelValues...)
		case dto.MetricType_HISTOGRAM:
			h := m.GetHistogram()
			buckets := make(map[float64]uint64, len(h.GetBucket()))
			for _, b := range h.GetBucket() {
				buckets[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			metric, err = prometheus.NewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, labelValues...)
		case dto.MetricType_SUMMARY:
			s := m.GetSummary()
			quantiles := make(map[float64]float64, len(s.GetQuantile()))
			for _, q := range s.GetQuantile() {
				quantiles[q.GetQuantile()] = q.GetValue()
			}
			metric, err = prometheus.NewConstSummary(desc, s.GetSampleCount(), s.GetSampleSum(), quantiles, labelValues...)
		default:
			metric, err = prometheus.NewConstMetric(desc, prometheus.UntypedValue, m.GetUntyped().GetValue(), labelValues...)
		}
		if err != nil {
			metric = prometheus.NewInvalidMetric(desc, fmt.Errorf("burrow metric %s: %w", f.GetName(), err))
		}
		ch <- metric
	}
}
