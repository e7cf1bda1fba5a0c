// Audio in the browser through JsSIP when the call centre gives this agent a WebRTC
// registration; otherwise the agent's desk or mobile phone rings (ARI-controlled) and the
// page only drives the call. The JsSIP bundle is built at install time (npm); when it is
// missing the page still works in phone mode.
export async function startAudio(config, remoteAudio) {
  const none = { mode: "phone", label: "desk phone" };
  if (!config?.webrtc) return none;
  let JsSIP;
  try { JsSIP = (await import("/console/vendor/jssip.js")).default; }
  catch { return { ...none, label: "desk phone (no WebRTC bundle)" }; }
  const w = config.webrtc;
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(w.wss_url)],
    uri: w.sip_uri, password: w.password, display_name: w.display_name || config.name,
    register: true, session_timers: false,
  });
  let current = null;
  // The call centre rings the agent's endpoint (this registration) for one offer at a time,
  // so the newest incoming session is the offered call.
  ua.on("newRTCSession", ({ session }) => {
    current = session;
    session.on("peerconnection", ({ peerconnection }) => {
      peerconnection.addEventListener("track", (e) => { remoteAudio.srcObject = e.streams[0]; });
    });
    const done = () => { if (current === session) current = null; };
    session.on("ended", done);
    session.on("failed", done);
  });
  ua.start();
  return {
    mode: "webrtc", label: "browser audio",
    answer: async () => current?.answer({ mediaConstraints: { audio: true, video: false } }),
    hangup: () => { if (current && !current.isEnded()) current.terminate(); },
    mute: (on) => current && (on ? current.mute({ audio: true }) : current.unmute({ audio: true })),
    dtmf: (k) => current?.sendDTMF(k),
    stop: () => ua.stop(),
  };
}
