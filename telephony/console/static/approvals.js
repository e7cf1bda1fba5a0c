// Approvals: the requests whose current step waits for me (GET /erp/approvals?awaiting=me),
// decided through the same endpoint as any API client; SMS replies and mailed links decide
// the same steps, so a 409 (decided elsewhere first) is expected and answered by a re-read.
import { api } from "/console/api.js";
import { $, fill, h, toast, when } from "/console/dom.js";

const BASE = "/api/v1/erp/approvals";
const PAGE = 50;

export const yuan = (fen) =>
  `${(fen / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} CNY`;

export class Approvals {
  constructor() {
    this.items = []; this.next = null;
    $("#approvals-more").addEventListener("click", () => this.load({ more: true }));
  }

  async load({ more = false } = {}) {
    const cursor = more && this.next ? `&cursor=${encodeURIComponent(this.next)}` : "";
    try {
      const page = await api(`${BASE}?awaiting=me&limit=${PAGE}${cursor}`);
      this.items = more ? [...this.items, ...page.items] : page.items;
      this.next = page.next_cursor;
      this.render();
    } catch (e) {
      // 404: the erp package is not installed on this hub, so nothing can await anyone.
      fill($("#approvals"), h("li", { class: e.status === 404 ? "muted" : "error" },
        e.status === 404 ? "Approvals are not enabled here." : e.message));
    }
  }

  render() {
    fill($("#approvals"), this.items.length ? this.items.map((r) => this.row(r)) :
      h("li", { class: "muted" }, "Nothing awaits your approval."));
    $("#approvals-more").hidden = !this.next;
    const b = $("#approvals-badge");
    b.hidden = this.items.length === 0;
    b.textContent = this.next ? `${this.items.length}+` : this.items.length;
  }

  row(r) {
    const step = r.steps.find((s) => s.status === "pending");
    const note = h("input", { class: "approval-note", maxlength: "500", placeholder: "Comment (optional)", "aria-label": "Comment" });
    const decide = (decision) => () => this.decide(r, decision, note.value.trim());
    return h("li", { class: "approval", dataset: { request: r.id } },
      h("div", { class: "approval-head" },
        h("b", { class: "approval-kind" }, r.kind),
        h("span", { class: "approval-amount" }, yuan(r.amount)),
        h("span", { class: "pill approval-step" }, step ? `step ${step.position + 1}/${r.steps.length}` : r.status),
        h("span", { class: "muted", style: "margin-left:auto" }, `from `, h("span", { class: "approval-requester" }, r.requester_name), ` · ${when(r.created_at)}`)),
      h("p", { class: "approval-reason" }, r.reason),
      h("div", { class: "row-actions" }, note,
        h("button", { type: "button", class: "ok approval-approve", onclick: decide("approve") }, "Approve"),
        h("button", { type: "button", class: "danger approval-reject", onclick: decide("reject") }, "Reject")));
  }

  async decide(r, decision, note) {
    $("#approvals-error").textContent = "";
    try {
      const done = await api(`${BASE}/${r.id}/decision`, { method: "POST", body: { decision, note } });
      toast(decision === "approve" ? "Approved" : "Rejected", `${r.kind} of ${yuan(r.amount)}: ${done.status}`);
    } catch (e) {
      // 409: another approver, an SMS reply or a link got there first; 403: no longer mine.
      const why = e.status === 409 ? "Already decided" : e.status === 403 ? "Not yours to decide" : "Not decided";
      $("#approvals-error").textContent = `${why}: ${e.message}`;
    }
    await this.load();
  }

  // Pushes: a step now waits for me, or a request was decided (by anyone, through anything).
  // A decision reaches every console of the tenant: only one listing that request re-reads.
  push(m) {
    if (m.event === "requested") toast("Approval needed", m.summary);
    else if (!this.items.some((r) => r.id === m.request_id)) return;
    this.load();
  }
}
