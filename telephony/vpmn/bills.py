"""Monthly bills from rated CDRs, per member or per department, as JSON lines or CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import InvalidInput
from comms.tenants.models import Tenant
from telephony.vpmn.models import Cdr, Disposition
from telephony.vpmn.rating import TariffClass
from telephony.vpmn.schemas import BillLine, BillOut

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
BY = ("member", "department")


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """A calendar month in the tenant's own time zone, as a UTC half-open interval."""
    m = _MONTH.match(month)
    if m is None:
        raise InvalidInput("month must look like YYYY-MM", field="month")
    year, mon = int(m.group(1)), int(m.group(2))
    tz = ZoneInfo(zone)
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


async def month_cdrs(session: AsyncSession, tenant_id: object, month: str) -> list[Cdr]:
    tenant = await session.get(Tenant, tenant_id)
    start, end = month_bounds(month, tenant.timezone if tenant else "Asia/Shanghai")
    q = (
        select(Cdr)
        .where(Cdr.started_at >= start, Cdr.started_at < end)
        .order_by(Cdr.started_at, Cdr.id)
    )
    return list(await session.scalars(q))


async def monthly_bill(session: AsyncSession, tenant_id: object, month: str, by: str) -> BillOut:
    """Sum the month's member-placed calls by member or department."""
    if by not in BY:
        raise InvalidInput("by must be member or department", field="by")
    lines: dict[str, BillLine] = {}
    for cdr in await month_cdrs(session, tenant_id, month):
        if cdr.caller_member_id is None:
            continue  # not placed by a member: nothing to bill
        key = str(cdr.caller_member_id) if by == "member" else cdr.billed_department
        line = lines.get(key)
        if line is None:
            line = lines[key] = BillLine(
                key=cdr.billed_member if by == "member" else cdr.billed_department,
                member_id=cdr.caller_member_id if by == "member" else None,
                department=cdr.billed_department,
                calls=0,
                answered_calls=0,
                billable_seconds=0,
                charged_seconds=0,
                in_network_charge=0,
                on_net_mobile_charge=0,
                off_net_charge=0,
                total_charge=0,
            )
        line.calls += 1
        line.answered_calls += cdr.disposition is Disposition.ANSWERED
        line.billable_seconds += cdr.billable_seconds
        line.charged_seconds += cdr.charged_seconds
        if cdr.tariff_class is TariffClass.IN_NETWORK:
            line.in_network_charge += cdr.charge
        elif cdr.tariff_class is TariffClass.ON_NET_MOBILE:
            line.on_net_mobile_charge += cdr.charge
        else:
            line.off_net_charge += cdr.charge
        line.total_charge += cdr.charge
    ordered = sorted(lines.values(), key=lambda b: (b.department, b.key))
    return BillOut(
        month=month, by=by, lines=ordered, total_charge=sum(b.total_charge for b in ordered)
    )


CSV_COLUMNS = [
    "key",
    "member_id",
    "department",
    "calls",
    "answered_calls",
    "billable_seconds",
    "charged_seconds",
    "in_network_charge",
    "on_net_mobile_charge",
    "off_net_charge",
    "total_charge",
]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Names come from users: keep spreadsheet apps from running them as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def bill_csv(bill: BillOut) -> str:
    """The bill as CSV (amounts in fen), with a total row; UTF-8 with BOM for Excel."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in bill.lines:
        data = line.model_dump()
        writer.writerow([_cell(data[c]) for c in CSV_COLUMNS])
    writer.writerow(["TOTAL", *[""] * (len(CSV_COLUMNS) - 2), bill.total_charge])
    return out.getvalue()
