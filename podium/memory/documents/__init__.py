"""The document store: files in, searchable chunks out (see :mod:`.store`)."""

from .search import Hit, rank_documents
from .store import Consistency, DocumentStore, IngestReport, for_workspace

__all__ = ["Consistency", "DocumentStore", "Hit", "IngestReport", "for_workspace", "rank_documents"]
