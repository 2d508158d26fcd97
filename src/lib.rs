//! ferry carries desired state from Git to Kubernetes: it renders every app of every environment
//! into plain manifests (`build`), and everything else builds on that output.
//!
//! The CLI in [`cli`] is a thin layer over the library modules.

// Output goes through `cli::stdout`, which handles a reader that closes the pipe.
#![warn(clippy::print_stdout)]

pub mod agent;
pub mod apply;
pub mod artifact;
pub mod build;
pub mod cli;
pub mod config;
pub mod diff;
pub mod duration;
pub mod flux;
pub mod goyaml;
pub mod images;
pub mod manifest;
pub mod notify;
pub mod render;
pub mod secrets;
pub mod source;
pub mod tempfiles;
pub mod tenancy;
pub mod untrusted;
pub mod vendor;
