//! The consumer side of a run, in its own process (`burrow-bench consume ...`), so that CPU time and
//! peak memory are those of one contender: the bare librdkafka poll loop, Burrow's Rust closure
//! path, or Burrow's C callback path (the exported `burrow_*` functions, as a C program calls them).

use std::collections::VecDeque;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use burrow::ffi::burrow_result;
use burrow::ffi::completion::{burrow_completion, burrow_completion_complete};
use burrow::ffi::config::{burrow_config_free, burrow_config_new, burrow_config_set};
use burrow::ffi::message::{
    burrow_message, burrow_message_defer, burrow_message_timestamp, burrow_message_value,
    burrow_outcome, BURROW_OUTCOME_DEFERRED, BURROW_OUTCOME_DONE,
};
use burrow::ffi::pool::{
    burrow_pool, burrow_pool_free, burrow_pool_new, burrow_pool_run, burrow_pool_stop,
    burrow_pool_subscribe,
};
use burrow::{Config, Delivery, Outcome, Pool};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message as _;
use rdkafka::ClientConfig;

use crate::tally::{rusage, write_samples, Tally};
use crate::ConsumeArgs;

/// Runs one consumer to the end (or its deadline) and prints its `result` line.
/// Returns whether every expected message was processed.
pub fn consume(args: &ConsumeArgs) -> Result<bool, String> {
    let tally = Arc::new(Tally::new(args.expect, args.warmup));
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let all = match args.path.as_str() {
        "bare" => bare(args, &tally, deadline)?,
        "rust" => rust(args, &tally, deadline)?,
        "c" => c_path(args, &tally, deadline)?,
        other => return Err(format!("unknown path {other:?} (bare, rust, c)")),
    };
    // The run's CPU, before the report's own work (sorting and writing the samples).
    let usage = rusage();
    let latencies = tally.sorted_latencies();
    if let Some(file) = &args.samples {
        write_samples(file, &latencies).map_err(|e| format!("writing {file}: {e}"))?;
    }
    println!("{}", tally.result_line(&args.path, usage, &latencies));
    Ok(all)
}

/// The Burrow configuration of a run (also the source of the bare loop's librdkafka settings).
fn burrow_config(args: &ConsumeArgs) -> Result<Config, String> {
    let mut config = Config::new();
    let mut set = |k: &str, v: &str| {
        config
            .set(k, v)
            .map(|_| ())
            .map_err(|e| format!("{k}={v}: {e}"))
    };
    set("bootstrap.servers", &args.bootstrap)?;
    set("group.id", &args.group)?;
    set("auto.offset.reset", "earliest")?;
    set("burrow.workers", &args.workers.to_string())?;
    set("burrow.ordering", &args.ordering)?;
    for kv in &args.config {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--config {kv:?}: expected key=value"))?;
        set(k, v)?;
    }
    Ok(config)
}

fn timestamp_ms(t: rdkafka::Timestamp) -> Option<i64> {
    t.to_millis()
}

/// A plain `BaseConsumer` poll loop with the same librdkafka properties Burrow's consumer gets;
/// it does no work per message (the client's floor) and commits once at the end.
fn bare(args: &ConsumeArgs, tally: &Arc<Tally>, deadline: Instant) -> Result<bool, String> {
    let props = burrow_config(args)?
        .consumer_properties()
        .map_err(|e| e.to_string())?;
    let mut cc = ClientConfig::new();
    for (k, v) in &props {
        cc.set(k, v);
    }
    let consumer: BaseConsumer = cc.create().map_err(|e| e.to_string())?;
    consumer
        .subscribe(&[&args.topic])
        .map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (tally, stop) = (tally.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) => {
                        std::hint::black_box(m.payload());
                        tally.complete(timestamp_ms(m.timestamp()));
                    }
                    Some(Err(e)) => eprintln!("bare loop: {e}"),
                    None => {}
                }
            }
            // Burrow's properties turn the automatic offset store off: commit the positions.
            let positions = consumer.position().map_err(|e| format!("positions: {e}"))?;
            consumer
                .commit(&positions, CommitMode::Sync)
                .map_err(|e| format!("final commit: {e}"))
        })
    };
    let all = tally.wait(deadline);
    stop.store(true, Ordering::Relaxed);
    poller
        .join()
        .map_err(|_| "bare loop panicked".to_string())??;
    Ok(all)
}

/// Completes deliveries `work` after they started, on one thread, in arrival order (the work
/// time is the same for all, so that is also due order): an event loop's timer, as a user of
/// deferred completion would have.
struct Completer<T> {
    queue: Mutex<(VecDeque<(Instant, T)>, bool)>,
    wake: Condvar,
}

impl<T: Send + 'static> Completer<T> {
    fn start(finish: impl Fn(T) + Send + 'static) -> Arc<Self> {
        let this = Arc::new(Self {
            queue: Mutex::new((VecDeque::new(), false)),
            wake: Condvar::new(),
        });
        let me = this.clone();
        std::thread::spawn(move || loop {
            let item = {
                let mut q = me.queue.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(&(due, _)) = q.0.front() {
                        let now = Instant::now();
                        if due <= now {
                            break q.0.pop_front();
                        }
                        q = me.wake.wait_timeout(q, due - now).unwrap().0;
                    } else if q.1 {
                        break None;
                    } else {
                        q = me.wake.wait(q).unwrap();
                    }
                }
            };
            match item {
                Some((_, t)) => finish(t),
                None => return,
            }
        });
        this
    }

    fn push(&self, due: Instant, t: T) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.0.push_back((due, t));
        if q.0.len() == 1 {
            self.wake.notify_one();
        }
    }

    fn close(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.wake.notify_one();
    }
}

/// Waits for the end (or the deadline) on a helper thread, then calls `stop`.
fn stop_when_done(
    tally: &Arc<Tally>,
    deadline: Instant,
    stop: impl FnOnce() + Send + 'static,
) -> std::thread::JoinHandle<bool> {
    let tally = tally.clone();
    std::thread::spawn(move || {
        let all = tally.wait(deadline);
        stop();
        all
    })
}

/// Burrow through the Rust API: `Pool::run` with a closure (or `run_deferred` with a completer).
fn rust(args: &ConsumeArgs, tally: &Arc<Tally>, deadline: Instant) -> Result<bool, String> {
    let pool = Arc::new(Pool::new(&burrow_config(args)?).map_err(|e| e.to_string())?);
    pool.subscribe(&[&args.topic]).map_err(|e| e.to_string())?;
    let watcher = {
        let pool = pool.clone();
        stop_when_done(tally, deadline, move || pool.stop())
    };
    let work = Duration::from_millis(args.work_ms);
    let result = if args.deferred {
        let t = tally.clone();
        let completer = Completer::start(move |d: Delivery| {
            t.complete(d.message().timestamp().millis());
            d.complete(Outcome::Done);
        });
        let c = completer.clone();
        let r = pool.run_deferred(move |d| c.push(Instant::now() + work, d));
        completer.close();
        r
    } else {
        let t = tally.clone();
        pool.run(move |m| {
            std::hint::black_box(m.payload());
            if !work.is_zero() {
                std::thread::sleep(work);
            }
            t.complete(m.timestamp().millis());
            Outcome::Done
        })
    };
    let all = watcher.join().map_err(|_| "watcher panicked")?;
    // What the pool saw besides the records: a rebalance, a paused partition or a replay shows
    // in the latency figures, so it is named next to them.
    let s = pool.stats();
    eprintln!(
        "burrow-bench consume: rust pool: processed {} rebalances {} partition pauses {} \
         late results {} skipped from metadata {} commits {}",
        s.messages_processed,
        s.rebalances,
        s.partition_pauses,
        s.late_results_discarded,
        s.messages_skipped_from_metadata,
        s.offsets_committed
    );
    result.map_err(|e| e.to_string())?;
    Ok(all)
}

/// What the C callback reaches through `userdata`.
struct CState {
    tally: Arc<Tally>,
    work: Duration,
    completer: Option<Arc<Completer<(usize, i64)>>>,
}

/// The process callback, as a C program would write it.
unsafe extern "C" fn c_process(
    userdata: *mut c_void,
    msg: *const burrow_message,
) -> burrow_outcome {
    // SAFETY: userdata is the CState that outlives burrow_pool_run.
    let st = unsafe { &*(userdata as *const CState) };
    let (mut kind, mut ms) = (0, 0i64);
    let (mut value, mut len) = (std::ptr::null(), 0usize);
    // SAFETY: msg is valid during the callback; out-params are locals.
    unsafe {
        burrow_message_timestamp(msg, &mut kind, &mut ms);
        burrow_message_value(msg, &mut value, &mut len);
    }
    std::hint::black_box((value, len));
    let ts = (ms >= 0).then_some(ms);
    if let Some(completer) = &st.completer {
        let mut handle: *mut burrow_completion = std::ptr::null_mut();
        // SAFETY: inside the callback, once per message.
        if unsafe { burrow_message_defer(msg, &mut handle) } != burrow_result::Ok {
            return burrow::ffi::message::BURROW_OUTCOME_RETRY;
        }
        completer.push(Instant::now() + st.work, (handle as usize, ms));
        return BURROW_OUTCOME_DEFERRED;
    }
    if !st.work.is_zero() {
        std::thread::sleep(st.work);
    }
    st.tally.complete(ts);
    BURROW_OUTCOME_DONE
}

/// Burrow through its C API: the same calls and callback a C program makes.
fn c_path(args: &ConsumeArgs, tally: &Arc<Tally>, deadline: Instant) -> Result<bool, String> {
    let mut errstr = vec![0u8; 512];
    let err = |e: &[u8]| {
        let end = e.iter().position(|&b| b == 0).unwrap_or(e.len());
        String::from_utf8_lossy(&e[..end]).into_owned()
    };
    let conf = burrow_config_new();
    let mut pairs: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), args.bootstrap.clone()),
        ("group.id".into(), args.group.clone()),
        ("auto.offset.reset".into(), "earliest".into()),
        ("burrow.workers".into(), args.workers.to_string()),
        ("burrow.ordering".into(), args.ordering.clone()),
    ];
    for kv in &args.config {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--config {kv:?}: expected key=value"))?;
        pairs.push((k.into(), v.into()));
    }
    for (k, v) in &pairs {
        let (ck, cv) = (
            CString::new(k.as_str()).unwrap(),
            CString::new(v.as_str()).unwrap(),
        );
        // SAFETY: live config, NUL-terminated strings, errstr of its length.
        let r = unsafe {
            burrow_config_set(
                conf,
                ck.as_ptr(),
                cv.as_ptr(),
                errstr.as_mut_ptr().cast(),
                errstr.len(),
            )
        };
        if r != burrow_result::Ok {
            // SAFETY: from burrow_config_new.
            unsafe { burrow_config_free(conf) };
            return Err(format!("{k}: {}", err(&errstr)));
        }
    }
    let mut pool: *mut burrow_pool = std::ptr::null_mut();
    // SAFETY: live config; out-params valid.
    let r = unsafe { burrow_pool_new(conf, errstr.as_mut_ptr().cast(), errstr.len(), &mut pool) };
    // SAFETY: the pool keeps its own copy.
    unsafe { burrow_config_free(conf) };
    if r != burrow_result::Ok {
        return Err(format!("burrow_pool_new: {}", err(&errstr)));
    }
    let topic = CString::new(args.topic.as_str()).unwrap();
    let topics = [topic.as_ptr()];
    // SAFETY: live pool, one NUL-terminated topic.
    let r = unsafe {
        burrow_pool_subscribe(
            pool,
            topics.as_ptr(),
            1,
            errstr.as_mut_ptr().cast(),
            errstr.len(),
        )
    };
    if r != burrow_result::Ok {
        // SAFETY: never ran.
        unsafe { burrow_pool_free(pool) };
        return Err(format!("burrow_pool_subscribe: {}", err(&errstr)));
    }
    let work = Duration::from_millis(args.work_ms);
    let completer = args.deferred.then(|| {
        let t = tally.clone();
        Completer::start(move |(handle, ms): (usize, i64)| {
            t.complete((ms >= 0).then_some(ms));
            // SAFETY: a live completion handle from burrow_message_defer, used once.
            unsafe {
                burrow_completion_complete(
                    handle as *mut burrow_completion,
                    BURROW_OUTCOME_DONE,
                    std::ptr::null(),
                    0,
                )
            };
        })
    });
    let state = CState {
        tally: tally.clone(),
        work,
        completer: completer.clone(),
    };
    let pool_addr = pool as usize;
    // SAFETY: burrow_pool_stop is callable from any thread while the pool is live; it is freed
    // only after the watcher has been joined.
    let watcher = stop_when_done(tally, deadline, move || unsafe {
        burrow_pool_stop(pool_addr as *mut burrow_pool);
    });
    // SAFETY: live pool; the callback and state outlive the run.
    let r = unsafe {
        burrow_pool_run(
            pool,
            Some(c_process),
            &state as *const CState as *mut c_void,
            errstr.as_mut_ptr().cast(),
            errstr.len(),
        )
    };
    let all = watcher.join().map_err(|_| "watcher panicked")?;
    if let Some(c) = &completer {
        c.close();
    }
    // SAFETY: the run has returned and the watcher is gone.
    unsafe { burrow_pool_free(pool) };
    if r != burrow_result::Ok {
        return Err(format!("burrow_pool_run: {}", err(&errstr)));
    }
    Ok(all)
}
