//! `burrow_pool`: create, subscribe, run with a C callback, stop from anywhere, free.
//!
//! `burrow_pool_run` drives [`Pool::run_deferred`]: each delivery becomes a `burrow_message` on the
//! worker's stack, the C callback reads it, and its returned outcome (or a completion handle, for
//! deferred messages) finishes the delivery.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::completion::{burrow_completion, outcome_of};
use super::config::burrow_config;
use super::message::{burrow_message, burrow_outcome, BURROW_OUTCOME_DEFERRED};
use super::{burrow_result, check_null, guard, str_arg, write_errstr, write_out};
use crate::error::Error;
use crate::outcome::{Delivery, Outcome};
use crate::pool::Pool;

const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const FINISHED: u8 = 2;
/// Claimed by `burrow_pool_free`: a run can no longer start.
const FREED: u8 = 3;

/// A parallel consumer. Create with `burrow_pool_new`, subscribe with `burrow_pool_subscribe`,
/// run once with `burrow_pool_run` (blocks), stop with `burrow_pool_stop` from any thread, free
/// with `burrow_pool_free` once `burrow_pool_run` has returned (or if it never ran).
///
/// Thread safety: `burrow_pool_stop`, `burrow_pool_stats` and `burrow_pool_metrics_text` may be
/// called from any thread at any time, including from inside a process callback, while the pool
/// is not freed.
pub struct burrow_pool {
    pool: Pool,
    phase: AtomicU8,
}

impl burrow_pool {
    /// Claims the pool's one run, runs it with `run`, writes its error to `errstr` and marks the
    /// pool finished, after which another thread may free it. `BURROW_RESULT_ALREADY_RUN` when
    /// the pool is running or has run.
    ///
    /// # Safety
    /// `errstr` NULL or `errstr_size` writable bytes.
    unsafe fn run_once(
        &self,
        errstr: *mut c_char,
        errstr_size: usize,
        run: impl FnOnce(&Pool) -> Result<(), Error>,
    ) -> burrow_result {
        if self
            .phase
            .compare_exchange(IDLE, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: caller contract on errstr.
            unsafe {
                write_errstr(
                    errstr,
                    errstr_size,
                    "the pool is running or has already run",
                )
            };
            return burrow_result::AlreadyRun;
        }
        let result = run(&self.pool);
        let code = match &result {
            Ok(()) => burrow_result::Ok,
            Err(e) => {
                // SAFETY: caller contract on errstr.
                unsafe { write_errstr(errstr, errstr_size, &e.to_string()) };
                burrow_result::from(e)
            }
        };
        // The last access to the pool: from here on another thread may free it.
        self.phase.store(FINISHED, Ordering::Release);
        code
    }
}

/// The process callback: called once per delivery of a message, on one of the pool's
/// `burrow.workers` worker threads, **concurrently** on several threads with the same `userdata`
/// (make whatever `userdata` points to thread-safe).
///
/// Return `BURROW_OUTCOME_DONE`, `_RETRY`, `_FAIL` (error text: `burrow_message_set_error`), or
/// `_DEFERRED` after `burrow_message_defer`. `msg` is valid until the callback returns (for a
/// deferred message: until its completion is completed or freed).
///
/// Inside the callback you may call: the `burrow_message_*` functions on `msg`,
/// `burrow_pool_stop`, `burrow_pool_stats`, `burrow_pool_metrics_text`, and the completion
/// functions. You MUST NOT call `burrow_pool_free` (it returns `BURROW_RESULT_BUSY`) nor
/// `burrow_pool_run` (it returns `BURROW_RESULT_ALREADY_RUN`). Long blocking work is fine: that is
/// what the workers are for, but `burrow_pool_stop` waits for it (up to
/// `burrow.shutdown.timeout.ms`, and `burrow_pool_run` until every callback has returned).
pub type burrow_process_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, msg: *const burrow_message) -> burrow_outcome,
>;

/// The user's callback and its opaque pointer, as the worker threads share them.
#[derive(Clone, Copy)]
pub(crate) struct Callback {
    pub(crate) f: unsafe extern "C" fn(*mut c_void, *const burrow_message) -> burrow_outcome,
    pub(crate) userdata: *mut c_void,
}

// SAFETY: the header documents that the callback is called concurrently from the worker threads
// with the same userdata; making that sound is the caller's side of the contract. Burrow itself
// never dereferences userdata.
unsafe impl Send for Callback {}
// SAFETY: as above.
unsafe impl Sync for Callback {}

/// Counts callbacks in progress, so that `burrow_pool_run` returns only when none is running and
/// none will start: after that the caller may free `userdata`. (The core detaches workers still
/// busy at its shutdown deadline; a C caller could not know when they finish.)
#[derive(Default)]
struct CallGate {
    /// Callbacks in progress, plus `CLOSED` once the run is over.
    count: AtomicUsize,
    lock: Mutex<()>,
    idle: Condvar,
}

const CLOSED: usize = 1 << (usize::BITS - 1);

impl CallGate {
    /// Registers a callback about to run; false once the gate is closed.
    fn enter(&self) -> bool {
        if self.count.fetch_add(1, Ordering::AcqRel) & CLOSED != 0 {
            self.exit();
            return false;
        }
        true
    }

    fn exit(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == CLOSED | 1 {
            let _l = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.idle.notify_all();
        }
    }

    /// Refuses new callbacks and waits until those in progress have returned.
    fn close_and_wait(&self) {
        self.count.fetch_or(CLOSED, Ordering::AcqRel);
        let mut waited = Duration::ZERO;
        let mut l = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.count.load(Ordering::Acquire) != CLOSED {
            let step = Duration::from_millis(20);
            l = self
                .idle
                .wait_timeout(l, step)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            waited += step;
            if waited.as_millis() % 10_000 == 0 {
                tracing::warn!(
                    in_progress = self.count.load(Ordering::Acquire) & !CLOSED,
                    "burrow_pool_run waits for process callbacks that have not returned"
                );
            }
        }
    }
}

/// Releases a gate slot even if the glue code panics.
struct Entered<'a>(&'a CallGate);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.exit();
    }
}

/// Runs the C callback on one delivery and finishes it according to what the callback returned.
pub(crate) fn call_processor(cb: Callback, delivery: Delivery) {
    let msg = burrow_message::new(delivery);
    // SAFETY: `f` is the non-NULL function pointer the caller passed to burrow_pool_run, called
    // with its userdata and a message valid for the duration of the call.
    let code = unsafe { (cb.f)(cb.userdata, &msg) };
    // The callback's result crosses back into Rust: interpret it inside the panic boundary.
    guard(|| finish(msg, code));
}

/// Applies the callback's outcome to the message's delivery (unless it was deferred). Takes the
/// handle by value: the callback has returned, so nothing else can reach it any more.
fn finish(msg: burrow_message, code: burrow_outcome) {
    let (partition, offset) = msg.origin();
    let st = msg.into_state();
    let (delivery, error) = (st.delivery, st.error);
    let Some(delivery) = delivery else {
        if code != BURROW_OUTCOME_DEFERRED {
            tracing::warn!(
                partition,
                offset,
                code,
                "process callback deferred the message but returned another outcome; the completion decides"
            );
        }
        return;
    };
    if code == BURROW_OUTCOME_DEFERRED {
        tracing::error!(
            partition,
            offset,
            "process callback returned BURROW_OUTCOME_DEFERRED without burrow_message_defer; the message counts as a retriable failure"
        );
        delivery.complete(Outcome::retry(
            "BURROW_OUTCOME_DEFERRED returned without burrow_message_defer",
        ));
        return;
    }
    match outcome_of(code, error) {
        Some(o) => delivery.complete(o),
        None => {
            tracing::error!(
                partition,
                offset,
                code,
                "process callback returned an invalid outcome; the message counts as a retriable failure"
            );
            delivery.complete(Outcome::retry(format!("invalid outcome {code}")));
        }
    }
}

/// Creates a pool and its Kafka consumer from `config` (which is copied: free it whenever you
/// like). On success writes the new pool to `*pool` and returns `BURROW_RESULT_OK`. On failure
/// returns `BURROW_RESULT_CONFIG` (invalid configuration, e.g. no `group.id`),
/// `BURROW_RESULT_KAFKA` (librdkafka refused to create the client) or `BURROW_RESULT_METRICS`
/// (`burrow.metrics.addr` could not be bound), and writes a message to `errstr` when it is not
/// NULL (truncated to `errstr_size` bytes, NUL-terminated).
///
/// # Safety
/// `config` must be a live configuration; `errstr` NULL or `errstr_size` writable bytes; `pool`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_new(
    config: *const burrow_config,
    errstr: *mut c_char,
    errstr_size: usize,
    pool: *mut *mut burrow_pool,
) -> burrow_result {
    guard(|| {
        check_null!(config, pool);
        // SAFETY: non-NULL and live (caller contract).
        let config = unsafe { &(*config).config };
        match Pool::new(config) {
            Ok(p) => {
                let handle = Box::into_raw(Box::new(burrow_pool {
                    pool: p,
                    phase: AtomicU8::new(IDLE),
                }));
                // SAFETY: non-NULL and writable (caller contract).
                unsafe { write_out(pool, handle) };
                burrow_result::Ok
            }
            Err(e) => {
                // SAFETY: caller contract on errstr.
                unsafe { write_errstr(errstr, errstr_size, &e.to_string()) };
                burrow_result::from(&e)
            }
        }
    })
}

/// Subscribes to `topics_len` topics (NUL-terminated names; a name starting with `^` is a regex)
/// through the pool, so its rebalance handling is in place. Call before `burrow_pool_run`.
/// Returns `BURROW_RESULT_INVALID_ARGUMENT` for an empty list or a name that is not UTF-8,
/// `BURROW_RESULT_KAFKA` when librdkafka refuses (message in `errstr`), `BURROW_RESULT_CLOSED`
/// after the run.
///
/// # Safety
/// `pool` must be a live pool; `topics` must point to `topics_len` NUL-terminated strings;
/// `errstr` NULL or `errstr_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_subscribe(
    pool: *mut burrow_pool,
    topics: *const *const c_char,
    topics_len: usize,
    errstr: *mut c_char,
    errstr_size: usize,
) -> burrow_result {
    guard(|| {
        check_null!(pool, topics);
        if topics_len == 0 {
            // SAFETY: caller contract on errstr.
            unsafe { write_errstr(errstr, errstr_size, "no topic given") };
            return burrow_result::InvalidArgument;
        }
        // SAFETY: topics points to topics_len pointers (caller contract).
        let ptrs = unsafe { std::slice::from_raw_parts(topics, topics_len) };
        let mut names = Vec::with_capacity(topics_len);
        for &p in ptrs {
            // SAFETY: each is NULL or a NUL-terminated string (caller contract).
            match unsafe { str_arg(p) } {
                Ok(s) => names.push(s),
                Err(r) => return r,
            }
        }
        // SAFETY: non-NULL and live (caller contract); only shared access is ever taken.
        let pool = unsafe { &*pool };
        match pool.pool.subscribe(&names) {
            Ok(()) => burrow_result::Ok,
            Err(e) => {
                // SAFETY: caller contract on errstr.
                unsafe { write_errstr(errstr, errstr_size, &e.to_string()) };
                burrow_result::from(&e)
            }
        }
    })
}

/// Runs the pool: polls, calls `process(userdata, msg)` for every message on the worker threads,
/// commits what is safe, and **blocks** until the pool is stopped (`burrow_pool_stop`, from any
/// thread or from inside the callback) or halts. A pool runs once.
///
/// Returns `BURROW_RESULT_OK` after a stop whose final commit succeeded (also when stopped before
/// running: it then returns at once without polling), `BURROW_RESULT_HALTED` when the failure
/// policy stopped it (`errstr` names topic, partition, offset and cause),
/// `BURROW_RESULT_COMMIT_FAILED` when the run stopped but its final offset commit failed,
/// `BURROW_RESULT_KAFKA` on a fatal consumer error, `BURROW_RESULT_ALREADY_RUN` when the pool is
/// running or has already run (including when called from inside a callback). On failure the
/// cause goes to `errstr` when it is not NULL.
///
/// A stop (or halt) returns within `burrow.shutdown.timeout.ms` (running callbacks may finish)
/// plus `burrow.commit.timeout.ms` (the final commit), whatever the broker does; callbacks still
/// running then are waited for before it returns (see below).
///
/// When it returns, no callback is running and none will be called again, so `userdata` may be
/// freed; deferred completions still outstanding stay valid and may still be completed (with no
/// effect). If a callback never returns, neither does `burrow_pool_run`.
///
/// # Safety
/// `pool` must be a live pool, not freed before this returns; `process` must be safe to call
/// concurrently with `userdata`; `errstr` NULL or `errstr_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_run(
    pool: *mut burrow_pool,
    process: burrow_process_fn,
    userdata: *mut c_void,
    errstr: *mut c_char,
    errstr_size: usize,
) -> burrow_result {
    guard(|| {
        check_null!(pool);
        let Some(f) = process else {
            return burrow_result::NullArgument;
        };
        // SAFETY: non-NULL and live until this returns (caller contract); shared access only.
        let pool = unsafe { &*pool };
        let cb = Callback { f, userdata };
        // SAFETY: caller contract on errstr.
        unsafe {
            pool.run_once(errstr, errstr_size, |p| {
                let gate = Arc::new(CallGate::default());
                let worker_gate = gate.clone();
                let result = p.run_deferred(move |delivery| {
                    if !worker_gate.enter() {
                        return; // the run is over: dropping the delivery reports it as unfinished
                    }
                    let _entered = Entered(&worker_gate);
                    call_processor(cb, delivery);
                });
                gate.close_and_wait();
                result
            })
        }
    })
}

/// Runs the pool **without worker threads**: the messages are taken, in batches, by
/// `burrow_pool_take` calls from the caller's own threads, each as a `burrow_completion` to finish
/// from any thread. For runtimes that schedule their own work (goroutines, an event loop, a
/// thread pool of the host language): one call takes many messages, and no library thread
/// waits on the caller. Otherwise as `burrow_pool_run`: it polls, commits what is safe and
/// **blocks** until the pool is stopped or halts, with the same results. `burrow.workers` starts
/// no threads here (it still sizes the default `burrow.job.queue.size`); `workers_busy` stays 0.
///
/// A stop (or halt) hands out nothing more; the messages taken and not completed have
/// `burrow.shutdown.timeout.ms` to complete, then the final commit is made (never past an
/// unfinished message) and this returns. Completions outstanding then stay valid and may still
/// be completed, with no effect (those messages are delivered again later). Use
/// `burrow_pool_set_stopping_callback` to learn at once that a stop began.
///
/// # Safety
/// `pool` must be a live pool, not freed before this returns; `errstr` NULL or `errstr_size`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_run_external(
    pool: *mut burrow_pool,
    errstr: *mut c_char,
    errstr_size: usize,
) -> burrow_result {
    guard(|| {
        check_null!(pool);
        // SAFETY: non-NULL and live until this returns (caller contract); shared access only.
        let pool = unsafe { &*pool };
        // SAFETY: caller contract on errstr.
        unsafe { pool.run_once(errstr, errstr_size, Pool::run_external) }
    })
}

/// Takes up to `max` messages of a `burrow_pool_run_external` run: writes a completion for each
/// to `out[0..*taken]`, in the order the pool hands them out, and returns `BURROW_RESULT_OK`.
/// While there is none (or the run has not begun) it waits up to `timeout_ms`; `*taken` is 0
/// when none came in time. Read each message with `burrow_completion_message` and finish it
/// exactly once with `burrow_completion_complete` (or `burrow_completion_free`, a retriable
/// failure), from any thread.
///
/// Returns `BURROW_RESULT_CLOSED` once the run is over (nothing more will come: stop taking),
/// `BURROW_RESULT_INVALID_ARGUMENT` when the pool runs with `burrow_pool_run` (worker threads
/// and a process callback) instead. Callable from any number of threads at once, while the pool
/// is not freed: free it only after `burrow_pool_run_external` has returned and no take is in
/// progress.
///
/// # Safety
/// `pool` must be a live pool; `out` must have room for `max` pointers; `taken` writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_take(
    pool: *mut burrow_pool,
    out: *mut *mut burrow_completion,
    max: usize,
    timeout_ms: u32,
    taken: *mut usize,
) -> burrow_result {
    guard(|| {
        check_null!(pool, out, taken);
        // SAFETY: writable (caller contract).
        unsafe { write_out(taken, 0) };
        // SAFETY: non-NULL and live (caller contract); shared access only.
        let pool = unsafe { &*pool };
        let mut n = 0;
        let took = pool.pool.take_each(
            max,
            Duration::from_millis(u64::from(timeout_ms)),
            |delivery| {
                // SAFETY: at most max deliveries come and out has room for max pointers
                // (caller contract).
                unsafe { out.add(n).write(burrow_completion::taken(delivery)) };
                n += 1;
            },
        );
        match took {
            Ok(_) => {
                // SAFETY: writable (caller contract).
                unsafe { write_out(taken, n) };
                burrow_result::Ok
            }
            Err(Error::Closed) => burrow_result::Closed,
            Err(_) => burrow_result::InvalidArgument,
        }
    })
}

/// The stopping callback (see `burrow_pool_set_stopping_callback`).
pub type burrow_stopping_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// The stopping callback and its opaque pointer, moved to the thread that calls it.
struct Stopping {
    f: unsafe extern "C" fn(*mut c_void),
    userdata: *mut c_void,
}

// SAFETY: the header documents that the callback is called once, on a library thread; making
// userdata usable there is the caller's side of the contract. Burrow never dereferences it.
unsafe impl Send for Stopping {}

/// Sets the callback called **once per run as soon as the pool begins to stop**, whatever the
/// reason: `burrow_pool_stop`, a halt by the failure policy (`burrow.on.failure=halt`, or
/// `burrow.max.consecutive.errors`), a fatal consumer error. From then on no message is handed
/// to the process callback; messages in progress (including deferred ones) have
/// `burrow.shutdown.timeout.ms` to finish, then the final commit is made and `burrow_pool_run`
/// returns the run's result. A caller that finishes messages elsewhere (deferred completions
/// served by its own threads, goroutines, an event loop) uses it to stop feeding that work and
/// to cancel what outlives the timeout, without waiting for `burrow_pool_run` to return.
///
/// Threading: `stopping(userdata)` is called exactly once for a run that started, on a library
/// thread (the pool's coordinator; for a run stopped before it polled, the thread calling
/// `burrow_pool_run`), concurrently with process callbacks, and always before
/// `burrow_pool_run` returns; `userdata` must stay valid until then. It must return quickly
/// (the pool makes no progress while it runs) and must not block on a process callback. Inside
/// it you may call `burrow_pool_stop`, `burrow_pool_stats`, `burrow_pool_metrics_text` and the
/// completion functions; you MUST NOT call `burrow_pool_free` or `burrow_pool_run`.
///
/// Call before `burrow_pool_run`; a later call replaces the callback, `stopping` NULL removes
/// it. Returns `BURROW_RESULT_OK`, or `BURROW_RESULT_ALREADY_RUN` once the run has started (the
/// callback is then not changed).
///
/// # Safety
/// `pool` must be a live pool; `stopping` must be safe to call from another thread with
/// `userdata`.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_set_stopping_callback(
    pool: *mut burrow_pool,
    stopping: burrow_stopping_fn,
    userdata: *mut c_void,
) -> burrow_result {
    guard(|| {
        check_null!(pool);
        // SAFETY: non-NULL and live (caller contract); shared access only.
        let pool = unsafe { &*pool };
        let set = match stopping {
            Some(f) => {
                let cb = Stopping { f, userdata };
                pool.pool.on_stopping(move || {
                    let cb = cb;
                    // SAFETY: a non-NULL function pointer called with its userdata (caller
                    // contract); a panic cannot come out of C code.
                    unsafe { (cb.f)(cb.userdata) }
                })
            }
            None => pool.pool.on_stopping(|| {}),
        };
        match set {
            Ok(()) => burrow_result::Ok,
            Err(e) => burrow_result::from(&e),
        }
    })
}

/// Asks the pool to stop: it stops polling, waits (up to `burrow.shutdown.timeout.ms`) for the
/// messages in progress, commits what is safe, leaves the group, and `burrow_pool_run` returns.
/// Returns at once. Callable from any thread, including from inside a process callback, before
/// `burrow_pool_run` (the run then returns at once), and any number of times.
///
/// # Safety
/// `pool` must be a live pool.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_stop(pool: *mut burrow_pool) -> burrow_result {
    guard(|| {
        check_null!(pool);
        // SAFETY: non-NULL and live (caller contract); shared access only.
        unsafe { &*pool }.pool.stop();
        burrow_result::Ok
    })
}

/// Frees a pool that is not running (never run, or `burrow_pool_run` has returned), closing its
/// consumer. NULL does nothing and returns `BURROW_RESULT_OK`. While `burrow_pool_run` is
/// blocked (including from inside a callback) it frees nothing and returns
/// `BURROW_RESULT_BUSY`: call `burrow_pool_stop`, wait for `burrow_pool_run` to return, then
/// free. Must not be called twice for the same pointer, nor concurrently with any other call on
/// the pool except while it runs.
///
/// # Safety
/// `pool` must be NULL or a live pool.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_free(pool: *mut burrow_pool) -> burrow_result {
    guard(|| {
        if pool.is_null() {
            return burrow_result::Ok;
        }
        // SAFETY: non-NULL and live (caller contract).
        let phase = &unsafe { &*pool }.phase;
        // Claim the pool in one step, so a run that is just starting either started first (and
        // the pool is not freed) or can no longer start on a pool being destroyed.
        let claimed = [IDLE, FINISHED].into_iter().any(|from| {
            phase
                .compare_exchange(from, FREED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        });
        if !claimed {
            return burrow_result::Busy;
        }
        // SAFETY: from Box::into_raw in burrow_pool_new, not running, freed once (caller contract).
        drop(unsafe { Box::from_raw(pool) });
        burrow_result::Ok
    })
}

/// The core pool behind a handle, for the stats module.
///
/// # Safety
/// `pool` must be non-NULL and live.
pub(crate) unsafe fn core<'a>(pool: *const burrow_pool) -> &'a Pool {
    // SAFETY: guaranteed by the caller.
    unsafe { &(*pool).pool }
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;
    use std::time::Instant;

    use super::*;
    use crate::engine::job::Job;
    use crate::message::Message;

    unsafe extern "C" fn noop(_: *mut c_void, msg: *const burrow_message) -> burrow_outcome {
        black_box(msg);
        crate::ffi::message::BURROW_OUTCOME_DONE
    }

    /// Benchmark of the glue alone (no Kafka): what one message costs on the C path (handle,
    /// call gate, indirect call, outcome mapping) against the Rust closure path of `Pool::run`,
    /// both ending in `Delivery::complete`. Run with
    /// `cargo test --release --lib glue_overhead -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark"]
    fn glue_overhead_per_message() {
        const N: usize = 2_000_000;
        let (tx, rx) = crossbeam_channel::unbounded();
        let tx = std::sync::Arc::new(tx);
        let msg = Message::new(
            "bench",
            0,
            0,
            Some(b"key".to_vec()),
            Some(b"value".to_vec()),
        );
        let make = |i: usize| Delivery::new(Job::new(msg.clone(), 0, i as u64), tx.clone(), false);
        let rust = |d: Delivery| {
            black_box(d.message());
            d.complete(Outcome::Done);
        };
        let gate = CallGate::default();
        let cb = Callback {
            f: noop,
            userdata: std::ptr::null_mut(),
        };
        let c = |d: Delivery| {
            if gate.enter() {
                let _e = Entered(&gate);
                call_processor(cb, d);
            }
        };
        let mut best = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            let deliveries: Vec<Delivery> = (0..N).map(make).collect();
            let t = Instant::now();
            deliveries.into_iter().for_each(rust);
            best.0 = best.0.min(t.elapsed().as_secs_f64() * 1e9 / N as f64);
            while rx.try_recv().is_ok() {}
            let deliveries: Vec<Delivery> = (0..N).map(make).collect();
            let t = Instant::now();
            deliveries.into_iter().for_each(c);
            best.1 = best.1.min(t.elapsed().as_secs_f64() * 1e9 / N as f64);
            while rx.try_recv().is_ok() {}
        }
        eprintln!(
            "per message, best of 5 x {N}: Rust closure path {:.1} ns, C callback path {:.1} ns, \
             C path overhead {:+.1} ns",
            best.0,
            best.1,
            best.1 - best.0
        );
    }
}
