"""Type stubs of the ``ndb`` package (the native classes live in ``ndb._ndb``)."""

import os
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

# The exception hierarchy is defined (with its types) once, in _errors.py.
from ._errors import *

__version__: str
DIM_MAX: int
TOP_K_MAX: int

Payload = Optional[dict[str, Any]]
Filter = Union[dict[str, Any], str]
Vector = Union[npt.ArrayLike, Sequence[float]]
Matrix = Union[npt.ArrayLike, Sequence[Sequence[float]]]
DistanceName = Literal["cosine", "dot_product", "dot", "euclidean", "l2"]
QuantizationName = Literal["none", "int8", "binary"]
DurabilityName = Literal["buffered", "fsync"]
IndexKind = Literal["keyword", "integer", "float", "bool"]

class Document:
    """A stored document: id, float32 vector, payload."""

    @property
    def id(self) -> str: ...
    @property
    def vector(self) -> npt.NDArray[np.float32]: ...
    @property
    def payload(self) -> Payload: ...
    def __init__(self, id: str, vector: Vector, payload: Payload = None) -> None: ...

class Match:
    """One search result: id, score (higher is better), payload."""

    @property
    def id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def payload(self) -> Payload: ...

class DocumentIterator(Iterator[Document]):
    """Iterator over the live documents of a collection (a snapshot)."""

    def __iter__(self) -> DocumentIterator: ...
    def __next__(self) -> Document: ...

class Collection:
    """A collection of documents of one dimension and metric."""

    @property
    def name(self) -> str: ...
    @property
    def dim(self) -> int: ...
    @property
    def distance(self) -> str: ...
    def config(self) -> dict[str, Any]:
        """The settings as of now, with the keywords of Database.create_collection."""
    def update_config(
        self,
        *,
        durability: DurabilityName = ...,
        flush_threshold_bytes: int = ...,
        ef_search: int = ...,
        m: int = ...,
        ef_construction: int = ...,
        index_min_rows: int = ...,
        quantization: QuantizationName = ...,
    ) -> dict[str, Any]:
        """Change the settings that may change without rewriting data; the new settings."""
    def refresh(self) -> bool:
        """On a read-only handle: move to the writer's newest state; whether it changed."""
    def upsert(
        self, ids: Sequence[str], vectors: Matrix, payloads: Optional[Sequence[Payload]] = None
    ) -> None:
        """Insert or replace documents in one all-or-nothing batch."""
    def insert(self, id: str, vector: Vector, payload: Payload = None) -> None:
        """Insert or replace one document."""
    def get(self, id: str) -> Optional[Document]:
        """The document with this id, or None."""
    def set_payload(self, id: str, payload: Payload) -> bool:
        """Replace a document's payload (None removes it); whether the document exists."""
    def patch_payload(self, id: str, patch: dict[str, Any]) -> bool:
        """Apply an RFC 7396 merge patch to a document's payload; whether it exists."""
    def delete(self, id: str) -> bool:
        """Delete a document; whether it was present."""
    def delete_many(self, ids: Sequence[str]) -> int:
        """Delete documents; how many were present."""
    def search(
        self,
        q: Vector,
        k: int = 10,
        filter: Optional[Filter] = None,
        exact: bool = False,
        ef: Optional[int] = None,
        *,
        oversampling: Optional[float] = None,
        rescore: bool = True,
    ) -> list[Match]:
        """The k nearest documents, best first."""
    def search_batch(
        self,
        Q: Matrix,
        k: int = 10,
        filter: Optional[Filter] = None,
        exact: bool = False,
        ef: Optional[int] = None,
        threads: Optional[int] = None,
        *,
        oversampling: Optional[float] = None,
        rescore: bool = True,
    ) -> list[list[Match]]:
        """One search per row of Q, in parallel."""
    def flush(self) -> None:
        """Write the memtable to a new segment; durable and indexed when it returns."""
    def wait_for_index(self, timeout: Optional[float] = None) -> bool:
        """Wait until every segment that should have an HNSW graph has one."""
    def sync(self) -> None:
        """Make every acknowledged write durable."""
    def compact(self) -> dict[str, Any]:
        """Merge all segments into one."""
    def stats(self) -> dict[str, Any]:
        """Figures about the collection."""
    def rebuild_index(self) -> None:
        """Build (or rebuild) the HNSW index of every segment."""
    def delete_index(self) -> None:
        """Remove every HNSW index."""
    def has_index(self) -> bool:
        """Whether every segment that should have an HNSW index has one."""
    def create_payload_index(self, field: str, kind: IndexKind) -> None:
        """Index a payload field for filters."""
    def drop_payload_index(self, field: str) -> None:
        """Remove a payload index."""
    def payload_indexes(self) -> dict[str, str]:
        """The declared payload indexes: field -> kind."""
    def verify(self) -> None:
        """Check every checksum; raises CorruptionError."""
    def __len__(self) -> int: ...
    def __contains__(self, id: str) -> bool: ...
    def __iter__(self) -> DocumentIterator: ...

class Database:
    """An nDB database: a directory of collections."""

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        read_only: bool = False,
        *,
        background_maintenance: bool = True,
        refresh_interval: Optional[float] = None,
    ) -> None: ...
    @property
    def path(self) -> pathlib.Path: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def create_collection(
        self,
        name: str,
        dim: int,
        distance: DistanceName = "cosine",
        durability: DurabilityName = "buffered",
        *,
        m: Optional[int] = None,
        ef_construction: Optional[int] = None,
        ef_search: Optional[int] = None,
        index_min_rows: Optional[int] = None,
        flush_threshold_bytes: Optional[int] = None,
        quantization: QuantizationName = "none",
    ) -> Collection:
        """Create a collection."""
    def get_collection(self, name: str) -> Collection:
        """An existing collection; raises CollectionNotFoundError."""
    def collection_names(self) -> list[str]:
        """Names of all collections, sorted."""
    def drop_collection(self, name: str) -> bool:
        """Delete a collection; whether it existed."""
    def backup(self, dest: Union[str, os.PathLike[str]]) -> dict[str, Any]:
        """Write a consistent copy of every collection into a new directory."""
    def close(self) -> None:
        """Close the database, releasing the writer lock."""
    def __contains__(self, name: str) -> bool: ...
    def __enter__(self) -> Database: ...
    def __exit__(self, *args: object) -> bool: ...

class RecoverReport:
    """What ``ndb.recover`` copied and lost; ``str()`` is the text ``ndb recover`` prints."""

    @property
    def source(self) -> pathlib.Path: ...
    @property
    def dest(self) -> pathlib.Path: ...
    @property
    def documents_recovered(self) -> int: ...
    @property
    def rows_lost(self) -> int: ...
    @property
    def complete(self) -> bool: ...
    @property
    def files(self) -> list[dict[str, Any]]: ...
    @property
    def collections(self) -> list[dict[str, Any]]: ...
    @property
    def notes(self) -> list[str]: ...

def recover(
    src: Union[str, os.PathLike[str]], dest: Union[str, os.PathLike[str]]
) -> RecoverReport:
    """Copy every readable document of a (damaged) database into a new one; report the losses."""
