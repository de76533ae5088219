"""Schema matching: which columns of two tables mean the same thing.

Name, embedding, value and type signals are combined by a small learned model; candidates
can be assigned one-to-one (Hungarian) and reranked by the large model (Magneto-style).
"""

from .combine import Combiner
from .expert import SchemaMatchExpert, SchemaMatchRequest
from .match import Candidate, ColumnMatch, MatchResult, match_tables
from .rerank import LLMRerank, llm_rerank
from .tables import ColumnProfile, TableProfile, load_table

__all__ = [
    "Candidate",
    "ColumnMatch",
    "ColumnProfile",
    "Combiner",
    "LLMRerank",
    "MatchResult",
    "SchemaMatchExpert",
    "SchemaMatchRequest",
    "TableProfile",
    "llm_rerank",
    "load_table",
    "match_tables",
]
