//! The `ferry` binary: parse, dispatch, map errors to exit codes. Nothing else.

use clap::Parser;

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
