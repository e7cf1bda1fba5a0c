// SMS conversations: threads, read, reply (through POST /api/v1/messages, like any client).
import { api } from "/console/api.js";
import { $, fill, h, tel, toast, when } from "/console/dom.js";

export class Messages {
  constructor({ dial, visible }) {
    this.dial = dial; this.visible = visible; this.open = null; this.unread = new Set();
    $("#reply-form").addEventListener("submit", (e) => { e.preventDefault(); this.reply(); });
  }

  async loadThreads() {
    try {
      const page = await api("/api/v1/conversations?limit=50");
      const items = page.items.filter((c) => c.channel === "sms");
      fill($("#threads"), items.length ? items.map((c) => h("li", {
        class: this.unread.has(c.id) ? "unread" : "", dataset: { id: c.id },
      }, h("button", { class: "num", type: "button", onclick: () => this.show(c) }, c.address),
        h("span", { class: "pill" }, c.message_count),
        h("span", { class: "muted", style: "margin-left:auto" }, when(c.last_message_at)),
        tel("☎", () => this.dial(c.address)))) : h("li", { class: "muted" }, "No conversations"));
      this.threads = items;
    } catch (e) { fill($("#threads"), h("li", { class: "error" }, e.message)); }
    this.badge();
  }

  async show(conv) {
    this.open = conv; this.unread.delete(conv.id); this.badge();
    fill($("#thread-title"), "SMS with ", tel(conv.address, this.dial));
    $("#reply-form").hidden = false;
    await this.loadMessages();
    for (const li of document.querySelectorAll("#threads li")) if (li.dataset.id === conv.id) li.classList.remove("unread");
  }

  async loadMessages() {
    if (!this.open) return;
    const page = await api(`/api/v1/conversations/${this.open.id}/messages?limit=100`);
    const items = [...page.items].sort((a, b) => a.created_at.localeCompare(b.created_at));
    const list = $("#thread-messages");
    fill(list, items.map((m) => h("li", { class: m.direction },
      m.body, h("small", {}, `${when(m.created_at)} · ${m.status}`))));
    list.scrollTop = list.scrollHeight;
  }

  async reply() {
    const body = $("#reply-body").value.trim();
    $("#reply-error").textContent = "";
    if (!body) { $("#reply-error").textContent = "body: write a message"; return; }
    try {
      await api("/api/v1/messages", { method: "POST", body: { channel: "sms", to: this.open.address, body } });
      $("#reply-body").value = "";
      await this.loadMessages();
    } catch (e) { $("#reply-error").textContent = e.message; }
  }

  inbound(msg) {
    if (msg.channel !== "sms") return;
    if (this.open?.id === msg.conversation_id && this.visible()) this.loadMessages();
    else { this.unread.add(msg.conversation_id); toast(`SMS from ${msg.sender}`, msg.preview); }
    this.loadThreads();
  }

  badge() {
    const b = $("#sms-badge");
    b.hidden = this.unread.size === 0; b.textContent = this.unread.size;
  }
}
