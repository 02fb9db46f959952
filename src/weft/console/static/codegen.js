// The explorer's form -> the search request body, the REST request and the Python SDK call that do the same.
import { API_VERSION } from "./api.js";

const lines = (s) => (s || "").split(/\n/).map((x) => x.trim()).filter(Boolean);
const csv = (s) => (s || "").split(",").map((x) => x.trim()).filter(Boolean);

export const EMPTY_QUERY = {
  search: "*", queryType: "", searchMode: "", searchFields: "", filter: "", orderby: "", select: "",
  top: "10", skip: "0", count: true, facets: "", highlight: "", highlightPreTag: "", highlightPostTag: "",
  scoringProfile: "", scoringParameters: "", minimumCoverage: "", scoringStatistics: "", sessionId: "",
  semanticConfiguration: "", semanticQuery: "", answers: "", captions: "", semanticErrorHandling: "",
  semanticMaxWaitInMilliseconds: "", vectorText: "", vectorFields: "", vectorK: "", vectorExhaustive: false,
  vectorWeight: "", vectorFilterMode: "",
};

export function buildBody(q) {
  const b = {};
  const str = (name) => { if (q[name] !== "" && q[name] !== undefined && q[name] !== null) b[name] = q[name]; };
  const num = (name) => { if (q[name] !== "" && q[name] !== undefined) b[name] = Number(q[name]); };
  str("search");
  for (const n of ["queryType", "searchMode", "searchFields", "filter", "orderby", "select", "highlight",
    "highlightPreTag", "highlightPostTag", "scoringProfile", "scoringStatistics", "sessionId",
    "semanticConfiguration", "semanticQuery", "answers", "captions", "semanticErrorHandling", "vectorFilterMode"]) str(n);
  num("top"); num("skip"); num("minimumCoverage"); num("semanticMaxWaitInMilliseconds");
  if (q.count) b.count = true;
  const facets = lines(q.facets);
  if (facets.length) b.facets = facets;
  const sp = lines(q.scoringParameters);
  if (sp.length) b.scoringParameters = sp;
  if (q.vectorText) {
    const v = { kind: "text", text: q.vectorText };
    if (q.vectorFields) v.fields = q.vectorFields;
    if (q.vectorK) v.k = Number(q.vectorK);
    if (q.vectorExhaustive) v.exhaustive = true;
    if (q.vectorWeight) v.weight = Number(q.vectorWeight);
    b.vectorQueries = [v];
  }
  return b;
}

export function restRequest(origin, index, body) {
  const path = `/indexes/${encodeURIComponent(index || "<index>")}/docs/search?api-version=${API_VERSION}`;
  return `POST ${origin}${path}\nContent-Type: application/json\napi-key: <your key>\n\n${JSON.stringify(body, null, 2)}`;
}

const py = (v) => {
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return "[" + v.map(py).join(", ") + "]";
  return JSON.stringify(String(v));
};

export function pythonCall(origin, index, body) {
  const args = [];
  const put = (name, value) => { if (value !== undefined) args.push(`    ${name}=${py(value)},`); };
  const first = body.search !== undefined ? py(body.search) : "None";
  put("query_type", body.queryType); put("search_mode", body.searchMode);
  if (body.searchFields) put("search_fields", csv(body.searchFields));
  put("filter", body.filter);
  if (body.orderby) put("order_by", csv(body.orderby));
  if (body.select) put("select", csv(body.select));
  put("top", body.top); put("skip", body.skip);
  if (body.count) put("include_total_count", true);
  put("facets", body.facets);
  put("highlight_fields", body.highlight); put("highlight_pre_tag", body.highlightPreTag); put("highlight_post_tag", body.highlightPostTag);
  put("scoring_profile", body.scoringProfile); put("scoring_parameters", body.scoringParameters);
  put("minimum_coverage", body.minimumCoverage); put("scoring_statistics", body.scoringStatistics); put("session_id", body.sessionId);
  put("semantic_configuration_name", body.semanticConfiguration); put("semantic_query", body.semanticQuery);
  if (body.answers) {
    const [kind, ...opts] = body.answers.split("|");
    put("query_answer", kind);
    for (const o of opts) { const m = /^count-(\d+)$/.exec(o); if (m) put("query_answer_count", Number(m[1])); const t = /^threshold-([\d.]+)$/.exec(o); if (t) put("query_answer_threshold", Number(t[1])); }
  }
  if (body.captions) {
    const [kind, ...opts] = body.captions.split("|");
    put("query_caption", kind);
    for (const o of opts) { const m = /^highlight-(true|false)$/.exec(o); if (m) put("query_caption_highlight_enabled", m[1] === "true"); }
  }
  put("semantic_error_mode", body.semanticErrorHandling); put("semantic_max_wait_in_milliseconds", body.semanticMaxWaitInMilliseconds);
  put("vector_filter_mode", body.vectorFilterMode);
  let imports = "from azure.core.credentials import AzureKeyCredential\nfrom azure.search.documents import SearchClient\n";
  if (body.vectorQueries) {
    imports += "from azure.search.documents.models import VectorizableTextQuery\n";
    const v = body.vectorQueries[0];
    const parts = [`text=${py(v.text)}`];
    if (v.k !== undefined) parts.push(`k_nearest_neighbors=${v.k}`);
    if (v.fields) parts.push(`fields=${py(v.fields)}`);
    if (v.exhaustive) parts.push("exhaustive=True");
    if (v.weight !== undefined) parts.push(`weight=${v.weight}`);
    args.push(`    vector_queries=[VectorizableTextQuery(${parts.join(", ")})],`);
  }
  return `${imports}\nclient = SearchClient(${py(origin)}, ${py(index || "<index>")}, AzureKeyCredential("<your key>"))\n` +
    `results = client.search(\n    ${first},\n${args.join("\n")}${args.length ? "\n" : ""})\n` +
    `for doc in results:\n    print(doc)`;
}

// A facet bucket -> the OData clause that keeps only its documents.
export function facetClause(field, bucket) {
  const lit = (v) => (typeof v === "string" ? `'${v.replace(/'/g, "''")}'` : String(v));
  if (bucket.value !== undefined) {
    if (typeof bucket.value === "string" && !/^\d{4}-\d\d-\d\dT/.test(bucket.value)) return `${field} eq ${lit(bucket.value)}`;
    return `${field} eq ${bucket.value}`;
  }
  const parts = [];
  if (bucket.from !== undefined) parts.push(`${field} ge ${lit(bucket.from)}`);
  if (bucket.to !== undefined) parts.push(`${field} lt ${lit(bucket.to)}`);
  return parts.join(" and ");
}
