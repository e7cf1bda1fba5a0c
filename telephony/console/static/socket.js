// The /ws/console feed: reconnects with backoff, sends the token as the first message (kept
// out of URLs and logs), drops pushes it already saw (the bus delivers at least once), and
// asks the page to re-read its state after any gap.
export class ConsoleSocket {
  constructor(tokenFn, { onPush, onUp, onDown, onResync }) {
    this.tokenFn = tokenFn; this.onPush = onPush; this.onUp = onUp; this.onDown = onDown;
    this.onResync = onResync; this.seen = new Set(); this.order = []; this.delay = 500;
    this.closed = false; this.everUp = false;
  }

  open() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/console`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ token: this.tokenFn() }));
    ws.onmessage = (ev) => this.receive(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      this.onDown?.(ev.code);
      if (this.closed || ev.code === 4401 || ev.code === 4403) return;
      setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
    clearInterval(this.ping);
    this.ping = setInterval(() => ws.readyState === 1 && ws.send('{"type":"ping"}'), 25000);
  }

  receive(msg) {
    if (msg.type === "hello") {
      this.delay = 500;
      this.onUp?.(msg);
      if (this.everUp) this.onResync?.(); // pushes may have been missed while away
      this.everUp = true;
      return;
    }
    if (msg.type === "pong") return;
    if (msg.type === "resync") { this.onResync?.(); return; }
    if (msg.event_id !== undefined) {
      const key = `${msg.type}:${msg.event_id}`;
      if (this.seen.has(key)) return;
      this.seen.add(key); this.order.push(key);
      if (this.order.length > 2000) this.seen.delete(this.order.shift());
    }
    this.onPush(msg);
  }

  close() { this.closed = true; clearInterval(this.ping); this.ws?.close(); }
}
