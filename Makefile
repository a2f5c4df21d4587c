# C build, install and C/Python test targets for Burrow's shared library.
# (The Rust crate itself builds and tests with cargo.)
#
#   make lib                      build target/$(PROFILE)/libburrow.{so,a}
#   make header                   regenerate include/burrow.h from src/ffi (commit the result)
#   make install PREFIX=/opt/x    install lib (versioned + symlinks), header, burrow.pc
#   make c-test                   C tests (C and C++ builds) under AddressSanitizer and valgrind
#   make c-examples               build the C examples and run each against the mock cluster
#   make c-bench                  C callback vs Rust closure throughput (release build)
#   make python-test              ctypes test: Python loads libburrow.so and runs a pool
#
# PROFILE=release (default) or debug. Tests install into a staging prefix under
# bindings/c/build/, so they exercise the installed layout and the pkg-config file.

PROFILE    ?= release
PREFIX     ?= /usr/local
DESTDIR    ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CARGO      ?= cargo
PYTHON     ?= python3

VERSION := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
MAJOR   := $(word 1,$(subst ., ,$(VERSION)))
TARGET_DIR ?= $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo target)
CARGO_PROFILE_FLAG := $(if $(filter release,$(PROFILE)),--release,)
LIB_DIR := $(TARGET_DIR)/$(PROFILE)

STAGE := $(CURDIR)/bindings/c/build/stage-$(PROFILE)
STAGE_PC := $(STAGE)/lib/pkgconfig

.PHONY: all lib header install c-test c-examples c-bench python-test stage clean-c

all: lib

lib:
	$(CARGO) build --lib $(CARGO_PROFILE_FLAG)

header:
	touch cbindgen.toml  # make build.rs run even if src/ffi is unchanged
	BURROW_GENERATE_HEADER=1 $(CARGO) build --lib
	@echo "include/burrow.h regenerated; commit it"

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(LIB_DIR)/libburrow.so $(DESTDIR)$(LIBDIR)/libburrow.so.$(VERSION)
	ln -sf libburrow.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libburrow.so.$(MAJOR)
	ln -sf libburrow.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libburrow.so
	install -m 0644 $(LIB_DIR)/libburrow.a $(DESTDIR)$(LIBDIR)/libburrow.a
	install -m 0644 include/burrow.h $(DESTDIR)$(INCLUDEDIR)/burrow.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    burrow.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/burrow.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/burrow.pc

# Installs into the staging prefix used by the C tests, examples and bench.
stage:
	$(MAKE) --no-print-directory install PREFIX=$(STAGE) DESTDIR= LIBDIR=$(STAGE)/lib \
	    INCLUDEDIR=$(STAGE)/include PKGCONFIGDIR=$(STAGE_PC)

c-test: stage
	PKG_CONFIG_PATH=$(STAGE_PC) $(MAKE) -C bindings/c test

c-examples: stage
	PKG_CONFIG_PATH=$(STAGE_PC) $(MAKE) -C examples/c run

c-bench:
	$(MAKE) --no-print-directory stage PROFILE=release
	PKG_CONFIG_PATH=$(CURDIR)/bindings/c/build/stage-release/lib/pkgconfig $(MAKE) -C bindings/c bench
	$(CARGO) test --release --test ffi_overhead -- --ignored --nocapture

python-test: stage
	BURROW_LIB=$(STAGE)/lib/libburrow.so.$(MAJOR) $(PYTHON) -m pytest -q bindings/python

clean-c:
	rm -rf bindings/c/build examples/c/build

# Go binding (bindings/go). By default the package links the prebuilt static library in
# bindings/go/libburrow_vendor (what `go get` users build with); -tags dynamic links the staged
# shared library through pkg-config, the rpath making the test binaries load that same library.
#   make go-test          go vet + go test -race, vendored and -tags dynamic; staleness check
#   make go-module-test   a fresh Go module outside the repository builds and runs against the
#                         mock cluster with no cargo on PATH and no PKG_CONFIG_PATH
#   make go-examples      build the Go examples and run each against the mock cluster
#   make go-bench         Go wrapper vs C callback throughput, 1,000 sleeping goroutines
#   make go-vendor        rebuild bindings/go/libburrow_vendor (commit the result)
#   make pkgconfig-static-test   a C program links libburrow.a with pkg-config --static --libs
GO       ?= go
# Go's build cache does not notice a change to a header outside the package's own directory
# (the staged burrow.h, libburrow_vendor/burrow.h): the header's hash in CGO_CFLAGS makes a
# changed header rebuild the cgo package instead of reusing one compiled against the old one.
go_header_cflags = CGO_CFLAGS="-O2 -g -DBURROW_HEADER_ID=0x$$(sha256sum $(1) | cut -c1-15)"
GO_VENDOR_ENV = $(call go_header_cflags,$(CURDIR)/bindings/go/libburrow_vendor/burrow.h)
GO_ENV    = PKG_CONFIG_PATH=$(STAGE_PC) CGO_LDFLAGS="-Wl,-rpath,$(STAGE)/lib" \
	    $(call go_header_cflags,$(STAGE)/include/burrow.h)

.PHONY: go-test go-module-test go-examples go-bench go-vendor go-vendor-check pkgconfig-static-test

go-vendor:
	scripts/go-vendor amd64
	scripts/go-vendor arm64

go-vendor-check:
	scripts/go-vendor --check

go-test: stage go-vendor-check
	cd bindings/go && $(GO_VENDOR_ENV) $(GO) vet ./...
	cd bindings/go && $(GO_ENV) $(GO) vet -tags dynamic ./...
	cd bindings/go && $(GO_VENDOR_ENV) BURROW_REPO_ROOT=$(CURDIR) $(GO) test -race -count=1 ./...
	cd bindings/go && $(GO_ENV) BURROW_EXPECT_LIBDIR=$(STAGE)/lib $(GO) test -tags dynamic -race -count=1 \
	    -run 'TestLinkedLibrary|TestEndToEnd|TestCancel|TestLifecycle' .

go-module-test:
	scripts/go-module-test

go-examples:
	cd bindings/go && $(GO_VENDOR_ENV) $(GO) vet ./examples/...
	cd bindings/go && for ex in simple with-retry with-metrics ordered-processing; do \
	    echo "== $$ex"; $(GO_VENDOR_ENV) $(GO) run ./examples/$$ex -demo || exit 1; done

go-bench:
	cd bindings/go && $(GO_VENDOR_ENV) $(GO) test -run '^$$' -bench . -benchtime 2x -count=1 .

# Static C linking through pkg-config: a prefix holding libburrow.a only (no shared library to
# fall back to), a program linked with `pkg-config --static --libs burrow`, run against the mock
# cluster.
PC_STATIC := $(CURDIR)/bindings/c/build/pc-static
pkgconfig-static-test: lib
	rm -rf $(PC_STATIC)
	$(MAKE) --no-print-directory install PREFIX=$(PC_STATIC) DESTDIR= LIBDIR=$(PC_STATIC)/lib \
	    INCLUDEDIR=$(PC_STATIC)/include PKGCONFIGDIR=$(PC_STATIC)/lib/pkgconfig
	rm -f $(PC_STATIC)/lib/libburrow.so*
	cc -Wall -Wextra -Werror -o $(PC_STATIC)/static-link tests/c-static/static_link.c \
	    $$(PKG_CONFIG_PATH=$(PC_STATIC)/lib/pkgconfig pkg-config --static --cflags --libs burrow)
	$(PC_STATIC)/static-link
