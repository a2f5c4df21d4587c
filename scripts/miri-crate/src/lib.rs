//! The pure modules of Burrow, compiled alone for Miri (see ../Cargo.toml and scripts/miri).

#[path = "../../../src/tracker.rs"]
pub mod tracker;

#[path = "../../../src/offset_metadata.rs"]
pub mod offset_metadata;
