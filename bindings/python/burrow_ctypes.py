"""Burrow from Python through ctypes: loads libburrow.so at run time, no compiler needed.

This is a thin, honest wrapper over the C API (include/burrow.h), meant to prove that another FFI
runtime can drive Burrow and to serve as a starting point - not a full Python package.

    lib = load()                       # BURROW_LIB=/path/to/libburrow.so.1, or the system's
    with MockCluster(lib) as kafka:     # in-process mock Kafka (test support)
        ...
    config = Config(lib, {"bootstrap.servers": "...", "group.id": "g"})
    pool = Pool(lib, config); pool.subscribe(["orders"])
    pool.run(lambda msg: DONE)          # blocks; the callback runs on Burrow's worker threads

The process callback is called from Burrow's worker threads, several at once. ctypes takes the
GIL for each call, so Python code runs one callback at a time; burrow_pool_run releases the GIL
while it blocks. An exception in the callback counts as a retriable failure (never as done).
"""

import ctypes
import ctypes.util
import os

# burrow_result codes (fixed values, see burrow.h)
OK = 0
ERROR = 1
PANIC = 2
NULL_ARGUMENT = 3
INVALID_ARGUMENT = 4
CONFIG = 5
KAFKA = 6
ALREADY_RUN = 7
BUSY = 8
HALTED = 9
CLOSED = 10
ALREADY_DEFERRED = 11
OUT_OF_RANGE = 12
METRICS = 13
UNAVAILABLE = 14
COMMIT_FAILED = 15

# burrow_outcome
DONE = 0
RETRY = 1
FAIL = 2
DEFERRED = 3

_c_char_pp = ctypes.POINTER(ctypes.c_char_p)
_u8_p = ctypes.POINTER(ctypes.c_uint8)

PROCESS_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p, ctypes.c_char_p)


class Stats(ctypes.Structure):
    """struct burrow_stats (set struct_size before the call; fields only ever appended).

    The names and their order follow burrow::Stats; tests/header.rs checks they agree.
    """

    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved", ctypes.c_uint32)] + [
        (name, ctypes.c_uint64)
        for name in (
            "messages_processed",
            "messages_failed",
            "messages_retried",
            "messages_skipped",
            "messages_dead_lettered",
            "messages_skipped_from_metadata",
            "offsets_committed",
            "commit_failures",
            "commit_metadata_overflows",
            "commit_metadata_invalid",
            "late_results_discarded",
            "rebalances",
            "workers",
            "workers_busy",
            "jobs_queued",
            "messages_inflight",
            "partitions_assigned",
            "partition_pauses",
            "commit_timeouts",
            "commit_metadata_refused",
            "final_commit_failures",
            "dead_letter_failures",
            "shutdown_timeouts",
            "revoke_timeouts",
            "halts",
        )
    ]


class MockHeader(ctypes.Structure):
    """struct burrow_mock_header."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("name_len", ctypes.c_size_t),
        ("value", ctypes.c_char_p),
        ("value_len", ctypes.c_size_t),
    ]


class BurrowError(Exception):
    """A burrow_result other than OK, with the library's explanation."""

    def __init__(self, lib, code, what, detail=""):
        self.code = code
        msg = lib.burrow_result_message(code).decode()
        super().__init__(f"{what}: {msg}" + (f": {detail}" if detail else ""))


def _declare(lib):
    """Prototypes of every function used here: ctypes must know them (pointers are 64-bit)."""
    vp, sz, res = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32
    protos = {
        "burrow_version": (ctypes.c_char_p, []),
        "burrow_result_message": (ctypes.c_char_p, [ctypes.c_uint32]),
        "burrow_config_new": (vp, []),
        "burrow_config_set": (res, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, sz]),
        "burrow_config_free": (None, [vp]),
        "burrow_pool_new": (res, [vp, ctypes.c_char_p, sz, ctypes.POINTER(vp)]),
        "burrow_pool_subscribe": (res, [vp, _c_char_pp, sz, ctypes.c_char_p, sz]),
        "burrow_pool_run": (res, [vp, PROCESS_FN, vp, ctypes.c_char_p, sz]),
        "burrow_pool_stop": (res, [vp]),
        "burrow_pool_free": (res, [vp]),
        "burrow_pool_stats": (res, [vp, ctypes.POINTER(Stats)]),
        "burrow_pool_metrics_text": (res, [vp, ctypes.POINTER(vp), ctypes.POINTER(sz)]),
        "burrow_string_free": (None, [vp]),
        "burrow_message_topic": (res, [vp, ctypes.POINTER(vp), ctypes.POINTER(sz)]),
        "burrow_message_partition": (ctypes.c_int32, [vp]),
        "burrow_message_offset": (ctypes.c_int64, [vp]),
        "burrow_message_attempt": (ctypes.c_uint32, [vp]),
        "burrow_message_key": (res, [vp, ctypes.POINTER(vp), ctypes.POINTER(sz)]),
        "burrow_message_value": (res, [vp, ctypes.POINTER(vp), ctypes.POINTER(sz)]),
        "burrow_message_header_count": (sz, [vp]),
        "burrow_message_header": (
            res,
            [vp, sz, ctypes.POINTER(vp), ctypes.POINTER(sz), ctypes.POINTER(vp), ctypes.POINTER(sz)],
        ),
        "burrow_message_timestamp": (res, [vp, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int64)]),
        "burrow_message_set_error": (res, [vp, ctypes.c_char_p, sz]),
        "burrow_set_log_callback": (res, [LOG_FN, vp, ctypes.c_int32]),
        "burrow_mock_cluster_new": (res, [ctypes.c_int32, ctypes.POINTER(vp)]),
        "burrow_mock_cluster_bootstrap": (ctypes.c_char_p, [vp]),
        "burrow_mock_cluster_create_topic": (res, [vp, ctypes.c_char_p, ctypes.c_int32]),
        "burrow_mock_cluster_produce": (
            res,
            [vp, ctypes.c_char_p, ctypes.c_int32, ctypes.c_char_p, sz, ctypes.c_char_p, sz,
             ctypes.POINTER(MockHeader), sz],
        ),
        "burrow_mock_cluster_flush": (res, [vp, ctypes.c_int32]),
        "burrow_mock_cluster_committed": (
            res,
            [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32,
             ctypes.POINTER(ctypes.c_int64)],
        ),
        "burrow_mock_cluster_free": (None, [vp]),
    }
    for name, (restype, argtypes) in protos.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def load(path=None):
    """Loads libburrow: `path`, else $BURROW_LIB, else the system's libburrow.so.1."""
    path = path or os.environ.get("BURROW_LIB") or ctypes.util.find_library("burrow") or "libburrow.so.1"
    return _declare(ctypes.CDLL(path))


def _bytes_at(ptr, length):
    return None if not ptr else ctypes.string_at(ptr, length)


class Message:
    """A read-only view of one record, valid only inside the callback (copy what you keep)."""

    def __init__(self, lib, handle):
        self._lib, self._h = lib, handle

    def _view(self, fn):
        ptr, size = ctypes.c_void_p(), ctypes.c_size_t()
        code = fn(self._h, ctypes.byref(ptr), ctypes.byref(size))
        if code != OK:
            raise BurrowError(self._lib, code, fn.__name__)
        return _bytes_at(ptr.value, size.value)

    @property
    def topic(self):
        return self._view(self._lib.burrow_message_topic).decode()

    @property
    def partition(self):
        return self._lib.burrow_message_partition(self._h)

    @property
    def offset(self):
        return self._lib.burrow_message_offset(self._h)

    @property
    def attempt(self):
        return self._lib.burrow_message_attempt(self._h)

    @property
    def key(self):
        return self._view(self._lib.burrow_message_key)

    @property
    def value(self):
        return self._view(self._lib.burrow_message_value)

    @property
    def headers(self):
        out = []
        for i in range(self._lib.burrow_message_header_count(self._h)):
            name, nlen = ctypes.c_void_p(), ctypes.c_size_t()
            val, vlen = ctypes.c_void_p(), ctypes.c_size_t()
            code = self._lib.burrow_message_header(
                self._h, i, ctypes.byref(name), ctypes.byref(nlen), ctypes.byref(val), ctypes.byref(vlen)
            )
            if code != OK:
                raise BurrowError(self._lib, code, "burrow_message_header")
            out.append((_bytes_at(name.value, nlen.value).decode(), _bytes_at(val.value, vlen.value)))
        return out

    @property
    def timestamp(self):
        kind, ms = ctypes.c_int32(), ctypes.c_int64()
        self._lib.burrow_message_timestamp(self._h, ctypes.byref(kind), ctypes.byref(ms))
        return kind.value, ms.value

    def set_error(self, text):
        data = text.encode()
        self._lib.burrow_message_set_error(self._h, data, len(data))


class Config:
    """burrow_config; every set is validated at once (BurrowError names key and value)."""

    def __init__(self, lib, values=None):
        self._lib = lib
        self.handle = lib.burrow_config_new()
        for key, value in (values or {}).items():
            self.set(key, value)

    def set(self, key, value):
        err = ctypes.create_string_buffer(512)
        code = self._lib.burrow_config_set(self.handle, key.encode(), str(value).encode(), err, len(err))
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_config_set", err.value.decode())

    def close(self):
        self._lib.burrow_config_free(self.handle)
        self.handle = None


class Pool:
    """burrow_pool. run() blocks; stop() may be called from any thread or from the callback."""

    def __init__(self, lib, config):
        self._lib = lib
        self.handle = ctypes.c_void_p()
        err = ctypes.create_string_buffer(512)
        code = lib.burrow_pool_new(config.handle, err, len(err), ctypes.byref(self.handle))
        if code != OK:
            raise BurrowError(lib, code, "burrow_pool_new", err.value.decode())
        self.callback_errors = []

    def subscribe(self, topics):
        names = (ctypes.c_char_p * len(topics))(*[t.encode() for t in topics])
        err = ctypes.create_string_buffer(512)
        code = self._lib.burrow_pool_subscribe(self.handle, names, len(topics), err, len(err))
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_pool_subscribe", err.value.decode())

    def run(self, process):
        """Runs until stopped; `process(Message)` returns DONE, RETRY or FAIL."""
        lib = self._lib

        def trampoline(_userdata, handle):
            msg = Message(lib, handle)
            try:
                outcome = process(msg)
                return outcome if outcome in (DONE, RETRY, FAIL) else RETRY
            except BaseException as e:  # never let an exception become "done"
                self.callback_errors.append(e)
                msg.set_error(f"{type(e).__name__}: {e}")
                return RETRY

        self._callback = PROCESS_FN(trampoline)  # must outlive the run
        err = ctypes.create_string_buffer(512)
        code = lib.burrow_pool_run(self.handle, self._callback, None, err, len(err))
        if code != OK:
            raise BurrowError(lib, code, "burrow_pool_run", err.value.decode())

    def stop(self):
        return self._lib.burrow_pool_stop(self.handle)

    def stats(self):
        s = Stats()
        s.struct_size = ctypes.sizeof(Stats)
        code = self._lib.burrow_pool_stats(self.handle, ctypes.byref(s))
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_pool_stats")
        return s

    def metrics_text(self):
        text, size = ctypes.c_void_p(), ctypes.c_size_t()
        code = self._lib.burrow_pool_metrics_text(self.handle, ctypes.byref(text), ctypes.byref(size))
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_pool_metrics_text")
        try:
            return ctypes.string_at(text.value, size.value).decode()
        finally:
            self._lib.burrow_string_free(text)

    def close(self):
        code = self._lib.burrow_pool_free(self.handle)
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_pool_free")
        self.handle = None


class MockCluster:
    """Test support: librdkafka's in-process mock Kafka (burrow_mock_cluster_*)."""

    def __init__(self, lib, brokers=1):
        self._lib = lib
        self.handle = ctypes.c_void_p()
        code = lib.burrow_mock_cluster_new(brokers, ctypes.byref(self.handle))
        if code != OK:
            raise BurrowError(lib, code, "burrow_mock_cluster_new")
        self.bootstrap = lib.burrow_mock_cluster_bootstrap(self.handle).decode()

    def create_topic(self, name, partitions):
        code = self._lib.burrow_mock_cluster_create_topic(self.handle, name.encode(), partitions)
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_mock_cluster_create_topic")

    def produce(self, topic, value, key=None, partition=-1, headers=()):
        hs = (MockHeader * max(len(headers), 1))()
        for i, (name, val) in enumerate(headers):
            hs[i] = MockHeader(name.encode(), len(name.encode()), val, len(val) if val is not None else 0)
        code = self._lib.burrow_mock_cluster_produce(
            self.handle, topic.encode(), partition, key, len(key) if key is not None else 0,
            value, len(value) if value is not None else 0, hs, len(headers),
        )
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_mock_cluster_produce")

    def flush(self, timeout_ms=30000):
        code = self._lib.burrow_mock_cluster_flush(self.handle, timeout_ms)
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_mock_cluster_flush")

    def committed(self, group, topic, partition, timeout_ms=10000):
        off = ctypes.c_int64()
        code = self._lib.burrow_mock_cluster_committed(
            self.handle, group.encode(), topic.encode(), partition, timeout_ms, ctypes.byref(off)
        )
        if code != OK:
            raise BurrowError(self._lib, code, "burrow_mock_cluster_committed")
        return off.value

    def close(self):
        self._lib.burrow_mock_cluster_free(self.handle)
        self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
