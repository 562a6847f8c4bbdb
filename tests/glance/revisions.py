"""Run with Glance's own interpreter (.venv-glance): build SQLite databases with Glance's alembic migrations.

    python revisions.py OUT_DIR REVISION...

Upgrades one database revision by revision, as ``alembic upgrade REVISION`` would, and after each
copies it to ``OUT_DIR/REVISION.sqlite``.  Prints, as JSON, every revision in Glance's alembic
script directory with its down_revision and depends_on, and the alembic_version rows after each step.
"""
import json
import shutil
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from glance.db.sqlalchemy import alembic_migrations
from oslo_config import cfg
from oslo_db import options as db_options


def main(out: Path, targets: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work.sqlite"
    url = f"sqlite:///{work}"
    db_options.set_defaults(cfg.CONF, connection=url)  # the data migrations open Glance's own engine
    cfg.CONF([], project="glance", default_config_files=[])
    engine = sa.create_engine(url)
    config = alembic_migrations.get_alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    revisions = {r.revision: {"down_revision": r.down_revision, "depends_on": r.dependencies}
                 for r in script.walk_revisions()}
    heads = {}
    for target in targets:
        command.upgrade(config, target)
        with engine.connect() as conn:
            heads[target] = sorted(r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version")))
        engine.dispose()
        shutil.copyfile(work, out / f"{target}.sqlite")
    print(json.dumps({"revisions": revisions, "heads": heads}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
