package burrow

import (
	"fmt"
	"time"
)

// Offset is a partition offset, as in confluent-kafka-go.
type Offset int64

// String returns the offset as a decimal number.
func (o Offset) String() string { return fmt.Sprint(int64(o)) }

// TopicPartition names a message's place, as in confluent-kafka-go.
type TopicPartition struct {
	Topic     *string
	Partition int32
	Offset    Offset
	Metadata  *string
	Error     error
}

// String returns "topic[partition]@offset" ("<nil>" for a nil Topic).
func (tp TopicPartition) String() string {
	topic := "<nil>"
	if tp.Topic != nil {
		topic = *tp.Topic
	}
	return fmt.Sprintf("%s[%d]@%d", topic, tp.Partition, tp.Offset)
}

// Header is a record header, as in confluent-kafka-go (Value nil for a null value).
type Header struct {
	Key   string
	Value []byte
}

// TimestampType is the kind of Message.Timestamp, as in confluent-kafka-go.
type TimestampType int

// TimestampType values.
const (
	// TimestampNotAvailable: the record carries no timestamp (Message.Timestamp is zero).
	TimestampNotAvailable TimestampType = iota
	// TimestampCreateTime: the producer's creation time.
	TimestampCreateTime
	// TimestampLogAppendTime: the time the broker appended the record.
	TimestampLogAppendTime
)

// Message is one Kafka record with the fields of confluent-kafka-go's kafka.Message. Its byte
// slices are copies owned by Go: keep them as long as you like.
type Message struct {
	TopicPartition TopicPartition
	Value          []byte // nil for a tombstone
	Key            []byte // nil for a record without key
	Timestamp      time.Time
	TimestampType  TimestampType
	Headers        []Header
	// Attempt is 1 for the first delivery, 2 for the first retry, ... (new in Burrow).
	Attempt int
}

// String returns the message's place and attempt, e.g. "orders[3]@42 attempt 1".
func (m *Message) String() string {
	return fmt.Sprintf("%s attempt %d", m.TopicPartition, m.Attempt)
}
