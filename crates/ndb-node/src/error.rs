//! Errors as JavaScript sees them: an `Error` whose `code` is one stable string per kind of
//! failure and whose message is the Rust library's (what failed and where).

use napi::bindgen_prelude::{Env, JsError, Unknown};

/// The `code` of every error the addon throws or rejects with. The strings are a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Another writer (process or `Database`) holds the database.
    Locked,
    /// Bytes on disk failed a check.
    Corruption,
    /// A write through a read-only database.
    ReadOnly,
    /// A vector's length differs from the collection's dimension.
    WrongDimension,
    /// An argument is invalid: wrong type, out of range, malformed filter, NaN...
    InvalidArgument,
    /// No such collection.
    NotFound,
    /// A collection with this name already exists.
    Exists,
    /// An operating-system I/O error.
    Io,
    /// A file written by a newer format version.
    UnsupportedFormat,
    /// The directory holds something other than an nDB database.
    NotADatabase,
    /// An earlier I/O failure left the collection refusing writes until it is reopened.
    Poisoned,
    /// The destination of a copy (`Database.backup`, `recover`) exists and is not an empty
    /// directory; nothing was written.
    DestinationNotEmpty,
    /// The `Database` was closed (by this addon; the Rust library has no close).
    Closed,
    /// A bug: the library panicked, broke one of its invariants (`Error::Internal`) or failed
    /// in a way this addon has no code for.
    Internal,
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::Locked => "NDB_LOCKED",
            Code::Corruption => "NDB_CORRUPTION",
            Code::ReadOnly => "NDB_READ_ONLY",
            Code::WrongDimension => "NDB_WRONG_DIMENSION",
            Code::InvalidArgument => "NDB_INVALID_ARGUMENT",
            Code::NotFound => "NDB_NOT_FOUND",
            Code::Exists => "NDB_EXISTS",
            Code::Io => "NDB_IO",
            Code::UnsupportedFormat => "NDB_UNSUPPORTED_FORMAT",
            Code::NotADatabase => "NDB_NOT_A_DATABASE",
            Code::Poisoned => "NDB_POISONED",
            Code::DestinationNotEmpty => "NDB_DESTINATION_NOT_EMPTY",
            Code::Closed => "NDB_CLOSED",
            Code::Internal => "NDB_INTERNAL",
        }
    }
}

/// A failure on its way to JavaScript: a code and the message.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

/// `Result` with [`Failure`].
pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// The error type `#[napi]` functions return: thrown as an `Error` with `code` set.
pub type JsFailure = napi::Error<Code>;

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An argument of the wrong type or shape (decided here because it is about JavaScript
    /// values; every rule about their contents is the library's).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    pub fn closed() -> Self {
        Self::new(Code::Closed, "the database is closed")
    }

    /// The JavaScript `Error` object, built on the JavaScript thread.
    pub fn to_js<'env>(&self, env: &'env Env) -> Unknown<'env> {
        JsError::from(napi::Error::new(self.code, self.message.clone())).into_unknown(*env)
    }
}

impl From<ndb::Error> for Failure {
    fn from(e: ndb::Error) -> Self {
        let code = match &e {
            ndb::Error::Io { .. } => Code::Io,
            ndb::Error::Corruption { .. } => Code::Corruption,
            ndb::Error::WrongDimension { .. } => Code::WrongDimension,
            ndb::Error::InvalidArgument(_) => Code::InvalidArgument,
            ndb::Error::CollectionNotFound(_) => Code::NotFound,
            ndb::Error::CollectionExists(_) => Code::Exists,
            ndb::Error::CollectionLocked { .. } => Code::Locked,
            ndb::Error::ReadOnly => Code::ReadOnly,
            ndb::Error::UnsupportedFormat { .. } => Code::UnsupportedFormat,
            ndb::Error::NotADatabase { .. } => Code::NotADatabase,
            ndb::Error::Poisoned { .. } => Code::Poisoned,
            ndb::Error::DestinationNotEmpty { .. } => Code::DestinationNotEmpty,
            ndb::Error::Internal(_) => Code::Internal,
            _ => Code::Internal,
        };
        Self::new(code, e.to_string())
    }
}

impl From<Failure> for JsFailure {
    fn from(f: Failure) -> Self {
        napi::Error::new(f.code, f.message)
    }
}

/// Run `f`, turning a panic into a [`Code::Internal`] failure instead of aborting Node.
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Failure::new(
                Code::Internal,
                format!("internal error (a bug in nDB): {what}"),
            ))
        }
    }
}
