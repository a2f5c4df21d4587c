//! The pure modules of Burrow, compiled alone for Miri (see ../Cargo.toml and scripts/miri).

#[path = "../../../src/offsets/tracker.rs"]
pub mod tracker;

#[path = "../../../src/offsets/metadata.rs"]
pub mod offset_metadata;
