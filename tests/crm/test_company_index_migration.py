"""crm_0005 copies companies' JSON phones/emails into the lookup index (SQLite: the copy is
plain SQL both backends run alike; PostgreSQL runs the same migration in every test setup)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from comms.db.migrate import upgrade
from hubtest import all_modules

TENANT, OTHER = uuid.uuid4(), uuid.uuid4()


def _company(db: sqlite3.Connection, tenant: uuid.UUID, made: str, phones: list[str]) -> str:
    cid = uuid.uuid4().hex
    db.execute(
        "INSERT INTO crm_companies (id, tenant_id, name, created_at, updated_at, owner_id,"
        " phones, emails, tags, custom_fields) VALUES (?, ?, 'Co', ?, ?, NULL, ?, ?, '[]', '{}')",
        (cid, tenant.hex, made, made, json.dumps(phones), json.dumps([f"{cid}@co.cn"])),
    )
    return cid


def test_existing_company_numbers_are_indexed_and_a_shared_one_stays_with_the_oldest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, all_modules(), "crm_0004")
    with sqlite3.connect(path) as db:
        for t in (TENANT, OTHER):
            db.execute(
                "INSERT INTO tenants (id, name, timezone, created_at)"
                " VALUES (?, ?, 'Asia/Shanghai', '2026-01-01 00:00:00')",
                (t.hex, t.hex),
            )
        old = _company(db, TENANT, "2026-01-01 00:00:00", ["+861065529988", "+8613800138000"])
        new = _company(db, TENANT, "2026-02-01 00:00:00", ["+8613900139000", "+861065529988"])
        elsewhere = _company(db, OTHER, "2026-03-01 00:00:00", ["+861065529988"])
    upgrade(url, all_modules())
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT company_id, e164 FROM crm_company_phones ORDER BY id").fetchall()
        assert rows == [
            (old, "+861065529988"),
            (old, "+8613800138000"),
            (new, "+8613900139000"),
            (elsewhere, "+861065529988"),
        ]
        lists = dict(db.execute("SELECT id, phones FROM crm_companies").fetchall())
        assert json.loads(lists[new]) == ["+8613900139000"]  # the list agrees with the index
        assert json.loads(lists[old]) == ["+861065529988", "+8613800138000"]
        emails = db.execute("SELECT company_id, address FROM crm_company_emails").fetchall()
        assert sorted(emails) == sorted((c, f"{c}@co.cn") for c in (old, new, elsewhere))
