//! Every byte a command prints on stdout goes through [`stdout`]. When the reader goes away
//! (`ferry secrets decrypt f | head -1`), the rest of the output has nowhere to go, and that
//! is not a failure of the command: from the first `EPIPE` on, writes are dropped and the
//! command ends as it would have, with its own exit code and nothing on stderr. Handled here
//! once, so no command can forget it (clippy's `print_stdout` and `disallowed_methods` keep
//! `println!` and `std::io::stdout()` out of the crate).

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the reader of stdout has gone away; never cleared.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Locked stdout that treats a closed pipe as the end of the output, not as an error.
pub struct Stdout {
    inner: io::StdoutLock<'static>,
}

/// Stdout for one command's output, locked for as long as the value lives.
pub fn stdout() -> Stdout {
    #[allow(clippy::disallowed_methods)] // the one place stdout is opened
    let inner = io::stdout().lock();
    Stdout { inner }
}

/// Whether stdout is a terminal (for colour).
pub fn is_terminal() -> bool {
    #[allow(clippy::disallowed_methods)]
    io::stdout().is_terminal()
}

/// Whether the reader of stdout went away during this process.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

fn swallow_closed<T>(result: io::Result<T>, otherwise: T) -> io::Result<T> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(otherwise)
        }
        r => r,
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if closed() {
            return Ok(buf.len());
        }
        swallow_closed(self.inner.write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if closed() {
            return Ok(());
        }
        swallow_closed(self.inner.flush(), ())
    }
}

/// `println!` through [`stdout`]: `outln!("{x}")?` (the only error left is a real one).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        writeln!($crate::cli::stdout::stdout(), $($arg)*)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_ends_the_output_quietly_and_other_errors_stay_errors() {
        let e = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(swallow_closed(Err(e), 5).expect("swallowed"), 5);
        assert!(closed());
        let other = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(swallow_closed::<usize>(Err(other), 5).is_err());
    }
}
