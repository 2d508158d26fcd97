//! The `ferry` binary: parse, dispatch, map errors to exit codes. Nothing else.

use clap::Parser;

/// Rendering and sealing allocate many small, short-lived values; mimalloc serves them far
/// faster than the system allocator (see `cargo xtask bench build`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = ferry::cli::Cli::parse();
    let code = match ferry::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            ferry::cli::print_error(&e);
            ferry::cli::ExitCode::Error
        }
    };
    std::process::exit(code as i32);
}
