// The call-centre back end's routes, in one place (docs/callcentre-api.md is their contract).
import { api, optional } from "/console/api.js";

const CC = "/api/v1/callcentre";
const post = (path, body) => api(`${CC}${path}`, { method: "POST", body });

export const callcentre = {
  me: () => optional(`${CC}/agents/me`),
  setState: (state, reason) => post("/agents/me/state", { state, reason: reason ?? null }),
  wrapUp: (code, notes) => post("/agents/me/wrapup", { code, notes }),
  hold: () => post("/agents/me/call/hold"),
  resume: () => post("/agents/me/call/resume"),
  mute: (on) => post(`/agents/me/call/${on ? "mute" : "unmute"}`),
  hangup: () => post("/agents/me/call/hangup"),
  // kind: "agent" | "queue"; blind transfer (the back end has no attended or number transfer yet).
  transfer: (kind, target) => post("/agents/me/transfer", { kind: "blind", [`${kind}_id`]: target }),
  // Click-to-call is the console's own route: the agent's phone rings, then calls the number.
  dial: (number) => api("/api/v1/console/dial", { method: "POST", body: { number } }),
  agents: () => optional(`${CC}/agents`),
  queues: () => optional(`${CC}/queues`),
  queueCalls: (limit = 500) => optional(`${CC}/queue-calls?limit=${limit}`),
  queueStats: (id) => optional(`${CC}/queues/${id}/stats`),
  monitor: (agentId, mode, endpoint) => post(`/agents/${agentId}/monitor`, { mode, endpoint }),
};
