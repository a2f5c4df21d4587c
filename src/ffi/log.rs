//! Forwarding Burrow's (and librdkafka's) log events to a C callback.
//!
//! The first `burrow_set_log_callback` installs a `tracing` subscriber with one layer,
//! `Forward`, as the process-wide default; later calls only swap the callback it forwards to.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use super::{burrow_result, guard};

/// A log level. An `int32_t` in C, ordered from most to least verbose.
pub type burrow_log_level = i32;

/// Very detailed tracing.
pub const BURROW_LOG_TRACE: burrow_log_level = 0;
/// Debugging detail.
pub const BURROW_LOG_DEBUG: burrow_log_level = 1;
/// Normal operation: assignments, commits at stop, ...
pub const BURROW_LOG_INFO: burrow_log_level = 2;
/// Something unexpected that Burrow handled (a failed commit retried, malformed metadata ignored).
pub const BURROW_LOG_WARN: burrow_log_level = 3;
/// Something failed (a message failed permanently, a fatal consumer error, a misused API).
pub const BURROW_LOG_ERROR: burrow_log_level = 4;

/// The log callback: `target` is where the event comes from (e.g. `burrow::coordinator`,
/// `librdkafka`), `message` the text with its fields (`key=value`). Both are NUL-terminated and
/// valid only during the call.
///
/// Runs on whichever thread logs (worker threads, Burrow's poll/coordinator threads, librdkafka's
/// internal threads, the caller's thread), **concurrently** on several threads: make it
/// thread-safe and quick. Events logged while the callback runs on the same thread (e.g. by a
/// Burrow call made inside it) are dropped, never delivered recursively.
pub type burrow_log_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        level: burrow_log_level,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// The callback in force.
struct Sink {
    f: unsafe extern "C" fn(*mut c_void, burrow_log_level, *const c_char, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: the header documents that the callback runs concurrently on any thread with the same
// userdata; Burrow never dereferences userdata.
unsafe impl Send for Sink {}
// SAFETY: as above.
unsafe impl Sync for Sink {}

static SINK: Mutex<Option<Arc<Sink>>> = Mutex::new(None);
/// Events below this level are not forwarded; `i32::MAX` while no callback is set.
static MIN_LEVEL: AtomicI32 = AtomicI32::new(i32::MAX);
/// Whether the subscriber could be installed (decided once per process).
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

fn level_of(l: &Level) -> burrow_log_level {
    match *l {
        Level::TRACE => BURROW_LOG_TRACE,
        Level::DEBUG => BURROW_LOG_DEBUG,
        Level::INFO => BURROW_LOG_INFO,
        Level::WARN => BURROW_LOG_WARN,
        _ => BURROW_LOG_ERROR,
    }
}

/// The level named by the `BURROW_LOG` environment variable, if it names one.
fn env_level() -> Option<burrow_log_level> {
    level_named(&std::env::var("BURROW_LOG").ok()?)
}

fn level_named(name: &str) -> Option<burrow_log_level> {
    match name.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(BURROW_LOG_TRACE),
        "debug" => Some(BURROW_LOG_DEBUG),
        "info" => Some(BURROW_LOG_INFO),
        "warn" | "warning" => Some(BURROW_LOG_WARN),
        "error" => Some(BURROW_LOG_ERROR),
        _ => None,
    }
}

/// The tracing layer that forwards events to the C callback.
struct Forward;

impl<S: Subscriber> Layer<S> for Forward {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // The level can change at run time: decide per event in `enabled`.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        meta.is_event() && level_of(meta.level()) >= MIN_LEVEL.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if IN_CALLBACK.with(Cell::get) {
            return;
        }
        let sink = SINK.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(sink) = sink else { return };
        let mut text = Text::default();
        event.record(&mut text);
        let meta = event.metadata();
        let target = CString::new(meta.target().replace('\0', "")).unwrap_or_default();
        let message = CString::new(text.finish().replace('\0', "")).unwrap_or_default();
        IN_CALLBACK.with(|c| c.set(true));
        // SAFETY: the function pointer and userdata were given together by the caller of
        // burrow_set_log_callback; both strings are NUL-terminated and outlive the call.
        unsafe {
            (sink.f)(
                sink.userdata,
                level_of(meta.level()),
                target.as_ptr(),
                message.as_ptr(),
            )
        };
        IN_CALLBACK.with(|c| c.set(false));
    }
}

/// Renders an event as "message key=value key=value".
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Text {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_string()
        } else {
            self.message + &self.fields
        }
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

/// Routes Burrow's log events (and librdkafka's) with level >= `min_level` to `callback`.
///
/// The first call installs a `tracing` subscriber as the process-wide default; this happens once
/// per process and cannot be undone. If the process already has one (e.g. a Rust host program
/// that set up its own logging), returns `BURROW_RESULT_UNAVAILABLE` and nothing is forwarded.
/// Later calls replace the callback, its userdata and the level; a NULL `callback` stops
/// forwarding. When the call returns, the previous callback is no longer running on other threads
/// (so its userdata may be freed), unless the call was made from inside that callback.
/// `min_level` outside `BURROW_LOG_TRACE`..`BURROW_LOG_ERROR` gives
/// `BURROW_RESULT_INVALID_ARGUMENT`. The environment variable `BURROW_LOG` (`trace`, `debug`,
/// `info`, `warn` or `error`), when set, overrides `min_level` so operators can change the level
/// without a rebuild. Without a callback, Burrow logs nothing.
///
/// Thread safety: may be called from any thread; calls are serialised.
///
/// # Safety
/// `callback` must be NULL or a function safe to call concurrently from any thread with
/// `userdata`, until it is replaced.
#[no_mangle]
pub unsafe extern "C" fn burrow_set_log_callback(
    callback: burrow_log_fn,
    userdata: *mut c_void,
    min_level: burrow_log_level,
) -> burrow_result {
    guard(|| {
        if !(BURROW_LOG_TRACE..=BURROW_LOG_ERROR).contains(&min_level) {
            return burrow_result::InvalidArgument;
        }
        let installed = *INSTALLED.get_or_init(|| {
            let subscriber = tracing_subscriber::registry().with(Forward);
            tracing::subscriber::set_global_default(subscriber).is_ok()
        });
        if !installed {
            return burrow_result::Unavailable;
        }
        let new = callback.map(|f| Arc::new(Sink { f, userdata }));
        let old = {
            let mut slot = SINK.lock().unwrap_or_else(|e| e.into_inner());
            let level = env_level().unwrap_or(min_level);
            MIN_LEVEL.store(
                if new.is_some() { level } else { i32::MAX },
                Ordering::Relaxed,
            );
            std::mem::replace(&mut *slot, new)
        };
        if let Some(old) = old {
            // Wait until no other thread is still inside the previous callback.
            let own = usize::from(IN_CALLBACK.with(Cell::get));
            while Arc::strong_count(&old) > 1 + own {
                std::thread::yield_now();
            }
        }
        burrow_result::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burrow_log_names_levels() {
        assert_eq!(level_named("debug"), Some(BURROW_LOG_DEBUG));
        assert_eq!(level_named(" WARN "), Some(BURROW_LOG_WARN));
        assert_eq!(level_named("trace"), Some(BURROW_LOG_TRACE));
        assert_eq!(level_named("loud"), None);
    }
}
