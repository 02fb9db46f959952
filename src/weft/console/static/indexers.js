// Indexers and data sources: list and status, the run history as a chart, run and reset, a run's errors with
// their keys; data sources with their secret hidden (weft never returns it).
import { html, useEffect, useState } from "./vendor/htm-preact-standalone.js";
import { call } from "./api.js";
import { ErrorBox, Json, useLoad, when } from "./ui.js";

const enc = encodeURIComponent;
const seconds = (r) => (r.startTime && r.endTime ? Math.max(0, (new Date(r.endTime) - new Date(r.startTime)) / 1000) : 0);

export function IndexersView({ cred }) {
  const [data, error] = useLoad(async () => {
    const [ixs, dss] = await Promise.all([call(cred, "GET", "/indexers"), call(cred, "GET", "/datasources")]);
    const status = await Promise.all(ixs.value.map((ix) => call(cred, "GET", `/indexers/${enc(ix.name)}/status`).catch(() => null)));
    return { indexers: ixs.value.map((ix, i) => ({ ix, st: status[i] })), datasources: dss.value };
  }, []);
  return html`<section>
    <h1>Indexers</h1>
    <${ErrorBox} error=${error}/>
    ${data ? html`<div class="table-wrap"><table class="grid" data-testid="indexers-table"><thead><tr><th scope="col">Indexer</th><th scope="col">Data source</th>
      <th scope="col">Target index</th><th scope="col">Last run</th><th scope="col">Processed</th><th scope="col">Failed</th><th scope="col">Ended</th></tr></thead>
      <tbody>${data.indexers.map(({ ix, st }) => { const last = st?.lastResult || {}; return html`<tr>
        <td><a href=${"#/indexers/" + enc(ix.name)}>${ix.name}</a>${ix.disabled ? " (disabled)" : ""}</td>
        <td><a href=${"#/datasources/" + enc(ix.dataSourceName)}>${ix.dataSourceName}</a></td><td>${ix.targetIndexName}</td>
        <td><span class=${"status " + (last.status || "none")}>${last.status || "never run"}</span></td><td class="num">${last.itemsProcessed ?? ""}</td>
        <td class="num">${last.itemsFailed ?? ""}</td><td>${when(last.endTime)}</td></tr>`; })}</tbody></table>
      ${data.indexers.length === 0 ? html`<p class="empty">No indexer yet (create them through the API: docs/indexers.md).</p>` : null}</div>
      <h2>Data sources</h2>
      <div class="table-wrap"><table class="grid" data-testid="datasources-table"><thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Container</th><th scope="col">Credentials</th></tr></thead>
      <tbody>${data.datasources.map((ds) => html`<tr><td><a href=${"#/datasources/" + enc(ds.name)}>${ds.name}</a></td><td>${ds.type}</td>
        <td>${ds.container?.name || ""}</td><td class="secret">hidden</td></tr>`)}</tbody></table></div>` : null}
  </section>`;
}

// a time-axis label: the run's start, as hh:mm:ss today or as the date and time before today
const tick = (t) => {
  if (!t) return "";
  const d = new Date(t);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString([], { hour12: false }) : d.toLocaleString([], { hour12: false, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
};

// Run history: one group per run (oldest left): a bar of its duration, and items processed / failed.
export function RunChart({ runs }) {
  const list = [...runs].filter((r) => r.status !== "reset").reverse().slice(-30);
  if (!list.length) return html`<p class="empty">No run yet.</p>`;
  const W = 640, H = 180, pad = 28;
  const maxItems = Math.max(1, ...list.map((r) => (r.itemsProcessed || 0) + (r.itemsFailed || 0)));
  const maxSec = Math.max(0.001, ...list.map(seconds));
  const step = (W - pad * 2) / list.length;
  const bw = Math.max(3, Math.min(28, step / 2 - 2));
  const y = (v, max) => H - pad - (v / max) * (H - pad * 2);
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title" data-testid="run-chart" data-runs=${list.length}>
      <title id="chart-title">Run history: items processed and failed (bars), duration (line), ${list.length} runs</title>
      <line x1=${pad} y1=${H - pad} x2=${W - pad} y2=${H - pad} class="axis"/>
      ${list.map((r, i) => {
        const x = pad + i * step + 2;
        const p = r.itemsProcessed || 0, f = r.itemsFailed || 0;
        return html`<g class="run"><title>${`${when(r.startTime)}: ${r.status}, ${p} processed, ${f} failed, ${seconds(r).toFixed(2)} s`}</title>
          <rect class="processed" x=${x} width=${bw} y=${y(p, maxItems)} height=${H - pad - y(p, maxItems)}/>
          <rect class="failed" x=${x + bw + 1} width=${bw} y=${y(f, maxItems)} height=${H - pad - y(f, maxItems)}/></g>`;
      })}
      <polyline class="duration" fill="none" points=${list.map((r, i) => `${pad + i * step + bw + 2},${y(seconds(r), maxSec)}`).join(" ")}/>
      ${[...new Set([0, Math.floor((list.length - 1) / 2), list.length - 1])].map((i) => html`<text class="tick" data-testid="chart-tick"
        x=${pad + i * step + bw + 2} y=${H - pad + 16} text-anchor=${i === 0 ? "start" : i === list.length - 1 ? "end" : "middle"}>${tick(list[i].startTime)}</text>`)}
      <text x=${pad} y="14" class="legend">items: max ${maxItems} · duration: max ${maxSec.toFixed(2)} s</text>
    </svg>
    <figcaption><span class="key processed"></span> processed <span class="key failed"></span> failed <span class="key duration"></span> duration</figcaption>
  </figure>`;
}

export function IndexerView({ cred, name }) {
  const [def, defError] = useLoad(() => call(cred, "GET", `/indexers/${enc(name)}`), [name]);
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [pick, setPick] = useState(0);
  const load = () => call(cred, "GET", `/indexers/${enc(name)}/status`).then((s) => { setStatus(s); return s; }, (e) => { setError(e); return null; });
  useEffect(() => { load(); }, [name]);
  useEffect(() => {  // follow a run in progress
    if (status?.lastResult?.status !== "inProgress") return;
    const t = setTimeout(load, 1000);
    return () => clearTimeout(t);
  }, [status]);
  const act = async (what) => {
    if (what === "reset" && !confirm(`Reset '${name}'? Its next run reads everything again.`)) return;
    setError(null);
    try { await call(cred, "POST", `/indexers/${enc(name)}/${what}`); setPick(0); setTimeout(load, 300); } catch (e) { setError(e); }
  };
  const runs = status?.executionHistory || [];
  const chosen = runs[pick];
  return html`<section>
    <div class="title-row"><h1>Indexer ${name}</h1>
      <span class="buttons"><button onClick=${() => act("run")}>Run now</button><button onClick=${() => act("reset")}>Reset</button><button class="link" onClick=${load}>Refresh</button></span></div>
    <${ErrorBox} error=${error || defError}/>
    ${status ? html`<p>Status: <strong>${status.status}</strong> · last run: <span class=${"status " + (status.lastResult?.status || "none")} data-testid="last-status">${status.lastResult?.status || "never run"}</span></p>
      <${RunChart} runs=${runs}/>
      <h2>Runs</h2>
      <div class="table-wrap"><table class="grid" data-testid="runs-table"><thead><tr><th scope="col">Started</th><th scope="col">Status</th><th scope="col">Processed</th><th scope="col">Failed</th><th scope="col">Seconds</th><th scope="col">Errors</th></tr></thead>
      <tbody>${runs.map((r, i) => html`<tr class=${i === pick ? "picked" : ""}><td>${when(r.startTime)}</td><td>${r.status}</td><td class="num">${r.itemsProcessed}</td>
        <td class="num">${r.itemsFailed}</td><td class="num">${seconds(r).toFixed(2)}</td><td><button class="link" onClick=${() => setPick(i)} aria-label=${"Errors of the run started " + when(r.startTime)}>${(r.errors || []).length} errors</button></td></tr>`)}</tbody></table></div>
      ${chosen ? html`<h2>Errors of the run started ${when(chosen.startTime)}</h2>
        ${chosen.errorMessage ? html`<p class="error">${chosen.errorMessage}</p>` : null}
        ${(chosen.errors || []).length ? html`<div class="table-wrap"><table class="grid" data-testid="run-errors"><thead><tr><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Message</th></tr></thead>
          <tbody>${chosen.errors.map((e) => html`<tr><td>${e.key}</td><td>${e.statusCode}</td><td>${e.errorMessage}</td></tr>`)}</tbody></table></div>` : html`<p class="empty">No per-document errors.</p>`}` : null}` : null}
    ${def ? html`<details><summary>Definition</summary><${Json} value=${def}/></details>` : null}
  </section>`;
}

export function DataSourceView({ cred, name }) {
  const [ds, error] = useLoad(() => call(cred, "GET", `/datasources/${enc(name)}`), [name]);
  const shown = ds ? { ...ds, credentials: { connectionString: "(hidden: weft never returns it)" } } : null;
  return html`<section><h1>Data source ${name}</h1><${ErrorBox} error=${error}/>${shown ? html`<${Json} value=${shown}/>` : null}</section>`;
}
