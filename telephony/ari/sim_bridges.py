"""Simulated ARI bridges: entering, leaving and destroying them as Asterisk reports it."""

from __future__ import annotations

import uuid

from telephony.ari.sim_media import SimMedia
from telephony.ari.sim_state import SimBridge, SimChannel, SimHttpError


class SimBridges(SimMedia):
    """Bridges created through ARI and the channels moving in and out of them."""

    def create_bridge(
        self, type_: str | None, bridge_id: str | None, name: str | None
    ) -> SimBridge:
        """POST /bridges; "holding" among the type attributes makes a holding bridge."""
        if bridge_id and bridge_id in self.bridges:
            raise SimHttpError(409, "Bridge with the same bridgeId already exists")
        attributes = set((type_ or "mixing").split(","))
        bridge = SimBridge(
            id=bridge_id or str(uuid.uuid4()),
            bridge_type="holding" if "holding" in attributes else "mixing",
            name=name or "",
        )
        self.bridges[bridge.id] = bridge
        return bridge

    def add_to_bridge(self, bridge: SimBridge, channel_ids: list[str]) -> None:
        """addChannel: a channel already bridged elsewhere leaves that bridge first."""
        members = []
        for cid in channel_ids:
            ch = self.channels.get(cid)
            if ch is None:
                raise SimHttpError(400, "Channel not found")
            if not ch.in_stasis:
                raise SimHttpError(422, "Channel not in Stasis application")
            members.append(ch)
        for ch in members:
            if ch.bridge_id == bridge.id:
                continue
            if ch.bridge_id:
                self._leave_bridge(ch)
            bridge.app = bridge.app or ch.app
            bridge.channels.append(ch.id)
            ch.bridge_id = bridge.id
            self._emit_channel(ch, "ChannelEnteredBridge", bridge=bridge.snapshot())

    def remove_from_bridge(self, bridge: SimBridge, channel_ids: list[str]) -> None:
        """removeChannel: 400 for unknown channels, 422 for channels not in this bridge."""
        members = []
        for cid in channel_ids:
            ch = self.channels.get(cid)
            if ch is None:
                raise SimHttpError(400, "Channel not found")
            if ch.bridge_id != bridge.id:
                raise SimHttpError(422, "Channel not in this bridge")
            members.append(ch)
        for ch in members:
            self._leave_bridge(ch)

    def _leave_bridge(self, ch: SimChannel) -> None:
        bridge = self.bridges.get(ch.bridge_id or "")
        ch.bridge_id = None
        if bridge is None:
            return
        bridge.channels.remove(ch.id)
        self._emit_channel(ch, "ChannelLeftBridge", bridge=bridge.snapshot())

    def destroy_bridge(self, bridge: SimBridge) -> None:
        """DELETE /bridges/{id}: media stops, channels leave (staying up), BridgeDestroyed."""
        self._finish_playbacks(f"bridge:{bridge.id}")
        self._finish_recordings(f"bridge:{bridge.id}")
        for cid in list(bridge.channels):
            self._leave_bridge(self.channels[cid])
        del self.bridges[bridge.id]
        if bridge.app:
            self._emit("BridgeDestroyed", bridge.app, bridge=bridge.snapshot())
