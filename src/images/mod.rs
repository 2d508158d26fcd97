//! Image automation: new image tags that meet a policy become a commit, with no controller to
//! run. `ferry.yaml`'s `images:` declares policies ([`policy`], Flux's ImagePolicy semantics,
//! ranges in [`semver`]); [`scan`] lists tags through the distribution API ([`registry`]) and
//! decides; [`markers`] finds and rewrites Flux setter markers; [`update`] plans the rewrite of
//! a repository; [`commit`] commits it with gix.
//!
//! Dependencies point one way: `images → (config, artifact::auth)`.

pub mod commit;
pub mod markers;
pub mod name;
pub mod policy;
pub mod registry;
pub mod scan;
pub mod semver;
pub mod update;

pub use name::ImageName;
pub use policy::{Choice, Policies, Policy};
pub use scan::{scan, ScanOptions, ScanReport};
