"""The exception hierarchy of nDB. Every error the library raises is an ``ndb.Error``.

The message is the Rust library's own, which says what failed and where.
"""

__all__ = [
    "Error",
    "CorruptionError",
    "LockedError",
    "ReadOnlyError",
    "DimensionError",
    "InvalidArgumentError",
    "CollectionNotFoundError",
    "CollectionExistsError",
    "IoError",
    "UnsupportedFormatError",
    "NotADatabaseError",
    "PoisonedError",
    "DestinationNotEmptyError",
    "InternalError",
    "ClosedError",
]


class Error(Exception):
    """Base class of every nDB error."""

    def __str__(self) -> str:
        # One argument: the message as is (KeyError would otherwise show its repr).
        if len(self.args) == 1:
            return str(self.args[0])
        return super().__str__()


class CorruptionError(Error):
    """Bytes on disk failed a check (checksum, magic, bounds); nothing was returned from them."""


class LockedError(Error):
    """Another writer (another process, or another Database in this process) holds the lock.

    Open the database with ``read_only=True``, or close the other writer.
    """


class ReadOnlyError(Error):
    """A write was attempted through a database opened with ``read_only=True``."""


class DimensionError(Error, ValueError):
    """A vector's length differs from the collection's dimension."""


class InvalidArgumentError(Error, ValueError):
    """An argument is invalid (the message says which and why)."""


class CollectionNotFoundError(Error, KeyError):
    """No collection with this name exists (or it was dropped)."""


class CollectionExistsError(Error):
    """A collection with this name already exists."""


class IoError(Error, OSError):
    """The operating system reported an I/O error (the message names the file)."""


class UnsupportedFormatError(Error):
    """A file was written by a format version this build cannot read."""


class NotADatabaseError(Error):
    """The directory exists but is not an nDB database."""


class PoisonedError(Error):
    """An earlier I/O failure left a collection's durable state unknown; reopen the database."""


class DestinationNotEmptyError(Error, FileExistsError):
    """The destination of a copy (``Database.backup``, ``ndb.recover``) exists and is not an
    empty directory; nothing was written."""


class InternalError(Error):
    """nDB broke one of its own invariants (a bug, not bad input or a damaged file); nothing
    durable was changed. Please report it with the message."""


class ClosedError(Error):
    """The database (or the collection's database) was closed with ``close()``."""


# Shown (and pickled) as ndb.<Name>, where users import them from.
for _name in __all__:
    globals()[_name].__module__ = "ndb"
del _name
