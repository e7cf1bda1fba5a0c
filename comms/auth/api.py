from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from comms.auth import service
from comms.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginRequest,
    MeOut,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from comms.deps import AdminDep, HubDep, PrincipalDep, SessionDep, SupervisorDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=TokenOut)
async def login(body: LoginRequest, hub: HubDep) -> TokenOut:
    async with hub.db.session() as s:
        token = await service.login(s, hub.credentials, body.email, body.password)
    return TokenOut(access_token=token, expires_in=hub.credentials.tokens.ttl)


@router.get("/auth/me", response_model=MeOut)
async def me(principal: PrincipalDep) -> MeOut:
    return MeOut(
        tenant_id=principal.tenant_id,
        role=principal.role,
        user_id=principal.user_id,
        api_key_id=principal.api_key_id,
    )


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, actor: AdminDep, s: SessionDep, hub: HubDep) -> object:
    return await service.create_user(s, hub.credentials, actor, body)


@router.get("/users", response_model=list[UserOut])
async def list_users(_: SupervisorDep, s: SessionDep) -> object:
    return await service.list_users(s)


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: uuid.UUID, _: SupervisorDep, s: SessionDep) -> object:
    return await service.get_user(s, user_id)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, actor: AdminDep, s: SessionDep, hub: HubDep
) -> object:
    return await service.update_user(s, hub.credentials, actor, user_id, body)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyCreate, actor: AdminDep, s: SessionDep) -> ApiKeyCreated:
    key, secret = await service.create_api_key(s, actor, body)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=secret)


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_api_keys(_: AdminDep, s: SessionDep) -> object:
    return await service.list_api_keys(s)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
async def revoke_api_key(key_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> object:
    return await service.revoke_api_key(s, actor, key_id)
