package burrow

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// MockCluster is an in-process mock Kafka cluster (librdkafka's) with a producer, for tests
// and examples: no broker, no JVM. Close it after every pool using it is closed.
type MockCluster struct {
	handle *C.burrow_mock_cluster
	// Bootstrap is the value for "bootstrap.servers".
	Bootstrap string
}

// NewMockCluster starts a mock cluster with brokers brokers (1 to 16).
func NewMockCluster(brokers int) (*MockCluster, error) {
	var h *C.burrow_mock_cluster
	if rc := C.burrow_mock_cluster_new(C.int32_t(brokers), &h); rc != C.BURROW_RESULT_OK {
		return nil, resultError("NewMockCluster", rc, nil)
	}
	return &MockCluster{handle: h, Bootstrap: C.GoString(C.burrow_mock_cluster_bootstrap(h))}, nil
}

// CreateTopic creates a topic with partitions partitions.
func (m *MockCluster) CreateTopic(topic string, partitions int) error {
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	return resultError("CreateTopic", C.burrow_mock_cluster_create_topic(m.handle, ct, C.int32_t(partitions)), nil)
}

func cbytes(b []byte) (*C.uint8_t, C.size_t, func()) {
	if b == nil {
		return nil, 0, func() {}
	}
	p := C.CBytes(b)
	return (*C.uint8_t)(p), C.size_t(len(b)), func() { C.free(p) }
}

// Produce queues one record (partition -1: by key hash); nil key/value for none.
func (m *MockCluster) Produce(topic string, partition int32, key, value []byte, headers ...Header) error {
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	k, kl, fk := cbytes(key)
	defer fk()
	v, vl, fv := cbytes(value)
	defer fv()
	var hp *C.burrow_mock_header
	if len(headers) > 0 {
		hp = (*C.burrow_mock_header)(C.malloc(C.size_t(len(headers)) * C.size_t(unsafe.Sizeof(C.burrow_mock_header{}))))
		defer C.free(unsafe.Pointer(hp))
		hs := unsafe.Slice(hp, len(headers))
		for i, h := range headers {
			name := C.CString(h.Key)
			defer C.free(unsafe.Pointer(name))
			hv, hl, fh := cbytes(h.Value)
			defer fh()
			hs[i] = C.burrow_mock_header{name: name, name_len: C.size_t(len(h.Key)), value: hv, value_len: hl}
		}
	}
	rc := C.burrow_mock_cluster_produce(m.handle, ct, C.int32_t(partition), k, kl, v, vl, hp, C.size_t(len(headers)))
	return resultError("Produce", rc, nil)
}

// Flush waits until every queued record is in the cluster.
func (m *MockCluster) Flush(timeoutMs int) error {
	return resultError("Flush", C.burrow_mock_cluster_flush(m.handle, C.int32_t(timeoutMs)), nil)
}

// Committed returns the offset group has committed for topic/partition (-1 when none).
func (m *MockCluster) Committed(group, topic string, partition int32) (int64, error) {
	cg, ct := C.CString(group), C.CString(topic)
	defer C.free(unsafe.Pointer(cg))
	defer C.free(unsafe.Pointer(ct))
	var off C.int64_t
	rc := C.burrow_mock_cluster_committed(m.handle, cg, ct, C.int32_t(partition), 5000, &off)
	if rc != C.BURROW_RESULT_OK {
		return 0, resultError(fmt.Sprintf("Committed %s/%s[%d]", group, topic, partition), rc, nil)
	}
	return int64(off), nil
}

// Close destroys the cluster. Idempotent.
func (m *MockCluster) Close() {
	if m.handle != nil {
		C.burrow_mock_cluster_free(m.handle)
		m.handle = nil
	}
}
