//! The command line: argument types in [`args`], one module per command in [`commands`]. Each
//! command maps its arguments to library calls and returns an exit code.

pub mod agent_args;
pub mod args;
pub mod commands;
mod progress;
mod report;
pub mod stdout;
pub mod tenant_args;

pub use args::Cli;
pub use report::{print_error, ExitCode};

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    commands::dispatch(cli)
}
