"""the twelve default working groups of the alliance

Created once, by migration, so that two bot processes starting together cannot both create
them, and so that an admin who renames or archives one never sees it come back.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_GROUPS = [
    ("apparel-footwear", "Apparel & Footwear", "Clothing, shoes, sportswear and accessories."),
    ("luxury-leather-goods", "Luxury & Leather Goods", "Handbags, small leather goods, luxury fashion."),
    ("watches-jewellery", "Watches & Jewellery", "Watches, fine and fashion jewellery."),
    ("consumer-electronics", "Consumer Electronics", "Phones, audio, computing, chargers and accessories."),
    ("home-appliances", "Home Appliances", "Large and small household appliances."),
    ("automotive-parts", "Automotive & Parts", "Vehicle parts, accessories, lubricants and tyres."),
    ("beauty-personal-care", "Beauty & Personal Care", "Cosmetics, fragrance, skin and hair care."),
    ("food-beverage-pet", "Food, Beverage & Pet", "Food, drinks, infant formula and pet products."),
    ("toys-games", "Toys & Games", "Toys, collectibles, games and licensed merchandise."),
    ("sports-outdoor", "Sports & Outdoor", "Sporting goods, outdoor gear and bicycles."),
    ("health-pharma", "Health & Pharma", "Medicines, medical devices and supplements."),
    ("industrial-tools", "Industrial & Tools", "Power tools, industrial equipment and components."),
]


def upgrade() -> None:
    now = datetime.now(UTC)
    groups = sa.table(
        "working_group",
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("archived", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    audit = sa.table(
        "audit_log",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor_id", sa.BigInteger),
        sa.column("action", sa.String),
        sa.column("subject", sa.String),
        sa.column("details", sa.JSON),
    )
    stamp = now if op.get_bind().dialect.name != "sqlite" else now.replace(tzinfo=None)
    op.bulk_insert(
        groups,
        [
            {"slug": slug, "name": name, "description": text, "archived": False, "created_at": stamp}
            for slug, name, text in DEFAULT_GROUPS
        ],
    )
    op.bulk_insert(
        audit,
        [
            {"at": stamp, "actor_id": None, "action": "group.created", "subject": f"group:{slug}",
             "details": {"name": name, "default": True}}
            for slug, name, _ in DEFAULT_GROUPS
        ],
    )


def downgrade() -> None:
    slugs = [slug for slug, _, _ in DEFAULT_GROUPS]
    op.execute(sa.text("DELETE FROM working_group WHERE slug IN :slugs").bindparams(sa.bindparam("slugs", slugs, expanding=True)))
