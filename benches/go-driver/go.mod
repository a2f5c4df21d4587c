module github.com/burrow-kafka/burrow/benches/go-driver

go 1.26.8

require (
	github.com/burrow-kafka/burrow/bindings/go v0.0.0
	go.uber.org/zap v1.28.0
)

require go.uber.org/multierr v1.10.0 // indirect

replace github.com/burrow-kafka/burrow/bindings/go => ../../bindings/go
