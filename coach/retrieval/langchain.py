"""LangChain integration: the retrieval pipeline as a `BaseRetriever` returning `Document`s whose
metadata carries the section id, title, heading path, chunk id and score."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from coach.types import Hit


def to_document(hit: Hit) -> Document:
    c = hit.chunk
    return Document(
        page_content=c.text, id=c.id,
        metadata={"chunk_id": c.id, "section": c.section, "title": c.title, "heading_path": c.path_str,
                  "source": c.source, "score": float(hit.score)},
    )


class CoachRetriever(BaseRetriever):
    """`CoachRetriever(retriever=Coach(cfg).retriever, k=5).invoke("why TIME_WAIT?")`."""

    retriever: Any
    k: int = 5
    mode: str | None = None
    rerank: bool | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.retriever.search(query, self.k, mode=self.mode, rerank=self.rerank)
        return [to_document(h) for h in hits]
