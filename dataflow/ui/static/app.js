// The DataFlow UI: plain JavaScript over the JSON API of dataflow/ui/server.py. No framework, no build.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("dataflow-token") || "";
if (TOKEN) sessionStorage.setItem("dataflow-token", TOKEN);
const BUILDER_KEY = "dataflow-ui-builder";
const AGENT_KEY = "dataflow-ui-agent";

const $ = (id) => document.getElementById(id);
let OPS = [];            // operator metadata from /api/ops
let OPS_BY_NAME = {};
let INPUT_COLUMNS = [];  // columns of the spec's input
let COMPILED = null;     // last compile answer (per-step outputs)
let state = {path: "pipeline.yaml", spec: {name: "", input: "", output: "", steps: []}};
let polling = null;

// ------------------------------------------------------------------ helpers
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function api(path, body) {
  const opts = {headers: {}};
  if (TOKEN) opts.headers["X-Dataflow-Token"] = TOKEN;
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  let data;
  try { data = await resp.json(); } catch (e) { data = {error: `HTTP ${resp.status}`}; }
  if (!resp.ok) throw new Error(data.error || `HTTP ${resp.status}`);
  return data;
}

function q(params) {
  const p = new URLSearchParams(params);
  if (TOKEN) p.set("token", TOKEN);
  return p.toString();
}

function showError(err) { $("global-error").textContent = err ? String(err.message || err) : ""; }

function save() { localStorage.setItem(BUILDER_KEY, JSON.stringify(state)); }

// ------------------------------------------------------------------ operators
function opMatches(op, words) {
  const hay = `${op.name} ${op.kind} ${op.domain} ${op.summary}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}

function renderOps() {
  const words = $("op-search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = OPS.filter((op) => opMatches(op, words));
  $("op-count").textContent = `${shown.length} of ${OPS.length} operators`;
  const list = $("op-list");
  list.replaceChildren(...shown.slice(0, 300).map((op) => el("li", {"data-op": op.name, onclick: () => showOp(op.name)},
    el("button", {class: "add-op", title: `add ${op.name} to the pipeline`, "data-op": op.name,
                  onclick: (e) => { e.stopPropagation(); addStep(op.name); }}, "+ add"),
    el("span", {class: "name", text: op.name}),
    el("span", {class: "badge", text: op.kind}), el("span", {class: "badge", text: op.domain}),
    op.needs_llm ? el("span", {class: "badge llm", text: "llm"}) : null,
    el("div", {class: "summary", text: op.summary}))));
}

function showOp(name) {
  const op = OPS_BY_NAME[name];
  document.querySelectorAll("#op-list li").forEach((li) => li.classList.toggle("selected", li.dataset.op === name));
  const props = (op.params && op.params.properties) || {};
  const required = new Set((op.params && op.params.required) || []);
  $("op-detail").replaceChildren(el("div", {},
    el("h2", {text: op.name}),
    el("div", {class: "row"}, el("button", {onclick: () => addStep(name)}, "Add to pipeline")),
    el("pre", {text: op.description}),
    el("h3", {text: "params"}),
    el("table", {}, Object.entries(props).map(([k, p]) => el("tr", {},
      el("td", {text: k}), el("td", {text: typeName(p)}),
      el("td", {text: required.has(k) ? "required" : `default ${JSON.stringify(p.default)}`})))),
    el("h3", {text: "bindings"}),
    el("table", {}, Object.entries(op.run_args).map(([k, b]) => el("tr", {},
      el("td", {text: k}), el("td", {text: `${b.role} ${b.dtype}`}), el("td", {text: `default ${JSON.stringify(b.default)}`})))),
    op.resources.length ? el("p", {class: "muted", text: `uses: ${op.resources.join(", ")}`}) : null));
}

function typeName(p) {
  if (p.enum) return p.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (p.type) return p.type;
  if (p.anyOf) return p.anyOf.map((a) => a.type || (a.enum ? "enum" : "?")).join(" | ");
  return "any";
}

// ------------------------------------------------------------------ the pipeline builder
function addStep(name) {
  state.spec.steps.push({op: name, params: {}, run: {}});
  COMPILED = null;
  renderSteps();
  save();
}

function moveStep(i, delta) {
  const steps = state.spec.steps, j = i + delta;
  if (j < 0 || j >= steps.length) return;
  [steps[i], steps[j]] = [steps[j], steps[i]];
  COMPILED = null;
  renderSteps();
  save();
}

function removeStep(i) {
  state.spec.steps.splice(i, 1);
  COMPILED = null;
  renderSteps();
  save();
}

function outputsOf(i) {
  // Columns step i writes: from the last compile when it is current, else from its output bindings.
  if (COMPILED && COMPILED.steps && COMPILED.steps[i]) return COMPILED.steps[i].outputs;
  const step = state.spec.steps[i], op = OPS_BY_NAME[step.op];
  if (!op) return [];
  return Object.entries(op.run_args).filter(([, b]) => b.role === "output")
    .map(([k, b]) => step.run[k] || b.default).filter(Boolean);
}

function suggestions(i) {
  const cols = new Set(INPUT_COLUMNS);
  for (let j = 0; j < i; j++) outputsOf(j).forEach((c) => cols.add(c));
  return [...cols];
}

function paramField(step, name, prop, required) {
  const types = prop.type ? [prop.type] : (prop.anyOf || []).map((a) => a.type).filter(Boolean);
  const enumValues = prop.enum || ((prop.anyOf || []).find((a) => a.enum) || {}).enum;
  const has = Object.prototype.hasOwnProperty.call(step.params, name);
  const value = has ? step.params[name] : undefined;
  const set = (v) => { if (v === undefined) delete step.params[name]; else step.params[name] = v; COMPILED = null; save(); };
  let input;
  if (enumValues) {
    input = el("select", {"data-param": name, onchange: (e) => set(e.target.value === "" ? undefined : JSON.parse(e.target.value))},
      el("option", {value: "", text: required ? "(choose)" : `default ${JSON.stringify(prop.default)}`}),
      enumValues.map((v) => el("option", {value: JSON.stringify(v), text: String(v), selected: has && value === v})));
  } else if (types.includes("boolean") && types.filter((t) => t !== "null").length === 1) {
    input = el("select", {"data-param": name, onchange: (e) => set(e.target.value === "" ? undefined : e.target.value === "true")},
      el("option", {value: "", text: `default ${JSON.stringify(prop.default)}`}),
      el("option", {value: "true", text: "true", selected: has && value === true}),
      el("option", {value: "false", text: "false", selected: has && value === false}));
  } else if (types.includes("array") || types.includes("object") || (!types.length && !enumValues)) {
    input = el("textarea", {"data-param": name, rows: 1, placeholder: required ? "required (JSON)" : JSON.stringify(prop.default),
      onchange: (e) => { const t = e.target.value.trim(); try { set(t ? JSON.parse(t) : undefined); e.target.classList.remove("bad"); } catch (err) { set(t); } }});
    input.value = has ? JSON.stringify(value) : "";
  } else {
    const numeric = types.includes("integer") || types.includes("number");
    input = el("input", {"data-param": name, type: numeric && !types.includes("string") ? "number" : "text",
      step: types.includes("integer") ? "1" : "any",
      placeholder: required ? "required" : (prop.default === null || prop.default === undefined ? "" : String(prop.default)),
      onchange: (e) => {
        const t = e.target.value;
        if (t === "") return set(undefined);
        if (numeric && t.trim() !== "" && !isNaN(Number(t))) return set(types.includes("integer") && !t.includes(".") ? parseInt(t, 10) : Number(t));
        set(t);
      }});
    input.value = has && value !== null ? String(value) : "";
  }
  return el("label", {title: prop.description || ""}, el("span", {}, name, " ", el("span", {class: "kind", text: typeName(prop)})), input);
}

function bindingField(step, i, name, b) {
  const listId = `cols-${i}`;
  const input = el("input", {"data-bind": name, list: b.role === "input" ? listId : null, placeholder: String(b.default ?? ""),
    onchange: (e) => { if (e.target.value) step.run[name] = e.target.value; else delete step.run[name]; COMPILED = null; save(); }});
  input.value = step.run[name] || "";
  return el("label", {title: b.description || ""}, el("span", {}, name, " ", el("span", {class: "kind", text: `${b.role} ${b.dtype}`})), input);
}

function renderSteps() {
  const list = $("steps");
  $("steps-empty").hidden = state.spec.steps.length > 0;
  list.replaceChildren(...state.spec.steps.map((step, i) => {
    const op = OPS_BY_NAME[step.op];
    const props = op ? (op.params.properties || {}) : {};
    const required = new Set(op ? (op.params.required || []) : []);
    return el("li", {class: "step", "data-index": i, "data-op": step.op},
      el("div", {class: "step-head"},
        el("span", {class: "title", text: `${i + 1}. ${step.op}`}),
        el("span", {class: "badge", text: op ? op.kind : step.op.includes(":") ? "from a file" : "unknown operator"}),
        el("button", {class: "up", title: "move up", onclick: () => moveStep(i, -1), disabled: i === 0}, "↑"),
        el("button", {class: "down", title: "move down", onclick: () => moveStep(i, 1), disabled: i === state.spec.steps.length - 1}, "↓"),
        el("button", {class: "remove", title: "remove", onclick: () => removeStep(i)}, "✕")),
      el("div", {class: "step-error"}),
      Object.keys(props).length ? el("fieldset", {}, el("legend", {text: "params"}),
        el("div", {class: "fields"}, Object.entries(props).map(([k, p]) => paramField(step, k, p, required.has(k))))) : null,
      op ? el("fieldset", {}, el("legend", {text: "columns"}),
        el("div", {class: "fields"}, Object.entries(op.run_args).map(([k, b]) => bindingField(step, i, k, b)))) : null,
      el("datalist", {id: `cols-${i}`}, suggestions(i).map((c) => el("option", {value: c}))));
  }));
}

function readSpecFields() {
  const s = state.spec;
  s.name = $("spec-name").value.trim() || undefined;
  s.input = $("spec-input").value.trim();
  s.output = $("spec-output").value.trim() || undefined;
  const chunk = $("spec-chunk").value.trim();
  if (chunk) s.chunk_size = parseInt(chunk, 10); else delete s.chunk_size;
  state.path = $("spec-path").value.trim();
  save();
}

function specToSend() {
  readSpecFields();
  const s = state.spec, out = {};
  for (const k of Object.keys(s)) if (s[k] !== undefined && s[k] !== "" && k !== "steps") out[k] = s[k];
  out.steps = s.steps.map((st) => {
    const step = {op: st.op};
    if (Object.keys(st.params).length) step.params = st.params;
    if (Object.keys(st.run).length) step.run = st.run;
    return step;
  });
  return out;
}

function loadSpec(spec, path) {
  state.spec = Object.assign({}, spec, {steps: (spec.steps || []).map((s) => ({op: s.op, params: s.params || {}, run: s.run || {}}))});
  if (path) state.path = path;
  renderSpecFields();
  COMPILED = null;
  refreshColumns().then(renderSteps);
  clearProblems();
  save();
}

function renderSpecFields() {
  const s = state.spec;
  $("spec-path").value = state.path || "";
  $("spec-name").value = s.name || "";
  $("spec-input").value = s.input || "";
  $("spec-output").value = s.output || "";
  $("spec-chunk").value = s.chunk_size || "";
  renderSteps();
}

async function refreshColumns() {
  readSpecFields();
  INPUT_COLUMNS = [];
  $("input-columns").textContent = "";
  if (!state.spec.input) return;
  // The input is read from the spec's folder, as the engine reads it.
  const dir = state.path.includes("/") ? state.path.slice(0, state.path.lastIndexOf("/") + 1) : "";
  try {
    INPUT_COLUMNS = await api(`/api/columns?${q({path: dir + state.spec.input})}`);
    $("input-columns").textContent = `input columns: ${INPUT_COLUMNS.join(", ")}`;
  } catch (err) {
    $("input-columns").textContent = `input: ${err.message}`;
  }
}

// ------------------------------------------------------------------ compile and run
function clearProblems() {
  document.querySelectorAll(".step").forEach((li) => { li.classList.remove("has-error"); li.querySelector(".step-error").textContent = ""; });
  $("pipeline-problems").replaceChildren();
  $("compile-status").textContent = "";
}

function showProblems(problems) {
  clearProblems();
  for (const p of problems) {
    const li = p.step ? document.querySelector(`.step[data-index="${p.step - 1}"]`) : null;
    const line = `${p.level}: ${p.message}`;
    if (li) {
      if (p.level === "error") li.classList.add("has-error");
      const box = li.querySelector(".step-error");
      box.append(el("div", {class: p.level === "error" ? "" : "step-warning", text: line}));
    } else {
      $("pipeline-problems").append(el("div", {class: p.level === "error" ? "error" : "step-warning", text: line}));
    }
  }
}

async function compile() {
  showError("");
  try {
    const res = await api("/api/compile", {path: state.path, spec: specToSend()});
    showProblems(res.problems || []);
    if (res.ok) { COMPILED = res; renderSteps(); showProblems(res.problems || []); }
    $("compile-status").className = res.ok ? "ok" : "error";
    $("compile-status").textContent = res.ok ? `compiles: ${res.steps.length} steps` : "does not compile";
    return res;
  } catch (err) { showError(err); return null; }
}

async function run(resume) {
  showError("");
  $("run-error").hidden = true;
  try {
    const res = await api("/api/run", {path: state.path, spec: specToSend(), resume: !!resume});
    showProblems(res.problems || []);
    if (!res.started) {
      $("compile-status").className = "error";
      $("compile-status").textContent = "does not compile";
      return;
    }
    $("compile-status").className = "ok";
    $("compile-status").textContent = resume ? "resumed" : "started";
    poll();
  } catch (err) { showError(err); }
}

async function stop() {
  try { renderRun(await api("/api/run/stop", {})); } catch (err) { showError(err); }
}

function poll() {
  if (polling) clearTimeout(polling);
  const tick = async () => {
    try {
      const st = await api("/api/run");
      renderRun(st);
      if (st.state === "running") polling = setTimeout(tick, 300);
    } catch (err) { showError(err); }
  };
  tick();
}

function renderRun(st) {
  const box = $("run-state");
  box.className = st.state === "failed" ? "error" : st.state === "completed" ? "ok" : "muted";
  box.dataset.state = st.state;
  if (st.state === "idle") { box.textContent = "no run yet"; return; }
  box.textContent = `${st.state} · ${st.spec} · ${st.seconds}s` + (st.state === "stopped" ? " · Resume continues from the chunks already done" : "");
  const total = st.chunks;
  $("progress").replaceChildren(...(st.steps || []).map((s) => el("div", {class: "bar", "data-step": s.index},
    el("span", {text: `${s.index}. ${s.op}`}),
    el("progress", {max: total || 1, value: total ? s.done : 0}),
    el("span", {class: "count", text: total ? `${s.done}/${total} chunks` : "…"}))));
  const err = $("run-error");
  err.hidden = !st.error;
  err.textContent = st.error || "";
  $("stop").disabled = st.state !== "running";
  $("resume").disabled = !(st.state === "stopped" || st.state === "failed");
  if (st.cache_dir) {
    $("cache-dir").value = st.cache_dir;
    updateReportLink();
    if (st.state === "completed") fillBrowseSteps(st.steps || []);
  }
}

// ------------------------------------------------------------------ results
function updateReportLink() {
  const cache = $("cache-dir").value.trim();
  $("open-report").href = cache ? `/report?${q({cache})}` : "#";
}

function fillBrowseSteps(steps) {
  const sel = $("browse-step"), keep = sel.value;
  sel.replaceChildren(el("option", {value: "", text: "all steps"}),
    ...steps.map((s) => el("option", {value: s.index, text: `${s.index}. ${s.op}`})));
  sel.value = keep;
}

async function why() {
  const cache = $("cache-dir").value.trim(), row = $("row-id").value.trim();
  try {
    const res = await api(`/api/row?${q({cache, row})}`);
    $("row-answer").textContent = res.text;
  } catch (err) { $("row-answer").textContent = err.message; }
}

async function browse(kind) {
  const cache = $("cache-dir").value.trim(), step = $("browse-step").value;
  const params = {cache, limit: 50};
  if (step) params.step = step;
  try {
    const rows = await api(`/api/${kind}?${q(params)}`);
    const table = $("browse-table");
    table.replaceChildren(el("tr", {}, ["row", "step", "reason", "record"].map((h) => el("th", {text: h}))),
      ...rows.map((r) => el("tr", {},
        el("td", {text: String(r.row_id ?? r.line ?? r.row ?? "")}), el("td", {text: r.step === undefined || r.step === null ? "input" : `${r.step} ${r.op || ""}`}),
        el("td", {text: String(r.reason)}), el("td", {class: "rec", text: JSON.stringify(r.record || r.raw).slice(0, 400)}))));
    if (!rows.length) table.append(el("tr", {}, el("td", {colspan: 4, class: "muted", text: `no ${kind} rows`})));
  } catch (err) { showError(err); }
}

// ------------------------------------------------------------------ the agent
function renderAgent(saved) {
  if (!saved) return;
  if (saved.request !== undefined) $("agent-request").value = saved.request;
  if (saved.input) $("agent-input").value = saved.input;
  if (saved.path) $("agent-spec").value = saved.path;
  const a = saved.answer;
  if (a) $("agent-answer").replaceChildren(el("div", {class: a.ok ? "ok" : "error", text: a.message}),
    a.report ? el("pre", {text: a.report}) : null,
    a.spec ? el("button", {onclick: () => loadSpec(a.spec, a.path)}, "Load this spec again") : null);
}

async function askAgent() {
  const saved = {request: $("agent-request").value.trim(), input: $("agent-input").value.trim(), path: $("agent-spec").value.trim()};
  localStorage.setItem(AGENT_KEY, JSON.stringify(saved));
  $("agent-answer").replaceChildren(el("div", {class: "muted", text: "the agent is working (plan, dry run, repair)…"}));
  $("agent-ask").disabled = true;
  try {
    const answer = await api("/api/agent", {request: saved.request, input: saved.input, path: saved.path});
    saved.answer = answer;
    localStorage.setItem(AGENT_KEY, JSON.stringify(saved));
    renderAgent(saved);
    if (answer.ok && answer.spec) loadSpec(answer.spec, answer.path);
  } catch (err) {
    $("agent-answer").replaceChildren(el("div", {class: "error", text: err.message}));
  } finally { $("agent-ask").disabled = false; }
}

async function restoreAgent() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(AGENT_KEY) || "null"); } catch (e) { saved = null; }
  if (!saved) {
    try {
      const s = await api("/api/session");
      if (s && s.request) saved = {request: s.request, input: s.input, path: s.path, answer: s};
    } catch (e) { saved = null; }
  }
  renderAgent(saved);
}

// ------------------------------------------------------------------ start-up
async function start() {
  try { const saved = JSON.parse(localStorage.getItem(BUILDER_KEY) || "null"); if (saved && saved.spec) state = saved; } catch (e) { /* a fresh builder */ }
  $("op-search").addEventListener("input", renderOps);
  $("spec-load").addEventListener("click", async () => {
    readSpecFields();
    try { loadSpec(await api(`/api/spec?${q({path: state.path})}`), state.path); $("spec-status").textContent = `loaded ${state.path}`; }
    catch (err) { showError(err); }
  });
  $("spec-save").addEventListener("click", async () => {
    try { const r = await api("/api/spec", {path: $("spec-path").value.trim(), spec: specToSend()}); $("spec-status").textContent = `saved ${r.saved}`; }
    catch (err) { showError(err); }
  });
  $("spec-new").addEventListener("click", () => { state.spec = {name: "", input: "", output: "", steps: []}; renderSpecFields(); clearProblems(); save(); });
  for (const id of ["spec-name", "spec-output", "spec-chunk", "spec-path"]) $(id).addEventListener("change", readSpecFields);
  $("spec-input").addEventListener("change", () => refreshColumns().then(renderSteps));
  $("compile").addEventListener("click", compile);
  $("run").addEventListener("click", () => run(false));
  $("resume").addEventListener("click", () => run(true));
  $("stop").addEventListener("click", stop);
  $("cache-dir").addEventListener("input", updateReportLink);
  $("row-why").addEventListener("click", why);
  $("browse-dropped").addEventListener("click", () => browse("dropped"));
  $("browse-rejects").addEventListener("click", () => browse("rejects"));
  $("agent-ask").addEventListener("click", askAgent);
  $("stop").disabled = true;
  $("resume").disabled = true;
  restoreAgent();
  try {
    const files = await api("/api/files");
    $("root").textContent = files.root;
    $("file-list").replaceChildren(...files.files.map((f) => el("option", {value: f})));
  } catch (err) { showError(err); }
  try {
    OPS = await api("/api/ops");
    OPS_BY_NAME = Object.fromEntries(OPS.map((op) => [op.name, op]));
    renderOps();
  } catch (err) { showError(err); $("op-count").textContent = "operators could not be loaded"; }
  renderSpecFields();
  await refreshColumns();
  renderSteps();
  try { const st = await api("/api/run"); renderRun(st); if (st.state === "running") poll(); } catch (err) { showError(err); }
  document.body.dataset.ready = "1";
}

start();
