"""Learning from runs: verified examples with their provenance, feedback, refreshes.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "verified_examples" not in existing:
        op.create_table(
            "verified_examples",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("expert", sa.String(64), nullable=False),
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("step_id", sa.String(32), nullable=False),
            sa.Column("source", sa.String(200), nullable=False),
            sa.Column("input", sa.Text, nullable=False),
            sa.Column("output", sa.JSON),
            sa.Column("confidence", sa.Float, nullable=False),
            sa.Column("voucher", sa.String(32), nullable=False),
            sa.Column("provenance", sa.JSON, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        )
        op.create_index("ix_verified_examples_expert", "verified_examples", ["expert"])
        op.create_index("ix_verified_examples_status", "verified_examples", ["status"])
        op.create_index(
            "ix_verified_examples_step", "verified_examples", ["run_id", "step_id"], unique=True
        )
    if "feedback" not in existing:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "run_id",
                sa.String(64),
                sa.ForeignKey("runs.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("step_id", sa.String(32), nullable=False),
            sa.Column("verdict", sa.String(8), nullable=False),
            sa.Column("via", sa.String(16), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        )
        op.create_index("ix_feedback_run_id", "feedback", ["run_id"])
    if "learn_refreshes" not in existing:
        op.create_table(
            "learn_refreshes",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("expert", sa.String(64), nullable=False),
            sa.Column("component", sa.String(32), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("before", sa.Float),
            sa.Column("after", sa.Float),
            sa.Column("metric", sa.String(64), nullable=False),
            sa.Column("held_back", sa.Integer, nullable=False),
            sa.Column("artifact", sa.JSON),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        )
        op.create_index("ix_learn_refreshes_expert", "learn_refreshes", ["expert"])
        op.create_index("ix_learn_refreshes_component", "learn_refreshes", ["component"])


def downgrade() -> None:
    for table in ("learn_refreshes", "feedback", "verified_examples"):
        op.drop_table(table)
