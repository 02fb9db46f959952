// Service statistics and health: /healthz, /readyz, /servicestats and weft's own /metrics families.
import { html } from "./vendor/htm-preact-standalone.js";
import { call } from "./api.js";
import { ErrorBox, bytes, useLoad } from "./ui.js";

// Prometheus text format -> [{name, help, samples: [{labels, value}]}], weft's own families only.
export function parseMetrics(text) {
  const families = new Map();
  const fam = (name) => { if (!families.has(name)) families.set(name, { name, help: "", samples: [] }); return families.get(name); };
  for (const line of text.split("\n")) {
    if (line.startsWith("# HELP ")) { const [, name, ...help] = line.split(" ").slice(1); fam(name).help = help.join(" "); continue; }
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !m[1].startsWith("weft_")) continue;
    const base = m[1].replace(/_(bucket|sum|count|total|created)$/, "");
    if (m[1].endsWith("_bucket") || m[1].endsWith("_created")) continue;
    const target = families.has(m[1]) ? m[1] : base;
    fam(target).samples.push({ name: m[1], labels: (m[2] || "").slice(1, -1), value: Number(m[3]) });
  }
  return [...families.values()].filter((f) => f.samples.length);
}

const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(4));

export function StatsView({ cred }) {
  const admin = cred.caps.search === "admin";
  const [health, healthError] = useLoad(async () => {
    const out = {};
    for (const path of ["/healthz", "/readyz"]) {
      try { out[path] = await call(cred, "GET", path); } catch (e) { out[path] = e.body && typeof e.body === "object" ? e.body : { status: e.message }; }
    }
    return out;
  }, []);
  const [stats, statsError] = useLoad(() => (admin ? call(cred, "GET", "/servicestats") : Promise.resolve(null)), []);
  const [metrics, metricsError] = useLoad(() => (cred.caps.metrics ? call(cred, "GET", "/metrics", { raw: true }).then(parseMetrics) : Promise.resolve(null)), []);
  return html`<section>
    <h1>Stats & health</h1>
    <${ErrorBox} error=${healthError || statsError || metricsError}/>
    ${health ? html`<div class="cards">${Object.entries(health).map(([path, body]) => html`<div class="card" data-testid=${"health-" + path.slice(1)}>
      <h2>${path}</h2><p class=${"status " + (body.status === "ok" ? "success" : "error")}>${body.status}</p>
      ${body.checks ? html`<ul>${Object.entries(body.checks).map(([k, v]) => html`<li>${k}: ${v}</li>`)}</ul>` : null}</div>`)}</div>` : null}
    ${stats ? html`<h2>Service statistics</h2><div class="table-wrap"><table class="grid" data-testid="servicestats"><thead><tr><th scope="col">Counter</th><th scope="col">Usage</th><th scope="col">Quota</th></tr></thead>
      <tbody>${Object.entries(stats.counters || {}).map(([k, v]) => html`<tr><td>${k}</td><td class="num">${/Storage|Size/.test(k) ? bytes(v.usage) : v.usage}</td><td class="num">${v.quota ?? "—"}</td></tr>`)}</tbody></table></div>` : null}
    ${metrics ? html`<h2>Metrics</h2><div class="table-wrap"><table class="grid" data-testid="metrics-table"><thead><tr><th scope="col">Metric</th><th scope="col">Labels</th><th scope="col">Value</th></tr></thead>
      <tbody>${metrics.flatMap((f) => f.samples.slice(0, 40).map((s, i) => html`<tr><td title=${f.help}>${i === 0 ? s.name : s.name === f.samples[i - 1].name ? "" : s.name}</td><td><code>${s.labels}</code></td><td class="num">${fmt(s.value)}</td></tr>`))}</tbody></table></div>`
      : html`<p class="hint">Metrics need the admin key (or WEFT_METRICS=open).</p>`}
  </section>`;
}
