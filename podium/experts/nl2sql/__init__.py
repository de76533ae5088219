"""NL2SQL: questions to read-only SQL over any SQLAlchemy database."""

from .expert import NL2SQLExpert, NL2SQLRequest

__all__ = ["NL2SQLExpert", "NL2SQLRequest"]
