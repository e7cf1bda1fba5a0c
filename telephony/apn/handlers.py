"""Bus subscribers of the APN slice."""

from __future__ import annotations

from comms.bus import Event, HandlerContext, SubscriberSet
from telephony.apn.events import DevicePush
from telephony.apn.push import SERVICE_KEY, DevicePushes

subs = SubscriberSet("apn")


@subs.on(DevicePush, name="push_to_device")
async def push_to_device(ctx: HandlerContext, event: Event[DevicePush]) -> None:
    pushes = ctx.services.get(SERVICE_KEY)
    if isinstance(pushes, DevicePushes):
        p = event.payload
        pushes.deliver(
            p.device_id,
            {"type": "push", "id": event.id, "kind": p.kind, "body": p.body},
        )
