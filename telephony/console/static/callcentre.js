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
  // body: {kind: "blind", agent_id | queue_id | number} or {kind: "attended", agent_id}.
  transfer: (body) => post("/agents/me/transfer", body),
  // An attended transfer's second step: hand the caller to the colleague, or go back to them.
  transferStep: (step) => post(`/agents/me/transfer/${step}`),
  // Click-to-call (dial pad, any number on screen, "call back"): the call centre's agent dial,
  // so the call has a record, a CDR, pushes and the agent's ringing -> on_call -> wrap-up.
  dial: (number) => post("/agents/me/call/dial", { number }),
  agents: () => optional(`${CC}/agents`),
  queues: () => optional(`${CC}/queues`),
  queueCalls: (limit = 500) => optional(`${CC}/queue-calls?limit=${limit}`),
  queueStats: (id) => optional(`${CC}/queues/${id}/stats`),
  monitor: (agentId, mode, endpoint) => post(`/agents/${agentId}/monitor`, { mode, endpoint }),
};
