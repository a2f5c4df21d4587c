//! `burrow_config`: a set of string keys, validated as they are set.

use std::ffi::c_char;

use super::{burrow_result, check_null, guard, str_arg, write_errstr};
use crate::config::Config;

/// A pool configuration: `burrow.*` keys configure the pool, every other key goes to librdkafka
/// unchanged. Create with `burrow_config_new`, free with `burrow_config_free`.
///
/// Thread safety: not synchronised. Do not use one config from several threads at once without
/// your own lock (reading it from several threads, e.g. several `burrow_pool_new` calls, is fine).
pub struct burrow_config {
    pub(crate) config: Config,
}

/// A new, empty configuration: every `burrow.*` key at its default, nothing set for librdkafka.
/// Free it with `burrow_config_free`. Returns NULL only if Burrow hit an internal error.
#[no_mangle]
pub extern "C" fn burrow_config_new() -> *mut burrow_config {
    guard(|| {
        Box::into_raw(Box::new(burrow_config {
            config: Config::new(),
        }))
    })
}

/// Sets one key (NUL-terminated UTF-8), validating it at once: `burrow.*` keys against their
/// allowed values, other keys by librdkafka. On error returns `BURROW_RESULT_CONFIG` (or
/// `BURROW_RESULT_INVALID_ARGUMENT` for a string that is not UTF-8) and, when `errstr` is not
/// NULL, writes a NUL-terminated message naming the key, the value (redacted for secrets such as
/// `sasl.password`) and what is allowed into `errstr` (truncated to `errstr_size` bytes). The
/// configuration is unchanged on error.
///
/// `enable.auto.commit` and `enable.auto.offset.store` can only be set to false: Burrow commits
/// offsets itself.
///
/// # Safety
/// `config` must come from `burrow_config_new` and not be freed; `key` and `value` must be
/// NUL-terminated strings; `errstr` must be NULL or point to `errstr_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn burrow_config_set(
    config: *mut burrow_config,
    key: *const c_char,
    value: *const c_char,
    errstr: *mut c_char,
    errstr_size: usize,
) -> burrow_result {
    guard(|| {
        check_null!(config, key, value);
        // SAFETY: both are non-NULL NUL-terminated strings (caller contract) that outlive the call.
        let (key, value) = match unsafe { (str_arg(key), str_arg(value)) } {
            (Ok(k), Ok(v)) => (k, v),
            _ => {
                // SAFETY: caller contract on errstr.
                unsafe { write_errstr(errstr, errstr_size, "key and value must be UTF-8") };
                return burrow_result::InvalidArgument;
            }
        };
        // SAFETY: non-NULL, from burrow_config_new, and not used concurrently (caller contract).
        let config = unsafe { &mut *config };
        match config.config.set(key, value) {
            Ok(_) => burrow_result::Ok,
            Err(e) => {
                // SAFETY: caller contract on errstr.
                unsafe { write_errstr(errstr, errstr_size, &e.to_string()) };
                burrow_result::Config
            }
        }
    })
}

/// Frees a configuration. NULL does nothing. Pools created from it are not affected (they keep
/// their own copy). Must not be called twice for the same pointer.
///
/// # Safety
/// `config` must be NULL or come from `burrow_config_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn burrow_config_free(config: *mut burrow_config) {
    guard(|| {
        if !config.is_null() {
            // SAFETY: from Box::into_raw in burrow_config_new, freed once (caller contract).
            drop(unsafe { Box::from_raw(config) });
        }
    })
}
