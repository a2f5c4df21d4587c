//! Build script: the shared library's SONAME, and (on request) the C header.
//!
//! - `libburrow.so` gets the SONAME `libburrow.so.<major>` (cdylib only), as librdkafka has
//!   `librdkafka.so.1`; `make install` lays out the versioned file and its symlinks.
//! - With `BURROW_GENERATE_HEADER` set (`make header`), cbindgen writes `include/burrow.h` from
//!   `src/ffi/` using `cbindgen.toml`. The header is committed; `tests/header.rs` fails when it
//!   differs from a fresh generation. It is not written on ordinary builds, so that a build never
//!   silently changes a committed file and the test stays meaningful.

use std::env;
use std::path::PathBuf;

fn main() {
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libburrow.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BURROW_GENERATE_HEADER");
    if env::var_os("BURROW_GENERATE_HEADER").is_none() {
        return;
    }
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets the manifest dir"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen could not generate include/burrow.h")
        .write_to_file(root.join("include/burrow.h"));
}
