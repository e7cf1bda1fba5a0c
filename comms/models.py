"""Every ORM model of the core, imported so that they all join Base.metadata."""

from comms.audit.models import AuditEntry
from comms.auth.models import ApiKey, User
from comms.bus.models import Delivery, OutboxEvent
from comms.campaigns.models import (
    Campaign,
    CampaignRecipient,
    GroupMember,
    RecipientGroup,
    SmsOptOut,
)
from comms.messages.models import (
    Conversation,
    InboundAddress,
    Message,
    MessageAttachment,
    MessagePart,
    MessagingSettings,
    PendingReceipt,
)
from comms.tenants.models import Tenant

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Campaign",
    "CampaignRecipient",
    "Conversation",
    "Delivery",
    "GroupMember",
    "InboundAddress",
    "Message",
    "MessageAttachment",
    "MessagePart",
    "MessagingSettings",
    "OutboxEvent",
    "PendingReceipt",
    "RecipientGroup",
    "SmsOptOut",
    "Tenant",
    "User",
]
