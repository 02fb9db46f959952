// Conversations (the credential's tenant): list and filter by metadata, a conversation's items as a timeline
// (messages, tool calls and their outputs), search over past conversations, the audit log, and keys (admins).
import { html, useState } from "./vendor/htm-preact-standalone.js";
import { call } from "./api.js";
import { ErrorBox, Json, go, useLoad, when } from "./ui.js";

const enc = encodeURIComponent;

export function ConversationsView({ cred }) {
  const [filterText, setFilterText] = useState("");
  const [applied, setApplied] = useState("");
  const [after, setAfter] = useState([]);  // stack of cursors: paging back and forth
  const [listError, setListError] = useState(null);
  const query = { limit: 20, order: "desc" };
  for (const pair of applied.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [k, ...v] = pair.split("=");
    query[`metadata[${k.trim()}]`] = v.join("=").trim();
  }
  if (after.length) query.after = after[after.length - 1];
  const [page, error] = useLoad(() => call(cred, "GET", "/v1/conversations", { query }), [applied, after.join()]);
  const [text, setText] = useState("");
  const [hits, setHits] = useState(null);
  const [searchError, setSearchError] = useState(null);
  const search = async (e) => {
    e.preventDefault(); setSearchError(null); setHits(null);
    try { setHits(await call(cred, "POST", "/v1/conversations/search", { body: { query: text, mode: "text", top: 20 } })); } catch (err) { setSearchError(err); }
  };
  return html`<section>
    <h1>Conversations</h1>
    <div class="two">
      <form class="row" onSubmit=${(e) => { e.preventDefault(); setAfter([]); setApplied(filterText); }} aria-label="Filter conversations">
        <div class="field"><label for="conv-filter">Metadata filter (key=value, comma-separated)</label><input id="conv-filter" value=${filterText} onInput=${(e) => setFilterText(e.target.value)}/></div>
        <button type="submit">Filter</button>
      </form>
      <form class="row" onSubmit=${search} aria-label="Search conversations">
        <div class="field"><label for="conv-search">Search past conversations</label><input id="conv-search" required value=${text} onInput=${(e) => setText(e.target.value)}/></div>
        <button type="submit">Search</button>
      </form>
    </div>
    <${ErrorBox} error=${error || listError || searchError}/>
    ${hits ? html`<h2>Search results</h2><div class="table-wrap"><table class="grid" data-testid="conv-hits"><thead><tr><th scope="col">Conversation</th><th scope="col">Role</th><th scope="col">Text</th><th scope="col">Score</th></tr></thead>
      <tbody>${hits.data.map((h) => html`<tr><td><a href=${"#/conversations/" + enc(h.conversation_id)}>${h.conversation_id}</a></td><td>${h.role || h.type}</td><td>${h.text || ""}</td><td class="num">${h.score?.toFixed(3)}</td></tr>`)}</tbody></table>
      ${hits.data.length === 0 ? html`<p class="empty">Nothing found (is search on for this tenant?).</p>` : null}</div>` : null}
    ${page ? html`<div class="table-wrap"><table class="grid" data-testid="conversations-table"><thead><tr><th scope="col">Conversation</th><th scope="col">Created</th><th scope="col">Metadata</th></tr></thead>
      <tbody>${page.data.map((c) => html`<tr><td><a href=${"#/conversations/" + enc(c.id)}>${c.id}</a></td><td>${when(c.created_at)}</td><td>${Object.entries(c.metadata || {}).map(([k, v]) => `${k}=${v}`).join(", ")}</td></tr>`)}</tbody></table>
      ${page.data.length === 0 ? html`<p class="empty">No conversation.</p>` : null}</div>
      <nav class="pager" aria-label="Conversation pages"><button disabled=${!after.length} onClick=${() => setAfter(after.slice(0, -1))}>Previous page</button>
        <button disabled=${!page.has_more} onClick=${() => { if (page.data.length) setAfter([...after, page.data[page.data.length - 1].id]); else setListError({ message: "no more" }); }}>Next page</button></nav>` : null}
  </section>`;
}

function contentText(content) {
  if (typeof content === "string") return content;
  return (content || []).map((c) => c.text ?? c.refusal ?? (c.type ? `[${c.type}]` : JSON.stringify(c))).join("\n");
}

function Item({ item }) {
  if (item.type === "function_call") {
    return html`<li class="item tool-call"><div class="meta">tool call · <code>${item.name}</code> · ${item.call_id}</div><pre>${item.arguments}</pre></li>`;
  }
  if (item.type === "function_call_output") {
    return html`<li class="item tool-output"><div class="meta">tool output · ${item.call_id}</div><pre>${typeof item.output === "string" ? item.output : JSON.stringify(item.output, null, 2)}</pre></li>`;
  }
  if (item.type === "message") {
    return html`<li class=${"item message " + item.role}><div class="meta">${item.role}${item.created_at ? " · " + when(item.created_at) : ""}</div><p>${contentText(item.content)}</p></li>`;
  }
  return html`<li class="item other"><div class="meta">${item.type}</div><${Json} value=${item}/></li>`;
}

export function ConversationView({ cred, id }) {
  const [data, error] = useLoad(async () => {
    const [conv, items] = await Promise.all([call(cred, "GET", `/v1/conversations/${enc(id)}`),
      call(cred, "GET", `/v1/conversations/${enc(id)}/items`, { query: { order: "asc", limit: 100 } })]);
    return { conv, items };
  }, [id]);
  const [actionError, setActionError] = useState(null);
  const admin = cred.caps.tenant === "admin";
  const remove = async () => {
    if (!confirm(`Delete the conversation ${id} and its items?`)) return;
    try { await call(cred, "DELETE", `/v1/conversations/${enc(id)}`); go("/conversations"); } catch (e) { setActionError(e); }
  };
  return html`<section>
    <div class="title-row"><h1>Conversation ${id}</h1><span class="buttons">
      ${admin ? html`<a href=${"#/audit?conversation=" + enc(id)}>Audit trail</a> <button class="danger" onClick=${remove}>Delete</button>` : null}</span></div>
    <${ErrorBox} error=${error || actionError}/>
    ${data ? html`<p>Created ${when(data.conv.created_at)} · metadata: ${Object.entries(data.conv.metadata || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}</p>
      <ol class="timeline" data-testid="timeline" aria-label="Items, oldest first">${data.items.data.map((it) => html`<${Item} item=${it}/>`)}</ol>
      ${data.items.has_more ? html`<p class="hint">The first 100 items are shown.</p>` : null}` : null}
  </section>`;
}

export function AuditView({ cred, conversation }) {
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [conv, setConv] = useState(conversation);
  const [op, setOp] = useState("");
  const [applied, setApplied] = useState({ since: "", until: "" });
  const [page, error, , reload] = useLoad(async () => {  // oldest first from the API: read on, keep the newest 1,000
    let data = [], after, more = true;
    for (let i = 0; more && i < 20; i++) {
      const r = await call(cred, "GET", "/audit", { query: { limit: 1000, since: applied.since, until: applied.until, after } });
      data = data.concat(r.data).slice(-1000); more = r.has_more; after = r.last_id;
    }
    return { data: data.reverse() };
  }, [applied.since, applied.until]);
  const rows = (page?.data || []).filter((r) => (!conv || r.conversation_id === conv) && (!op || (r.operation || "").includes(op)));
  return html`<section>
    <h1>Audit log</h1>
    <form class="row" onSubmit=${(e) => { e.preventDefault(); if (since === applied.since && until === applied.until) reload(); else setApplied({ since, until }); }} aria-label="Filter the audit log">
      <div class="field"><label for="audit-since">Since (ISO time)</label><input id="audit-since" value=${since} onInput=${(e) => setSince(e.target.value)}/></div>
      <div class="field"><label for="audit-until">Until (ISO time)</label><input id="audit-until" value=${until} onInput=${(e) => setUntil(e.target.value)}/></div>
      <div class="field"><label for="audit-conv">Conversation</label><input id="audit-conv" value=${conv} onInput=${(e) => setConv(e.target.value)}/></div>
      <div class="field"><label for="audit-op">Operation contains</label><input id="audit-op" value=${op} onInput=${(e) => setOp(e.target.value)}/></div>
      <button type="submit">Apply</button>
    </form>
    <${ErrorBox} error=${error}/>
    ${page ? html`<div class="table-wrap"><table class="grid" data-testid="audit-table"><thead><tr><th scope="col">When</th><th scope="col">Operation</th><th scope="col">Outcome</th><th scope="col">Key</th><th scope="col">Conversation</th><th scope="col">Request</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td>${when(r.at_ms)}</td><td>${r.operation}</td><td>${r.outcome}</td><td>${r.key_id}</td>
        <td>${r.conversation_id ? html`<a href=${"#/conversations/" + enc(r.conversation_id)}>${r.conversation_id}</a>` : ""}</td><td>${r.request_id}</td></tr>`)}</tbody></table>
      ${rows.length === 0 ? html`<p class="empty">No audit event matches.</p>` : null}</div>` : null}
  </section>`;
}

export function KeysView({ cred }) {
  const [tick, setTick] = useState(0);
  const [keys, error] = useLoad(() => call(cred, "GET", "/v1/keys"), [tick]);
  const [scopes, setScopes] = useState("read");
  const [name, setName] = useState("");
  const [created, setCreated] = useState(null);
  const [actionError, setActionError] = useState(null);
  const create = async (e) => {
    e.preventDefault(); setActionError(null);
    try { setCreated(await call(cred, "POST", "/v1/keys", { body: { scopes: [scopes], name: name || undefined } })); setTick(tick + 1); } catch (err) { setActionError(err); }
  };
  const revoke = async (id) => {
    if (!confirm(`Revoke the key ${id}? Clients using it stop working at once.`)) return;
    try { await call(cred, "DELETE", `/v1/keys/${enc(id)}`); setTick(tick + 1); } catch (err) { setActionError(err); }
  };
  return html`<section>
    <h1>Tenant keys</h1>
    <form class="row" onSubmit=${create} aria-label="Create a key">
      <div class="field"><label for="key-scope">Scope</label><select id="key-scope" value=${scopes} onChange=${(e) => setScopes(e.target.value)}>
        <option value="read">read</option><option value="write">write</option><option value="admin">admin</option></select></div>
      <div class="field"><label for="key-name">Name</label><input id="key-name" value=${name} onInput=${(e) => setName(e.target.value)}/></div>
      <button type="submit">Create key</button>
    </form>
    ${created ? html`<p class="ok" role="status">New key (shown once): <code data-testid="new-key">${created.key}</code></p>` : null}
    <${ErrorBox} error=${error || actionError}/>
    ${keys ? html`<div class="table-wrap"><table class="grid" data-testid="keys-table"><thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Tenant</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Revoked</th><th scope="col">Actions</th></tr></thead>
      <tbody>${keys.data.map((k) => html`<tr><td>${k.id}</td><td>${k.name || ""}</td><td>${k.tenant}</td><td>${k.scopes.join(", ")}</td><td>${when(k.created_at)}</td><td>${when(k.revoked_at)}</td>
        <td>${k.revoked_at ? "" : html`<button class="danger" onClick=${() => revoke(k.id)}>Revoke</button>`}</td></tr>`)}</tbody></table></div>` : null}
  </section>`;
}
