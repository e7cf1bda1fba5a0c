"""Autogenerate the next migration on one package's branch.

    python scripts/makemigration.py PACKAGE "message"

Revision ids are `<package>_<NNNN>`; a package's first migration starts its own branch.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from comms.db.migrate import alembic_config, resolve_location, upgrade
from comms.modules import discover_modules


def main() -> None:
    package, message = sys.argv[1], sys.argv[2]
    modules = discover_modules()
    target = next(m for m in modules if m.name == package)
    if not target.migrations:
        sys.exit(f"{package} declares no migrations location in its Module")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'gen.db'}"
        upgrade(url, modules)
        cfg = alembic_config(url, modules)
        existing = [
            r
            for r in ScriptDirectory.from_config(cfg).walk_revisions()
            if r.revision.startswith(f"{package}_")
        ]
        command.revision(
            cfg,
            message=message,
            autogenerate=True,
            rev_id=f"{package}_{len(existing) + 1:04d}",
            head=f"{package}@head" if existing else "base",
            branch_label=None if existing else package,
            version_path=resolve_location(target.migrations),
            depends_on=None if existing or package == "comms" else "comms@head",
        )


if __name__ == "__main__":
    main()
