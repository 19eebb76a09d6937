"""Lists nested under invoices and estimates: fetched only for the parents that changed."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import attrs

from harvest_async.sync import RESOURCES, SyncStats, child_lists, sync_account
from harvest_async.testing import HarvestSimulator

PARENTS = [spec for spec in RESOURCES if spec.name in ("invoices", "estimates")]


def by_name(stats: list[SyncStats]) -> dict[str, SyncStats]:
    return {s.name: s for s in stats}


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def nested_requests(sim: HarvestSimulator) -> list[str]:
    return sorted(r.path for r in sim.requests if r.path.count("/") == 4)


def test_the_nested_lists_are_read_from_the_resources() -> None:
    found = {c.name: (c.parent, c.parent_key, c.method) for c in child_lists()}
    assert found == {
        "invoice_messages": ("invoices", "invoice_id", "messages"),
        "invoice_payments": ("invoices", "invoice_id", "payments"),
        "estimate_messages": ("estimates", "estimate_id", "messages"),
    }
    for child in child_lists():
        columns = [name for name, _ in child.table.column_kinds]
        assert columns[:2] == ["account_id", child.parent_key]
        # Every other column comes from the model's fields.
        fields = {f.name for f in attrs.fields(child.model)}
        assert {c.split("_")[0] for c in columns[2:]} <= {f.split("_")[0] for f in fields}


async def test_first_run_fetches_every_parents_lists_then_only_changed_ones(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mirror.db"
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        stats = by_name(await sync_account(client, db, resources=PARENTS, clock=sim.now))
        invoices = sim.records("invoices")
        estimates = sim.records("estimates")
        assert len(nested_requests(sim)) == 2 * len(invoices) + len(estimates)
        for name, key in (("invoice_payments", "invoice_id"), ("estimate_messages", "estimate_id")):
            table = sim.world.table(name)
            live = {(table.get(i)[key], i) for i in table.ids_desc()}
            assert set(rows(db, f"SELECT {key}, id FROM {name}")) == live
            assert stats[name].total_rows == len(live)

        # Nothing changed: not one nested list is asked for.
        sim.requests.clear()
        sim.advance(60)
        await sync_account(client, db, resources=PARENTS, clock=sim.now)
        assert nested_requests(sim) == []

        # A payment on one invoice, a message on one estimate: their lists only.
        invoice = next(i for i in invoices if i["state"] == "open")
        estimate = estimates[0]
        sim.advance(60)
        payment = await client.invoices.create_payment(invoice["id"], amount="1.50")
        await client.estimates.create_message(estimate["id"], event_type="send")
        sim.requests.clear()
        sim.advance(60)
        stats = by_name(await sync_account(client, db, resources=PARENTS, clock=sim.now))
        assert nested_requests(sim) == sorted(
            [
                f"/v2/estimates/{estimate['id']}/messages",
                f"/v2/invoices/{invoice['id']}/messages",
                f"/v2/invoices/{invoice['id']}/payments",
            ]
        )
        assert stats["invoice_payments"].rows_written == 1
        ((owner, amount),) = rows(
            db, f"SELECT invoice_id, amount FROM invoice_payments WHERE id = {payment.id}"
        )
        assert (owner, Decimal(str(amount))) == (invoice["id"], Decimal("1.50"))
        assert stats["estimate_messages"].rows_written == 1


async def test_a_deleted_payment_leaves_its_invoices_rows(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        await sync_account(client, db, resources=PARENTS, clock=sim.now)
        invoice = next(i for i in sim.records("invoices") if i["state"] == "open")
        sim.advance(60)
        payment = await client.invoices.create_payment(invoice["id"], amount="2")
        sim.advance(60)
        await sync_account(client, db, resources=PARENTS, clock=sim.now)
        sim.advance(60)
        await client.invoices.delete_payment(invoice["id"], payment.id)
        sim.advance(60)
        stats = by_name(await sync_account(client, db, resources=PARENTS, clock=sim.now))
        assert stats["invoice_payments"].deleted == 1
        assert rows(db, f"SELECT id FROM invoice_payments WHERE id = {payment.id}") == []


async def test_children_false_leaves_them_out(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        stats = by_name(
            await sync_account(client, db, resources=PARENTS, clock=sim.now, children=False)
        )
        assert set(stats) == {"company", "invoices", "estimates"}
        assert nested_requests(sim) == []
