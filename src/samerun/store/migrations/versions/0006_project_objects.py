"""Objects a team server holds for each project: what a project's members may read.

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


def downgrade() -> None:
    op.drop_table("project_objects")
