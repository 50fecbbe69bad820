//! Standard output that a reader going away ends quietly.
//!
//! `println!` panics when stdout is a pipe whose reader has exited
//! (`gatehouse-cli completions bash | head`, `admin show-org | jq` when jq stops
//! early): Rust ignores SIGPIPE, so the write fails with `BrokenPipe` and the macro
//! turns that into a panic and a backtrace hint on the terminal. Every line the CLI
//! prints goes through here instead: a closed pipe ends the process at once, with
//! nothing on stderr and status 141, what a process killed by SIGPIPE reports (128 +
//! 13), as `yes | head` does. Not 0: the command stopped where it was, and one that
//! prints before it acts (`delete-account`'s plan, then the erasure) has done nothing,
//! so a script must not read success. Any other write failure (a full disk under
//! `> file`) is reported as the CLI's other errors are, with status 1.

use std::io::{self, Write};

/// Prints a line to stdout, as `println!` does; see the module doc for failures.
macro_rules! outln {
    () => {
        $crate::out::bytes(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// `args` and a newline on stdout.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    settle(written);
}

/// `bytes` as they are on stdout (a generated completion script).
pub fn bytes(bytes: &[u8]) {
    let mut stdout = io::stdout().lock();
    settle(stdout.write_all(bytes).and_then(|()| stdout.flush()));
}

/// The status of a command whose output's reader went away: a SIGPIPE death's.
const CUT_SHORT: i32 = 128 + 13;

fn settle(written: io::Result<()>) {
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => std::process::exit(CUT_SHORT),
        Err(error) => {
            eprintln!("gatehouse-cli: cannot write to standard output: {error}");
            std::process::exit(1);
        }
    }
}
