"""Typed shapes of the ARI JSON the Stasis app reads, so mypy catches field-name slips.

They mirror the spec's models (channels.json, bridges.json, playbacks.json, recordings.json);
values stay plain JSON dicts at runtime.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NotRequired, TypedDict

JsonDict = dict[str, Any]
Event = dict[str, Any]
EventHandler = Callable[[Event], Awaitable[None]]
ConnectedHook = Callable[[], Awaitable[None]]


class CallerID(TypedDict):
    name: str
    number: str


class DialplanCEP(TypedDict):
    context: str
    exten: str
    priority: int
    app_name: str
    app_data: str


class Channel(TypedDict):
    id: str
    protocol_id: str
    name: str
    state: str
    caller: CallerID
    connected: CallerID
    accountcode: str
    dialplan: DialplanCEP
    creationtime: str
    language: str
    channelvars: NotRequired[dict[str, Any]]
    caller_rdnis: NotRequired[str]
    tenantid: NotRequired[str]


class Bridge(TypedDict):
    id: str
    technology: str
    bridge_type: str
    bridge_class: str
    creator: str
    name: str
    channels: list[str]
    creationtime: str
    video_mode: NotRequired[str]
    video_source_id: NotRequired[str]
    bridgevars: NotRequired[dict[str, Any]]


class Playback(TypedDict):
    id: str
    media_uri: str
    target_uri: str
    state: str
    next_media_uri: NotRequired[str]
    language: NotRequired[str]


class LiveRecording(TypedDict):
    name: str
    format: str
    target_uri: str
    state: str
    duration: NotRequired[int]
    talking_duration: NotRequired[int]
    silence_duration: NotRequired[int]
    cause: NotRequired[str]


class StoredRecording(TypedDict):
    name: str
    format: str
