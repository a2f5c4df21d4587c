//! Offsets: the per-partition tracker (the longest finished prefix), the commit-metadata codec,
//! and commit planning.

pub(crate) mod commit;
pub mod metadata;
pub mod tracker;
