"""The schema of Podium 0.1 before migrations: runs, steps, events, conversations, messages.

Stores written before Alembic was introduced already have these tables (made by
``create_all``) and no ``alembic_version``: each table is created only when missing, so such
a store is adopted as it is.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "runs" not in existing:
        op.create_table(
            "runs",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("task", sa.Text, nullable=False),
            sa.Column("status", sa.String(24), nullable=False),
            sa.Column("answer", sa.Text),
            sa.Column("error", sa.Text),
            sa.Column("planner", sa.String(200), nullable=False),
            sa.Column("workspace", sa.String(500), nullable=False),
            sa.Column("plan", sa.JSON),
            sa.Column("cost", sa.JSON),
            sa.Column("conversation_id", sa.String(64)),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("finished_at", sa.Float),
        )
        op.create_index("ix_runs_status", "runs", ["status"])
        op.create_index("ix_runs_conversation_id", "runs", ["conversation_id"])
        op.create_index("ix_runs_created_at", "runs", ["created_at"])
    if "steps" not in existing:
        op.create_table(
            "steps",
            sa.Column(
                "run_id",
                sa.String(64),
                sa.ForeignKey("runs.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("step_id", sa.String(32), primary_key=True),
            sa.Column("expert", sa.String(64), nullable=False),
            sa.Column("input", sa.Text, nullable=False),
            sa.Column("status", sa.String(24), nullable=False),
            sa.Column("output", sa.JSON),
            sa.Column("confidence", sa.Float, nullable=False),
            sa.Column("error", sa.Text),
            sa.Column("model", sa.String(200), nullable=False),
            sa.Column("input_tokens", sa.Integer, nullable=False),
            sa.Column("output_tokens", sa.Integer, nullable=False),
            sa.Column("ms", sa.Float, nullable=False),
        )
        op.create_index("ix_steps_expert", "steps", ["expert"])
    if "events" not in existing:
        op.create_table(
            "events",
            sa.Column(
                "run_id",
                sa.String(64),
                sa.ForeignKey("runs.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("seq", sa.Integer, primary_key=True),
            sa.Column("type", sa.String(32), nullable=False),
            sa.Column("ts", sa.Float, nullable=False),
            sa.Column("data", sa.JSON, nullable=False),
        )
        op.create_index("ix_events_type", "events", ["type"])
    if "conversations" not in existing:
        op.create_table(
            "conversations",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        )
        op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
        op.create_index("ix_conversations_updated_at", "conversations", ["updated_at"])
    if "messages" not in existing:
        op.create_table(
            "messages",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "conversation_id",
                sa.String(64),
                sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("content", sa.Text, nullable=False),
            sa.Column("run_id", sa.String(64)),
            sa.Column("created_at", sa.Float, nullable=False),
        )
        op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])


def downgrade() -> None:
    for table in ("messages", "conversations", "events", "steps", "runs"):
        op.drop_table(table)
