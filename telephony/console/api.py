"""The console page, its static assets, and the two reads only the console needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from comms.deps import AgentDep, HubDep, PrincipalDep, SessionDep
from telephony.console import service
from telephony.console.schemas import ConsoleConfig, ScreenPop

STATIC = Path(__file__).parent / "static"
# Long-lived caching is safe only for content-addressed names; these are not, so the page
# revalidates (ETag) on each load and stays fast through 304s.
NO_STALE = {"Cache-Control": "no-cache"}
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}

page = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/api/v1/console", tags=["console"])


@page.get("/console")
async def console_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=NO_STALE, media_type="text/html")


@page.get("/console/{asset:path}")
async def console_asset(asset: str) -> FileResponse:
    path = (STATIC / asset).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        raise HTTPException(404, "no such console asset")
    return FileResponse(path, headers=NO_STALE, media_type=TYPES.get(path.suffix))


@router.get("/me", response_model=ConsoleConfig)
async def me(who: PrincipalDep, s: SessionDep, hub: HubDep) -> Any:
    """The signed-in person and how their page should place audio (an API key has no
    person: user fields are null, and /ws/console refuses it)."""
    if who.user_id is None:
        return ConsoleConfig(role=who.role.value)
    return await service.console_config(s, hub.queries, who.user_id)


@router.get("/pop/{phone}", response_model=ScreenPop)
async def lookup(
    _: AgentDep,
    s: SessionDep,
    hub: HubDep,
    phone: Annotated[str, PathParam(min_length=1, max_length=64)],
) -> Any:
    """The screen pop for a number, on demand (a reloaded page, a click-to-call target)."""
    return await service.screen_pop(s, hub.queries, phone)
