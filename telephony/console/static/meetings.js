// Meetings: live conferences, a one-click meeting, the live participant list (conference
// pushes) and the moderator's controls, all through /api/v1/conferences.
import { api } from "/console/api.js";
import { $, fill, h, tel, toast, when } from "/console/dom.js";

const conf = (id, tail = "") => `/api/v1/conferences/${id}${tail}`;
const IN_CALL = new Set(["waiting", "joined"]);
const GONE = new Set(["left", "failed"]);
// Pushes name the topic's verb; the participant's state follows from it.
const STATE_OF = { participant_joined: "joined", participant_left: "left", participant_failed: "failed" };

export class Meetings {
  constructor({ supervisor, dial }) {
    this.moderator = supervisor; // the moderator routes need supervisor or admin
    this.dial = dial;
    this.list = new Map(); // conference id -> conference
    this.open = null; // the conference shown
    this.people = new Map(); // participant id -> participant, of the open conference
    this.loaded = false; // pushes wait until the pane was opened once (it reads then)
    $("#meeting-form").addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    $("#meeting-controls").hidden = !this.moderator;
  }

  async load() {
    try {
      const rows = (await api("/api/v1/conferences?live=true")) || [];
      this.list = new Map(rows.map((c) => [c.id, c]));
      this.loaded = true;
      if (this.open && !this.list.has(this.open.id)) this.list.set(this.open.id, this.open);
      this.renderList();
      if (this.open) await this.show(this.open.id);
    } catch (e) { fill($("#meetings"), h("li", { class: "error" }, e.message)); }
  }

  async start() {
    const members = $("#meeting-members").value.split(/[\s,;，]+/).filter(Boolean);
    const body = { members, subject: $("#meeting-subject").value.trim() };
    const organiser = $("#meeting-organiser").value.trim();
    const notice = $("#meeting-sms").value.trim();
    if (organiser) body.organiser = organiser;
    if (notice) body.sms_notice = notice;
    $("#meeting-error").textContent = "";
    if (!members.length) { $("#meeting-error").textContent = "members: enter at least one number"; return; }
    try {
      const c = await api("/api/v1/conferences", { method: "POST", body });
      this.list.set(c.id, c);
      this.renderList();
      await this.show(c.id);
      toast("Meeting started", `calling ${members.length} member${members.length > 1 ? "s" : ""}`);
    } catch (e) { $("#meeting-error").textContent = e.message; }
  }

  async show(id) {
    const [c, people] = await Promise.all([api(conf(id)), api(conf(id, "/participants"))]);
    this.open = c;
    this.list.set(c.id, c);
    this.people = new Map(people.map((p) => [p.id, p]));
    this.renderList(); this.render();
  }

  // A conference push: merge it into the list and, for the open meeting, the participants.
  push(m) {
    if (!this.loaded) return;
    const c = this.list.get(m.conference_id);
    if (!c) { this.load(); return; } // a meeting started elsewhere (a dial-in room, a colleague)
    if (m.event === "locked") c.locked = m.locked;
    if (m.event === "ended") { c.state = "ended"; c.ended_at = m.ended_at; }
    if (m.participant_id && this.open?.id === m.conference_id) {
      const p = this.people.get(m.participant_id) || { id: m.participant_id, number: m.number, role: m.role };
      p.name = m.name ?? p.name; p.muted = m.muted;
      p.state = STATE_OF[m.event] || m.state || p.state;
      this.people.set(p.id, p);
    }
    this.renderList();
    if (this.open?.id === m.conference_id) { this.open = c; this.render(); }
  }

  renderList() {
    const items = [...this.list.values()].sort((a, b) => b.started_at.localeCompare(a.started_at)).map((c) =>
      h("li", { dataset: { conference: c.id }, class: this.open?.id === c.id ? "selected" : "" },
        h("button", { class: "num", type: "button", onclick: () => this.show(c.id) }, c.subject || "Meeting"),
        h("span", { class: "pill", dataset: { state: c.state } }, c.state),
        c.locked ? h("span", { class: "pill" }, "locked") : "",
        h("span", { class: "muted", style: "margin-left:auto" }, when(c.started_at))));
    fill($("#meetings"), items.length ? items : h("li", { class: "muted" }, "No meetings in progress"));
  }

  render() {
    const c = this.open;
    fill($("#meeting-title"), c.subject || "Meeting", " ", h("span", { class: "pill", id: "meeting-state", dataset: { state: c.state } }, c.state),
      c.locked ? h("span", { class: "pill", id: "meeting-locked" }, "locked") : "");
    const ended = c.state === "ended";
    for (const b of $("#meeting-controls").querySelectorAll("button")) b.disabled = ended;
    $("#meeting-lock").textContent = c.locked ? "Unlock" : "Lock";
    const order = { moderator: 0, participant: 1 };
    const rows = [...this.people.values()].sort((a, b) => order[a.role] - order[b.role] || a.number.localeCompare(b.number)).map((p) => {
      const inCall = IN_CALL.has(p.state) && !ended;
      return h("tr", { dataset: { participant: p.id, state: p.state, muted: String(!!p.muted) }, class: GONE.has(p.state) ? "gone" : "" },
        h("td", {}, p.name || ""), h("td", {}, tel(p.number, this.dial)),
        h("td", {}, p.role === "moderator" ? h("span", { class: "pill" }, "moderator") : ""),
        h("td", {}, h("span", { class: "pill meeting-state", dataset: { state: p.state } }, p.state)),
        h("td", {}, p.muted ? h("span", { class: "pill muted-pill" }, "muted") : ""),
        h("td", { class: "row-actions" }, this.moderator && inCall ? [
          h("button", { type: "button", class: "mute-one", onclick: () => this.mute(p, !p.muted) }, p.muted ? "Unmute" : "Mute"),
          h("button", { type: "button", class: "remove danger", onclick: () => this.remove(p) }, "Remove"),
        ] : ""));
    });
    fill($("#participants"), rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Nobody yet")));
    $("#meeting-card").hidden = false;
  }

  // Moderator controls: the page follows the pushes, but applies the answer too (no wait).
  async act(label, fn) {
    try { await fn(); } catch (e) { toast(`${label} failed`, e.message, "high"); }
  }

  apply(changed) {
    for (const p of changed || []) this.people.set(p.id, { ...this.people.get(p.id), ...p });
    this.render();
  }

  mute(p, muted) {
    return this.act(muted ? "Mute" : "Unmute", async () =>
      this.apply(await api(conf(this.open.id, `/participants/${p.id}/mute`), { method: "POST", body: { muted } })));
  }

  muteAll(muted) {
    return this.act(muted ? "Mute all" : "Unmute all", async () =>
      this.apply(await api(conf(this.open.id, "/mute"), { method: "POST", body: { muted } })));
  }

  remove(p) {
    return this.act("Remove", () => api(conf(this.open.id, `/participants/${p.id}`), { method: "DELETE" }));
  }

  lock() {
    return this.act("Lock", async () => {
      this.open = await api(conf(this.open.id, "/lock"), { method: "POST", body: { locked: !this.open.locked } });
      this.list.set(this.open.id, this.open); this.renderList(); this.render();
    });
  }

  end() {
    if (!confirm("End the meeting for everyone?")) return;
    return this.act("End", async () => {
      this.open = await api(conf(this.open.id, "/end"), { method: "POST" });
      this.list.set(this.open.id, this.open); this.renderList(); this.render();
    });
  }

  bind() {
    $("#meeting-mute-all").onclick = () => this.muteAll(true);
    $("#meeting-unmute-all").onclick = () => this.muteAll(false);
    $("#meeting-lock").onclick = () => this.lock();
    $("#meeting-end").onclick = () => this.end();
    return this;
  }
}
