"""Survey rules: one "reply 1-5" SMS per resolved ticket, replies matched to it once.

Whether an inbound SMS is a survey reply depends only on its text and on which surveys went
to that number when (`is_survey_reply`), never on whether one was answered yet: the survey
subscriber and the ticket subscriber receive the same event in either order and must agree.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.base import utcnow
from comms.errors import HuitongError, InvalidInput
from comms.messages.addresses import render
from comms.messages.models import Channel
from comms.messages.schemas import MessageCreate
from comms.messages.service import queue_message
from comms.settings import Settings
from crm.contacts.models import Contact
from crm.contacts.service import add_timeline_entry
from crm.settings import CrmSettings
from crm.surveys.events import SurveyAnswered
from crm.surveys.models import Survey, SurveySettings, SurveyStatus
from crm.surveys.schemas import SurveySettingsIn, SurveySettingsOut
from crm.tickets.models import Ticket

DEFAULT_TEMPLATES = {
    "zh-CN": "您的工单「{{subject}}」已处理完毕。请回复数字1-5为本次服务评分（5为非常满意）。",
    "en": 'Your request "{{subject}}" has been resolved. How did we do? '
    "Reply with a number from 1 (poor) to 5 (excellent).",
}
# What a template may use: the ticket's subject (shortened) and a short ticket reference.
SAMPLE_VARIABLES = {"subject": "路由器无法上网", "ticket": "1a2b3c4d"}
SUBJECT_CHARS = 40
_TRAILING = "。.!！~～"
_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def parse_score(text: str | None) -> int | None:
    """ "5", " ５ ", "4。" -> the score; anything else (including "45", "6", "ok") -> None.

    NFKC folds full-width digits (５) and the ideographic space that Chinese IMEs produce."""
    if not text:
        return None
    t = "".join(unicodedata.normalize("NFKC", text).split()).rstrip(_TRAILING)
    return int(t) if len(t) == 1 and t in "12345" else None


def mobile_of(contact: Contact) -> str | None:
    """The contact's first mobile number (a landline cannot receive the SMS)."""
    for p in contact.phones:
        try:
            kind = phonenumbers.number_type(phonenumbers.parse(p.e164))
        except phonenumbers.NumberParseException:
            continue
        if kind in _MOBILE:
            return p.e164
    return None


async def settings_of(s: AsyncSession) -> SurveySettings:
    """The tenant's row, or an unsaved default one (on, zh-CN)."""
    row = await s.scalar(select(SurveySettings).limit(1))
    return row or SurveySettings(enabled=True, locale="zh-CN", template=None)


def settings_out(row: SurveySettings) -> SurveySettingsOut:
    return SurveySettingsOut(
        enabled=row.enabled,
        locale=row.locale,
        template=row.template,
        text=row.template or DEFAULT_TEMPLATES[row.locale],
    )


async def put_settings(s: AsyncSession, body: SurveySettingsIn) -> SurveySettings:
    if body.template is not None:
        if not body.template.strip():
            raise InvalidInput("template: empty; omit it for the default text", field="template")
        render(body.template, SAMPLE_VARIABLES, "template")  # unknown {{name}} -> 422
    row = await s.scalar(select(SurveySettings).limit(1))
    if row is None:
        row = SurveySettings()
        s.add(row)
    row.enabled, row.locale, row.template = body.enabled, body.locale, body.template
    await s.flush()
    return row


async def ask_after_resolution(
    s: AsyncSession, settings: Settings, t: Ticket, *, window_hours: float | None = None
) -> Survey | None:
    """Queue the survey SMS in the caller's transaction, once per ticket.

    No survey without a contact, a mobile number or with surveys switched off; a message the
    carrier rules refuse (quota, duplicate) leaves a `skipped` survey, not a failed change."""
    if t.contact_id is None:
        return None
    if await s.scalar(select(Survey.id).where(Survey.ticket_id == t.id)) is not None:
        return None  # resolved before, reopened, resolved again: asked once
    cfg = await settings_of(s)
    contact = await s.get(Contact, t.contact_id)
    phone = None if contact is None else mobile_of(contact)
    if not cfg.enabled or phone is None:
        return None
    hours = CrmSettings().crm_survey_reply_hours if window_hours is None else window_hours
    now = utcnow()
    survey = Survey(
        ticket_id=t.id,
        contact_id=t.contact_id,
        phone=phone,
        agent_id=t.assignee_id,
        team=t.team,
        sent_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    data = MessageCreate(
        channel=Channel.SMS,
        to=phone,
        body=cfg.template or DEFAULT_TEMPLATES[cfg.locale],
        template="crm.survey",
        variables={"subject": t.subject[:SUBJECT_CHARS], "ticket": t.id.hex[:8]},
    )
    try:
        async with s.begin_nested():  # a refused message leaves nothing half-built
            msg = await queue_message(s, settings, data, commit=False)
    except HuitongError as exc:
        survey.status, survey.skip_reason = SurveyStatus.SKIPPED, exc.message[:200]
    else:
        survey.status, survey.message_id = SurveyStatus.SENT, msg.id
        survey.sent_at = msg.created_at
    s.add(survey)
    await s.flush()
    return survey


def _window(phone: str, at: datetime) -> list[ColumnElement[bool]]:
    return [Survey.phone == phone, Survey.sent_at <= at, Survey.expires_at >= at]


async def is_survey_reply(
    s: AsyncSession, channel: Channel, sender: str, text: str | None, at: datetime
) -> bool:
    """A 1-5 SMS from a number that was sent a survey whose window covers `at`."""
    if channel is not Channel.SMS or parse_score(text) is None:
        return False
    q = select(Survey.id).where(
        *_window(sender, at), Survey.status.in_([SurveyStatus.SENT, SurveyStatus.ANSWERED])
    )
    return await s.scalar(q.limit(1)) is not None


async def record_reply(
    s: AsyncSession,
    *,
    message_id: uuid.UUID,
    channel: Channel,
    sender: str,
    text: str | None,
    at: datetime,
) -> Survey | None:
    """Score the latest open survey to `sender` from this reply; a repeat changes nothing."""
    score = parse_score(text)
    if channel is not Channel.SMS or score is None:
        return None
    if await s.scalar(select(Survey.id).where(Survey.reply_message_id == message_id)):
        return None  # the same reply delivered again
    survey = await s.scalar(
        select(Survey)
        .where(*_window(sender, at), Survey.status == SurveyStatus.SENT)
        .order_by(Survey.sent_at.desc())
        .limit(1)
        .with_for_update()
    )
    if survey is None:
        return None  # every survey to this number is answered: the score is kept once
    survey.status, survey.score = SurveyStatus.ANSWERED, score
    survey.answered_at, survey.reply_message_id = at, message_id
    ticket = await s.get(Ticket, survey.ticket_id)
    if survey.contact_id is not None:
        await add_timeline_entry(
            s,
            survey.contact_id,
            kind="survey",
            ref=f"survey:{survey.id}",
            at=at,
            direction="inbound",
            status="answered",
            summary=f"satisfaction {score}/5" + (f": {ticket.subject}" if ticket else ""),
        )
    publish(
        s,
        SurveyAnswered.topic,
        SurveyAnswered(
            survey_id=survey.id,
            ticket_id=survey.ticket_id,
            contact_id=survey.contact_id,
            score=score,
            agent_id=survey.agent_id,
            team=survey.team,
        ),
    )
    await s.flush()
    return survey
