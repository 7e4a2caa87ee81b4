"""Queryable runs: flattened params with typed columns, metric summaries and tags.

Existing runs are filled in from their manifests, so old runs can be filtered and sorted too.

Revision ID: 0003
"""

import json
import math

import sqlalchemy as sa
from alembic import op

from samerun.store.meta import param_rows

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("params") as batch:
        batch.add_column(sa.Column("number", sa.Float, nullable=True))
        batch.add_column(sa.Column("text", sa.Text, nullable=True))
        batch.create_index("ix_params_key_number", ["key", "number"])
    summaries = op.create_table(
        "metric_summaries",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("last", sa.Float, nullable=True),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("min", sa.Float, nullable=True),
        sa.Column("max", sa.Float, nullable=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("series", sa.String(80), nullable=False),
    )
    op.create_index("ix_metric_summaries_key_last", "metric_summaries", ["key", "last"])
    op.create_table(
        "tags",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_tags_key_value", "tags", ["key", "value"])
    _fill_from_manifests(summaries)


def _fill_from_manifests(summaries: sa.Table) -> None:
    """Flatten each ended run's params and summarize its metrics, from its manifest; a row whose
    manifest is not a run record keeps its params, typed from their JSON text."""
    conn = op.get_bind()
    params = sa.table(
        "params",
        sa.column("run_id"),
        sa.column("key"),
        sa.column("value"),
        sa.column("number"),
        sa.column("text"),
    )
    ended = conn.execute(sa.text("SELECT id, manifest FROM runs WHERE status <> 'running'"))
    for run_id, text in ended.fetchall():
        try:
            manifest = json.loads(text)
            leaves = param_rows(manifest["inputs"]["params"])
            metrics = manifest["outputs"].get("metrics", {})
        except (ValueError, KeyError, TypeError, AttributeError):
            kept = conn.execute(params.select().where(params.c.run_id == run_id)).fetchall()
            leaves = [
                (key, value, *param_rows({key: json.loads(value)})[0][2:])
                for _, key, value, *_ in kept
            ]
            metrics = {}
        conn.execute(params.delete().where(params.c.run_id == run_id))
        if leaves:
            conn.execute(
                params.insert(),
                [
                    {"run_id": run_id, "key": k, "value": v, "number": n, "text": t}
                    for k, v, n, t in leaves
                ],
            )
        if metrics:
            conn.execute(
                summaries.insert(),
                [
                    {
                        "run_id": run_id,
                        "key": key,
                        "last": _finite(m["last"]),
                        "step": m["step"],
                        "min": _finite(m["min"]),
                        "max": _finite(m["max"]),
                        "count": m["count"],
                        "series": m["series"],
                    }
                    for key, m in metrics.items()
                ],
            )


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def downgrade() -> None:
    op.drop_table("tags")
    op.drop_table("metric_summaries")
    with op.batch_alter_table("params") as batch:
        batch.drop_index("ix_params_key_number")
        batch.drop_column("text")
        batch.drop_column("number")
