//go:build !dynamic && linux && amd64

package burrow

// By default the package links the prebuilt static libburrow shipped in the module
// (libburrow_vendor/, rebuilt with `make go-vendor`): librdkafka, OpenSSL, zstd, lz4 and zlib
// are inside it, so a plain `go build` needs only a C compiler.

// #cgo CFLAGS: -I${SRCDIR}/libburrow_vendor
// #cgo LDFLAGS: ${SRCDIR}/libburrow_vendor/libburrow_linux_amd64.a -lm -ldl -lpthread -lrt
import "C"

import (
	// The directory holding the archive is a package, so that `go mod vendor` copies it.
	_ "github.com/burrow-kafka/burrow/bindings/go/libburrow_vendor"
)

// linkage says how libburrow is linked (TestLinkedLibrary).
const linkage = "static"
