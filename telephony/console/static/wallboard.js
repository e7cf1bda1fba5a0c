// The supervisor's wallboard: queue tiles, agents and their states, live calls; listen,
// whisper and barge on an agent's call. Pushes update it in place; a resync re-reads it.
import { callcentre } from "/console/callcentre.js";
import { $, fill, h, seconds, toast, when } from "/console/dom.js";

const ENDPOINT_KEY = "huitong.console.monitor-endpoint";

export class Wallboard {
  constructor({ mine }) {
    this.mine = mine; // () => the supervisor's own agent profile (their endpoint), or null
    this.queues = new Map(); this.agents = new Map(); this.calls = new Map();
    const input = $("#monitor-endpoint");
    input.value = localStorage.getItem(ENDPOINT_KEY) || "";
    input.addEventListener("change", () => localStorage.setItem(ENDPOINT_KEY, input.value.trim()));
  }

  async load() {
    const queues = (await callcentre.queues()) || [];
    const stats = await Promise.all(queues.map((q) => callcentre.queueStats(q.id).catch(() => null)));
    this.queues = new Map(queues.map((q, i) => [q.id, { ...q, ...(stats[i] || {}) }]));
    const agents = (await callcentre.agents()) || [];
    this.agents = new Map(agents.map((a) => [a.id, a]));
    this.render();
  }

  queue(msg) {
    const q = this.queues.get(msg.queue_id) || { id: msg.queue_id, name: msg.queue_name || "queue" };
    q.waiting = msg.waiting; q.longest_wait_seconds = msg.longest_wait_seconds;
    q.agents = { ...(q.agents || {}), available: msg.available_agents };
    this.queues.set(msg.queue_id, q);
    this.renderQueues();
  }

  agent(msg) {
    const a = this.agents.get(msg.agent_id) || { id: msg.agent_id, user_id: msg.user_id, name: msg.name || "" };
    a.state = msg.to_state; a.reason = msg.reason; a.state_since = msg.at;
    this.agents.set(msg.agent_id, a);
    this.renderAgents(); this.renderQueues();
  }

  queueCall(msg) {
    const q = this.queues.get(msg.queue_id);
    if (q && (msg.event === "answered" || msg.event === "abandoned")) q[msg.event] = (q[msg.event] ?? 0) + 1;
    if (msg.event === "entered" || msg.event === "offered" || msg.event === "answered") {
      this.calls.set(msg.call_id, { ...(this.calls.get(msg.call_id) || {}), ...msg, state: msg.event });
      if (msg.agent_id && this.agents.has(msg.agent_id)) {
        const a = this.agents.get(msg.agent_id);
        a.current_call_id = msg.call_id; a.caller = msg.caller;
      }
    } else {
      this.calls.delete(msg.call_id);
      for (const a of this.agents.values()) if (a.current_call_id === msg.call_id) a.current_call_id = null;
    }
    this.renderCalls(); this.renderAgents(); this.renderQueues();
  }

  render() { this.renderQueues(); this.renderAgents(); this.renderCalls(); }

  renderQueues() {
    const tiles = [...this.queues.values()].map((q) => {
      const waiting = q.waiting ?? 0, ag = { ...(q.agents || {}), ...this.countStates(q.id) };
      return h("div", { class: "tile", dataset: { queue: q.id } },
        h("h3", {}, q.name),
        h("div", { class: `big ${waiting > 0 ? "alert" : ""}`, dataset: { stat: "waiting" } }, waiting),
        h("div", { class: "muted" }, "waiting"),
        h("div", {}, `longest ${seconds(q.longest_wait_seconds ?? 0)}`),
        h("div", { dataset: { stat: "available" } }, `available ${ag.available ?? "–"} · on call ${ag.on_call ?? "–"}`),
        h("div", { class: "muted" }, `answered ${q.answered ?? 0} · abandoned ${q.abandoned ?? 0}`,
          q.service_level !== undefined && q.service_level !== null ? ` · SL ${Math.round(q.service_level)}%` : ""));
    });
    fill($("#queues"), tiles.length ? tiles : h("p", { class: "muted" }, "No queues yet"));
  }

  // Live agent counts per queue from the agents we follow (stats pushes carry only "available").
  countStates(queueId) {
    const members = [...this.agents.values()].filter((a) => (a.queue_ids || []).includes(queueId));
    if (!members.length) return {};
    const count = (st) => members.filter((a) => a.state === st).length;
    return { available: count("available"), on_call: count("on_call") };
  }

  renderAgents() {
    const rows = [...this.agents.values()].sort((a, b) => (a.name || "").localeCompare(b.name || "")).map((a) =>
      h("tr", { dataset: { agent: a.id } },
        h("td", {}, a.name),
        h("td", {}, h("span", { class: "pill state-pill", dataset: { state: a.state } }, a.state,
          a.state === "paused" && a.reason ? ` (${a.reason})` : "")),
        h("td", { class: "muted" }, when(a.state_since)),
        h("td", {}, a.current_call_id ? (a.caller || "on call") : ""),
        h("td", {}, a.current_call_id ? ["listen", "whisper", "barge"].map((mode) =>
          h("button", { type: "button", onclick: () => this.monitor(a, mode) }, mode)) : "")));
    fill($("#agents"), rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No agents")));
  }

  renderCalls() {
    const items = [...this.calls.values()].map((c) => h("li", { dataset: { call: c.call_id } },
      h("span", { class: "pill" }, c.state), c.caller,
      c.agent_id && this.agents.get(c.agent_id) ? ` → ${this.agents.get(c.agent_id).name}` : "",
      h("span", { class: "muted", style: "margin-left:auto" }, when(c.at))));
    fill($("#live-calls"), items.length ? items : h("li", { class: "muted" }, "No live calls"));
  }

  async monitor(agent, mode) {
    const input = $("#monitor-endpoint");
    if (!input.value.trim() && this.mine()?.endpoint) input.value = this.mine().endpoint;
    const endpoint = input.value.trim();
    if (!endpoint) { toast(`${mode} needs your phone`, "endpoint: enter the phone to ring above", "high"); input.focus(); return; }
    try { await callcentre.monitor(agent.id, mode, endpoint); toast(`${mode}: ${agent.name}`, `ringing ${endpoint}`); }
    catch (e) { toast(`${mode} failed`, e.message, "high"); }
  }
}
