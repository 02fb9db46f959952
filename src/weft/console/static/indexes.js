// Indexes: the list (documents, storage), the designer (fields, analyzers, profiles; a JSON editor that the
// server validates), and documents (browse, look up by key, upload JSON / JSON lines with progress).
import { html, useEffect, useRef, useState } from "./vendor/htm-preact-standalone.js";
import { call } from "./api.js";
import { ErrorBox, Json, bytes, go, useLoad } from "./ui.js";

const enc = encodeURIComponent;

export function IndexesView({ cred }) {
  const [list, error, loading, reload] = useLoad(async () => {
    const r = await call(cred, "GET", "/indexes");
    return Promise.all(r.value.map(async (ix) => {
      try { return { ix, stats: await call(cred, "GET", `/indexes/${enc(ix.name)}/stats`) }; } catch { return { ix, stats: null }; }
    }));
  }, []);
  const [actionError, setActionError] = useState(null);
  const remove = async (name) => {
    if (!confirm(`Delete the index '${name}' and all its documents? This cannot be undone.`)) return;
    try { await call(cred, "DELETE", `/indexes/${enc(name)}`); reload(); } catch (e) { setActionError(e); }
  };
  return html`<section>
    <div class="title-row"><h1>Indexes</h1><a class="button" href="#/indexes/new">New index</a></div>
    <${ErrorBox} error=${error || actionError}/>
    ${loading && !list ? html`<p>Loading…</p>` : null}
    ${list ? html`<div class="table-wrap"><table class="grid" data-testid="indexes-table"><thead><tr>
      <th scope="col">Name</th><th scope="col">Documents</th><th scope="col">Storage</th><th scope="col">Fields</th><th scope="col">Actions</th></tr></thead>
      <tbody>${list.map(({ ix, stats }) => html`<tr>
        <td><a href=${"#/indexes/" + enc(ix.name)}>${ix.name}</a></td>
        <td class="num">${stats ? stats.documentCount : "?"}</td><td class="num">${stats ? bytes(stats.storageSize) : "?"}</td>
        <td class="num">${ix.fields.length}</td>
        <td class="actions"><a href=${"#/search?index=" + enc(ix.name)}>Search</a> <a href=${"#/indexes/" + enc(ix.name) + "/docs"}>Documents</a>
          <button class="danger" onClick=${() => remove(ix.name)} aria-label=${"Delete " + ix.name}>Delete</button></td></tr>`)}</tbody></table>
      ${list.length === 0 ? html`<p class="empty">No index yet. <a href="#/indexes/new">Design one.</a></p>` : null}</div>` : null}
  </section>`;
}

const TEMPLATE = {
  name: "my-index",
  fields: [
    { name: "id", type: "Edm.String", key: true, filterable: true },
    { name: "title", type: "Edm.String", searchable: true, analyzer: "en.lucene" },
    { name: "category", type: "Edm.String", filterable: true, facetable: true },
    { name: "rating", type: "Edm.Double", filterable: true, sortable: true, facetable: true },
  ],
  scoringProfiles: [],
  suggesters: [],
};
const ATTRS = ["key", "searchable", "filterable", "sortable", "facetable", "retrievable"];

function FieldsTable({ fields }) {
  return html`<div class="table-wrap"><table class="grid" data-testid="fields-table"><thead><tr><th scope="col">Field</th><th scope="col">Type</th>
    ${ATTRS.map((a) => html`<th scope="col">${a}</th>`)}<th scope="col">Analyzer</th></tr></thead>
    <tbody>${(fields || []).map((f) => html`<tr><td>${f.name}</td><td>${f.type}</td>
      ${ATTRS.map((a) => html`<td class="flag">${f[a] ? "✓" : ""}</td>`)}<td>${f.analyzer || f.searchAnalyzer || ""}</td></tr>`)}</tbody></table></div>`;
}

// Where in the JSON text an error points: a JSON syntax position, or the first quoted name the server's
// message mentions that appears in the text.
export function locate(text, error) {
  const pos = /position (\d+)/.exec(error.message || "");
  if (pos) return [Number(pos[1]), Number(pos[1]) + 1];
  // each further name the message quotes narrows the place when it follows in the text ('genre' ... 'Edm.Strin')
  let span = null;
  for (const m of (error.message || "").matchAll(/'([^']+)'/g)) {
    const at = text.indexOf(`"${m[1]}"`, span ? span[0] : 0);
    if (at >= 0) span = [at, at + m[1].length + 2];
  }
  return span;
}

export function DesignerView({ cred, name }) {
  const creating = !name;
  const [text, setText] = useState(creating ? JSON.stringify(TEMPLATE, null, 2) : "");
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(null);
  const [where, setWhere] = useState(null);
  const [etag, setEtag] = useState(null);  // an update names the version it edits: someone else's save is a 412, not lost
  const area = useRef(null);
  useEffect(() => {
    if (creating) return;
    call(cred, "GET", `/indexes/${enc(name)}`).then((d) => {
      const { "@odata.etag": tag, "@odata.context": _, ...rest } = d;
      setEtag(tag); setText(JSON.stringify(rest, null, 2));
    }, setError);
  }, [name]);
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* shown on save */ }
  const show = (e) => {
    setError(e);
    const span = locate(text, e);
    setWhere(span);
    if (span && area.current) { area.current.focus(); area.current.setSelectionRange(span[0], span[1]); }
  };
  const save = async () => {
    setSaved(null); setError(null); setWhere(null);
    let body;
    try { body = JSON.parse(text); } catch (e) { show({ message: "Not valid JSON: " + e.message }); return; }
    const target = creating ? body.name : name;
    if (!target) { show({ message: "The index needs a 'name'." }); return; }
    try {
      const headers = creating ? { "If-None-Match": "*" } : etag ? { "If-Match": etag } : {};
      const r = await call(cred, "PUT", `/indexes/${enc(target)}`, { body, headers });
      setEtag(r["@odata.etag"]);
      setSaved(`Saved '${r.name}'.`);
      if (creating) go("/indexes/" + enc(r.name));
    } catch (e) { show(e); }
  };
  const remove = async () => {
    if (!confirm(`Delete the index '${name}' and all its documents?`)) return;
    try { await call(cred, "DELETE", `/indexes/${enc(name)}`); go("/indexes"); } catch (e) { setError(e); }
  };
  const line = where ? text.slice(0, where[0]).split("\n").length : null;
  return html`<section class="designer">
    <div class="title-row"><h1>${creating ? "New index" : `Index ${name}`}</h1>
      ${creating ? null : html`<span><a href=${"#/indexes/" + enc(name) + "/docs"}>Documents</a> <a href=${"#/search?index=" + enc(name)}>Search</a></span>`}</div>
    <div class="designer-layout">
      <div>
        <h2>Fields</h2>
        ${parsed ? html`<${FieldsTable} fields=${parsed.fields}/>
          <h2>Analyzers and profiles</h2>
          <ul class="summary-list">
            <li>Custom analyzers: ${(parsed.analyzers || []).map((a) => a.name).join(", ") || "none"}</li>
            <li>Scoring profiles: ${(parsed.scoringProfiles || []).map((a) => a.name).join(", ") || "none"}${parsed.defaultScoringProfile ? ` (default ${parsed.defaultScoringProfile})` : ""}</li>
            <li>Suggesters: ${(parsed.suggesters || []).map((a) => a.name).join(", ") || "none"}</li>
            <li>Semantic configurations: ${(parsed.semantic?.configurations || []).map((a) => a.name).join(", ") || "none"}</li>
            <li>Vector profiles: ${(parsed.vectorSearch?.profiles || []).map((a) => a.name).join(", ") || "none"}</li>
          </ul>` : html`<p class="hint">The JSON does not parse yet.</p>`}
      </div>
      <div>
        <label for="definition"><h2>Definition (JSON)</h2></label>
        <textarea id="definition" ref=${area} class="editor" spellcheck="false" rows="24" aria-invalid=${error ? "true" : "false"}
          aria-describedby="definition-error" value=${text} onInput=${(e) => setText(e.target.value)}></textarea>
        <div id="definition-error">${error ? html`<${ErrorBox} error=${error}/>${line ? html`<p class="where" data-testid="error-line">At line ${line} of the definition.</p>` : null}` : null}</div>
        ${saved ? html`<p class="ok" role="status">${saved}</p>` : null}
        <div class="buttons"><button onClick=${save}>${creating ? "Create index" : "Save index"}</button>
          ${creating ? null : html`<button class="danger" onClick=${remove}>Delete index</button>`}</div>
        <p class="hint">weft checks the definition when you save it: its message names what it refuses.</p>
      </div>
    </div>
  </section>`;
}

function parseDocuments(text) {
  const t = text.trim();
  if (!t) return [];
  if (t.startsWith("[")) return JSON.parse(t);
  if (t.startsWith("{")) {
    try { const one = JSON.parse(t); return Array.isArray(one.value) ? one.value : [one]; } catch { /* JSON lines */ }
  }
  return t.split(/\r?\n/).filter((l) => l.trim()).map((l, i) => {
    try { return JSON.parse(l); } catch (e) { throw new Error(`line ${i + 1}: ${e.message}`); }
  });
}

export function DocumentsView({ cred, name }) {
  const [def, defError] = useLoad(() => call(cred, "GET", `/indexes/${enc(name)}`), [name]);
  const [skip, setSkip] = useState(0);
  const [tick, setTick] = useState(0);
  const [page, pageError] = useLoad(() => call(cred, "POST", `/indexes/${enc(name)}/docs/search`, { body: { search: "*", top: 20, skip, count: true } }), [name, skip, tick]);
  const [key, setKey] = useState("");
  const [found, setFound] = useState(null);
  const [lookupError, setLookupError] = useState(null);
  const [action, setAction] = useState("mergeOrUpload");
  const [progress, setProgress] = useState(null);
  const [results, setResults] = useState(null);
  const [uploadError, setUploadError] = useState(null);
  const keyField = def?.fields.find((f) => f.key)?.name;

  const lookup = async (e) => {
    e.preventDefault(); setFound(null); setLookupError(null);
    try { setFound(await call(cred, "GET", `/indexes/${enc(name)}/docs/${enc(key)}`)); } catch (err) { setLookupError(err); }
  };
  const upload = async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    setUploadError(null); setResults(null);
    let docs;
    try { docs = parseDocuments(await file.text()); } catch (err) { setUploadError({ message: `${file.name} is not JSON or JSON lines: ${err.message}` }); return; }
    const all = [];
    const size = 500;
    setProgress({ done: 0, total: docs.length });
    for (let i = 0; i < docs.length; i += size) {
      const batch = docs.slice(i, i + size).map((d) => ({ "@search.action": action, ...d }));
      try {
        const r = await call(cred, "POST", `/indexes/${enc(name)}/docs/index`, { body: { value: batch } });
        all.push(...r.value);
      } catch (err) {
        if (err.body && Array.isArray(err.body.value)) all.push(...err.body.value); // 207: some failed
        else { setUploadError(err); break; }
      }
      setProgress({ done: Math.min(docs.length, i + size), total: docs.length });
    }
    setResults(all); setTick((t) => t + 1);
    e.target.value = "";
  };
  const failed = (results || []).filter((r) => !r.status);
  const docs = page?.value || [];
  const cols = [];
  for (const d of docs) for (const k of Object.keys(d)) if (!k.startsWith("@search.") && !cols.includes(k)) cols.push(k);
  return html`<section>
    <div class="title-row"><h1>Documents of ${name}</h1><a href=${"#/indexes/" + enc(name)}>Definition</a></div>
    <${ErrorBox} error=${defError || pageError}/>
    <div class="docs-layout">
      <form onSubmit=${lookup} class="row" aria-label="Look up a document">
        <div class="field"><label for="doc-key">Look up by key${keyField ? ` (${keyField})` : ""}</label><input id="doc-key" required value=${key} onInput=${(e) => setKey(e.target.value)}/></div>
        <button type="submit">Look up</button>
      </form>
      <${ErrorBox} error=${lookupError}/>
      ${found ? html`<${Json} value=${found} label="The document"/>` : null}
      <div class="upload">
        <div class="field"><label for="doc-action">Action</label><select id="doc-action" value=${action} onChange=${(e) => setAction(e.target.value)}>
          ${["upload", "mergeOrUpload", "merge", "delete"].map((a) => html`<option value=${a}>${a}</option>`)}</select></div>
        <div class="field"><label for="doc-file">Upload a JSON or JSON lines file</label><input id="doc-file" type="file" accept=".json,.jsonl,.ndjson,application/json" onChange=${upload}/></div>
        ${progress ? html`<label for="upload-progress">Uploaded ${progress.done} of ${progress.total}</label><progress id="upload-progress" max=${progress.total || 1} value=${progress.done}></progress>` : null}
        <${ErrorBox} error=${uploadError}/>
        ${results ? html`<p role="status" data-testid="upload-summary">${results.length - failed.length} succeeded, ${failed.length} failed.</p>
          <div class="table-wrap"><table class="grid" data-testid="upload-results"><thead><tr><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Message</th></tr></thead>
          <tbody>${[...failed, ...results.filter((r) => r.status)].slice(0, 500).map((r) => html`<tr class=${r.status ? "" : "bad"}><td>${r.key}</td><td>${r.statusCode}${r.status ? " ok" : " failed"}</td><td>${r.errorMessage || ""}</td></tr>`)}</tbody></table></div>` : null}
      </div>
    </div>
    <h2>Browse</h2>
    ${page ? html`<p data-testid="doc-count">${page["@odata.count"]} documents</p>
      <div class="table-wrap"><table class="grid" data-testid="docs-table"><thead><tr>${cols.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
      <tbody>${docs.map((d) => html`<tr>${cols.map((c) => html`<td>${typeof d[c] === "object" && d[c] !== null ? JSON.stringify(d[c]) : String(d[c] ?? "")}</td>`)}</tr>`)}</tbody></table></div>
      <nav class="pager" aria-label="Document pages"><button disabled=${skip === 0} onClick=${() => setSkip(Math.max(0, skip - 20))}>Previous page</button>
        <button disabled=${skip + 20 >= (page["@odata.count"] || 0)} onClick=${() => setSkip(skip + 20)}>Next page</button></nav>` : null}
  </section>`;
}
