// The one way the console talks to weft: its public APIs, with the credential the user typed.
// The credential lives in sessionStorage (gone when the tab closes) and travels only in headers.
export const API_VERSION = "2026-04-01";
const STORE = "weft-console-credential";

export function loadCredential() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch { return null; }
}
export function saveCredential(c) { sessionStorage.setItem(STORE, JSON.stringify(c)); }
export function forgetCredential() { sessionStorage.removeItem(STORE); }

export class ApiError extends Error {
  constructor(status, message, code, body) { super(message); this.status = status; this.code = code; this.body = body; }
}

export function headersFor(cred, extra = {}) {
  const h = { ...extra };
  if (cred?.apiKey) h["api-key"] = cred.apiKey;
  else if (cred?.token) h["Authorization"] = "Bearer " + cred.token;
  if (cred?.tenant) h["weft-tenant"] = cred.tenant;
  return h;
}

// Search API paths get ?api-version; /v1, /audit, /metrics do not.
export function urlFor(path, query = {}) {
  const q = new URLSearchParams();
  const search = !(path.startsWith("/v1") || path.startsWith("/audit") || path === "/metrics" || path.startsWith("/healthz") || path.startsWith("/readyz"));
  if (search) q.set("api-version", API_VERSION);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.append(k, v);
  const s = q.toString();
  return path + (s ? "?" + s : "");
}

export async function call(cred, method, path, { query, body, headers, raw } = {}) {
  const init = { method, headers: headersFor(cred, headers) };
  if (body !== undefined) { init.body = typeof body === "string" ? body : JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  let res;
  try { res = await fetch(urlFor(path, query), init); }
  catch (e) { throw new ApiError(0, "weft did not answer: " + e.message, "network"); }
  const text = await res.text();
  if (raw && res.ok) return text;
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    const err = data && data.error ? data.error : null;
    const msg = err ? (err.message || JSON.stringify(err)) : (typeof data === "string" && data ? data : res.statusText);
    throw new ApiError(res.status, msg, err && err.code, data);
  }
  return data;
}

// What the credential may do: probed with read-only requests, never with a write.
export async function probe(cred) {
  const caps = { search: null, tenant: null, metrics: false };
  try { await call(cred, "GET", "/indexes", { query: { "$select": "name" } }); caps.search = "admin"; }
  catch (e) {
    if (e.status === 0) throw e;
    try { await call(cred, "GET", "/indexes/weft-console-probe/docs/$count"); caps.search = "query"; }
    catch (e2) { if (e2.status === 404) caps.search = "query"; }
  }
  try { await call(cred, "GET", "/v1/conversations", { query: { limit: 1 } }); caps.tenant = "read"; } catch { /* not a tenant credential */ }
  if (caps.tenant) { try { await call(cred, "GET", "/audit", { query: { limit: 1 } }); caps.tenant = "admin"; } catch { /* read or write */ } }
  try { await call(cred, "GET", "/metrics", { raw: true }); caps.metrics = true; } catch { /* admin only */ }
  return caps;
}
