// The phone pane: the call card (screen pop + controls), wrap-up, ticket, dial pad, history.
import { api } from "/console/api.js";
import { callcentre } from "/console/callcentre.js";
import { $, fill, h, seconds, tel, toast, when } from "/console/dom.js";

// What the call centre dials: digits with an optional leading + (spaces, dashes, dots and
// brackets as printed on screen are dropped); null when nothing callable is left.
export function cleanNumber(raw) {
  const n = String(raw || "").replace(/[\s\-().]/g, "");
  return /^\+?[0-9]{2,32}$/.test(n) ? n : null;
}

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export class Phone {
  constructor({ audio, me }) {
    this.audio = audio; this.me = me;
    this.call = null;        // {id, caller, queue, state, muted, held, pop, since}
    this.wrapping = null;    // the call awaiting its wrap-up
    this.dial = (n) => this.startCall(n);
    this.buildDialpad();
    $("#dial-form").addEventListener("submit", (e) => { e.preventDefault(); this.startCall($("#dial-number").value); });
    $("#wrapup-form").addEventListener("submit", (e) => { e.preventDefault(); this.finishWrapUp(); });
    $("#ticket-form").addEventListener("submit", (e) => { e.preventDefault(); this.createTicket(); });
    $("#ticket-cancel").addEventListener("click", () => { $("#ticket").hidden = true; });
    setInterval(() => this.tick(), 1000);
  }

  buildDialpad() {
    fill($("#dialpad"), KEYS.map((k) => h("button", {
      type: "button", "aria-label": `digit ${k}`,
      onclick: () => {
        if (this.call?.state === "active") this.audio.dtmf?.(k);
        $("#dial-number").value += k;
      },
    }, k)));
  }

  // After a reload or a reconnect: rebuild the card from the agent's state and queue calls,
  // so a page reloaded mid-call keeps its controls and its wrap-up.
  async restore(profile) {
    if (!profile) return;
    const busy = ["ringing", "on_call", "wrap_up"].includes(profile.state);
    if (!busy) { if (this.call && !this.call.outbound) { this.call = null; this.render(); } return; }
    const rows = (await callcentre.queueCalls(50).catch(() => null)) || [];
    const last = rows.find((r) => r.agent_id === profile.id);
    if (profile.current_call_id && profile.state !== "wrap_up" && last?.call_id !== profile.current_call_id) {
      // The agent's own dial-out: a call record, no queue call.
      if (this.call?.id === profile.current_call_id) return;
      const made = await api(`/api/v1/calls/${profile.current_call_id}`).catch(() => null);
      if (!made) return;
      this.call = { id: made.id, caller: made.callee, outbound: true, muted: false, held: false,
                    state: profile.state === "on_call" ? "active" : "ringing",
                    pop: await this.lookup(made.callee), since: Date.parse(made.started_at) || Date.now() };
      this.render();
      return;
    }
    if (!last) return;
    if (profile.state === "wrap_up") {
      if (this.call && !this.call.outbound) { this.call = null; this.render(); }
      if (!this.wrapping && !last.wrapup_code) this.startWrapUp({ id: last.call_id, caller: last.caller, pop: await this.lookup(last.caller) });
      return;
    }
    if (this.call?.id === last.call_id) {
      if (profile.state === "on_call" && this.call.state !== "active") { this.call.state = "active"; this.render(); }
      return;
    }
    const since = Date.parse(last.answered_at || last.offered_at || last.entered_at) || Date.now();
    this.call = { id: last.call_id, caller: last.caller, queueId: last.queue_id,
                  state: profile.state === "on_call" ? "active" : "ringing", muted: false, held: false,
                  pop: await this.lookup(last.caller), since };
    this.render();
  }

  // ------------------------------------------------------------------ pushes
  async offer(msg) {
    // A queue call offered to this agent: pop the caller before anyone answers.
    this.call = { id: msg.call_id, caller: msg.caller, queue: msg.queue_name || "", queueId: msg.queue_id,
                  state: "ringing", muted: false, held: false, pop: msg.pop || null, since: Date.now() };
    if (!this.call.pop) this.call.pop = await this.lookup(msg.caller);
    this.render();
    toast("Incoming call", msg.caller);
  }

  queueCall(msg) {
    if (!this.call || this.call.id !== msg.call_id) return;
    if (msg.event === "answered") { this.call.state = "active"; this.call.since = Date.now(); this.render(); }
    if (msg.event === "transferred") this.ended(true);
  }

  // My own agent state drives the card: ringing -> on_call -> wrap_up, or the offer withdrawn.
  myState(from, to) {
    if (!this.call) return;
    if (to === "on_call" && this.call.state !== "active") { this.call.state = "active"; this.call.since = Date.now(); this.render(); }
    if (to === "wrap_up") this.ended(!this.call.outbound);
    if (from === "ringing" && (to === "available" || to === "not_ready" || to === "paused")) {
      if (to === "not_ready") toast("Missed offer", `${this.call.caller}: set yourself available again`, "high");
      this.ended(false);
    }
  }

  callEvent(msg) {
    const c = msg.call || {};
    if (this.call && this.call.id === c.call_id && msg.event === "answered" && this.call.outbound) {
      this.call.state = "active"; this.call.since = Date.now(); this.render();
    }
    if (this.call && this.call.id === c.call_id && (msg.event === "ended" || msg.event === "missed") && this.call.outbound) this.ended(false);
    if (msg.event === "ended" || msg.event === "missed") this.loadHistory();
  }

  ended(wrap) {
    if (!this.call) return;
    const was = this.call;
    this.call = null;
    if (wrap) this.startWrapUp(was);
    this.loadHistory();
    this.render();
  }

  // ------------------------------------------------------------------ actions
  async act(label, fn) {
    try { await fn(); }
    catch (e) { toast(`${label} failed`, e.message, "high"); }
  }

  async answer() {
    const c = this.call;
    await this.act("Answer", async () => { await this.audio.answer(c.id); });
  }

  async hold() {
    const c = this.call;
    await this.act(c.held ? "Resume" : "Hold", async () => {
      await (c.held ? callcentre.resume() : callcentre.hold());
      c.held = !c.held; this.render();
    });
  }

  async mute() {
    const c = this.call;
    await this.act("Mute", async () => {
      if (this.audio.mode === "webrtc") this.audio.mute(!c.muted);
      else await callcentre.mute(!c.muted);
      c.muted = !c.muted; this.render();
    });
  }

  async transfer() {
    const c = this.call, kind = $("#transfer-kind").value;
    // "consult*": attended (talk to the target first); the rest are blind.
    const consult = kind.startsWith("consult"), what = consult ? kind.slice(8) || "agent" : kind;
    let body;
    if (what === "number") {
      const number = cleanNumber($("#transfer-number").value);
      if (!number) { toast("Transfer", "number: digits, optionally a leading +", "high"); return; }
      body = { kind: consult ? "attended" : "blind", number };
    } else {
      const target = $("#transfer-target").value;
      if (!target) { toast("Transfer", `${what}: choose where to transfer`, "high"); return; }
      body = { kind: consult ? "attended" : "blind", [`${what}_id`]: target };
    }
    await this.act("Transfer", async () => {
      await callcentre.transfer(body);
      if (consult) {
        // Attended: the caller hears music while the agent talks to the target (a queue's
        // music until one of its agents answers).
        c.consulting = what === "number" ? body.number
          : $("#transfer-target").selectedOptions[0]?.textContent || what;
        toast("Consulting", c.consulting);
        this.render();
        return;
      }
      toast("Transferred", c.caller);
      this.ended(true);
    });
  }

  async transferStep(step) {
    const c = this.call;
    await this.act(step === "complete" ? "Transfer" : "Back to caller", async () => {
      await callcentre.transferStep(step);
      c.consulting = null;
      if (step === "complete") { toast("Transferred", c.caller); this.ended(true); }
      else this.render();
    });
  }

  async hangup() {
    const c = this.call;
    await this.act("Hang up", async () => {
      if (this.audio.mode === "webrtc") this.audio.hangup(c.id);
      await callcentre.hangup();
      if (c.outbound) this.ended(false);
    });
  }

  async startCall(raw) {
    $("#dial-error").textContent = "";
    if (!String(raw || "").trim()) { $("#dial-error").textContent = "number: enter a number to call"; return; }
    const number = cleanNumber(raw);
    if (!number) { $("#dial-error").textContent = "number: digits, optionally a leading +"; return; }
    if (this.call) { $("#dial-error").textContent = "finish the current call before dialling"; return; }
    try {
      const r = await callcentre.dial(number);
      this.call = { id: r.call_id, caller: number, outbound: true, state: "ringing", muted: false,
                    held: false, pop: null, since: Date.now() };
      this.render();
      toast("Pick up your phone", `${this.me.endpoint || "your phone"} rings, then calls ${number}`);
      $("#dial-number").value = "";
      this.call.pop = await this.lookup(number);
      if (this.call?.id === r.call_id) this.render();
    } catch (e) {
      $("#dial-error").textContent = e.message;
      toast("Call not placed", e.message, "high");
    }
  }


  startWrapUp(call) {
    this.wrapping = call;
    $("#wrapup").hidden = false;
    $("#wrapup-code").value = ""; $("#wrapup-notes").value = ""; $("#wrapup-error").textContent = "";
  }

  async finishWrapUp() {
    const code = $("#wrapup-code").value, notes = $("#wrapup-notes").value;
    if (!code) { $("#wrapup-error").textContent = "code: choose a wrap-up code"; return; }
    try {
      await callcentre.wrapUp(code, notes);
      $("#wrapup").hidden = true; this.wrapping = null;
      toast("Wrap-up saved", code);
    } catch (e) { $("#wrapup-error").textContent = e.message; }
  }

  openTicket() {
    const c = this.call || this.wrapping;
    const who = c?.pop?.contact?.name || c?.caller || "";
    $("#ticket").hidden = false;
    $("#ticket-subject").value = who ? `Call from ${who}` : "";
    $("#ticket-error").textContent = "";
    $("#ticket-subject").focus();
  }

  async createTicket() {
    const c = this.call || this.wrapping;
    const body = { subject: $("#ticket-subject").value, priority: $("#ticket-priority").value, channel: "phone" };
    if (c?.pop?.contact?.id) body.contact_id = c.pop.contact.id;
    try {
      const t = await api("/api/v1/crm/tickets", { method: "POST", body });
      $("#ticket").hidden = true;
      toast("Ticket created", t.subject);
      if (c?.pop?.contact) {
        c.pop.contact.recent_tickets = [{ id: t.id, subject: t.subject, status: t.status,
          priority: t.priority, created_at: t.created_at }, ...(c.pop.contact.recent_tickets || [])];
        this.render();
      }
    } catch (e) { $("#ticket-error").textContent = e.message; }
  }

  async lookup(number) {
    try { return await api(`/api/v1/console/pop/${encodeURIComponent(number)}`); }
    catch { return null; }
  }

  // ------------------------------------------------------------------ rendering
  tick() {
    const t = $("#call-timer");
    if (t && this.call) t.textContent = seconds((Date.now() - this.call.since) / 1000);
  }

  render() {
    const card = $("#call-card"), c = this.call;
    if (!c) {
      card.className = "card call idle";
      fill(card, h("p", { class: "muted" }, "No call. Incoming calls appear here."),
        this.wrapping ? h("button", { type: "button", onclick: () => this.openTicket() }, "Create ticket from last call") : "");
      return;
    }
    const pop = c.pop || {}, contact = pop.contact;
    const ringing = c.state === "ringing";
    card.className = `card call ${ringing ? "ringing" : "active"}`;
    fill(card,
      h("div", { class: "muted" }, c.outbound ? "Outgoing call" : ringing ? "Incoming call" : "On call",
        c.queue ? ` · queue ${c.queue}` : "", " · ", h("span", { id: "call-timer" }, "0:00"),
        c.held ? " · on hold" : "", c.muted ? " · muted" : ""),
      h("p", { class: "caller", id: "pop-caller" }, c.caller),
      contact
        ? h("p", { class: "contact", id: "pop-contact" }, h("b", {}, contact.name),
            contact.company ? ` · ${contact.company}` : contact.kind === "company" ? " · company line" : "",
            (contact.tags || []).length ? h("span", { class: "pill" }, contact.tags.join(", ")) : "")
        : h("p", { class: "contact muted", id: "pop-contact" }, "Unknown caller"),
      h("div", { class: "controls" },
        ringing && this.audio.mode === "webrtc" ? h("button", { class: "ok", id: "btn-answer", onclick: () => this.answer() }, "Answer") : "",
        ringing && (c.outbound || this.audio.mode !== "webrtc") ? h("span", { class: "pill", id: "pick-up" }, `Pick up your phone${this.me.endpoint ? ` (${this.me.endpoint})` : ""}`) : "",
        c.outbound && !ringing ? h("span", { class: "pill", id: "hang-up-phone" }, "Hang up on your phone") : "",
        !ringing && !c.outbound ? h("button", { id: "btn-hold", "aria-pressed": String(c.held), onclick: () => this.hold() }, c.held ? "Resume" : "Hold") : "",
        !ringing && !c.outbound ? h("button", { id: "btn-mute", "aria-pressed": String(c.muted), onclick: () => this.mute() }, c.muted ? "Unmute" : "Mute") : "",
        !ringing && !c.outbound ? h("button", { class: "danger", id: "btn-hangup", onclick: () => this.hangup() }, "Hang up") : "",
        h("button", { id: "btn-ticket", onclick: () => this.openTicket() }, "Create ticket")),
      c.consulting ? this.consultBar(c) : !ringing && !c.outbound ? this.transferForm() : "",
      h("div", { class: "sections" },
        h("div", {}, h("h2", {}, "Recent tickets"), this.ticketsTable(contact)),
        pop.orders === undefined || pop.orders === null ? "" :
          h("div", {}, h("h2", {}, "Recent orders"), this.ordersTable(pop.orders)),
        contact ? h("div", {}, h("h2", {}, "Contact"),
          h("div", {}, (contact.phones || []).map((p) => h("div", {}, tel(p, this.dial)))),
          h("div", { class: "muted" }, (contact.emails || []).join(", "))) : ""));
    this.tick();
  }

  transferForm() {
    const targets = h("select", { id: "transfer-target", "aria-label": "Transfer target" });
    const number = h("input", { id: "transfer-number", inputmode: "tel", placeholder: "Number", "aria-label": "Transfer to number" });
    number.hidden = true;
    const kind = h("select", { id: "transfer-kind", "aria-label": "Transfer to", onchange: () => fillTargets() },
      h("option", { value: "agent" }, "Agent"), h("option", { value: "queue" }, "Queue"),
      h("option", { value: "number" }, "Number"), h("option", { value: "consult" }, "Consult agent first"),
      h("option", { value: "consult-queue" }, "Consult queue first"),
      h("option", { value: "consult-number" }, "Consult number first"));
    const fillTargets = async () => {
      const k = kind.value, toNumber = k.endsWith("number");
      number.hidden = !toNumber; targets.hidden = toNumber;
      if (toNumber) return;
      const agents = k === "agent" || k === "consult";
      const rows = (agents ? await callcentre.agents() : await callcentre.queues()) || [];
      fill(targets, rows.filter((r) => r.user_id !== this.me.user_id).map((r) =>
        h("option", { value: r.id }, agents ? `${r.name} (${r.state})` : r.name)));
    };
    fillTargets().catch(() => {});
    return h("div", { class: "transfer" }, kind, targets, number,
      h("button", { id: "btn-transfer", onclick: () => this.transfer() }, "Transfer"));
  }

  consultBar(c) {
    return h("div", { class: "transfer", id: "consult" },
      h("span", { class: "pill" }, `Consulting ${c.consulting} · caller on hold`),
      h("button", { class: "ok", id: "btn-transfer-complete", onclick: () => this.transferStep("complete") }, "Complete transfer"),
      h("button", { id: "btn-transfer-cancel", onclick: () => this.transferStep("cancel") }, "Back to caller"));
  }

  ticketsTable(contact) {
    const rows = contact?.recent_tickets || [];
    if (!rows.length) return h("p", { class: "muted", id: "pop-tickets" }, "No tickets");
    return h("table", { id: "pop-tickets" }, h("tbody", {}, rows.map((t) =>
      h("tr", {}, h("td", {}, t.subject), h("td", {}, h("span", { class: "pill" }, t.status)), h("td", {}, when(t.created_at))))));
  }

  ordersTable(orders) {
    if (!orders.length) return h("p", { class: "muted", id: "pop-orders" }, "No orders");
    return h("table", { id: "pop-orders" }, h("tbody", {}, orders.map((o) =>
      h("tr", {}, h("td", {}, o.number), h("td", {}, o.status), h("td", {}, `${o.total} ${o.currency}`), h("td", {}, when(o.created_at))))));
  }

  async loadHistory() {
    try {
      let items;
      if (this.me.agentId) {
        // An agent's history is the queue calls they took (a transferred call included).
        const rows = (await callcentre.queueCalls(200)) || [];
        items = rows.filter((r) => r.agent_id === this.me.agentId).slice(0, 20).map((r) => ({
          dir: "in", number: r.caller, note: r.wrapup_code || r.outcome || "", at: r.answered_at || r.entered_at }));
      } else {
        const calls = await api("/api/v1/calls?limit=20");
        items = calls.map((c) => ({ dir: c.direction === "outbound" ? "out" : "in",
          number: c.direction === "outbound" ? c.callee : c.caller, note: c.state, at: c.started_at }));
      }
      fill($("#history"), items.length ? items.map((c) => h("li", {},
        h("span", { class: "pill" }, c.dir), tel(c.number, this.dial), h("span", { class: "muted" }, c.note),
        h("span", { class: "muted", style: "margin-left:auto" }, when(c.at))))
        : h("li", { class: "muted" }, "No calls yet"));
    } catch (e) { fill($("#history"), h("li", { class: "error" }, e.message)); }
  }

}
