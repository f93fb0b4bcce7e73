from coach.retrieval import index
from coach.retrieval.langchain import CoachRetriever
from coach.retrieval.retriever import Retriever


def test_langchain_retriever_returns_documents_with_section_metadata(cfg, embedder, store):
    index.build_index(cfg, embedder, store)
    r = Retriever(index.load_saved(cfg), embedder, store, cfg.retrieval)
    docs = CoachRetriever(retriever=r, k=2, rerank=False).invoke("oom_score_adj victim")
    assert len(docs) == 2
    top = docs[0]
    assert "oom_score_adj" in top.page_content
    assert top.metadata["section"] == "2.1" and top.metadata["title"] == "Memory"
    assert top.metadata["heading_path"] == "Section 2 — Linux > 2.1 Memory"
    assert top.metadata["chunk_id"] == top.id
