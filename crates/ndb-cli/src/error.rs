//! The CLI's error type: a one-line message and the process exit code it maps to.

use std::fmt;
use std::path::Path;

/// Success.
pub const EXIT_OK: i32 = 0;
/// Any failure not covered below.
pub const EXIT_ERROR: i32 = 1;
/// Bad command line: unknown option, missing or invalid argument value (also clap's code).
pub const EXIT_USAGE: i32 = 2;
/// Data damage: `verify` found a problem, or a command met `Error::Corruption`.
pub const EXIT_DAMAGE: i32 = 3;
/// The database is locked by another writer.
pub const EXIT_LOCKED: i32 = 4;

/// A failure to report: printed as `error: {msg}` on stderr, then the process exits with `code`.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub msg: String,
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// A general failure (exit 1).
    pub fn fail(msg: impl Into<String>) -> Self {
        Self {
            code: EXIT_ERROR,
            msg: msg.into(),
        }
    }

    /// A bad argument value (exit 2).
    pub fn usage(msg: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            msg: msg.into(),
        }
    }

    /// An I/O error on a file the CLI itself reads or writes.
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        Self::fail(format!("{}: {e}", path.display()))
    }

    /// Prefix the message with some context, keeping the exit code.
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.msg = format!("{ctx}: {}", self.msg);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<ndb::Error> for CliError {
    fn from(e: ndb::Error) -> Self {
        let code = exit_code_of(&e);
        let msg = match &e {
            ndb::Error::CollectionNotFound(name) => {
                format!("no collection named {name:?} (`ndb list DB` shows the collections)")
            }
            ndb::Error::CollectionExists(name) => {
                format!("a collection named {name:?} already exists")
            }
            ndb::Error::CollectionLocked { path } => format!(
                "the database is locked by another writer (lock file {}); close the other \
                 process, or use a read-only command (list, stats, get, search, export, verify)",
                path.display()
            ),
            ndb::Error::InvalidArgument(m) => m.clone(),
            _ => e.to_string(),
        };
        // Messages are one line.
        let msg = msg.replace('\n', " ");
        Self { code, msg }
    }
}

/// The exit code for a library error.
pub fn exit_code_of(e: &ndb::Error) -> i32 {
    match e {
        ndb::Error::CollectionLocked { .. } => EXIT_LOCKED,
        ndb::Error::Corruption { .. } => EXIT_DAMAGE,
        _ => EXIT_ERROR,
    }
}

/// Map an error writing to stdout or an output file.
pub fn write_err(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError {
            code: EXIT_OK,
            msg: String::new(),
        }
    } else {
        CliError::fail(format!("writing output: {e}"))
    }
}
