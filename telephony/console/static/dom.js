// Tiny DOM helpers: elements are built, never parsed from strings (no HTML injection).
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function fill(el, ...children) {
  el.replaceChildren();
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
               : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function seconds(n) {
  n = Math.max(0, Math.round(n || 0));
  const m = Math.floor(n / 60), s = n % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

export function toast(title, body = "", level = "") {
  const box = document.getElementById("toasts");
  const t = h("div", { class: `toast ${level}`, role: "status" }, h("b", {}, title), body);
  box.append(t);
  setTimeout(() => t.remove(), 6000);
}

// Any phone number shown on screen is a click-to-call button.
export function tel(number, onDial) {
  if (!number) return "";
  return h("button", { class: "tel", type: "button", title: `Call ${number}`, onclick: () => onDial(number) }, number);
}
