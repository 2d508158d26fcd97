//! Exit codes and how errors reach the terminal.

use crate::untrusted::escape_message;
use std::io::Write;

/// Exit codes shared by every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Done, nothing wrong.
    Success = 0,
    /// `diff` only: differences were found.
    Differences = 1,
    /// Bad usage or input; nothing (further) was changed.
    Error = 2,
    /// `apply` only: some objects failed.
    Partial = 3,
}

/// Prints an error and the causes its message does not already contain. Messages quote
/// registries, API servers, renderers and file names: their control characters are escaped
/// here, where every error reaches the terminal.
pub fn print_error(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let color = super::progress::stderr_color();
    let label = if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    let mut shown = err.to_string();
    let _ = writeln!(stderr, "{label}: {}", escape_message(&shown));
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !shown.contains(&text) {
            let _ = writeln!(stderr, "  caused by: {}", escape_message(&text));
            shown.push_str(&text);
        }
    }
}
