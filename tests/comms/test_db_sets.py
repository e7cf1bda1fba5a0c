"""`among`: the same rows as `IN` on every database, in a statement text that does not depend
on how many values it is given (so a prepared statement serves every batch size)."""

from __future__ import annotations

from sqlalchemy import select

from comms.db.sets import among, among_param, among_params, padded, step
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.models import PendingReceipt


def test_padded_lists_take_few_lengths() -> None:
    assert [step(n) for n in (0, 1, 2, 3, 5, 1024, 1025)] == [0, 1, 2, 4, 8, 1024, 2048]
    assert padded(["a", "b", "a", "c"]) == ["a", "b", "c", "c"]


async def test_among_finds_exactly_the_listed_rows(hub: Hub) -> None:
    pids = [f"p{i}" for i in range(40)]
    async with hub.db.session() as s:
        unscoped(s)
        s.add_all(PendingReceipt(provider="smpp", provider_message_id=p, state="x") for p in pids)
        await s.commit()
        q = select(PendingReceipt.provider_message_id).order_by(PendingReceipt.provider_message_id)
        for wanted in ([], ["p3"], ["p1", "p2", "p1"], [*pids[5:30], "nope"], pids):
            found = list(
                await s.scalars(q.where(among(PendingReceipt.provider_message_id, wanted)))
            )
            assert found == sorted(set(wanted) & set(pids))
        built = q.where(among_param(PendingReceipt.provider_message_id, "b_pids"))
        for wanted in (["p7", "p8"], pids[:3]):
            found = list(await s.scalars(built, among_params("b_pids", wanted)))
            assert found == sorted(wanted)


async def test_among_renders_one_text_for_every_size_on_postgresql(hub: Hub) -> None:
    dialect = hub.db.engine.dialect
    texts = {
        str(
            select(PendingReceipt.id)
            .where(among(PendingReceipt.id, range(n)))
            .compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        )
        for n in (1, 2, 3, 9, 200)
    }
    # PostgreSQL: one array parameter; elsewhere one text per padded length (1, 2, 4, 16, 256).
    assert len(texts) == (1 if dialect.name == "postgresql" else 5), texts
