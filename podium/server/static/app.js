// Podium chat page: plain JavaScript, no build step. Every run's view is built from its events
// (the same events the CLI and the store read), live over SSE or replayed from the store.
"use strict";

const state = {
  token: localStorage.getItem("podium-token") || "", conversation: null, runs: {}, databases: [],
};
const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// -- API ------------------------------------------------------------------------------------

async function api(path, options = {}) {
  // X-Podium-Client: a header a cross-site form cannot send (the server's CSRF check).
  const headers = { "X-Podium-Client": "page", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  const res = await fetch(path, { ...options, headers });
  if (res.status === 204) return null;
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = body.error || {};
    throw new Error((err.message || res.statusText) + (err.hint ? ` — ${err.hint}` : ""));
  }
  return body;
}

// Reads a run's SSE stream with fetch (so the token header can be sent); ends when the run
// finishes or pauses.
async function follow(runId, after, onEvent) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const res = await fetch(`/api/runs/${runId}/events?after=${after}`, { headers });
  if (!res.ok) throw new Error(`event stream: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

const plural = (n, word, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

// Keep the newest message in view: always when asked (a new turn, an opened conversation),
// otherwise only while the reader is already near the bottom (never yank them back up).
function scrollToEnd(force = false) {
  const gap = document.documentElement.scrollHeight - window.scrollY - window.innerHeight;
  if (force || gap < 160) window.scrollTo(0, document.documentElement.scrollHeight);
}

// Thumbs up/down on an answer or a step: POST {"verdict": "good"|"bad"}.
function feedback(path, label) {
  const box = el("span", { class: "feedback", "data-testid": "feedback" });
  const send = (verdict) => async () => {
    try {
      await api(path, { method: "POST", json: { verdict } });
      box.replaceChildren(el("span", { class: "muted", "data-testid": "feedback-sent" },
        verdict === "good" ? "thanks: marked good" : "thanks: marked bad"));
    } catch (err) {
      showError(err.message);
    }
  };
  box.append(
    el("button", { class: "thumb", title: `${label} was good`, "aria-label": `${label} was good`, "data-testid": "good", onclick: send("good") }, "✓ good"),
    el("button", { class: "thumb", title: `${label} was bad`, "aria-label": `${label} was bad`, "data-testid": "bad", onclick: send("bad") }, "✗ bad"));
  return box;
}

// What each guardian did, in plain words (the score and the category stay in the tooltip).
const GUARDIANS = {
  injection: "Manipulation check", input_limits: "Input check", pii: "Personal-data filter",
  fact_check: "Fact check", documents: "Document screen",
};
function verdictText(ev) {
  const who = GUARDIANS[ev.guardian] || ev.guardian.replace(/_/g, " ");
  const what = ev.stage === "in" ? "your message" : ev.stage === "step" ? "a source" : "the answer";
  if (ev.action === "allow") return `${who}: ${what} passed`;
  if (ev.action === "block") return `${who} stopped ${what}${ev.reason ? `: ${ev.reason}` : ""}`;
  if (ev.action === "transform") return `${who} changed ${what}${ev.reason ? `: ${ev.reason}` : ""}`;
  return `${who} noted something about ${what}${ev.reason ? `: ${ev.reason}` : ""}`;
}

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

// -- one run's view -------------------------------------------------------------------------

class RunView {
  constructor(runId, task) {
    this.runId = runId;
    this.seq = 0;
    this.steps = {};
    this.spent = { ms: 0, tokens: 0, done: 0 };
    this.started = null;
    this.node = el("div", { class: "turn", "data-run-id": runId });
    this.node.append(el("div", { class: "bubble user" }, task));
    this.understood = el("div", { class: "understood muted", "data-testid": "understood", hidden: "" });
    this.node.append(this.understood);
    this.checks = { passed: 0, other: 0 };
    this.status = el("span", { class: "status", "data-testid": "run-status" }, "starting");
    this.plan = el("div", { class: "plan", "data-testid": "plan" });
    this.approvals = el("div", { class: "approvals" });
    this.verdicts = el("ul", { class: "verdicts", "data-testid": "verdicts" });
    this.checkSummary = el("summary", {}, "Checks");
    this.answer = el("div", { class: "answer", "data-testid": "answer" });
    this.sources = el("div", { class: "sources", "data-testid": "sources", hidden: "" });
    this.results = {};  // step id -> {status, output}: what the answer's sources come from
    this.databaseOf = {};  // step id -> the database it asked (from the plan or a note)
    this.rating = el("div", { class: "rating", hidden: "" },
      feedback(`/api/runs/${runId}/feedback`, "This answer"));
    this.meter = el("div", { class: "meter", "data-testid": "meter" });
    this.node.append(
      el("div", { class: "bubble assistant" },
        el("div", { class: "run-head" }, el("span", { class: "muted" }, `run ${runId}`), this.status),
        this.plan, this.approvals, this.answer, this.sources, this.rating,
        el("details", { class: "checks", "data-testid": "checks" }, this.checkSummary, this.verdicts),
        this.meter));
  }

  handle(ev) {
    if (ev.seq && ev.seq <= this.seq) return;
    this.seq = ev.seq || this.seq;
    const fn = this[`on_${ev.type.replace(/\./g, "_")}`];
    if (fn) fn.call(this, ev);
    scrollToEnd();
  }

  setStatus(text) {
    this.status.textContent = text;
    this.status.dataset.state = text;
  }

  on_run_started(ev) { this.started = ev.ts; this.setStatus("planning"); }

  on_followup(ev) {
    this.understood.hidden = false;
    this.understood.textContent = `Understood as: ${ev.task}`;
  }
  on_plan_retry(ev) { this.setStatus(`re-planning (attempt ${ev.attempt})`); }

  on_plan(ev) {
    this.setStatus("running");
    this.plan.replaceChildren();
    const steps = ev.plan.steps || [];
    for (const s of steps) if ((s.args || {}).database) this.databaseOf[s.id] = s.args.database;
    const depth = {};
    const level = (s) => {
      if (depth[s.id] !== undefined) return depth[s.id];
      depth[s.id] = 0;
      const deps = (s.depends_on || []).map((d) => steps.find((x) => x.id === d)).filter(Boolean);
      depth[s.id] = deps.length ? 1 + Math.max(...deps.map(level)) : 0;
      return depth[s.id];
    };
    const rows = [];
    for (const s of steps) (rows[level(s)] ||= []).push(s);
    rows.forEach((row, i) => {
      const line = el("div", { class: "plan-level" });
      if (i > 0) this.plan.append(el("div", { class: "arrow" }, "↓"));
      for (const s of row) line.append(this.stepCard(s));
      this.plan.append(line);
    });
  }

  stepCard(s) {
    const card = el("div", { class: "step", "data-step": s.id, "data-testid": "step", "data-status": "waiting" });
    const view = {
      card,
      status: el("span", { class: "badge" }, "waiting"),
      conf: el("span", { class: "conf" }),
      cost: el("span", { class: "cost" }),
      body: el("div", { class: "step-output" }),
      notes: el("ul", { class: "notes" }),
    };
    card.append(...[
      el("div", { class: "step-head" }, el("b", {}, s.id), " ", el("span", { class: "expert" }, s.expert),
        view.status),
      el("div", { class: "step-input" }, s.input),
      (s.depends_on || []).length ? el("div", { class: "muted" }, `after ${s.depends_on.join(", ")}`) : null,
      el("div", { class: "step-meta" }, view.conf, view.cost),
      view.notes,
      el("details", {}, el("summary", {}, "details"), view.body),
      feedback(`/api/runs/${this.runId}/steps/${s.id}/feedback`, `Step ${s.id}`),
    ].filter(Boolean));
    this.steps[s.id] = view;
    return card;
  }

  step(ev) {
    if (!this.steps[ev.step_id]) {
      this.plan.append(this.stepCard({ id: ev.step_id, expert: ev.expert, input: ev.input || "" }));
    }
    return this.steps[ev.step_id];
  }

  on_step_started(ev) {
    const v = this.step(ev);
    v.card.dataset.status = "running";
    v.status.textContent = "running";
    if (ev.input) v.card.querySelector(".step-input").textContent = ev.input;
  }

  on_step_finished(ev) {
    const v = this.step(ev);
    v.card.dataset.status = ev.status;
    v.status.textContent = ev.status.replace("_", " ");
    v.conf.textContent = `confidence ${(ev.confidence || 0).toFixed(2)}`;
    const ms = (ev.cost || {}).ms;
    v.cost.textContent = ms ? ` · ${Math.round(ms)} ms` : "";
    v.body.replaceChildren(renderOutput(ev.output, ev.error));
    this.results[ev.step_id] = { status: ev.status, output: ev.output };
    const cost = ev.cost || {};
    this.spent.ms += cost.ms || 0;
    this.spent.tokens += (cost.input_tokens || 0) + (cost.output_tokens || 0);
    this.spent.done += 1;
    const wall = this.started ? ` · ${(ev.ts - this.started).toFixed(1)} s so far` : "";
    const tokens = this.spent.tokens ? ` · ${plural(this.spent.tokens, "token")}` : "";
    this.meter.textContent = `${plural(this.spent.done, "step")} done · `
      + `${(this.spent.ms / 1000).toFixed(1)} s expert time${tokens}${wall}`;
  }

  on_expert_note(ev) {
    const v = this.step(ev);
    if (ev.kind === "database" && ev.data && ev.data.database) this.databaseOf[ev.step_id] = ev.data.database;
    v.notes.append(el("li", { class: `note ${ev.kind}`, "data-testid": "note" }, noteText(ev.kind, ev.data || {})));
  }

  on_verdict(ev) {
    const detail = [ev.category, ev.score ? `score ${ev.score.toFixed(2)}` : ""].filter(Boolean).join(", ");
    const item = el("li", { class: `verdict ${ev.action}`, title: detail }, verdictText(ev));
    // The manipulation check on the message can be judged (a false alarm, or an attack it let
    // through): the guard's head learns from it (`podium learn --expert guard`).
    if (ev.stage === "in" && ev.guardian === "injection" && !this.guardJudged) {
      this.guardJudged = true;
      item.append(" ", el("span", { class: "muted" }, "Was this check right? "),
        feedback(`/api/runs/${this.runId}/steps/guard/feedback`, "The manipulation check"));
    }
    this.verdicts.append(item);
    this.checks[ev.action === "allow" ? "passed" : "other"] += 1;
    const { passed, other } = this.checks;
    this.checkSummary.textContent = `Checks: ${passed} passed`
      + (other ? ` · ${plural(other, "note")}` : "");
  }

  on_approval_required(ev) {
    const v = this.step(ev);
    v.card.dataset.status = "awaiting_approval";
    v.status.textContent = "needs approval";
    const box = el("div", { class: "approval", "data-testid": "approval", "data-step": ev.step_id });
    const decide = (approved) => async () => {
      box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      try {
        await api(`/api/runs/${this.runId}/approve`, {
          method: "POST", json: { approvals: { [ev.step_id]: approved } },
        });
        this.setStatus("running");
        await follow(this.runId, this.seq, (e) => this.handle(e));
      } catch (err) {
        showError(err.message);
        box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      }
    };
    box.append(...[
      el("div", {}, `Step ${ev.step_id} (${ev.expert}) ${ev.when === "before" ? "waits for your approval before it runs" : "needs your approval of its result"}: `,
        el("q", {}, ev.input), ev.reason ? ` — ${ev.reason}` : ""),
      ev.output !== null && ev.output !== undefined ? renderOutput(ev.output) : null,
      el("button", { class: "approve", "data-testid": "approve", onclick: decide(true) }, "Approve"),
      el("button", { class: "reject", "data-testid": "reject", onclick: decide(false) }, "Reject"),
    ].filter(Boolean));
    this.approvals.append(box);
  }

  // What the answer used, one click away: the passage each document step answered from (a link
  // that opens the document at its heading) and each database step's database and SQL.
  showSources() {
    const items = [];
    const seen = new Set();
    for (const [sid, r] of Object.entries(this.results)) {
      if (r.status !== "ok") continue;
      const out = r.output;
      if (isPassages(out)) {
        const top = out[0];  // the passage the step's answer is taken from
        const key = `${top.source}\n${top.title || ""}`;
        if (!seen.has(key)) items.push(documentLink(top));
        seen.add(key);
      } else if (out && typeof out === "object" && Array.isArray(out.claims)) {
        // a fact check: the document each verdict rests on
        for (const c of out.claims) {
          if (!c.source || !["SUPPORTS", "REFUTES"].includes(c.label)) continue;
          const key = `${c.source}\n`;
          if (!seen.has(key)) items.push(documentLink({ source: c.source }));
          seen.add(key);
        }
      } else if (out && typeof out === "object" && !Array.isArray(out) && out.sql) {
        const db = this.databaseOf[sid] || state.databases[0] || "the";
        items.push(el("details", { class: "source sql-source", "data-testid": "source-sql" },
          el("summary", {}, `${db} database`), el("pre", { class: "sql" }, out.sql)));
      }
    }
    this.sources.hidden = !items.length;
    this.sources.replaceChildren(...(items.length ? [el("span", { class: "muted" }, "Sources: "), ...items] : []));
  }

  on_approval(ev) {
    const box = this.approvals.querySelector(`[data-step="${ev.step_id}"]`);
    if (box) box.replaceWith(el("div", { class: "decision" },
      `Step ${ev.step_id} ${ev.approved ? "approved" : "rejected"}${ev.note ? `: ${ev.note}` : ""}`));
  }

  on_run_paused() { this.setStatus("waiting for approval"); }

  // "token" events carry the answer a checked sentence at a time; the synthesizer only ever
  // appends to what it streamed, so what is shown is never taken back.
  on_token(ev) {
    this.answer.classList.add("streaming");
    this.answer.textContent += ev.text;
  }

  on_answer(ev) {
    this.answer.classList.remove("streaming");
    this.answer.textContent = ev.text;
  }

  on_run_finished(ev) {
    this.setStatus(ev.status);
    if (ev.answer) this.on_answer({ text: ev.answer });
    this.rating.hidden = !ev.answer;
    if (ev.answer) this.showSources();
    if (ev.error) this.answer.append(el("div", { class: "error" }, ev.error));
    const c = ev.cost || {};
    const wall = this.started ? ((ev.ts - this.started)).toFixed(1) : "?";
    const tokens = (c.input_tokens || 0) + (c.output_tokens || 0);
    this.meter.textContent = `${wall} s wall · ${((c.ms || 0) / 1000).toFixed(1)} s model/expert time`
      + (tokens ? ` · ${plural(tokens, "token")}` : "") + ` · ${plural(c.model_calls || 0, "model call")}`;
  }
}

// Votes, verifications, cascade decisions: one readable line each.
function noteText(kind, data) {
  if (kind === "database") return `asked the ${data.database} database (${data.why})`;
  const label = { verification: "verified", cascade_decision: "cascade", draft_finalise: "draft → final" }[kind] || kind.replace(/_/g, " ");
  const head = data.outcome || data.decision || "";
  const rest = Object.entries(data)
    .filter(([k, v]) => !["outcome", "decision", "mechanism"].includes(k) && v !== null && typeof v !== "object")
    .map(([k, v]) => `${k.replace(/_/g, " ")} ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : v}`);
  return `${label}${head ? `: ${head}` : ""}${rest.length ? ` (${rest.join(", ")})` : ""}`;
}

const isPassages = (output) => Array.isArray(output) && output.length > 0 && output[0]
  && typeof output[0] === "object" && "text" in output[0] && "source" in output[0];

// A document an answer cites: its file name and the heading of the passage. The link itself
// serves the file (a new tab, when no token is needed); a click opens it here, at the heading.
function documentLink(passage) {
  const source = String(passage.source || "");
  const name = source.split(/[\\/]/).pop();
  const heading = String(passage.title || "").split(" > ").pop().trim();
  const url = `/api/documents/view?source=${encodeURIComponent(source)}`;
  const pdf = /\.pdf$/i.test(name);
  return el("a", {
    class: "source doc-source", "data-testid": "source-doc", href: url, target: "_blank", rel: "noopener",
    title: source + (passage.title ? ` — ${passage.title}` : ""),
    onclick: (e) => {
      if (pdf) return;  // the browser's own viewer shows a PDF
      e.preventDefault();
      openDocument(url, name, heading).catch((err) => showError(err.message));
    },
  }, heading && heading !== name ? `${name} › ${heading}` : name);
}

async function openDocument(url, name, heading) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const res = await fetch(url, { headers });
  if (!res.ok) {
    const err = (await res.json().catch(() => ({}))).error || {};
    throw new Error(err.message || `could not open ${name}: ${res.status}`);
  }
  const lines = (await res.text()).split("\n");
  const bare = (line) => line.replace(/^#+\s*/, "").trim().toLowerCase();
  const want = heading.toLowerCase();
  let at = want ? lines.findIndex((l) => bare(l) === want) : -1;
  if (at < 0 && want) at = lines.findIndex((l) => l.toLowerCase().includes(want));
  const text = $("#doc-text");
  text.replaceChildren(...lines.map((line, i) => (i === at
    ? el("mark", { "data-testid": "doc-heading" }, line, "\n") : `${line}\n`)));
  $("#doc-name").textContent = name;
  $("#doc-open").setAttribute("href", url);
  const dialog = $("#doc-viewer");
  if (!dialog.open) dialog.showModal();
  const mark = text.querySelector("mark");
  if (mark) mark.scrollIntoView({ block: "center" }); else text.scrollTop = 0;
}

function renderOutput(output, error) {
  const box = el("div");
  if (error) box.append(el("div", { class: "error" }, error));
  if (output === null || output === undefined) return box;
  if (typeof output === "object" && !Array.isArray(output) && "sql" in output) {
    box.append(el("pre", { class: "sql" }, output.sql));
    if (output.columns) {
      const table = el("table", { class: "rows" },
        el("thead", {}, el("tr", {}, output.columns.map((c) => el("th", {}, c)))),
        el("tbody", {}, (output.rows || []).map((r) => el("tr", {}, r.map((x) => el("td", {}, x))))));
      box.append(table);
      if (output.truncated) box.append(el("div", { class: "muted" }, `${output.row_count} rows in all`));
    }
  } else if (isPassages(output)) {
    box.append(el("ol", { class: "passages" }, output.map((p) => el("li", {},
      el("div", { class: "muted", title: p.source || "" }, [String(p.source || "").split("/").pop(), p.title].filter(Boolean).join(" · "), p.score !== undefined ? ` · ${p.score}` : ""),
      p.text))));
  } else if (typeof output === "string") {
    box.append(el("div", { class: "text" }, output));
  } else {
    box.append(el("pre", {}, JSON.stringify(output, null, 2)));
  }
  return box;
}

// -- chat -----------------------------------------------------------------------------------

async function loadConversations() {
  const { conversations } = await api("/api/conversations");
  const list = $("#conversations");
  list.replaceChildren(...conversations.map((c) => el("li", {
    class: c.id === state.conversation ? "active" : "", "data-id": c.id,
  },
  el("span", { class: "title", "data-testid": "conversation-title", onclick: () => openConversation(c.id) },
    c.title || "(untitled)"),
  el("button", { class: "icon", title: "Rename", "aria-label": "Rename", "data-testid": "rename",
    onclick: () => renameConversation(c) }, "✎"),
  el("button", { class: "icon", title: "Delete", "aria-label": "Delete", "data-testid": "delete",
    onclick: () => deleteConversation(c) }, "✕"))));
}

async function renameConversation(c) {
  const title = prompt("New name for this conversation:", c.title || "");
  if (title === null || !title.trim()) return;
  await api(`/api/conversations/${c.id}`, { method: "PATCH", json: { title: title.trim() } })
    .catch((e) => showError(e.message));
  loadConversations();
}

async function deleteConversation(c) {
  if (!confirm(`Delete "${c.title || "(untitled)"}"? Its messages are removed.`)) return;
  await api(`/api/conversations/${c.id}`, { method: "DELETE" }).catch((e) => showError(e.message));
  if (state.conversation === c.id) {
    state.conversation = null;
    $("#messages").replaceChildren();
  }
  loadConversations();
}

async function openConversation(id) {
  state.conversation = id;
  document.body.classList.remove("sidebar-open");
  showView("chat");
  const conv = await api(`/api/conversations/${id}`);
  $("#messages").replaceChildren();
  for (const r of conv.runs) {
    const run = await api(`/api/runs/${r.id}`);
    const view = new RunView(r.id, r.task);
    $("#messages").append(view.node);
    for (const ev of run.events) view.handle(ev);
    if (run.live) follow(r.id, view.seq, (e) => view.handle(e)).catch((e) => showError(e.message));
  }
  scrollToEnd(true);  // a conversation opens at its latest message
  loadConversations();
}

async function ask(event) {
  event.preventDefault();
  const text = $("#task").value.trim();
  if (!text) return;
  showError("");
  $("#send").disabled = true;
  try {
    const started = await api("/api/runs", {
      method: "POST", json: { message: text, conversation_id: state.conversation },
    });
    $("#task").value = "";
    const view = new RunView(started.run_id, text);
    $("#messages").append(view.node);
    scrollToEnd(true);
    if (state.conversation !== started.conversation_id) {
      state.conversation = started.conversation_id;
      loadConversations();
    }
    $("#send").disabled = false;
    await follow(started.run_id, 0, (e) => view.handle(e));
    loadConversations();
  } catch (err) {
    showError(err.message);
  } finally {
    $("#send").disabled = false;
  }
}

// -- experts and workspace ------------------------------------------------------------------

async function loadExperts() {
  const { experts, problems } = await api("/api/experts");
  $("#experts").replaceChildren(...experts.map((e) => el("tr", {},
    el("td", {}, e.name), el("td", {}, e.description), el("td", {}, e.model || "-"),
    el("td", {}, e.origin), el("td", {}, e.recent_ms === null ? "-" : `${e.recent_ms} ms (${e.recent_calls} calls)`))));
  $("#expert-problems").replaceChildren(...problems.map((p) => el("li", {}, `${p.name}: ${p.reason}`)));
}

async function loadWorkspace() {
  const ws = await api("/api/workspace");
  state.databases = ws.databases.map((d) => d.name);
  $("#databases").replaceChildren(...ws.databases.map((d) => el("li", { "data-testid": "database", "data-name": d.name },
    el("div", {}, el("b", {}, d.name), ` ${d.url}`, d.description ? el("span", { class: "muted" }, ` — ${d.description}`) : null,
      el("button", { class: "remove", "data-testid": "remove-db", onclick: () => removeDatabase(d.name) }, "Remove")),
    el("ul", { class: "tables" }, d.tables.map((t) => el("li", {}, `${t.name}: ${plural(t.rows, "row")}`))))));
  $("#documents").replaceChildren(...ws.documents.map((d) => el("li", { "data-testid": "folder" },
    el("div", {}, el("b", {}, d.path), ` (${plural(d.files.length, "file")})`),
    el("ul", { class: "files" }, d.files.map((f) => el("li", { "data-testid": "document" }, f,
      d.uploads ? el("button", { class: "remove", "data-testid": "remove-doc", onclick: () => removeDocument(f) }, "Remove") : null))))));
  $("#upload-file").setAttribute("accept", ws.upload_suffixes.join(","));
}

async function removeDatabase(name) {
  if (!confirm(`Disconnect the database ${name}? Its file is left as it is.`)) return;
  await api(`/api/databases/${encodeURIComponent(name)}`, { method: "DELETE" }).catch((e) => showError(e.message));
  loadWorkspace();
}

async function removeDocument(name) {
  if (!confirm(`Delete the uploaded document ${name}?`)) return;
  await api(`/api/documents/${encodeURIComponent(name)}`, { method: "DELETE" }).catch((e) => showError(e.message));
  loadWorkspace();
}

async function connectDatabase(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const res = await api("/api/databases", {
      method: "POST", json: { name: form.name.value, url: form.url.value, description: form.description.value },
    });
    $("#db-result").textContent = `connected ${res.name}: ${plural(res.tables.length, "table")}`;
    form.reset();
    loadWorkspace();
  } catch (err) {
    $("#db-result").textContent = err.message;
  }
}

async function upload(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  try {
    const res = await api("/api/documents", { method: "POST", body: data });
    $("#upload-result").textContent = `uploaded ${res.name} (${res.bytes} bytes)`;
    event.target.reset();
    loadWorkspace();
  } catch (err) {
    $("#upload-result").textContent = err.message;
  }
}

function showView(name) {
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${name}`;
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.view === name);
  if (name === "experts") loadExperts().catch((e) => showError(e.message));
  if (name === "workspace") loadWorkspace().catch((e) => showError(e.message));
}

async function main() {
  const info = await api("/api/info");
  $("#workspace-name").textContent = `${info.workspace} · planner ${info.planner}`;
  if (info.token_required && !state.token) {
    state.token = prompt("This Podium server needs its API token:") || "";
    localStorage.setItem("podium-token", state.token);
  }
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showView(b.dataset.view));
  $("#ask").addEventListener("submit", ask);
  $("#task").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("#ask").requestSubmit(); }
  });
  $("#toggle-sidebar").addEventListener("click", () => document.body.classList.toggle("sidebar-open"));
  $("#new-chat").addEventListener("click", () => {
    state.conversation = null;
    document.body.classList.remove("sidebar-open");
    $("#messages").replaceChildren();
    loadConversations();
  });
  $("#connect-db").addEventListener("submit", connectDatabase);
  $("#upload").addEventListener("submit", upload);
  $("#doc-close").addEventListener("click", () => $("#doc-viewer").close());
  await loadConversations();
  // the database names, for an answer's sources (a step that names none asks the first)
  state.databases = (await api("/api/databases")).databases.map((d) => d.name);
  document.body.dataset.ready = "1";
}

main().catch((e) => showError(e.message));
