"""Consume with Burrow from Python via ctypes.

    BURROW_LIB=path/to/libburrow.so.1 python3 example.py                 # in-process mock Kafka
    BURROW_LIB=... python3 example.py --brokers 127.0.0.1:9092 --topic orders

Step by step: load the shared library, (make a demo Kafka), configure, create a pool, subscribe,
run with a Python callback that Burrow calls from its worker threads, stop from inside the
callback, read the stats, free everything.
"""

import argparse
import sys
import threading

import burrow_ctypes as burrow


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", help="bootstrap.servers of a real Kafka (default: a mock)")
    ap.add_argument("--topic", default="burrow-demo")
    ap.add_argument("--group", default="burrow-example-python")
    ap.add_argument("--count", type=int, default=0, help="stop after N messages")
    args = ap.parse_args(argv)

    # Step 1: load libburrow (BURROW_LIB, or the system's libburrow.so.1).
    lib = burrow.load()
    print(f"libburrow {lib.burrow_version().decode()}")

    # Step 2: without a broker, an in-process mock Kafka with 100 demo records.
    mock = None
    brokers, count = args.brokers, args.count
    if brokers is None:
        mock = burrow.MockCluster(lib)
        mock.create_topic(args.topic, 2)
        for i in range(100):
            mock.produce(args.topic, f"order-{i}".encode(), key=f"user-{i % 5}".encode())
        mock.flush()
        brokers, count = mock.bootstrap, count or 100

    # Step 3: configuration (errors name the key and value), then the pool.
    config = burrow.Config(lib, {
        "bootstrap.servers": brokers,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "burrow.workers": 8,
    })
    pool = burrow.Pool(lib, config)
    config.close()  # the pool keeps its own copy
    pool.subscribe([args.topic])

    # Step 4: the callback runs on Burrow's worker threads (ctypes takes the GIL for it).
    lock, seen = threading.Lock(), []

    def process(msg):
        with lock:
            seen.append((msg.partition, msg.offset))
            if len(seen) <= 3:
                print(f"  {msg.topic}[{msg.partition}]@{msg.offset} key={msg.key} value={msg.value}")
            if count and len(seen) == count:
                pool.stop()  # allowed from inside a callback
        return burrow.DONE

    # Step 5: run blocks until stopped (Ctrl-C: the default handler raises in the main thread
    # only after run returns, so use a stop from elsewhere in real programs).
    pool.run(process)
    stats = pool.stats()
    print(f"processed {stats.messages_processed} messages, {stats.offsets_committed} commits")

    # Step 6: free the pool, then the mock cluster.
    pool.close()
    if mock:
        mock.close()
    return 0 if stats.messages_processed >= count else 1


if __name__ == "__main__":
    sys.exit(main())
