// The console's entry point: sign-in, the live socket, and routing pushes to the panes.
import { api, session, signIn } from "/console/api.js";
import { Approvals } from "/console/approvals.js";
import { callcentre } from "/console/callcentre.js";
import { $, $$, fill, h, seconds, toast } from "/console/dom.js";
import { Meetings } from "/console/meetings.js";
import { Messages } from "/console/sms.js";
import { Phone } from "/console/phone.js";
import { startAudio } from "/console/sip.js";
import { ConsoleSocket } from "/console/socket.js";
import { Voicemail } from "/console/voicemail.js";
import { Wallboard } from "/console/wallboard.js";

const SUPERVISOR_ROLES = new Set(["supervisor", "admin"]);
let socket = null;

function showLogin(message = "") {
  socket?.close(); socket = null;
  $("#app").hidden = true; $("#login").hidden = false;
  $("#login-error").textContent = message;
  $("#login-email").focus();
}

$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("#login-error").textContent = "";
  try {
    await signIn($("#login-email").value, $("#login-password").value);
    await start();
  } catch (err) { $("#login-error").textContent = err.message; }
});
$("#sign-out").addEventListener("click", () => { session.token = null; showLogin(); });
window.addEventListener("console:signed-out", () => showLogin("Your session ended; sign in again."));

function selectTab(name) {
  for (const b of $$(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const p of $$(".pane")) p.hidden = p.id !== `tab-${name}`;
  document.body.dataset.tab = name;
}

function showState(state, reason) {
  const pill = $("#agent-state");
  pill.dataset.state = state || "offline";
  pill.textContent = state === "paused" && reason ? `${state} · ${reason}` : state || "offline";
  // Ringing, on call, wrap-up and not ready are the ACD's to change, not a choice here.
  $("#state-select").value = ["available", "paused", "logged_out"].includes(state) ? state : "";
  $("#pause-reason").hidden = $("#state-select").value !== "paused";
}

// The agent's own day: queue calls they answered since local midnight, average handle time.
let today = null;
async function loadToday(agent) {
  if (!agent) { today = null; return; }
  const rows = (await callcentre.queueCalls().catch(() => null)) || [];
  const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
  const mine = rows.filter((r) => r.agent_id === agent.id && r.answered_at && new Date(r.answered_at) >= midnight);
  const handled = mine.filter((r) => r.handle_seconds !== null && r.handle_seconds !== undefined);
  const avg = handled.length ? handled.reduce((a, r) => a + r.handle_seconds, 0) / handled.length : null;
  today = { answered: mine.length, avg };
}

function showStats(agent) {
  if (!agent) { fill($("#my-stats")); return; }
  const item = (label, v, id) => h("span", {}, h("b", { id }, v ?? 0), ` ${label}`);
  fill($("#my-stats"),
    item("answered today", today?.answered, "stat-answered"),
    item("avg handle", today?.avg === null || today?.avg === undefined ? "–" : seconds(today.avg), "stat-aht"),
    h("span", {}, `${agent.state} since `, h("b", {}, agent.state_since ? new Date(agent.state_since).toLocaleTimeString() : "–")));
}

async function start() {
  const me = await api("/api/v1/console/me");
  if (!me.user_id) { session.token = null; showLogin("Sign in with a user account, not an API key."); return; }
  $("#login").hidden = true; $("#app").hidden = false;
  $("#me-name").textContent = me.name || me.email;
  $("#me-role").textContent = me.role;
  const supervisor = SUPERVISOR_ROLES.has(me.role);
  $("#wallboard-tab").hidden = !supervisor;

  const audio = await startAudio(me, $("#remote-audio"));
  $("#audio-mode").textContent = audio.label;
  const phone = new Phone({ audio, me });
  const messages = new Messages({ dial: phone.dial, visible: () => document.body.dataset.tab === "messages" });
  let profile = null; // the call-centre agent profile (endpoint, state), if any
  const wallboard = supervisor ? new Wallboard({ mine: () => profile }) : null;
  const meetings = new Meetings({ supervisor, dial: phone.dial }).bind();
  const voicemail = new Voicemail({ me, supervisor, dial: phone.dial });
  const approvals = new Approvals();

  for (const b of $$(".tabs button")) b.onclick = () => {
    selectTab(b.dataset.tab);
    if (b.dataset.tab === "messages") messages.loadThreads();
    if (b.dataset.tab === "wallboard") wallboard?.load();
    if (b.dataset.tab === "meetings") meetings.load();
    if (b.dataset.tab === "voicemail") voicemail.load();
    if (b.dataset.tab === "approvals") approvals.load();
  };
  selectTab("phone");

  $("#state-select").onchange = () => {
    $("#pause-reason").hidden = $("#state-select").value !== "paused";
    changeState();
  };
  $("#pause-reason").onchange = changeState;
  async function changeState() {
    const state = $("#state-select").value;
    const reason = state === "paused" ? $("#pause-reason").value : undefined;
    try { profile = await callcentre.setState(state, reason); showState(profile.state, profile.reason); showStats(profile); }
    catch (err) { toast("State not changed", err.message, "high"); await refresh(); }
  }

  async function refresh() {
    profile = await callcentre.me().catch(() => null);
    phone.me.endpoint = profile?.endpoint;
    phone.me.agentId = profile?.id;
    if (profile) showState(profile.state, profile.reason);
    await loadToday(profile);
    await phone.restore(profile);
    // Without a call-centre profile (a supervisor who takes no calls) there is no state.
    $("#state-box").hidden = !profile;
    showStats(profile);
    phone.loadHistory();
    messages.loadThreads();
    wallboard?.load();
    if (document.body.dataset.tab === "meetings") meetings.load();
    approvals.load(); // the tab's badge counts what awaits me
  }

  const routes = {
    offer: (m) => phone.offer(m),
    queue_call: (m) => { phone.queueCall(m); wallboard?.queueCall(m); },
    call: (m) => phone.callEvent(m),
    agent: (m) => {
      if (m.user_id === me.user_id) {
        showState(m.to_state, m.reason);
        if (profile) {
          profile.state = m.to_state; profile.state_since = m.at;
          if (m.from_state === "on_call") loadToday(profile).then(() => showStats(profile));
          showStats(profile);
        }
        phone.myState(m.from_state, m.to_state);
        // A call with no offer before it (a colleague's attended transfer): read it back.
        if (m.to_state === "on_call" && !phone.call) callcentre.me().then((p) => phone.restore(p)).catch(() => {});
      }
      wallboard?.agent(m);
    },
    queue: (m) => wallboard?.queue(m),
    sms: (m) => messages.inbound(m),
    notification: (m) => toast(m.title, m.body, m.urgency),
    conference: (m) => meetings.push(m),
    approval: (m) => approvals.push(m),
  };
  socket?.close();
  socket = new ConsoleSocket(() => session.token, {
    onPush: (m) => routes[m.type]?.(m),
    onUp: () => $("#conn").classList.add("up"),
    onDown: (code) => {
      $("#conn").classList.remove("up");
      if (code === 4401) showLogin("Your session ended; sign in again.");
    },
    onResync: refresh,
  });
  socket.open();
  await refresh();
}

if (session.token) start().catch(() => showLogin()); else showLogin();
