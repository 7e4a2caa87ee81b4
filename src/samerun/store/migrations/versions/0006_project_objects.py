"""What a team server adds to a store: the objects it grants each project, and the model
aliases only a project's maintainers may move.

Objects are stored once (content-addressed) but granted per project: an object enters a
project when one of its writers uploads its bytes there. Knowing an object's id never grants it.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_objects",
        sa.Column("project", sa.String(64), sa.ForeignKey("projects.name"), primary_key=True),
        sa.Column("oid", sa.String(80), primary_key=True),
    )
    op.create_table(
        "alias_protections",
        sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("protected_by", sa.Text, nullable=False),
        sa.Column("protected_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alias_protections")
    op.drop_table("project_objects")
