#!/bin/sh
# Checks an installed libburrow: the versioned file and its symlinks, the SONAME, that only
# burrow_* symbols are exported (librdkafka's rd_kafka_* and Rust's symbols stay hidden), and
# that pkg-config reports the library's own version.
# Usage: check_library.sh LIBDIR VERSION
set -eu
libdir=$1
version=$2
major=${version%%.*}
fail=0
passed=0

check() { # description, then a command that must succeed
    desc=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "FAILED: $desc" >&2
        fail=$((fail + 1))
    fi
}

real="$libdir/libburrow.so.$version"
check "versioned library $real exists" test -f "$real"
check "libburrow.so.$major -> libburrow.so.$version" \
    test "$(readlink "$libdir/libburrow.so.$major")" = "libburrow.so.$version"
check "libburrow.so -> libburrow.so.$major" \
    test "$(readlink "$libdir/libburrow.so")" = "libburrow.so.$major"
check "static archive exists" test -f "$libdir/libburrow.a"

soname=$(readelf -d "$real" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
check "SONAME is libburrow.so.$major (got '$soname')" test "$soname" = "libburrow.so.$major"

exported=$(nm -D --defined-only "$real" | awk '$2 != "A" { print $3 }')
foreign=$(printf '%s\n' "$exported" | grep -v '^burrow_' || true)
check "only burrow_* exported (also: $(printf '%s' "$foreign" | head -c 300))" test -z "$foreign"
check "burrow_pool_run exported" sh -c "printf '%s\n' \"$exported\" | grep -qx burrow_pool_run"
rdkafka=$(nm -D --defined-only "$real" | grep -c 'rd_kafka_' || true)
check "no rd_kafka_* exported ($rdkafka found)" test "$rdkafka" -eq 0

count=$(printf '%s\n' "$exported" | grep -c '^burrow_' || true)
echo "exported burrow_* symbols: $count"
echo "$passed passed, $fail failed"
test "$fail" -eq 0
