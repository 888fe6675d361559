"""nDB: an embedded vector database ("SQLite for embeddings").

Documents made of a string id, a float32 vector and a JSON payload live in collections inside a
database directory; search them exactly or approximately (HNSW), filtered by payload::

    import ndb, numpy as np
    with ndb.Database("data/") as db:
        docs = db.create_collection("docs", dim=3, distance="cosine")
        docs.upsert(["a", "b"], np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32),
                    payloads=[{"lang": "en"}, {"lang": "de"}])
        hits = docs.search([1, 0.1, 0], k=1, filter={"lang": "en"})
        print(hits[0].id, hits[0].score, hits[0].payload)

Every call that does I/O or search releases the GIL. Errors are subclasses of ``ndb.Error``.
"""

from . import _errors
from ._errors import *  # noqa: F403 (the exception hierarchy: _errors.__all__)
from ._ndb import (
    DIM_MAX,
    TOP_K_MAX,
    Collection,
    Database,
    Document,
    DocumentIterator,
    Match,
    RecoverReport,
    __version__,
    recover,
)

__all__ = [
    "Database",
    "Collection",
    "Document",
    "DocumentIterator",
    "Match",
    "RecoverReport",
    "recover",
]
__all__ += _errors.__all__
__all__ += [
    "DIM_MAX",
    "TOP_K_MAX",
    "__version__",
]
