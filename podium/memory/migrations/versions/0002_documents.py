"""Documents, chunks (ids shared with the FAISS index) and long-term memory facts.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "documents" not in existing:
        op.create_table(
            "documents",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("collection", sa.String(200), nullable=False),
            sa.Column("source", sa.String(1000), nullable=False),
            sa.Column("title", sa.String(500), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("content_hash", sa.String(64), nullable=False),
            sa.Column("size", sa.BigInteger, nullable=False),
            sa.Column("mtime_ns", sa.BigInteger, nullable=False),
            sa.Column("n_chunks", sa.Integer, nullable=False),
            sa.Column("meta", sa.JSON, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        )
        op.create_index(
            "ix_documents_collection_source", "documents", ["collection", "source"], unique=True
        )
        op.create_index("ix_documents_content_hash", "documents", ["content_hash"])
    if "chunks" not in existing:
        op.create_table(
            "chunks",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "document_id",
                sa.Integer,
                sa.ForeignKey("documents.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("ordinal", sa.Integer, nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("title", sa.String(1000), nullable=False),
            sa.Column("page", sa.Integer),
            sa.Column("content_hash", sa.String(64), nullable=False),
        )
        op.create_index("ix_chunks_document_id", "chunks", ["document_id"])
        op.create_index("ix_chunks_content_hash", "chunks", ["content_hash"])
    if "facts" not in existing:
        op.create_table(
            "facts",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("scope", sa.String(200), nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("conversation_id", sa.String(64)),
            sa.Column("model", sa.String(200), nullable=False),
            sa.Column("vector", sa.LargeBinary, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        )
        op.create_index("ix_facts_scope", "facts", ["scope"])


def downgrade() -> None:
    for table in ("facts", "chunks", "documents"):
        op.drop_table(table)
