//! Pool statistics (a growable struct filled through an out-parameter) and Prometheus text.

use std::ffi::{c_char, CString};

use super::pool::{burrow_pool, core};
use super::{burrow_result, check_null, guard, write_out};
use crate::observe::stats::Stats;

/// Counters of a pool, filled by `burrow_pool_stats`.
///
/// Versioning: set `struct_size = sizeof(burrow_stats)` before the call. The library fills only
/// the fields that fit in `struct_size` bytes, so a program compiled against an older, shorter
/// struct keeps working with a newer library, and new fields are only ever appended. Fields the
/// library does not know are left untouched. Per-partition figures (lag, committed offset,
/// oldest unfinished message, paused) are in the metrics text (`burrow_pool_metrics_text`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct burrow_stats {
    /// Set by the caller to `sizeof(burrow_stats)`; never written by the library.
    pub struct_size: u32,
    /// Reserved, keeps the following fields 8-byte aligned; not written.
    pub reserved: u32,
    /// Messages the processor finished successfully.
    pub messages_processed: u64,
    /// Messages that failed permanently (retries exhausted or non-retriable), whatever the policy.
    pub messages_failed: u64,
    /// Retries scheduled.
    pub messages_retried: u64,
    /// Permanently failed messages skipped by `burrow.on.failure=skip`.
    pub messages_skipped: u64,
    /// Permanently failed messages written to the dead-letter topic.
    pub messages_dead_lettered: u64,
    /// Messages not processed again because commit metadata recorded them as finished.
    pub messages_skipped_from_metadata: u64,
    /// Successful partition offset commits.
    pub offsets_committed: u64,
    /// Commit requests that failed (retried at the next trigger).
    pub commit_failures: u64,
    /// Commits whose metadata did not fit `burrow.commit.metadata.max.bytes`.
    pub commit_metadata_overflows: u64,
    /// Commit metadata read back that was not Burrow's or was malformed (ignored).
    pub commit_metadata_invalid: u64,
    /// Results that arrived for a partition no longer assigned (discarded, never committed).
    pub late_results_discarded: u64,
    /// Rebalance events handled (assignments and revocations).
    pub rebalances: u64,
    /// Worker threads.
    pub workers: u64,
    /// Workers inside the process callback right now.
    pub workers_busy: u64,
    /// Messages received and waiting: for a worker, behind their key, or for a retry.
    pub jobs_queued: u64,
    /// Messages received and not yet finished, over all partitions.
    pub messages_inflight: u64,
    /// Partitions assigned to this pool right now.
    pub partitions_assigned: u64,
    /// Times a partition was paused for backpressure.
    pub partition_pauses: u64,
    /// Offset commits that got no answer within `burrow.commit.timeout.ms` (given up).
    pub commit_timeouts: u64,
    /// Commits whose metadata the broker refused as too large: committed again with the offset
    /// alone, and the metadata budget lowered.
    pub commit_metadata_refused: u64,
    /// Final commits of a stopping pool that failed (`burrow_pool_run` then returns
    /// `BURROW_RESULT_COMMIT_FAILED`).
    pub final_commit_failures: u64,
    /// Dead-letter produces that failed (retried with backoff, then the pool halts).
    pub dead_letter_failures: u64,
    /// Stops whose running work was not finished at `burrow.shutdown.timeout.ms`.
    pub shutdown_timeouts: u64,
    /// Revocations whose running work was not finished at `burrow.shutdown.timeout.ms`.
    pub revoke_timeouts: u64,
    /// Halts by the failure policy (0 or 1).
    pub halts: u64,
}

impl From<&Stats> for burrow_stats {
    fn from(s: &Stats) -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            reserved: 0,
            messages_processed: s.messages_processed,
            messages_failed: s.messages_failed,
            messages_retried: s.messages_retried,
            messages_skipped: s.messages_skipped,
            messages_dead_lettered: s.messages_dead_lettered,
            messages_skipped_from_metadata: s.messages_skipped_from_metadata,
            offsets_committed: s.offsets_committed,
            commit_failures: s.commit_failures,
            commit_metadata_overflows: s.commit_metadata_overflows,
            commit_metadata_invalid: s.commit_metadata_invalid,
            late_results_discarded: s.late_results_discarded,
            rebalances: s.rebalances,
            workers: s.workers as u64,
            workers_busy: s.workers_busy as u64,
            jobs_queued: s.jobs_queued as u64,
            messages_inflight: s.messages_inflight as u64,
            partitions_assigned: s.partitions.len() as u64,
            partition_pauses: s.partition_pauses,
            commit_timeouts: s.commit_timeouts,
            commit_metadata_refused: s.commit_metadata_refused,
            final_commit_failures: s.final_commit_failures,
            dead_letter_failures: s.dead_letter_failures,
            shutdown_timeouts: s.shutdown_timeouts,
            revoke_timeouts: s.revoke_timeouts,
            halts: s.halts,
        }
    }
}

/// The first counter's offset: `struct_size` must cover at least the header.
const HEADER: usize = std::mem::offset_of!(burrow_stats, messages_processed);

/// Fills `*stats` with the pool's counters (see `burrow_stats` for `struct_size`). Returns
/// `BURROW_RESULT_INVALID_ARGUMENT` when `stats->struct_size` is smaller than the 8-byte header.
/// Callable from any thread, while the pool runs or not.
///
/// # Safety
/// `pool` must be a live pool; `stats` must point to `stats->struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_stats(
    pool: *const burrow_pool,
    stats: *mut burrow_stats,
) -> burrow_result {
    guard(|| {
        check_null!(pool, stats);
        // SAFETY: stats is non-NULL and at least the u32 struct_size is readable (caller contract).
        let size = unsafe { stats.cast::<u32>().read_unaligned() } as usize;
        if size < HEADER {
            return burrow_result::InvalidArgument;
        }
        // SAFETY: pool is non-NULL and live (caller contract).
        let snapshot = burrow_stats::from(&unsafe { core(pool) }.stats());
        // Whole 8-byte counters that fit in the caller's struct.
        let fill = HEADER + (size.min(std::mem::size_of::<burrow_stats>()) - HEADER) / 8 * 8;
        let src = (&snapshot as *const burrow_stats).cast::<u8>();
        // SAFETY: [HEADER, fill) lies within both our struct and the caller's `size` bytes, and
        // the two do not overlap (ours is on this stack frame).
        unsafe {
            std::ptr::copy_nonoverlapping(
                src.add(HEADER),
                stats.cast::<u8>().add(HEADER),
                fill - HEADER,
            )
        };
        burrow_result::Ok
    })
}

/// The pool's Prometheus metrics in the text exposition format (version 0.0.4): writes a new
/// NUL-terminated string to `*text` (and its length without the NUL to `*text_len` when that is
/// not NULL). Free it with `burrow_string_free`. The text is empty unless `burrow.metrics=true`.
/// Callable from any thread.
///
/// # Safety
/// `pool` must be a live pool; `text` writable; `text_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_pool_metrics_text(
    pool: *const burrow_pool,
    text: *mut *mut c_char,
    text_len: *mut usize,
) -> burrow_result {
    guard(|| {
        check_null!(pool, text);
        // SAFETY: pool is non-NULL and live (caller contract).
        let body = unsafe { core(pool) }.metrics_text();
        let body = CString::new(body.replace('\0', "")).unwrap_or_default();
        let len = body.as_bytes().len();
        // SAFETY: out-params non-NULL (text) / checked (text_len) and writable (caller contract).
        unsafe {
            write_out(text, body.into_raw());
            if !text_len.is_null() {
                write_out(text_len, len);
            }
        }
        burrow_result::Ok
    })
}

/// Frees a string returned by the library (`burrow_pool_metrics_text`). NULL does nothing. Do not
/// pass strings from anywhere else (e.g. `burrow_version`, `burrow_result_message` are static).
///
/// # Safety
/// `s` must be NULL or a string returned by the library that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn burrow_string_free(s: *mut c_char) {
    guard(|| {
        if !s.is_null() {
            // SAFETY: from CString::into_raw in this library, freed once (caller contract).
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
