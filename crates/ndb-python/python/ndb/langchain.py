"""LangChain integration: ``NDBVectorStore``, a ``langchain_core`` ``VectorStore`` kept in nDB.

Install with ``pip install "ndb-vector[langchain]"``::

    from ndb.langchain import NDBVectorStore
    store = NDBVectorStore(embeddings, "data/", collection_name="docs")
    store.add_texts(["nDB stores vectors"], metadatas=[{"lang": "en"}], ids=["a"])
    store.similarity_search("vector database", k=4, filter={"lang": "en"})

Each document is stored with its text and metadata as the payload ``{"text": ..., "metadata":
{...}}``. Filters are nDB filters (MongoDB-style dicts) on the metadata: ``{"year": {"$gte":
2020}}`` means ``metadata.year >= 2020``.
"""

from __future__ import annotations

import math
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import numpy as np

try:
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.vectorstores import VectorStore
    from langchain_core.vectorstores.utils import maximal_marginal_relevance
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        'ndb.langchain needs langchain-core: pip install "ndb-vector[langchain]"'
    ) from e

import ndb

__all__ = ["NDBVectorStore"]

_TEXT = "text"
_METADATA = "metadata"
_LOGICAL = ("$and", "$or")


def _metadata_filter(flt: dict[str, Any] | None) -> dict[str, Any] | None:
    """Rewrite a filter on metadata fields into one on the stored payload (``metadata.<path>``)."""
    if flt is None:
        return None
    if not isinstance(flt, dict):
        raise TypeError(f"filter must be a dict, got {type(flt).__name__}")
    out: dict[str, Any] = {}
    for key, value in flt.items():
        if key in _LOGICAL and isinstance(value, list):
            out[key] = [_metadata_filter(f) for f in value]
        elif key == "$not" and isinstance(value, dict):
            out[key] = _metadata_filter(value)
        elif key.startswith("$"):
            out[key] = value  # let nDB report the unknown operator
        else:
            out[f"{_METADATA}.{key}"] = value
    return out


class NDBVectorStore(VectorStore):
    """A LangChain vector store in an nDB collection.

    Args:
        embedding: the embedding model used for texts and queries.
        path: the nDB database directory (created if missing). Ignored when ``database`` is given.
        collection_name: the collection to use; created at the first write, with the
            dimension of the first embeddings.
        distance: "cosine" (default), "dot_product" or "euclidean", for a new collection.
        durability: "buffered" (default) or "fsync", for a new collection.
        database: an open ``ndb.Database`` to use instead of opening ``path`` (it is then not
            closed by ``close()``).
    """

    def __init__(
        self,
        embedding: Embeddings,
        path: str | None = None,
        collection_name: str = "langchain",
        *,
        distance: str = "cosine",
        durability: str = "buffered",
        database: ndb.Database | None = None,
    ) -> None:
        if database is None and path is None:
            raise ValueError("NDBVectorStore needs a path (or an open ndb.Database)")
        self._embedding = embedding
        self._owns_db = database is None
        self._db = database if database is not None else ndb.Database(path)
        self._name = collection_name
        self._distance = distance
        self._durability = durability
        self._coll: ndb.Collection | None = (
            self._db.get_collection(collection_name) if collection_name in self._db else None
        )
        if self._coll is not None:
            self._distance = self._coll.distance

    # -- properties and lifecycle ------------------------------------------------------------

    @property
    def embeddings(self) -> Embeddings:
        """The embedding model."""
        return self._embedding

    @property
    def collection(self) -> ndb.Collection | None:
        """The underlying ``ndb.Collection`` (None until the first document is added)."""
        return self._coll

    def close(self) -> None:
        """Close the database if this store opened it (releasing its writer lock)."""
        self._coll = None
        if self._owns_db:
            self._db.close()

    def __enter__(self) -> NDBVectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _collection_for(self, dim: int) -> ndb.Collection:
        if self._coll is None:
            self._coll = self._db.create_collection(
                self._name, dim=dim, distance=self._distance, durability=self._durability
            )
        return self._coll

    # -- writes ------------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        *,
        ids: list[str | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed ``texts`` and store them (replacing documents with the same ids) in one
        all-or-nothing batch; returns their ids (new UUIDs where none were given)."""
        texts = list(texts)
        if not texts:
            return []
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"{len(metadatas)} metadatas for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        ids_ = [i if i else str(uuid.uuid4()) for i in (ids or [None] * len(texts))]
        metadatas_ = metadatas or [{} for _ in texts]
        vectors = np.asarray(self._embedding.embed_documents(texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"the embedding model returned shape {vectors.shape} for {len(texts)} texts")
        payloads = [{_TEXT: t, _METADATA: dict(m or {})} for t, m in zip(texts, metadatas_)]
        self._collection_for(vectors.shape[1]).upsert(ids_, vectors, payloads)
        return ids_

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete documents by id (ids that are not present are ignored); with ``ids=None``,
        delete the whole collection. Returns True."""
        if ids is None:
            if self._coll is not None:
                self._db.drop_collection(self._name)
                self._coll = None
            return True
        if self._coll is not None:
            self._coll.delete_many(list(ids))
        return True

    # -- reads -------------------------------------------------------------------------------

    @staticmethod
    def _document(id_: str, payload: dict | None) -> Document:
        payload = payload or {}
        return Document(
            id=id_, page_content=payload.get(_TEXT, ""), metadata=payload.get(_METADATA) or {}
        )

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents with these ids, in that order; missing ids are skipped."""
        if self._coll is None:
            return []
        docs = []
        for id_ in ids:
            d = self._coll.get(id_)
            if d is not None:
                docs.append(self._document(d.id, d.payload))
        return docs

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The ``k`` documents nearest to ``embedding`` with their nDB scores (higher is more
        similar: cosine similarity, dot product, or negated Euclidean distance)."""
        if self._coll is None or k <= 0:
            return []
        hits = self._coll.search(
            np.asarray(embedding, dtype=np.float32), k=k, filter=_metadata_filter(filter), **kwargs
        )
        return [(self._document(h.id, h.payload), float(h.score)) for h in hits]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The ``k`` documents most similar to ``query``, with their scores (higher is better)."""
        return self.similarity_search_with_score_by_vector(
            self._embedding.embed_query(query), k=k, filter=filter, **kwargs
        )

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents nearest to ``embedding``."""
        return [d for d, _ in self.similarity_search_with_score_by_vector(embedding, k, filter, **kwargs)]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents most similar to ``query``; ``filter`` is an nDB filter on the
        metadata, e.g. ``{"lang": "en", "year": {"$gte": 2020}}``. Extra keyword arguments
        (``exact``, ``ef``) go to ``ndb.Collection.search``."""
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """``k`` documents chosen among the ``fetch_k`` nearest for similarity to the query
        and diversity among themselves (``lambda_mult``: 1 = similarity only, 0 = diversity only)."""
        if self._coll is None:
            return []
        hits = self._coll.search(
            np.asarray(embedding, dtype=np.float32), k=fetch_k, filter=_metadata_filter(filter), **kwargs
        )
        if not hits:
            return []
        vectors = [self._coll.get(h.id) for h in hits]
        kept = [(h, d.vector) for h, d in zip(hits, vectors) if d is not None]
        chosen = maximal_marginal_relevance(
            np.asarray(embedding, dtype=np.float32),
            [v for _, v in kept],
            lambda_mult=lambda_mult,
            k=k,
        )
        return [self._document(kept[i][0].id, kept[i][0].payload) for i in chosen]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Maximal marginal relevance search for ``query`` (see the ``_by_vector`` variant)."""
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, filter, **kwargs
        )

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """nDB scores are similarities; map them to [0, 1] relevance."""
        if self._distance == "cosine":
            return lambda s: (1.0 + s) / 2.0
        if self._distance == "euclidean":
            return lambda s: 1.0 + s / math.sqrt(2)  # 1 - distance / sqrt(2), as LangChain's
        return lambda s: 1.0 + s if s < 0 else s  # dot product: LangChain's inner-product rule on -s

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        path: str | None = None,
        collection_name: str = "langchain",
        **kwargs: Any,
    ) -> NDBVectorStore:
        """A store in ``path`` (a new temporary directory if None) holding ``texts``."""
        if path is None:
            path = tempfile.mkdtemp(prefix="ndb-langchain-")
        store = cls(embedding, path, collection_name, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store
