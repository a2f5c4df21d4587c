//! The library version, in the three places that must agree: these macros, `burrow_version()`
//! and Cargo.toml (checked by the tests below and by the C tests).

use std::ffi::c_char;

use super::guard;

/// Major version of the headers you compiled against. The shared library's SONAME is
/// `libburrow.so.<BURROW_VERSION_MAJOR>`.
pub const BURROW_VERSION_MAJOR: u32 = 1;
/// Minor version of the headers you compiled against.
pub const BURROW_VERSION_MINOR: u32 = 1;
/// Patch version of the headers you compiled against.
pub const BURROW_VERSION_PATCH: u32 = 0;

/// The version of the loaded library, e.g. "1.0.0" (static, NUL-terminated, never NULL; do not
/// free it). Compare it with the `BURROW_VERSION_*` macros to detect a header/library mismatch.
///
/// Thread safety: may be called from any thread.
#[no_mangle]
pub extern "C" fn burrow_version() -> *const c_char {
    guard(|| concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_runtime_version_and_cargo_toml_agree() {
        assert_eq!(
            BURROW_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            BURROW_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            BURROW_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        // SAFETY: burrow_version returns a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(burrow_version()) };
        assert_eq!(
            v.to_str().unwrap(),
            format!("{BURROW_VERSION_MAJOR}.{BURROW_VERSION_MINOR}.{BURROW_VERSION_PATCH}")
        );
    }
}
