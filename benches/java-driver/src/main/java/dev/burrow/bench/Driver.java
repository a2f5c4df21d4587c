package dev.burrow.bench;

import com.sun.management.OperatingSystemMXBean;
import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The Java contenders of burrow-bench (src/bin/burrow-bench): {@code --path java} is a bare
 * KafkaConsumer poll loop (no work, one synchronous commit at the end: the Java client's floor,
 * as {@code bare} is librdkafka's), {@code --path pc} is Confluent's Parallel Consumer with
 * {@code --workers} as its maximum concurrency. It prints the same {@code progress N},
 * {@code ready} and {@code result key=value ...} lines as burrow-bench's own consumer processes.
 * burrow-bench builds and starts it; it is not meant to be run by hand.
 */
public final class Driver {
  private Driver() {}

  /** Where the bare loop puts what it reads, so the read is not optimised away. */
  static volatile long sink;

  /** Completions and each message's end-to-end latency (µs), as burrow-bench's tally keeps them. */
  static final class Tally {
    final long expect;
    final long warmup;
    final AtomicLong done = new AtomicLong();
    final AtomicIntegerArray samples;
    final long startedNanos = System.nanoTime();
    /** The wall clock at the start, µs since the epoch (Instant: finer than milliseconds). */
    final long startedMicros = micros(Instant.now());
    volatile long t10;
    volatile long t90;
    volatile long last;
    final CountDownLatch finished = new CountDownLatch(1);

    Tally(long expect, long warmup) {
      this.expect = expect;
      this.warmup = warmup;
      this.samples = new AtomicIntegerArray((int) expect);
    }

    /** One finished message with its record timestamp (ms since the epoch, negative: none). */
    void complete(long recordMs) {
      long since = System.nanoTime() - startedNanos;
      long lat = 0;
      if (recordMs >= 0) {
        lat = Math.max(startedMicros + since / 1000 - recordMs * 1000, 0);
      }
      long i = done.getAndIncrement();
      if (i < samples.length()) {
        samples.set((int) i, (int) Math.min(lat, Integer.MAX_VALUE));
      }
      long n = i + 1;
      if (n == Math.max(expect / 10, 1)) {
        t10 = since;
      }
      if (n == Math.max(expect * 9 / 10, 1)) {
        t90 = since;
      }
      if (n == expect) {
        last = since;
        finished.countDown();
      }
    }
  }

  static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000 + t.getNano() / 1000;
  }

  static double secs(long ns) {
    return ns == 0 ? -1 : ns / 1e9;
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = new HashMap<>();
    List<String> config = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      String k = argv[i];
      if (k.equals("--deferred")) {
        continue;
      }
      if (!k.startsWith("--") || i + 1 >= argv.length) {
        System.err.println("java-driver: unexpected argument " + k);
        System.exit(2);
      }
      String v = argv[++i];
      if (k.equals("--config")) {
        config.add(v);
      } else {
        a.put(k.substring(2), v);
      }
    }
    String path = a.getOrDefault("path", "java");
    long expect = Long.parseLong(a.getOrDefault("expect", "0"));
    long warmup = Long.parseLong(a.getOrDefault("warmup", "0"));
    int workers = Integer.parseInt(a.getOrDefault("workers", "16"));
    long workMs = Long.parseLong(a.getOrDefault("work-ms", "0"));
    long timeoutS = Long.parseLong(a.getOrDefault("timeout-s", "300"));
    String ordering = a.getOrDefault("ordering", "unordered");
    String topic = a.get("topic");

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
    props.put(ConsumerConfig.GROUP_ID_CONFIG, a.get("group"));
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    for (String kv : config) {
      int eq = kv.indexOf('=');
      if (eq < 0) {
        System.err.println("java-driver: --config " + kv + ": expected key=value");
        System.exit(2);
      }
      props.put(kv.substring(0, eq), kv.substring(eq + 1));
    }

    Tally t = new Tally(expect, warmup);
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);
    Runnable stop;
    Thread runner;
    if (path.equals("java")) {
      runner = bareLoop(consumer, topic, t);
      stop = () -> {
        runner.interrupt();
        consumer.wakeup();
      };
    } else if (path.equals("pc")) {
      ParallelStreamProcessor<byte[], byte[]> pc = parallelConsumer(consumer, topic, t, workers,
          workMs, ordering);
      runner = null;
      stop = pc::close;
    } else {
      System.err.println("java-driver: unknown path " + path + " (java, pc)");
      System.exit(2);
      return;
    }

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
    boolean ready = warmup == 0;
    boolean all = false;
    while (true) {
      if (!ready && t.done.get() >= warmup) {
        System.out.println("ready");
        ready = true;
      }
      System.out.println("progress " + t.done.get());
      System.out.flush();
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      long step = Math.min(left, TimeUnit.MILLISECONDS.toNanos(ready ? 250 : 10));
      if (t.finished.await(step, TimeUnit.NANOSECONDS)) {
        all = true;
        break;
      }
    }
    stop.run();
    if (runner != null) {
      runner.join(30_000);
    }
    System.out.println("progress " + t.done.get());

    // The run's CPU (every thread of the JVM: the client's, the JIT's and the collector's),
    // before the report's own work.
    OperatingSystemMXBean os =
        (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    double cpu = os.getProcessCpuTime() / 1e9;
    long rssKb = -1;
    for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (l.startsWith("VmHWM:")) {
        rssKb = Long.parseLong(l.substring(6).replace("kB", "").trim());
      }
    }
    long done = Math.min(t.done.get(), expect);
    int from = (int) Math.min(warmup, done);
    int[] lat = new int[(int) done - from];
    for (int i = from; i < done; i++) {
      lat[i - from] = t.samples.get(i);
    }
    Arrays.sort(lat);
    String samples = a.get("samples");
    if (samples != null) {
      StringBuilder b = new StringBuilder(lat.length * 6);
      for (int v : lat) {
        b.append(v).append('\n');
      }
      Files.writeString(Path.of(samples), b.toString(), StandardCharsets.UTF_8);
    }
    System.out.printf(
        "result path=%s done=%d expect=%d t10=%.4f t90=%.4f tlast=%.4f cpu_s=%.3f maxrss_kb=%d "
            + "p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f%n",
        path, t.done.get(), expect, secs(t.t10), secs(t.t90), secs(t.last), cpu, rssKb,
        pct(lat, 0.5), pct(lat, 0.95), pct(lat, 0.99), pct(lat, 0.999), pct(lat, 1));
    System.out.flush();
    if (!all) {
      System.err.println("java-driver: deadline passed before every message was processed");
      System.exit(3);
    }
    System.exit(0);
  }

  static double pct(int[] lat, double p) {
    if (lat.length == 0) {
      return -1;
    }
    int i = (int) Math.ceil(lat.length * p) - 1;
    i = Math.max(Math.min(i, lat.length - 1), 0);
    return lat[i] / 1000.0;
  }

  /** The bare loop: poll, touch each value, count it; commit the positions once at the end. */
  static Thread bareLoop(KafkaConsumer<byte[], byte[]> consumer, String topic, Tally t) {
    Thread th = new Thread(() -> {
      consumer.subscribe(List.of(topic));
      long read = 0;
      try {
        while (!Thread.currentThread().isInterrupted()) {
          ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
          for (ConsumerRecord<byte[], byte[]> r : records) {
            byte[] v = r.value();
            read += v == null ? 0 : v.length;
            t.complete(r.timestamp());
          }
        }
      } catch (org.apache.kafka.common.errors.WakeupException | org.apache.kafka.common.errors.InterruptException e) {
        // stopping
      }
      Thread.interrupted();
      consumer.commitSync(Duration.ofSeconds(30));
      consumer.close(Duration.ofSeconds(30));
      sink = read;
    }, "java-bare-loop");
    th.start();
    return th;
  }

  /** Confluent's Parallel Consumer with {@code workers} as its maximum concurrency. */
  static ParallelStreamProcessor<byte[], byte[]> parallelConsumer(
      KafkaConsumer<byte[], byte[]> consumer, String topic, Tally t, int workers, long workMs,
      String ordering) {
    ProcessingOrder order = switch (ordering) {
      case "key" -> ProcessingOrder.KEY;
      case "partition" -> ProcessingOrder.PARTITION;
      default -> ProcessingOrder.UNORDERED;
    };
    ParallelConsumerOptions<byte[], byte[]> options = ParallelConsumerOptions.<byte[], byte[]>builder()
        .consumer(consumer)
        .ordering(order)
        .maxConcurrency(workers)
        .commitMode(CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS)
        .build();
    ParallelStreamProcessor<byte[], byte[]> pc =
        ParallelStreamProcessor.createEosStreamProcessor(options);
    pc.subscribe(List.of(topic));
    pc.poll(ctx -> {
      ConsumerRecord<byte[], byte[]> r = ctx.getSingleConsumerRecord();
      if (workMs > 0) {
        try {
          Thread.sleep(workMs);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new RuntimeException(e);
        }
      }
      t.complete(r.timestamp());
    });
    return pc;
  }
}
