//! The one error type of the public API.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in nDB. Every variant says what failed and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error while working on `path`.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Bytes on disk failed a check (checksum, magic, bounds). Nothing was returned from them.
    #[error("corruption in {} at offset {offset}: {reason}", file.display())]
    Corruption {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damaged structure within the file.
        offset: u64,
        /// What check failed.
        reason: String,
    },
    /// A vector's length differs from the collection's dimension.
    #[error("wrong vector dimension: expected {expected}, got {got}")]
    WrongDimension {
        /// The collection's dimension.
        expected: usize,
        /// The length that was given.
        got: usize,
    },
    /// An argument is invalid (the message says which and why).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No collection with this name exists (or it was dropped).
    #[error("collection not found: {0:?}")]
    CollectionNotFound(String),
    /// A collection with this name already exists.
    #[error("collection already exists: {0:?}")]
    CollectionExists(String),
    /// Another writer (another process, or another `Database` in this process) holds the lock.
    #[error("locked by another writer: {} (open read-only, or close the other writer)", path.display())]
    CollectionLocked {
        /// The lock file that is held.
        path: PathBuf,
    },
    /// A write was attempted through a read-only database.
    #[error("the database was opened read-only")]
    ReadOnly,
    /// A file was written by a format version this build cannot read.
    #[error("unsupported format version {found} in {} (this build reads up to {supported})", file.display())]
    UnsupportedFormat {
        /// The file.
        file: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build supports.
        supported: u32,
    },
    /// The directory exists but is not an nDB database.
    #[error("{} is not an nDB database: {reason}", path.display())]
    NotADatabase {
        /// The directory.
        path: PathBuf,
        /// Why it was not recognised.
        reason: String,
    },
    /// The destination of a copy ([`recover`](crate::recover)) exists and is not an empty
    /// directory; nothing was written.
    #[error("{} exists and is not an empty directory: the copy goes only into a new or empty directory (nothing was written)", path.display())]
    DestinationNotEmpty {
        /// The destination.
        path: PathBuf,
    },
    /// An earlier I/O failure (e.g. a failed fsync) left the collection's durable state unknown;
    /// it refuses writes until it is reopened, which recovers from what is on disk.
    #[error("collection {collection:?} refuses writes after an earlier failure ({reason}); reopen the database to recover")]
    Poisoned {
        /// The collection.
        collection: String,
        /// The failure that poisoned it.
        reason: String,
    },
    /// nDB broke one of its own invariants (a bug, not bad input or a damaged file); the
    /// operation changed nothing durable. Please report it with the message.
    #[error("internal error (a bug in nDB): {0}")]
    Internal(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corruption(
        file: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub(crate) fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }
}

/// Attach a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
