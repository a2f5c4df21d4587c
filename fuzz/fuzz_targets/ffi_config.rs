//! Fuzzes the C API's configuration calls as a C caller would make them: `burrow_config_set`
//! with arbitrary bytes (not UTF-8, any length), NULL arguments, and `errstr` buffers of every
//! size (each an exact heap allocation, so AddressSanitizer catches a byte written past it), plus
//! `burrow_result_message` for any code.
//!
//! Run: `cargo +nightly fuzz run ffi_config` (from the repository root).
#![no_main]

use std::ffi::{c_char, CStr, CString};

use arbitrary::Arbitrary;
use burrow::ffi::config::{burrow_config_free, burrow_config_new, burrow_config_set};
use burrow::ffi::{burrow_result, burrow_result_message};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Call {
    key: Vec<u8>,
    value: Vec<u8>,
    errstr_size: u16,
    null_errstr: bool,
    null_key: bool,
    null_value: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    calls: Vec<Call>,
    code: u32,
    null_config: bool,
}

/// Bytes up to the first NUL, as a C string.
fn c_string(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no interior NUL")
}

fuzz_target!(|input: Input| {
    // SAFETY: burrow_result_message accepts any value and returns a static C string.
    let text = unsafe { CStr::from_ptr(burrow_result_message(input.code)) };
    assert!(!text.to_bytes().is_empty());

    let config = if input.null_config {
        std::ptr::null_mut()
    } else {
        burrow_config_new()
    };
    for call in input.calls.iter().take(8) {
        let key = c_string(&call.key);
        let value = c_string(&call.value);
        let size = usize::from(call.errstr_size % 512);
        // An exact allocation: one byte past `size` is outside it.
        let mut errstr: Vec<c_char> = vec![0x55; size];
        let errstr_ptr = if call.null_errstr {
            std::ptr::null_mut()
        } else {
            errstr.as_mut_ptr()
        };
        let key_ptr = if call.null_key {
            std::ptr::null()
        } else {
            key.as_ptr()
        };
        let value_ptr = if call.null_value {
            std::ptr::null()
        } else {
            value.as_ptr()
        };
        // SAFETY: NUL-terminated strings or NULL, an errstr of `size` writable bytes or NULL, a
        // live config or NULL.
        let r = unsafe { burrow_config_set(config, key_ptr, value_ptr, errstr_ptr, size) };
        let nulls = config.is_null() || call.null_key || call.null_value;
        if nulls {
            assert_eq!(r, burrow_result::NullArgument);
            continue;
        }
        let utf8 = key.to_str().is_ok() && value.to_str().is_ok();
        match r {
            burrow_result::Ok => assert!(utf8),
            burrow_result::InvalidArgument => assert!(!utf8),
            burrow_result::Config => assert!(utf8),
            other => panic!("unexpected result {other:?}"),
        }
        if r != burrow_result::Ok && !call.null_errstr && size > 0 {
            let nul = errstr.iter().position(|&c| c == 0);
            let nul = nul.expect("errstr is NUL-terminated within its size");
            let written: Vec<u8> = errstr[..nul].iter().map(|&c| c as u8).collect();
            let written = String::from_utf8(written).expect("errstr is cut at a UTF-8 boundary");
            assert!(
                size < 2 || !written.is_empty(),
                "an error message was written"
            );
        }
    }
    // SAFETY: from burrow_config_new (or NULL), freed once.
    unsafe { burrow_config_free(config) };
});
