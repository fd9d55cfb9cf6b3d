//! The other half of a project's data: its bare git repository on disk. Where repositories live
//! and their life cycle ([`repos`]), reading and writing objects ([`objects`]), branches, tags and files as the repository API
//! sees them ([`browse`]), and merging one
//! branch into another ([`merging`]); a project and its repository are created and deleted
//! together ([`lifecycle`]). Every surface that reads or writes code (git smart HTTP, the
//! REST repository and merge request APIs, GraphQL) goes through here, so they cannot disagree.

pub mod browse;
pub mod lifecycle;
pub mod merging;
pub mod objects;
pub mod repos;

pub use repos::{DefaultBranchProtection, Repositories};
