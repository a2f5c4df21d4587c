// Package burrow is the Go binding of Burrow, a parallel Kafka consumer with gap-safe commits.
//
// It keeps the API of the original Go package so existing code ports with few edits:
//
//	consumer, err := burrow.NewConsumer(&burrow.ConfigMap{
//		"bootstrap.servers": "localhost:9092",
//		"group.id":          "my-group",
//	})
//	err = consumer.SubscribeTopics([]string{"events"}, nil)
//	pool, err := burrow.NewPool(consumer, burrow.DefaultConfig(logger))
//	defer pool.Close()
//	err = pool.Run(ctx, func(ctx context.Context, msg *burrow.Message) error { ... })
//
// The Kafka client, the offset tracking and the commits live in the Rust library libburrow
// (linked with cgo). Go code runs in goroutines: the library runs the pool without worker
// threads, one goroutine takes its messages in batches (deferred completions) and
// `Config.NumWorkers` goroutines run the ProcessFunc, so a ProcessFunc blocked on I/O holds no
// OS thread.
//
// # Building
//
// A plain `go build` works on linux/amd64 with a C compiler and nothing else: the module ships
// a prebuilt static libburrow (libburrow_vendor/, with librdkafka, OpenSSL, zstd, lz4 and zlib
// linked in and only the burrow_* symbols visible). To link a libburrow installed on the system
// instead (other platforms, or your own build), build with -tags dynamic: the package then
// finds it with pkg-config:
//
//	make install PREFIX=/opt/burrow     # at the top of the repository
//	export PKG_CONFIG_PATH=/opt/burrow/lib/pkgconfig
//	export CGO_LDFLAGS="-Wl,-rpath,/opt/burrow/lib"   # or set LD_LIBRARY_PATH at run time
//	go build -tags dynamic ./...
//
// At run time NewPool checks that the linked libburrow has the version of the burrow.h the
// package was compiled against (CheckVersion).
package burrow

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is the version of this package; it equals the version of the libburrow it is
// released with (HeaderVersion, LibraryVersion).
const Version = "1.1.0"

// HeaderVersion is the version of burrow.h this package was compiled against.
var HeaderVersion = fmt.Sprintf("%d.%d.%d", C.BURROW_VERSION_MAJOR, C.BURROW_VERSION_MINOR, C.BURROW_VERSION_PATCH)

// LibraryVersion is the version of the libburrow loaded at run time.
func LibraryVersion() string { return C.GoString(C.burrow_version()) }

// Sentinel errors; errors returned by the package wrap them (test with errors.Is).
var (
	// ErrInvalidConfig: Config.Validate or the library refused the configuration.
	ErrInvalidConfig = errors.New("burrow: invalid config")
	// ErrVersionMismatch: the loaded libburrow does not match the compiled-in header.
	ErrVersionMismatch = errors.New("burrow: library version mismatch")
	// ErrHalted: the pool stopped itself because of its failure policy (FailurePolicy "halt":
	// the first message that failed permanently; "skip" / "dead-letter": MaxConsecutiveErrors
	// permanent failures in a row, or a dead-letter topic that keeps refusing copies). The error
	// text names topic, partition, offset and cause.
	ErrHalted = errors.New("burrow: pool halted")
	// ErrCommitFailed: the run stopped but its final offset commit failed; work finished since
	// the last commit is processed again by the next owner (nothing is lost).
	ErrCommitFailed = errors.New("burrow: final commit failed")
	// ErrKafka: librdkafka reported an error.
	ErrKafka = errors.New("burrow: kafka error")
	// ErrClosed: the pool or consumer is closed, or the pool has already run.
	ErrClosed = errors.New("burrow: closed")
	// ErrLibrary: any other error reported by libburrow.
	ErrLibrary = errors.New("burrow: library error")
)

// CheckVersion returns an error wrapping ErrVersionMismatch unless the loaded library has the
// major and minor version of the header the package was compiled against, and a patch level at
// least as high.
func CheckVersion() error {
	return checkVersion(HeaderVersion, LibraryVersion())
}

func checkVersion(want, got string) error {
	w, err1 := parseVersion(want)
	g, err2 := parseVersion(got)
	if err1 != nil || err2 != nil || w[0] != g[0] || w[1] != g[1] || g[2] < w[2] {
		return fmt.Errorf("%w: compiled against burrow.h %s, loaded libburrow %s", ErrVersionMismatch, want, got)
	}
	return nil
}

func parseVersion(v string) ([3]int, error) {
	var out [3]int
	core, _, _ := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("bad version %q", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, fmt.Errorf("bad version %q", v)
		}
		out[i] = n
	}
	return out, nil
}

const errstrSize = 1024

// resultError turns a burrow_result and its errstr into a Go error wrapping a sentinel.
func resultError(op string, code C.burrow_result, errstr []C.char) error {
	if code == C.BURROW_RESULT_OK {
		return nil
	}
	msg := ""
	if errstr != nil {
		msg = C.GoString(&errstr[0])
	}
	if msg == "" {
		msg = C.GoString(C.burrow_result_message(C.uint32_t(code)))
	}
	var sentinel error
	switch code {
	case C.BURROW_RESULT_CONFIG:
		sentinel = ErrInvalidConfig
	case C.BURROW_RESULT_KAFKA:
		sentinel = ErrKafka
	case C.BURROW_RESULT_HALTED:
		sentinel = ErrHalted
	case C.BURROW_RESULT_COMMIT_FAILED:
		sentinel = ErrCommitFailed
	case C.BURROW_RESULT_CLOSED, C.BURROW_RESULT_ALREADY_RUN:
		sentinel = ErrClosed
	default:
		sentinel = ErrLibrary
	}
	return fmt.Errorf("%w: %s: %s", sentinel, op, msg)
}
