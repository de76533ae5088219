"""The document store: files in, searchable chunks out.

:class:`DocumentStore` (:mod:`.store`) is the one object its users hold; ingestion
(:mod:`.ingest`), the vector index kept in step with the chunks (:mod:`.sync`) and search
(:mod:`.search`) are its parts.
"""

from .expand import QueryExpander
from .ingest import BATCH_CHUNKS, Ingester, IngestReport, Progress
from .rerank import LadderReranker
from .search import DocumentSearch, Hit, Vectors, rank_documents
from .store import DocumentStore, for_workspace
from .sync import Consistency, VectorSync, default_index_dir, passage

__all__ = [
    "BATCH_CHUNKS",
    "Consistency",
    "DocumentSearch",
    "DocumentStore",
    "Hit",
    "IngestReport",
    "Ingester",
    "LadderReranker",
    "Progress",
    "QueryExpander",
    "VectorSync",
    "Vectors",
    "default_index_dir",
    "for_workspace",
    "passage",
    "rank_documents",
]
