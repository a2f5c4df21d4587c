package burrow

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"unsafe"
)

// ConfigValue is a configuration value: string, bool, int or anything fmt.Sprint formats the
// way librdkafka expects.
type ConfigValue any

// ConfigMap holds librdkafka properties ("bootstrap.servers", "group.id", ...), as in
// confluent-kafka-go. It may also hold burrow.* keys; Config fields override them.
type ConfigMap map[string]ConfigValue

// SetKey sets one property.
func (m ConfigMap) SetKey(key string, value ConfigValue) error {
	m[key] = value
	return nil
}

// Event is a consumer event (only present for signature compatibility).
type Event interface{ String() string }

// RebalanceCb is confluent-kafka-go's rebalance callback type. Burrow handles rebalances
// itself, so SubscribeTopics only accepts nil.
type RebalanceCb func(c *Consumer, ev Event) error

// Consumer records the Kafka client configuration and subscription a Pool is built from. The
// librdkafka consumer itself is created by NewPool and owned by the Pool; a Consumer can back
// one Pool.
type Consumer struct {
	mu     sync.Mutex
	conf   ConfigMap
	topics []string
	used   bool
}

// NewConsumer checks the properties with the library and returns a Consumer holding a copy.
func NewConsumer(conf *ConfigMap) (*Consumer, error) {
	if conf == nil {
		return nil, fmt.Errorf("%w: nil ConfigMap", ErrInvalidConfig)
	}
	cp := make(ConfigMap, len(*conf))
	for k, v := range *conf {
		cp[k] = v
	}
	cfg, err := newCConfig(cp, nil)
	if err != nil {
		return nil, err
	}
	C.burrow_config_free(cfg)
	return &Consumer{conf: cp}, nil
}

// SubscribeTopics sets the topics (names starting with "^" are regexes) the pool subscribes
// to. rebalanceCb must be nil: Burrow handles rebalances (it commits what is safe on revoke).
// Subscribe before NewPool; once the consumer backs a pool it returns an error wrapping ErrClosed
// (use Pool.Subscribe then).
func (c *Consumer) SubscribeTopics(topics []string, rebalanceCb RebalanceCb) error {
	if rebalanceCb != nil {
		return errors.New("burrow: SubscribeTopics: rebalance callbacks are not supported (Burrow handles rebalances)")
	}
	if len(topics) == 0 {
		return fmt.Errorf("%w: SubscribeTopics: empty topic list", ErrInvalidConfig)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used {
		return fmt.Errorf("%w: SubscribeTopics: the consumer already backs a pool; subscribe with Pool.Subscribe", ErrClosed)
	}
	c.topics = append([]string(nil), topics...)
	return nil
}

// Subscribe subscribes to one topic (confluent-kafka-go's shape).
func (c *Consumer) Subscribe(topic string, rebalanceCb RebalanceCb) error {
	return c.SubscribeTopics([]string{topic}, rebalanceCb)
}

// Close does nothing: the Pool owns and closes the Kafka consumer. Present for compatibility.
func (c *Consumer) Close() error { return nil }

func (c *Consumer) take() (ConfigMap, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used {
		return nil, nil, fmt.Errorf("%w: consumer already backs a pool", ErrClosed)
	}
	c.used = true
	return c.conf, c.topics, nil
}

func formatValue(v ConfigValue) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	default:
		return fmt.Sprint(x)
	}
}

// newCConfig builds a burrow_config from the map (sorted keys) then the extra pairs.
func newCConfig(m ConfigMap, extra [][2]string) (*C.burrow_config, error) {
	cfg := C.burrow_config_new()
	if cfg == nil {
		return nil, fmt.Errorf("%w: burrow_config_new failed", ErrLibrary)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([][2]string, 0, len(keys)+len(extra))
	for _, k := range keys {
		pairs = append(pairs, [2]string{k, formatValue(m[k])})
	}
	pairs = append(pairs, extra...)
	errstr := make([]C.char, errstrSize)
	for _, kv := range pairs {
		ck, cv := C.CString(kv[0]), C.CString(kv[1])
		rc := C.burrow_config_set(cfg, ck, cv, &errstr[0], C.size_t(len(errstr)))
		C.free(unsafe.Pointer(ck))
		C.free(unsafe.Pointer(cv))
		if rc != C.BURROW_RESULT_OK {
			C.burrow_config_free(cfg)
			return nil, resultError("config "+kv[0], rc, errstr)
		}
	}
	return cfg, nil
}
