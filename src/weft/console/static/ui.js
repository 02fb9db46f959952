// Small shared pieces: the error box, JSON view, the route hook, formatting.
import { html, useEffect, useState } from "./vendor/htm-preact-standalone.js";

export { html };

export function ErrorBox({ error }) {
  if (!error) return null;
  const status = error.status ? `${error.status}${error.code ? " " + error.code : ""}: ` : "";
  return html`<div class="error" role="alert"><strong>Error</strong> ${status}<span class="msg">${error.message}</span></div>`;
}

export function Json({ value, label = "JSON" }) {
  return html`<pre class="json" tabindex="0" aria-label=${label}>${JSON.stringify(value, null, 2)}</pre>`;
}

export function useRoute() {
  const read = () => (location.hash.replace(/^#/, "") || "/search");
  const [route, setRoute] = useState(read());
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function go(path) { location.hash = "#" + path; }

export function bytes(n) {
  if (n === undefined || n === null) return "";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0; let v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function when(t) {
  if (!t) return "";
  const d = typeof t === "number" ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  return isNaN(d) ? String(t) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// Runs an async loader; gives [data, error, loading, reload].
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then((data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, [...deps, tick]);
  return [state.data, state.error, state.loading, () => setTick((t) => t + 1)];
}

export function Field({ label, id, children, hint }) {
  return html`<div class="field"><label for=${id}>${label}</label>${children}${hint ? html`<small id=${id + "-hint"}>${hint}</small>` : null}</div>`;
}

// A tab list's arrow keys move to (and open) the previous or next tab.
export function tabKeys(e) {
  if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
  const tabs = [...e.currentTarget.querySelectorAll("[role=tab]")];
  const i = tabs.indexOf(document.activeElement);
  const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
  e.preventDefault(); next.focus(); next.click();
}
