"""Run with Glance's own interpreter (.venv-glance): migrate a database at URL to an alembic REVISION.

    python migrate_to.py URL REVISION

Glance's own alembic scripts (data migrations included), as ``glance-manage db upgrade`` runs them,
on SQLite, MariaDB or PostgreSQL: the sizing measurements build each era's tables this way.
"""
import sys

import sqlalchemy as sa
from alembic import command
from glance.db.sqlalchemy import alembic_migrations
from oslo_config import cfg
from oslo_db import options as db_options


def main(url: str, revision: str) -> None:
    db_options.set_defaults(cfg.CONF, connection=url)  # the data migrations open Glance's own engine
    cfg.CONF([], project="glance", default_config_files=[])
    engine = sa.create_engine(url)
    command.upgrade(alembic_migrations.get_alembic_config(engine), revision)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
