// Voicemail: the signed-in user's mailbox (the VPMN member with the user's mobile number);
// supervisors and admins may pick any member's. Audio is fetched with the JWT as a blob (an
// <audio src> cannot send the Authorization header), which also marks the message heard.
import { api, session } from "/console/api.js";
import { $, fill, h, tel, toast, when } from "/console/dom.js";

const msgs = (id = "", tail = "") => `/api/v1/voicemail/messages${id ? `/${id}` : ""}${tail}`;

export class Voicemail {
  constructor({ me, supervisor, dial }) {
    this.me = me; this.supervisor = supervisor; this.dial = dial;
    this.mine = null; // {member_id, name, short_number, mailbox_id} or nulls
    this.memberId = null; this.url = null;
    $("#vm-member").addEventListener("change", () => { this.memberId = $("#vm-member").value || null; this.loadMessages(); });
  }

  async load() {
    try {
      this.mine = await api("/api/v1/voicemail/me");
      if (this.supervisor) await this.loadPicker();
      $("#vm-picker").hidden = !this.supervisor;
      this.memberId = this.supervisor ? ($("#vm-member").value || null) : this.mine.member_id;
      if (!this.memberId) {
        fill($("#vm-owner"), this.supervisor ? "Pick a member's mailbox." :
          "Your user is not linked to a VPMN member (no member has your mobile number); ask an admin.");
        fill($("#voicemails"));
        return;
      }
      await this.loadMessages();
    } catch (e) { fill($("#vm-owner"), h("span", { class: "error" }, e.message)); }
  }

  async loadPicker() {
    const members = (await api("/api/v1/vpmn/members")) || [];
    const sel = $("#vm-member"), keep = sel.value || this.mine.member_id || "";
    fill(sel, h("option", { value: "" }, "— member —"), members.map((m) =>
      h("option", { value: m.id }, `${m.name} (${m.short_number})${m.id === this.mine.member_id ? " · me" : ""}`)));
    sel.value = members.some((m) => m.id === keep) ? keep : "";
  }

  owns() { return this.memberId && this.memberId === this.mine?.member_id; }

  async loadMessages() {
    if (!this.memberId) { fill($("#voicemails")); return; }
    const own = this.owns();
    fill($("#vm-owner"), own ? `My mailbox (${this.mine.short_number})` : "Member's mailbox");
    let rows;
    try { rows = await api(`${msgs()}?member_id=${this.memberId}`); }
    catch (e) {
      fill($("#voicemails"), h("li", { class: e.status === 404 ? "muted" : "error" },
        e.status === 404 ? "No mailbox set up for this member." : e.message));
      return;
    }
    const canDelete = own || this.me.role === "admin";
    fill($("#voicemails"), rows.length ? rows.map((m) => h("li", { dataset: { message: m.id, heard: String(m.heard) }, class: m.heard ? "" : "unread" },
      h("span", {}, tel(m.caller, this.dial) || "unknown caller"),
      h("span", { class: "muted" }, `${when(m.recorded_at)} · ${m.duration_seconds} s`),
      h("span", { class: "pill heard-pill" }, m.heard ? "heard" : "new"),
      h("span", { class: "row-actions", style: "margin-left:auto" },
        h("button", { type: "button", class: "vm-play", onclick: () => this.play(m) }, "▶ Play"),
        m.heard ? "" : h("button", { type: "button", class: "vm-heard", onclick: () => this.heard(m) }, "Mark heard"),
        canDelete ? h("button", { type: "button", class: "vm-delete danger", onclick: () => this.remove(m) }, "Delete") : ""))) :
      h("li", { class: "muted" }, "No messages"));
  }

  async play(m) {
    try {
      const r = await fetch(msgs(m.id, "/audio"), { headers: { Authorization: `Bearer ${session.token}` } });
      if (!r.ok) throw new Error(`audio: ${r.status} ${r.statusText}`);
      const blob = await r.blob();
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = URL.createObjectURL(blob);
      const audio = $("#vm-audio");
      audio.src = this.url; audio.hidden = false;
      audio.dataset.message = m.id;
      await audio.play().catch(() => {}); // autoplay may be refused; the controls remain
      await this.loadMessages(); // the server marked it heard
    } catch (e) { toast("Cannot play", e.message, "high"); }
  }

  async heard(m) {
    try { await api(msgs(m.id, "/heard"), { method: "POST", body: { heard: true } }); await this.loadMessages(); }
    catch (e) { toast("Not marked", e.message, "high"); }
  }

  async remove(m) {
    if (!confirm(`Delete the message from ${m.caller || "unknown caller"}?`)) return;
    try { await api(msgs(m.id), { method: "DELETE" }); await this.loadMessages(); }
    catch (e) { toast("Not deleted", e.message, "high"); }
  }
}
