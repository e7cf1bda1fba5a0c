"""A tenant's messaging settings (signature, quotas, inbound routing) and their effective
values over the hub defaults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.db.tenancy import current_tenant, scoped_to, unscoped
from comms.errors import Conflict
from comms.messages.addresses import normalise_email, try_phone
from comms.messages.models import Channel, InboundAddress, MessagingSettings
from comms.messages.schemas import MessagingSettingsIn, MessagingSettingsOut
from comms.settings import Settings


@dataclass(frozen=True)
class Rules:
    """What the send path needs to know about a tenant, defaults applied."""

    sms_signature: str | None
    sms_daily_quota: int  # 0 = none
    sms_recipient_daily_cap: int  # 0 = none
    email_from: str


async def rules(session: AsyncSession, settings: Settings) -> Rules:
    row = await session.scalar(select(MessagingSettings))
    return Rules(
        sms_signature=row.sms_signature if row else None,
        sms_daily_quota=(
            row.sms_daily_quota
            if row and row.sms_daily_quota is not None
            else settings.sms_daily_quota
        ),
        sms_recipient_daily_cap=(
            row.sms_recipient_daily_cap
            if row and row.sms_recipient_daily_cap is not None
            else settings.sms_recipient_daily_cap
        ),
        email_from=(row.email_from if row and row.email_from else settings.smtp_from),
    )


async def get_settings(session: AsyncSession) -> MessagingSettingsOut:
    row = await session.scalar(select(MessagingSettings))
    addresses = list(await session.scalars(select(InboundAddress).order_by(InboundAddress.id)))
    return MessagingSettingsOut(
        sms_signature=row.sms_signature if row else None,
        sms_daily_quota=row.sms_daily_quota if row else None,
        sms_recipient_daily_cap=row.sms_recipient_daily_cap if row else None,
        email_from=row.email_from if row else None,
        inbound_sms_numbers=[a.address for a in addresses if a.channel is Channel.SMS],
        inbound_email_domains=[a.address for a in addresses if a.channel is Channel.EMAIL],
    )


def _domain(raw: str) -> str:
    domain = raw.strip().lower().rstrip(".")
    # Validate through a throwaway mailbox: the same rules a recipient address will meet.
    normalise_email(f"postmaster@{domain}", field="inbound_email_domains")
    return domain


async def put_settings(
    session: AsyncSession, actor: Principal, data: MessagingSettingsIn
) -> MessagingSettingsOut:
    """Replace the tenant's settings; an inbound address another tenant holds is a 409."""
    email_from = normalise_email(data.email_from, field="email_from") if data.email_from else None
    wanted = {(Channel.SMS, try_phone(n)) for n in data.inbound_sms_numbers if n.strip()}
    wanted |= {(Channel.EMAIL, _domain(d)) for d in data.inbound_email_domains if d.strip()}
    tenant_id = current_tenant(session)
    assert tenant_id is not None
    await _check_free(session, tenant_id, wanted)
    row = await session.scalar(select(MessagingSettings))
    if row is None:
        row = MessagingSettings()
        session.add(row)
    row.sms_signature = data.sms_signature or None
    row.sms_daily_quota = data.sms_daily_quota
    row.sms_recipient_daily_cap = data.sms_recipient_daily_cap
    row.email_from = email_from
    await session.execute(delete(InboundAddress))
    await session.flush()
    for channel, address in sorted(wanted):
        session.add(InboundAddress(channel=channel, address=address))
    audit.record(
        session,
        actor,
        "messaging.settings.update",
        "messaging_settings",
        None,
        data.model_dump(mode="json"),
    )
    await session.commit()
    return await get_settings(session)


async def _check_free(
    session: AsyncSession, tenant_id: uuid.UUID, wanted: set[tuple[Channel, str]]
) -> None:
    if not wanted:
        return
    # Inbound routing is hub-wide: look across tenants, but never say whose the address is.
    unscoped(session)
    try:
        taken = (
            await session.execute(
                select(InboundAddress.channel, InboundAddress.address).where(
                    InboundAddress.tenant_id != tenant_id,
                    InboundAddress.address.in_([a for _, a in wanted]),
                )
            )
        ).all()
    finally:
        scoped_to(session, tenant_id)
    for channel, address in taken:
        if (channel, address) in wanted:
            field = "inbound_sms_numbers" if channel is Channel.SMS else "inbound_email_domains"
            raise Conflict(f"{address} is already routed to another tenant", field=field)
