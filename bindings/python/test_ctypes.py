"""Loads libburrow.so from Python with ctypes and runs pools with Python callbacks against the
in-process mock Kafka. Run with BURROW_LIB pointing at the library (make python-test does)."""

import os
import subprocess
import sys
import threading

import pytest

import burrow_ctypes as burrow

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def lib():
    return burrow.load()


@pytest.fixture(scope="module")
def kafka(lib):
    with burrow.MockCluster(lib) as k:
        yield k


def make_pool(lib, kafka, group, topic, **extra):
    values = {
        "bootstrap.servers": kafka.bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "burrow.commit.interval.ms": 100,
        "burrow.retry.backoff.ms": 10,
        "burrow.shutdown.timeout.ms": 5000,
    }
    values.update({k.replace("_", "."): v for k, v in extra.items()})
    config = burrow.Config(lib, values)
    pool = burrow.Pool(lib, config)
    config.close()
    pool.subscribe([topic])
    return pool


def test_version_is_the_packaged_one(lib):
    version = lib.burrow_version().decode()
    cargo = open(os.path.join(HERE, "..", "..", "Cargo.toml")).read()
    assert f'version = "{version}"' in cargo


def test_python_callback_processes_every_message_and_commits(lib, kafka):
    topic, group, n, parts = "py-happy", "g-py-happy", 120, 3
    kafka.create_topic(topic, parts)
    for i in range(n):
        kafka.produce(topic, str(i).encode(), key=f"k{i % 4}".encode(), partition=i % parts,
                      headers=[("idx", str(i).encode())])
    kafka.flush()

    pool = make_pool(lib, kafka, group, topic, burrow_workers=6)
    lock, seen, problems = threading.Lock(), {}, []
    threads = set()

    def process(msg):
        i = int(msg.value)
        if msg.topic != topic or msg.partition != i % parts or msg.offset != i // parts:
            problems.append(("position", i, msg.partition, msg.offset))
        if msg.key != f"k{i % 4}".encode() or msg.headers != [("idx", str(i).encode())]:
            problems.append(("content", i, msg.key, msg.headers))
        kind, ms = msg.timestamp
        if kind != 1 or ms <= 0:
            problems.append(("timestamp", i, kind, ms))
        with lock:
            threads.add(threading.get_ident())
            seen[i] = seen.get(i, 0) + 1
            if len(seen) == n:
                pool.stop()
        return burrow.DONE

    pool.run(process)
    assert problems == []
    assert pool.callback_errors == []
    assert sorted(seen) == list(range(n)) and set(seen.values()) == {1}
    assert len(threads) >= 1 and threading.get_ident() not in threads, "worker threads, not ours"
    stats = pool.stats()
    assert stats.messages_processed == n
    assert "burrow_" in pool.metrics_text() or pool.metrics_text() == ""
    # what the broker holds
    assert [kafka.committed(group, topic, p) for p in range(parts)] == [n // parts] * parts
    # a pool runs once
    with pytest.raises(burrow.BurrowError) as e:
        pool.run(lambda m: burrow.DONE)
    assert e.value.code == burrow.ALREADY_RUN
    pool.close()


def test_exceptions_and_failures_are_retried_never_lost(lib, kafka):
    topic, group, n = "py-retry", "g-py-retry", 20
    kafka.create_topic(topic, 1)
    for i in range(n):
        kafka.produce(topic, str(i).encode(), partition=0)
    kafka.flush()
    pool = make_pool(lib, kafka, group, topic, burrow_workers=4, burrow_max_retries=5)
    lock, done, attempts = threading.Lock(), set(), {}

    def process(msg):
        i = int(msg.value)
        with lock:
            attempts[i] = max(attempts.get(i, 0), msg.attempt)
        if i % 5 == 0 and msg.attempt == 1:
            raise ValueError(f"flaky {i}")  # an exception is a retriable failure
        if i % 5 == 1 and msg.attempt == 1:
            msg.set_error("try again")
            return burrow.RETRY
        with lock:
            done.add(i)
            if len(done) == n:
                pool.stop()
        return burrow.DONE

    pool.run(process)
    assert done == set(range(n))
    assert all(attempts[i] == (2 if i % 5 in (0, 1) else 1) for i in range(n)), attempts
    assert len(pool.callback_errors) == 4 and all(isinstance(e, ValueError) for e in pool.callback_errors)
    assert pool.stats().messages_retried == 8
    assert kafka.committed(group, topic, 0) == n
    pool.close()


def test_misuse_is_reported_not_crashed(lib, kafka):
    with pytest.raises(burrow.BurrowError) as e:
        burrow.Config(lib, {"burrow.workers": "lots"})
    assert e.value.code == burrow.CONFIG and "burrow.workers" in str(e.value) and "lots" in str(e.value)

    config = burrow.Config(lib, {"bootstrap.servers": kafka.bootstrap})
    with pytest.raises(burrow.BurrowError) as e:
        burrow.Pool(lib, config)  # no group.id
    assert e.value.code == burrow.CONFIG and "group.id" in str(e.value)
    config.close()

    # NULL handles
    assert lib.burrow_pool_stop(None) == burrow.NULL_ARGUMENT
    assert lib.burrow_pool_free(None) == burrow.OK
    assert lib.burrow_message_partition(None) == -1
    # stop before run: run returns at once
    pool = make_pool(lib, kafka, "g-py-misuse", "py-happy")
    assert pool.stop() == burrow.OK
    pool.run(lambda m: burrow.DONE)
    pool.close()


def test_the_example_runs(lib):
    env = dict(os.environ, PYTHONPATH=HERE)
    out = subprocess.run([sys.executable, os.path.join(HERE, "example.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "processed 100 messages" in out.stdout
