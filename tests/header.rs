//! The committed C header is exactly what cbindgen generates from `src/ffi/` today, and the
//! library it describes is shaped as promised (SONAME, only `burrow_*` symbols exported).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Generates the header the way build.rs does (`make header`).
fn fresh_header() -> String {
    let root = root();
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn committed_header_matches_a_fresh_generation() {
    let committed = std::fs::read_to_string(root().join("include/burrow.h"))
        .expect("include/burrow.h is committed");
    let fresh = fresh_header();
    if committed != fresh {
        let first = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
        let show = |s: &str| s.lines().nth(first).unwrap_or("<end of file>").to_string();
        panic!(
            "include/burrow.h is stale: run `make header` (or BURROW_GENERATE_HEADER=1 cargo build) \
             and commit it.\nfirst difference at line {}:\n  committed: {}\n  generated: {}",
            first + 1,
            show(&committed),
            show(&fresh)
        );
    }
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let header = std::fs::read_to_string(root().join("include/burrow.h")).unwrap();
    let macro_value = |name: &str| -> String {
        let prefix = format!("#define {name} ");
        header
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{name} missing from the header"))
            .trim()
            .to_string()
    };
    assert_eq!(
        macro_value("BURROW_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        macro_value("BURROW_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        macro_value("BURROW_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
}

/// `target/<profile>/libburrow.so`, built by cargo alongside this test.
fn shared_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/header-<hash> -> target/<profile>/libburrow.so
    let lib = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("libburrow.so");
    assert!(
        lib.exists(),
        "{} not built: run `cargo build --release --lib` first (scripts/test does)",
        lib.display()
    );
    lib
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[cfg(target_os = "linux")]
fn shared_library_exports_only_burrow_symbols() {
    let lib = shared_library();
    let nm = run("nm", &["-D", "--defined-only", lib.to_str().unwrap()]);
    let exported: Vec<&str> = nm
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            // Text (functions) and data symbols; skip the version-node marker (kind A).
            (kind != "A").then_some(name)
        })
        .collect();
    assert!(
        exported.contains(&"burrow_pool_run"),
        "burrow_pool_run exported"
    );
    let foreign: Vec<&&str> = exported
        .iter()
        .filter(|n| !n.starts_with("burrow_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "only burrow_* may be exported, found: {foreign:?}"
    );
    // Every function the header declares is exported.
    let header = std::fs::read_to_string(root().join("include/burrow.h")).unwrap();
    for line in header
        .lines()
        .filter(|l| l.contains("burrow_") && l.ends_with(");") && !l.starts_with("typedef"))
    {
        let name = line
            .split('(')
            .next()
            .and_then(|s| s.split_whitespace().last())
            .map(|s| s.trim_start_matches('*'))
            .unwrap();
        if name.starts_with("burrow_") {
            assert!(exported.contains(&name), "{name} declared but not exported");
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn shared_library_has_the_major_version_soname() {
    let lib = shared_library();
    let dynamic = run("readelf", &["-d", lib.to_str().unwrap()]);
    let soname = format!("[libburrow.so.{}]", env!("CARGO_PKG_VERSION_MAJOR"));
    assert!(
        dynamic
            .lines()
            .any(|l| l.contains("SONAME") && l.contains(&soname)),
        "SONAME {soname} missing:\n{dynamic}"
    );
}

/// Field names of a struct's `Debug` output (`Name { a: .., b: .. }`), top level only.
fn debug_fields(debug: &str) -> Vec<String> {
    let inner = &debug[debug.find('{').expect("struct") + 1..debug.rfind('}').expect("struct")];
    let mut names = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in inner.char_indices() {
        match c {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                names.push(inner[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    names.push(inner[start..].to_string());
    names
        .iter()
        .filter_map(|f| f.split(':').next())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// `burrow::Stats` is the one definition of the counters: the C struct and the Python ctypes
/// struct list the same fields in the same order (C appends only, so this also keeps new
/// counters at the end).
#[test]
fn c_and_python_stats_views_follow_the_rust_stats() {
    let rust: Vec<String> = debug_fields(&format!("{:?}", burrow::Stats::default()))
        .into_iter()
        .map(|n| {
            if n == "partitions" {
                "partitions_assigned".to_string()
            } else {
                n
            }
        })
        .collect();
    let header = std::fs::read_to_string(root().join("include/burrow.h")).unwrap();
    let body = &header[header
        .find("typedef struct burrow_stats {")
        .expect("burrow_stats")..];
    let body = &body[..body.find("} burrow_stats;").unwrap()];
    let c: Vec<String> = body
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(';') && !l.starts_with("*") && !l.starts_with("/"))
        .filter_map(|l| l.trim_end_matches(';').split_whitespace().last())
        .map(str::to_string)
        .filter(|n| n != "struct_size" && n != "reserved")
        .collect();
    assert_eq!(c, rust, "include/burrow.h burrow_stats vs burrow::Stats");
    let py = std::fs::read_to_string(root().join("bindings/python/burrow_ctypes.py")).unwrap();
    let block = &py[py.find("class Stats(").unwrap()..];
    let block = &block[block.find("for name in (").unwrap()..block.find("    ]").unwrap()];
    let python: Vec<String> = block
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('"'))
        .map(|l| l.trim_matches(|c| c == '"' || c == ',').to_string())
        .collect();
    assert_eq!(python, rust, "bindings/python Stats vs burrow::Stats");
}
