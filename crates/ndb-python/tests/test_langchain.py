"""LangChain: the standard vector-store suite (langchain-tests), unchanged, plus filters and MMR."""

from collections.abc import Generator

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_tests")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.vectorstores import VectorStore  # noqa: E402
from langchain_tests.integration_tests import VectorStoreIntegrationTests  # noqa: E402

from ndb.langchain import NDBVectorStore  # noqa: E402


class TestNDBVectorStoreStandard(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self, tmp_path) -> Generator[VectorStore, None, None]:  # type: ignore[override]
        store = NDBVectorStore(self.get_embeddings(), str(tmp_path / "db"))
        try:
            yield store
        finally:
            store.close()


def test_filters_scores_mmr_and_reopen(tmp_path):
    emb = TestNDBVectorStoreStandard.get_embeddings()
    path = str(tmp_path / "db")
    texts = ["alpha", "beta", "gamma", "delta"]
    metas = [{"year": 2019, "lang": "en"}, {"year": 2021, "lang": "de"}, {"year": 2023, "lang": "en"}, {}]
    store = NDBVectorStore.from_texts(texts, emb, metas, ids=["a", "b", "c", "d"], path=path)
    got = store.similarity_search("alpha", k=4, filter={"lang": "en", "year": {"$gte": 2020}})
    assert [d.id for d in got] == ["c"]
    got = store.similarity_search("alpha", k=4, filter={"$or": [{"year": 2019}, {"lang": "de"}]})
    assert sorted(d.id for d in got) == ["a", "b"]
    got = store.similarity_search("alpha", k=4, filter={"$not": {"lang": {"$exists": True}}})
    assert [d.id for d in got] == ["d"]
    scored = store.similarity_search_with_score("alpha", k=2)
    assert scored[0][0] == Document(id="a", page_content="alpha", metadata=metas[0])
    assert scored[0][1] == pytest.approx(1.0, abs=1e-5) and scored[0][1] >= scored[1][1]
    rel = store.similarity_search_with_relevance_scores("alpha", k=4)
    assert all(0.0 <= r <= 1.0 for _, r in rel)
    mmr = store.max_marginal_relevance_search("alpha", k=2, fetch_k=4)
    assert len(mmr) == 2 and mmr[0].id == "a"
    store.close()
    with NDBVectorStore(emb, path) as again:
        assert [d.page_content for d in again.get_by_ids(["d", "a", "zz"])] == ["delta", "alpha"]
        again.delete()
        assert again.similarity_search("alpha") == []
