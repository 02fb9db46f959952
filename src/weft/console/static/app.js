// The weft console: sign-in, navigation and the views. Preact + htm, no build step (docs/console.md).
import { html, render, useState } from "./vendor/htm-preact-standalone.js";
import { loadCredential, saveCredential, forgetCredential, probe } from "./api.js";
import { ErrorBox, useRoute, go } from "./ui.js";
import { SearchView } from "./search.js";
import { IndexesView, DesignerView, DocumentsView } from "./indexes.js";
import { IndexersView, IndexerView, DataSourceView } from "./indexers.js";
import { ConversationsView, ConversationView, AuditView, KeysView } from "./conversations.js";
import { StatsView } from "./stats.js";

function SignIn({ onDone }) {
  const [kind, setKind] = useState("key");
  const [secret, setSecret] = useState("");
  const [tenant, setTenant] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    const cred = kind === "key" ? { apiKey: secret.trim() } : { token: secret.trim() };
    if (tenant.trim()) cred.tenant = tenant.trim();
    try {
      const caps = await probe(cred);
      if (!caps.search && !caps.tenant && !caps.metrics) throw new Error("weft accepts this credential for none of its APIs (wrong key or token?).");
      const signed = { ...cred, caps };
      saveCredential(signed);
      onDone(signed);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return html`<main class="signin">
    <h1>weft console</h1>
    <form onSubmit=${submit} aria-label="Sign in">
      <fieldset><legend>Sign in with</legend>
        <label><input type="radio" name="kind" value="key" checked=${kind === "key"} onChange=${() => setKind("key")}/> an api-key</label>
        <label><input type="radio" name="kind" value="token" checked=${kind === "token"} onChange=${() => setKind("token")}/> a bearer token</label>
      </fieldset>
      <div class="field"><label for="secret">${kind === "key" ? "API key" : "Bearer token"}</label>
        <input id="secret" type="password" autocomplete="off" required value=${secret} onInput=${(e) => setSecret(e.target.value)}/></div>
      <div class="field"><label for="tenant">Tenant (optional: the admin key acting for a tenant on the conversation APIs)</label>
        <input id="tenant" value=${tenant} onInput=${(e) => setTenant(e.target.value)}/></div>
      <button type="submit" disabled=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
      <p class="hint">The key stays in this tab (sessionStorage) and is sent only to this weft server, in a header.</p>
      <${ErrorBox} error=${error}/>
    </form>
  </main>`;
}

const NAV = [
  ["/search", "Search explorer", (c) => c.search],
  ["/indexes", "Indexes", (c) => c.search === "admin"],
  ["/indexers", "Indexers", (c) => c.search === "admin"],
  ["/conversations", "Conversations", (c) => c.tenant],
  ["/audit", "Audit log", (c) => c.tenant === "admin"],
  ["/keys", "Keys", (c) => c.tenant === "admin"],
  ["/stats", "Stats & health", () => true],
];

function Shell({ cred, onSignOut }) {
  const route = useRoute();
  const caps = cred.caps;
  const [path, qs] = route.split("?");
  const params = new URLSearchParams(qs || "");
  const seg = path.split("/").filter(Boolean).map(decodeURIComponent);
  const admin = caps.search === "admin";
  let view;
  if (seg[0] === "search" && caps.search) view = html`<${SearchView} cred=${cred} initialIndex=${params.get("index") || ""}/>`;
  else if (seg[0] === "indexes" && admin && seg[1] === "new") view = html`<${DesignerView} cred=${cred} name=${null}/>`;
  else if (seg[0] === "indexes" && admin && seg[2] === "docs") view = html`<${DocumentsView} cred=${cred} name=${seg[1]}/>`;
  else if (seg[0] === "indexes" && admin && seg[1]) view = html`<${DesignerView} cred=${cred} name=${seg[1]}/>`;
  else if (seg[0] === "indexes" && admin) view = html`<${IndexesView} cred=${cred}/>`;
  else if (seg[0] === "indexers" && admin && seg[1]) view = html`<${IndexerView} cred=${cred} name=${seg[1]}/>`;
  else if (seg[0] === "indexers" && admin) view = html`<${IndexersView} cred=${cred}/>`;
  else if (seg[0] === "datasources" && admin && seg[1]) view = html`<${DataSourceView} cred=${cred} name=${seg[1]}/>`;
  else if (seg[0] === "conversations" && caps.tenant && seg[1]) view = html`<${ConversationView} cred=${cred} id=${seg[1]}/>`;
  else if (seg[0] === "conversations" && caps.tenant) view = html`<${ConversationsView} cred=${cred}/>`;
  else if (seg[0] === "audit" && caps.tenant === "admin") view = html`<${AuditView} cred=${cred} conversation=${params.get("conversation") || ""}/>`;
  else if (seg[0] === "keys" && caps.tenant === "admin") view = html`<${KeysView} cred=${cred}/>`;
  else if (seg[0] === "stats") view = html`<${StatsView} cred=${cred}/>`;
  else {
    const first = NAV.find(([, , ok]) => ok(caps));
    view = html`<p>Nothing here for this credential. <a href=${"#" + first[0]}>${first[1]}</a></p>`;
  }
  const who = [caps.search && `search: ${caps.search === "admin" ? "admin" : "read-only"}`, caps.tenant && (caps.tenant === "admin" ? "tenant admin" : "tenant key")].filter(Boolean).join(" · ");
  return html`<div class="shell">
    <header>
      <a class="brand" href="#/search">weft</a>
      <nav aria-label="Views"><ul>
        ${NAV.filter(([, , ok]) => ok(caps)).map(([href, label]) => html`<li><a href=${"#" + href}
          aria-current=${path.startsWith(href) ? "page" : undefined}>${label}</a></li>`)}
      </ul></nav>
      <div class="who"><span data-testid="who">${who}</span><button class="link" onClick=${onSignOut}>Sign out</button></div>
    </header>
    <main id="main">${view}</main>
  </div>`;
}

function App() {
  const [cred, setCred] = useState(loadCredential());
  if (!cred) return html`<${SignIn} onDone=${(c) => { setCred(c); if (!location.hash) go(c.caps.search ? "/search" : c.caps.tenant ? "/conversations" : "/stats"); }}/>`;
  return html`<${Shell} cred=${cred} onSignOut=${() => { forgetCredential(); setCred(null); }}/>`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App}/>`, root);
