"""Render flow steps as TwiML for Twilio Programmable Voice webhooks."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode
from xml.etree.ElementTree import Element, SubElement, tostring

from telephony.ivr.engine import Step


def media_url(media: str, media_base: str) -> str:
    """Asterisk-style ``sound:x`` URIs become files under ``media_base`` for Twilio to fetch."""
    if media.startswith(("http://", "https://")):
        return media
    name = media.split(":", 1)[-1]
    return f"{media_base.rstrip('/')}/{name}.wav"


TEXT_PREFIX = "text:"  # a prompt Twilio speaks (<Say>) instead of playing a file
DIGITS_PREFIX = "digits:"  # ARI: say each digit
NUMBER_PREFIX = "number:"  # ARI: say the number


def render(
    step: Step,
    *,
    action: str,
    media_base: str,
    attempt: int = 1,
    dial_number: str | None = None,
    media: Callable[[str], str] | None = None,
    language: str = "zh-CN",
) -> str:
    """TwiML for one step; ``action`` is the webhook URL the next request must hit.

    ``media`` turns an ARI media URI into the absolute URL Twilio fetches (signed tone URLs);
    ``text:`` prompts become `<Say>` in the flow's language.
    """
    root = Element("Response")
    to_url = media or (lambda m: media_url(m, media_base))

    def prompt(parent: Element, media: str) -> None:
        # An ARI media value is a comma-separated list; Twilio has no `digits:`/`number:`
        # files, so those are spoken (digits one by one, as Asterisk's SayDigits does).
        for m in media.split(","):
            if m.startswith(TEXT_PREFIX):
                SubElement(parent, "Say", language=language).text = m.removeprefix(TEXT_PREFIX)
            elif m.startswith(DIGITS_PREFIX):
                said = " ".join(m.removeprefix(DIGITS_PREFIX))
                SubElement(parent, "Say", language=language).text = said
            elif m.startswith(NUMBER_PREFIX):
                SubElement(parent, "Say", language=language).text = m.removeprefix(NUMBER_PREFIX)
            else:
                SubElement(parent, "Play").text = to_url(m)

    def url(**params: object) -> str:
        sep = "&" if "?" in action else "?"
        return action + sep + urlencode({k: v for k, v in params.items() if v is not None})

    if step.kind == "play":
        for m in step.media:
            prompt(root, m)
        SubElement(root, "Redirect", method="POST").text = url(node=step.next)
    elif step.kind == "collect":
        gather = SubElement(
            root,
            "Gather",
            action=url(node=step.node, attempt=attempt, input="1"),
            method="POST",
            numDigits=str(step.max_digits),
            timeout=str(int(step.timeout) or 1),
            finishOnKey=step.terminator or "",
        )
        for m in step.media:
            prompt(gather, m)
        # Gather falls through here when the caller pressed nothing: a timeout.
        SubElement(root, "Redirect", method="POST").text = url(
            node=step.node, attempt=attempt, input="1", timeout="1"
        )
    elif step.kind == "route":
        dial = SubElement(root, "Dial", action=url(node=step.node, dialled="1"), method="POST")
        if dial_number:
            SubElement(dial, "Number").text = dial_number
        elif step.target is not None and step.target.kind == "queue":
            SubElement(dial, "Queue").text = step.target.value
        elif step.target is not None:
            SubElement(dial, "Number").text = step.target.value
    elif step.kind == "voicemail":
        for m in step.media:
            prompt(root, m)
        SubElement(
            root,
            "Record",
            action=url(node=step.node, recorded="1"),
            maxLength="120",
            playBeep="true",
        )
        SubElement(root, "Hangup")
    else:
        SubElement(root, "Hangup")
    return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(root, encoding="unicode")
