//! Buffers of finished messages, for the next records' copies.
//!
//! The poll thread allocates a buffer for every record (`Message`'s key and value) and the
//! coordinator frees it, and an allocation freed on another thread misses the allocator's
//! per-thread cache at both ends. Here each thread keeps up to [`LOCAL_SPARES`] buffers of its
//! own and trades them with the others [`LOCAL_SPARES`] at a time through [`SHARED_SPARES`] (one
//! lock per trade), which keeps at most [`MAX_SPARES`] buffers of at most [`SPARE_BUFFER_BYTES`]
//! each for the process.

use std::cell::RefCell;
use std::sync::Mutex;

static SHARED_SPARES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
const LOCAL_SPARES: usize = 64;
const MAX_SPARES: usize = 1024;
const SPARE_BUFFER_BYTES: usize = 2048;

thread_local! {
    static LOCAL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A spare buffer (of any length and capacity), from this thread's own or, when they ran out, a
/// batch from the shared ones.
pub(crate) fn take() -> Option<Vec<u8>> {
    LOCAL
        .try_with(|local| {
            let mut local = local.borrow_mut();
            if local.is_empty() {
                let mut shared = SHARED_SPARES.lock().unwrap_or_else(|e| e.into_inner());
                let from = shared.len().saturating_sub(LOCAL_SPARES);
                local.extend(shared.drain(from..));
            }
            local.pop()
        })
        .ok()
        .flatten()
}

/// Keeps a buffer nothing points into any more, unless it is empty or larger than
/// [`SPARE_BUFFER_BYTES`]: in this thread's own, or, when they are full, hands a batch to the
/// shared ones (dropping what does not fit there).
pub(crate) fn give(buffer: Vec<u8>) {
    if buffer.capacity() == 0 || buffer.capacity() > SPARE_BUFFER_BYTES {
        return;
    }
    let _ = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        if local.len() >= LOCAL_SPARES {
            let mut shared = SHARED_SPARES.lock().unwrap_or_else(|e| e.into_inner());
            let room = MAX_SPARES.saturating_sub(shared.len()).min(local.len());
            let from = local.len() - room;
            shared.extend(local.drain(from..));
            local.clear();
        }
        local.push(buffer);
    });
}
