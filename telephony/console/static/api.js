// REST calls with the console JWT; errors carry the server's detail and field.
const KEY = "huitong.console.token";

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set token(v) { v ? sessionStorage.setItem(KEY, v) : sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, detail, field) {
    super(field ? `${field}: ${detail}` : detail);
    this.status = status; this.field = field;
  }
}

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const opts = { method, headers: { ...headers } };
  if (session.token) opts.headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401 && path !== "/api/v1/auth/login") {
    session.token = null;
    window.dispatchEvent(new CustomEvent("console:signed-out"));
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    let detail = data?.detail ?? r.statusText, field = data?.field;
    if (Array.isArray(detail)) { // FastAPI validation: name the field
      field = detail[0]?.loc?.slice(-1)[0]; detail = detail[0]?.msg ?? "invalid input";
    }
    throw new ApiError(r.status, String(detail), field);
  }
  return data;
}

export async function signIn(email, password) {
  const r = await api("/api/v1/auth/login", { method: "POST", body: { email, password } });
  session.token = r.access_token;
  return r;
}

// A query that the back end may not have yet (404/405): null instead of an error.
export async function optional(path, opts) {
  try { return await api(path, opts); }
  catch (e) { if (e.status === 404 || e.status === 405) return null; throw e; }
}
