"""Routes for rules, templates, preferences and notices: parse, call, serialise."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.db.base import utcnow
from comms.deps import AdminDep, AgentDep, HubDep, SessionDep
from comms.errors import InvalidInput
from notifications import dispatch, preferences, service
from notifications.models import DeliveryAttempt, Notification, NotificationStatus
from notifications.schemas import (
    DefaultRulePage,
    NotificationDetail,
    NotificationOut,
    NotificationPage,
    PreferencesIn,
    PreferencesOut,
    RuleIn,
    RuleOut,
    RulePage,
    TemplateIn,
    TemplateOut,
    TemplatePage,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.post("/rules", status_code=201, response_model=RuleOut)
async def create_rule(body: RuleIn, hub: HubDep, who: AdminDep, s: SessionDep) -> object:
    rule = await service.create_rule(s, hub.topics, body)
    audit.record(
        s,
        who,
        "notifications.rule.created",
        "notification_rule",
        rule.id,
        {"name": rule.name, "topic": rule.topic},
    )
    await s.commit()
    return rule


@router.get("/rules", response_model=RulePage)
async def list_rules(_: AdminDep, s: SessionDep) -> RulePage:
    return RulePage(items=[RuleOut.model_validate(r) for r in await service.list_rules(s)])


@router.get("/rules/defaults", response_model=DefaultRulePage)
async def list_default_rules(_: AdminDep, s: SessionDep) -> DefaultRulePage:
    """The built-in rules and whether the tenant's own rules replace them."""
    return DefaultRulePage(items=await service.default_rules(s))


@router.get("/rules/{rule_id}", response_model=RuleOut)
async def get_rule(rule_id: uuid.UUID, _: AdminDep, s: SessionDep) -> object:
    return await service.get_rule(s, rule_id)


@router.put("/rules/{rule_id}", response_model=RuleOut)
async def update_rule(
    rule_id: uuid.UUID, body: RuleIn, hub: HubDep, who: AdminDep, s: SessionDep
) -> object:
    rule = await service.get_rule(s, rule_id)
    await service.update_rule(s, hub.topics, rule, body)
    audit.record(
        s,
        who,
        "notifications.rule.updated",
        "notification_rule",
        rule.id,
        body.model_dump(mode="json"),
    )
    await s.commit()
    return rule


@router.delete("/rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: uuid.UUID, who: AdminDep, s: SessionDep) -> Response:
    rule = await service.get_rule(s, rule_id)
    await s.delete(rule)
    audit.record(s, who, "notifications.rule.deleted", "notification_rule", rule_id)
    await s.commit()
    return Response(status_code=204)


def _template_out(tpl: object, warnings: list[str]) -> TemplateOut:
    out = TemplateOut.model_validate(tpl)
    out.warnings = warnings
    return out


@router.post("/templates", status_code=201, response_model=TemplateOut)
async def create_template(body: TemplateIn, hub: HubDep, who: AdminDep, s: SessionDep) -> object:
    tpl, warnings = await service.save_template(s, hub.topics, body)
    audit.record(
        s,
        who,
        "notifications.template.saved",
        "notification_template",
        tpl.id,
        {"topic": tpl.topic, "channel": tpl.channel.value, "locale": tpl.locale},
    )
    await s.commit()
    return _template_out(tpl, warnings)


@router.get("/templates", response_model=TemplatePage)
async def list_templates(_: AdminDep, s: SessionDep) -> TemplatePage:
    return TemplatePage(
        items=[TemplateOut.model_validate(t) for t in await service.list_templates(s)]
    )


@router.get("/templates/{template_id}", response_model=TemplateOut)
async def get_template(template_id: uuid.UUID, _: AdminDep, s: SessionDep) -> object:
    return await service.get_template(s, template_id)


@router.put("/templates/{template_id}", response_model=TemplateOut)
async def update_template(
    template_id: uuid.UUID, body: TemplateIn, hub: HubDep, who: AdminDep, s: SessionDep
) -> object:
    tpl = await service.get_template(s, template_id)
    tpl, warnings = await service.save_template(s, hub.topics, body, tpl)
    audit.record(
        s,
        who,
        "notifications.template.saved",
        "notification_template",
        tpl.id,
        {"topic": tpl.topic, "channel": tpl.channel.value, "locale": tpl.locale},
    )
    await s.commit()
    return _template_out(tpl, warnings)


@router.delete("/templates/{template_id}", status_code=204)
async def delete_template(template_id: uuid.UUID, who: AdminDep, s: SessionDep) -> Response:
    tpl = await service.get_template(s, template_id)
    await s.delete(tpl)
    audit.record(s, who, "notifications.template.deleted", "notification_template", template_id)
    await s.commit()
    return Response(status_code=204)


def _own_user(who: Principal) -> uuid.UUID:
    if who.user_id is None:
        raise InvalidInput(
            "Authorization: preferences belong to a user, not an API key", field="Authorization"
        )
    return who.user_id


@router.get("/preferences", response_model=PreferencesOut)
async def get_preferences(who: AgentDep, s: SessionDep) -> PreferencesOut:
    """An API key has no preferences of its own: it reads the defaults a new user gets."""
    if who.user_id is None:
        return preferences.defaults()
    return await preferences.get_preferences(s, who.user_id)


@router.put("/preferences", response_model=PreferencesOut)
async def put_preferences(body: PreferencesIn, who: AgentDep, s: SessionDep) -> PreferencesOut:
    out = await preferences.put_preferences(s, _own_user(who), body)
    await s.commit()
    return out


@router.get("", response_model=NotificationPage)
async def list_notifications(
    who: AgentDep,
    s: SessionDep,
    status: NotificationStatus | None = None,
    topic: str | None = None,
    user_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> NotificationPage:
    f = service.NoticeFilter(status=status, topic=topic, user_id=user_id, since=since, until=until)
    rows, nxt = await service.list_notifications(s, who, f, limit=limit, cursor=cursor)
    tried = await service.attempts_by_notice(s, rows)
    return NotificationPage(items=[_detail(n, tried.get(n.id, [])) for n in rows], next_cursor=nxt)


def _detail(n: Notification, attempts: list[DeliveryAttempt]) -> NotificationDetail:
    out = NotificationOut.model_validate(n).model_dump()
    return NotificationDetail.model_validate({**out, "attempts": attempts})


@router.get("/{notification_id}", response_model=NotificationDetail)
async def get_notification(
    notification_id: uuid.UUID, who: AgentDep, s: SessionDep
) -> NotificationDetail:
    n = await service.get_notification(s, who, notification_id)
    return _detail(n, await service.attempts_of(s, n))


@router.post("/{notification_id}/read", response_model=NotificationOut)
async def mark_read(notification_id: uuid.UUID, who: AgentDep, s: SessionDep) -> object:
    n = await service.get_notification(s, who, notification_id)
    dispatch.mark_read(n, utcnow())
    await s.commit()
    return n
