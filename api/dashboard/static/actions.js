/* binroute dispatcher dashboard, actions: the dispatcher's buttons and menus (a bin's
   popup, an alert raised or dismissed, stops done, missed or unloaded, trucks out of
   service, plans asked for, route sheets) and the page's start (init). */
"use strict";

/* ---------------------------------------------------------------- actions */
function showBinPopup(bin, x, y) {
  const pop = $("popup");
  const svg = $("map"), rect = svg.getBoundingClientRect(), k = rect.width / W;
  pop.style.left = `${Math.min(x * k + 12, rect.width - 210)}px`;
  pop.style.top = `${Math.max(y * k - 20, 0)}px`;
  pop.textContent = "";
  pop.dataset.bin = bin.bin_id; // the bin shown (fillHistory draws only into its popup)
  const cur = state.fill[bin.bin_id], fc = decisions()[bin.bin_id];
  pop.appendChild(el("h3", {}, `bin ${bin.bin_id}`));
  pop.appendChild(el("div", {}, `fill now: ${pct(cur && cur.fill)}${cur ? " (read " + when(cur.at) + ")" : ""}`));
  pop.appendChild(el("div", {}, `forecast at pickup: ${pct(fc && fc.expected_fill)}${fc ? " - " + fc.action : ""}`));
  if (fc && fc.reason) pop.appendChild(el("div", { class: "muted" }, fc.reason));
  const b = pop.appendChild(el("button", { id: "raise-alert", type: "button" }, "Raise overflow alert"));
  b.addEventListener("click", () => raiseAlert(bin.bin_id, b));
  const c = pop.appendChild(el("button", { type: "button" }, "Close"));
  c.addEventListener("click", () => { pop.hidden = true; });
  pop.hidden = false;
  fillHistory(bin.bin_id, pop).catch((err) => say(err.message));
  recordHistory(bin.bin_id, pop).catch((err) => say(err.message));
}

/* The bin's record's last changes (who added, moved or resized it, when), in its popup:
   "record: moved 2026-12-08 08:12 (night shift); added ...". Shown only if the popup still
   shows the bin when they come. */
async function recordHistory(binId, pop) {
  const changes = await api(`/inventory/changes?resource=bins&ref=${encodeURIComponent(binId)}&limit=3`);
  if (pop.hidden || pop.dataset.bin !== binId || !changes.length) return;
  const said = changes.map((c) => `${changeDone(c)} ${when(c.at)}${c.key_name ? ` (${c.key_name})` : ""}`);
  pop.insertBefore(el("div", { class: "muted record-history" }, `record: ${said.join("; ")}`), pop.querySelector("#raise-alert"));
}

const HISTORY_W = 200, HISTORY_H = 48; // the popup's chart, in its own units

/* The bin's readings from 3 days before the date shown (as the map's fills), drawn in its
   popup (time across, fill up to 120 %, a line at 100 %): a sensor glitching, a bin filling
   faster than it did. Drawn only if the popup still shows the bin when they come. */
async function fillHistory(binId, pop) {
  const readings = await api(`/readings?bin_id=${encodeURIComponent(binId)}&since=${readingsSince(state.date)}&limit=10000`);
  if (pop.hidden || pop.dataset.bin !== binId) return;
  const box = pop.insertBefore(el("div", { class: "fill-history" }), pop.querySelector("#raise-alert"));
  if (!readings.length) { box.textContent = "no readings in the last 3 days"; return; }
  const times = readings.map((r) => Date.parse(r.at)), t0 = Math.min(...times), t1 = Math.max(...times);
  const x = (t) => (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * HISTORY_W;
  const y = (f) => HISTORY_H * (1 - Math.min(f, 1.2) / 1.2);
  const chart = box.appendChild(sv("svg", { viewBox: `-3 -3 ${HISTORY_W + 6} ${HISTORY_H + 6}`, width: HISTORY_W + 6, height: HISTORY_H + 6 }));
  chart.appendChild(sv("line", { x1: 0, x2: HISTORY_W, y1: y(1), y2: y(1), stroke: "#c62828", "stroke-dasharray": "3 3" }));
  const points = readings.map((r, i) => `${x(times[i]).toFixed(1)},${y(r.fill_fraction).toFixed(1)}`).reverse(); // oldest first
  chart.appendChild(sv("polyline", { points: points.join(" "), fill: "none", stroke: "#1f77b4", "stroke-width": 1.5 }));
  chart.appendChild(sv("circle", { cx: x(times[0]), cy: y(readings[0].fill_fraction), r: 2.5, fill: "#1f77b4" })); // the newest
  const fills = readings.map((r) => r.fill_fraction), n = readings.length;
  box.appendChild(el("div", { class: "muted" },
    `${n} reading${n === 1 ? "" : "s"} since ${when(new Date(t0).toISOString())}: ${pct(Math.min(...fills))} to ${pct(Math.max(...fills))}`));
}

/* The date chosen, again (the server changed its day): the plan shown reloaded; while the
   date is still loading, that load (which may have read the server before the change) is
   overtaken by a new one of its newest done plan. */
async function reloadShown() {
  if (state.date === $("plan-date").value) return loadPlan(state.planId);
  return showPlan(null);
}

/* Plan ``planId`` of ``planDate`` (a job's, an alert's) shown when that is the date chosen,
   even while that date is still loading (the load is overtaken: it would show the plan it
   found before and clear the caller's message); else the date chosen reloaded: whether
   ``planId`` is shown. */
async function showPlanOf(planId, planDate) {
  if (planDate === $("plan-date").value) return showPlan(planId);
  await reloadShown();
  return false;
}

async function raiseAlert(binId, button) {
  button.disabled = true;
  try {
    // no time: the service dates it by its own clock (now), and reroutes that day's plan
    const alert = await api("/alerts", { method: "POST", json: { bin_id: binId, note: "dashboard" } });
    await followAlert(alert, binId);
  } catch (err) {
    say(err.message);
  } finally {
    button.disabled = false;
  }
}

/* Alert ``alert`` on ``binId`` followed until its reroute is done, and the outcome shown:
   the plan it went into (and its diff), or why no truck can collect the bin. */
async function followAlert(alert, binId) {
  say(`alert #${alert.id} on ${binId}: rerouting...`, true);
  mine("alert", alert.id);
  let a = alert;
  for (let i = 0; i < 300 && (a.status === "open" || a.status === "rerouting"); i++) {
    await sleep(POLL_MS);
    a = await api(`/alerts/${alert.id}`);
    $("plan-status").textContent = `alert #${a.id} on ${binId}: ${a.status}`;
  }
  $("popup").hidden = true;
  mine("plan", a.plan_id);
  const row = a.plan_id && (a.status === "rerouted" || a.status === "unserved") ? await api(`/plans/${a.plan_id}`) : null;
  const of = row && row.plan_date !== $("plan-date").value ? ` of ${row.plan_date}` : "";
  if (a.status === "rerouted" && a.plan_id) {
    if (await showPlanOf(a.plan_id, row.plan_date)) await showDiff(a.plan_id);
    say(`alert #${a.id} on ${binId}: rerouted into plan #${a.plan_id}${of}${alertEta(a)}`, true);
  } else if (a.status === "unserved" && a.plan_id) {
    await showPlanOf(a.plan_id, row.plan_date);
    const routes = await api(`/plans/${a.plan_id}/routes`);
    const why = routes.unserved.filter((u) => u.bin_id === binId && u.required).map((u) => u.reason);
    say(`alert #${a.id} on ${binId}: no truck can collect it today (plan #${a.plan_id}${of}): ${why.join("; ") || "see the unserved bins"}`);
  } else if (a.status === "emptied") {
    say(`alert #${a.id} on ${binId}: a truck emptied it after the alert's time; no new visit`, true);
  } else if (a.status === "no_plan") {
    await reloadShown();
    say(`alert #${a.id} on ${binId}: no finished plan for ${a.plan_date}; the next plan collects it by its target`, true);
  } else {
    say(`alert #${a.id} on ${binId}: ${a.status}`);
  }
}

async function showDiff(planId) {
  const t = { seq: state.seq, date: state.date }; // the plan shown, unless a load overtakes it
  const diff = await api(`/plans/${planId}/diff`);
  if (overtaken(t) || state.planId !== planId) return;
  const box = $("diff");
  box.textContent = "";
  $("diff-panel").hidden = false;
  box.appendChild(el("div", { class: "muted" }, `plan #${diff.plan_id} against #${diff.parent_id}`));
  const idx = truckIndex();
  let any = false;
  for (const t of diff.trucks) {
    const d = t.diff, ch = d.change || d;
    const added = ch.added || [], removed = ch.removed || [], reordered = !!ch.order_changed;
    if (!added.length && !removed.length && !reordered && !d.changed) continue;
    any = true;
    const div = box.appendChild(el("div", { class: "diff-truck", "data-diff-truck": t.vehicle_id }));
    div.appendChild(el("b", { style: `color:${truckColour(idx[t.vehicle_id] || 0)}` }, `truck ${t.vehicle_id}: `));
    if (added.length) div.appendChild(el("span", { class: "add" }, `+ ${added.join(", ")} `));
    if (removed.length) div.appendChild(el("span", { class: "rem" }, `- ${removed.join(", ")} `));
    if (reordered) div.appendChild(el("span", { class: "ord" }, "order changed"));
  }
  if (!any) box.appendChild(el("div", {}, "no truck changed"));
}

function fillFound(input) {
  // the optional "fill %" box of a stop: null when empty, else a fraction 0..1 (throws otherwise)
  const text = input.value.trim();
  if (!text) return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    throw new Error(`fill found must be a percentage from 0 to 100, not "${text}"`);
  }
  return value / 100;
}

async function markDone(vehicleId, visit, button, fillInput) {
  button.disabled = true;
  try {
    const fill = fillFound(fillInput);
    const bin = binOf(visit.ref);
    const body = { vehicle_id: vehicleId, at: visitAt(visit), kind: "visit_done", bin_id: bin };
    if (fill !== null) body.fill_fraction = fill;
    const known = newestKnown();
    const got = await api(`/plans/${state.planId}/progress`, { method: "POST", json: body });
    if (got.resend) return await resent(vehicleId, `${visit.ref} emptied`);
    ownReport(got);
    noteEmptying(bin, fill);
    state.typed.delete(typedKey(visit.ref));
    const what = `${visit.ref} emptied by ${vehicleId}${fill === null ? "" : `, found ${pct(fill)} full`}`;
    say(what, true);
    renderMap();
    renderTrucks();
    if (got.rerouting) await followReroute(known, `${what} off its route`);
  } catch (err) {
    say(err.message);
    button.disabled = false;
  }
}

/* A report the service took for a resend (``resend`` in its answer: the truck's report sent
   again, a tablet's or this page's) changed nothing: no visit is marked (the page counting it
   would mark the bin's next visit, ``<bin>#2``, done), and the plan is shown again as the
   service has it (the first report may have come from the truck's tablet). */
async function resent(vehicleId, what) {
  await reloadShown();
  say(`${what}: taken for a resend of ${vehicleId}'s report already in, nothing changed`);
}

/* The newest plan version of the date the page knows (its versions menu): 0 for none. */
const newestKnown = () => Math.max(0, ...Array.from($("plan-select").options, (o) => Number(o.value)));

/* A report the service reroutes the day for (``rerouting`` in its answer: a bin emptied off
   the truck's route that a truck is still sent to): the day's next version, the reroute (or
   the alert's reroute, or the plan job, that took the report in), followed until it ends
   and shown with its change, as for an alert; a plan newer than ``known`` (the newest the
   page knew), or one queued or running. The newest done is shown if none comes. */
async function followReroute(known, what) {
  const date = state.date;
  say(`${what}: re-planning the day...`, true);
  for (let i = 0; i < 300; i++) {
    const plans = await versionsOf(date); // newest first
    const next = plans.find((p) => p.id > known || p.status === "queued" || p.status === "running");
    if (next) {
      const row = await followPlan(next);
      if (row.status === "done") say(`${what}: plan #${row.id} ready`, true);
      else say(`${what}, but plan #${row.id} ${row.status}: ${row.message}`);
      return;
    }
    await sleep(POLL_MS);
  }
  await showPlan(null); // the newest done
  say(`${what}: no new plan came`);
}

const MAX_REASON = 200; // characters: the service's cap on a missed report's reason

function askMissedReason(vehicleId, ref) {
  // why the crew could not empty the bin (optional): null when the dispatcher cancels (send
  // nothing), "" when none is given; trimmed and cut to the service's cap (in characters, as
  // the service counts them, so that an emoji is never cut in half)
  const typed = window.prompt(
    `${vehicleId}'s crew could not empty ${ref}. Why? (optional, e.g. a parked car, a locked enclosure, the bin missing)`, "");
  if (typed === null) return null;
  return Array.from(typed.trim()).slice(0, MAX_REASON).join("").trim();
}

async function markMissed(vehicleId, visit, button) {
  // the crew could not empty the bin: the service raises an alert on it (source "crew") and
  // reroutes the day, which sends a truck back to it or lists it unserved with the reason
  const reason = askMissedReason(vehicleId, visit.ref);
  if (reason === null) return;
  button.disabled = true;
  try {
    const bin = binOf(visit.ref);
    const body = { vehicle_id: vehicleId, at: visitAt(visit), kind: "visit_missed", bin_id: bin };
    if (reason) body.reason = reason;
    const got = await api(`/plans/${state.planId}/progress`, { method: "POST", json: body });
    if (got.resend) return await resent(vehicleId, `${visit.ref} missed`); // no new alert
    ownReport(got);
    // judged by the day's newest plan: off the truck's route there (the page shows an older
    // version), it passed no stop, and is listed on the truck's card as a reload shows it
    if (got.off_route) state.offMissed.push(got);
    else noteEmptying(bin, MISSED);
    state.typed.delete(typedKey(visit.ref));
    renderMap();
    renderTrucks();
    // off its route: another truck's bin, or one ahead of stops of its own not reported yet
    const off = got.off_route ? " off its route in the day's newest plan (not its next stop)" : "";
    say(`${visit.ref} missed by ${vehicleId}${off}${reason ? ` (${reason})` : ""}`, true);
    // the alert the report raised (a plan of an earlier day raises none): the newest crew's
    const alerts = await alertsOf(state.date);
    const alert = alerts.filter((a) => a.bin_id === bin && a.source === "crew").pop();
    if (alert) await followAlert(alert, bin);
  } catch (err) {
    say(err.message);
    button.disabled = false;
  }
}

async function markUnloaded(vehicleId, visit, button) {
  button.disabled = true;
  try {
    const body = { vehicle_id: vehicleId, at: visitAt(visit), kind: "disposal_done", site_id: visit.ref };
    const got = await api(`/plans/${state.planId}/progress`, { method: "POST", json: body });
    if (got.resend) return await resent(vehicleId, `unloaded at ${visit.ref}`);
    ownReport(got);
    noteUnloading(vehicleId, visit.ref);
    say(`${vehicleId} unloaded at ${visit.ref}`, true);
    renderTrucks();
  } catch (err) {
    say(err.message);
    button.disabled = false;
  }
}

async function saveSheet(vehicleId, button) {
  // the truck's route sheet (GET /plans/{id}/sheets), saved as a file: the key goes in a
  // header, which a plain link cannot send, and the saved page prints without the dashboard
  button.disabled = true;
  try {
    const planId = state.planId;
    const language = $("sheet-language").value;  // none chosen: the service's LANGUAGE
    const asked = language ? `&language=${encodeURIComponent(language)}` : "";
    const html = await api(`/plans/${planId}/sheets?vehicle_id=${encodeURIComponent(vehicleId)}${asked}`);
    const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
    const link = document.body.appendChild(el("a", { href: url, download: `route-sheet-${planId}-${vehicleId}.html` }));
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say(`route sheet of truck ${vehicleId} saved`, true);
  } catch (err) {
    say(err.message);
  } finally {
    button.disabled = false;
  }
}

async function setService(vehicleId, button) {
  // a truck broken down (out of service from now, until further notice) or back in service:
  // the server re-plans the days it changes; the one shown is followed
  button.disabled = true;
  const open = state.down && state.down.get(vehicleId);
  const what = open ? "back in service" : "out of service";
  const base = `/vehicles/${encodeURIComponent(vehicleId)}/downtimes`;
  try {
    const got = open
      ? await api(`${base}/${open.id}/end`, { method: "POST", json: {} })
      : await api(base, { method: "POST", json: { reason: "dashboard" } });
    const rows = await Promise.all(got.replans.map((id) => api(`/plans/${id}`)));
    const job = rows.find((row) => row.plan_date === $("plan-date").value);
    if (!job) {
      await reloadShown();
      say(`truck ${vehicleId} ${what}`, true);
      return;
    }
    say(`truck ${vehicleId} ${what}: re-planning the day...`, true);
    const row = await followPlan(job);
    if (row.status === "done") say(`truck ${vehicleId} ${what}: plan #${row.id} ready`, true);
    else say(`truck ${vehicleId} ${what}, but plan #${row.id} ${row.status}: ${row.message}`);
  } catch (err) {
    say(err.message);
    button.disabled = false;
  }
}

async function followPlan(row) {
  // a plan job until it ends, then shown; made while trucks were out (a parent): the rest
  // of their plan's day, each driver's change shown
  mine("plan", row.id);
  showStatus(row);
  while (row.status === "queued" || row.status === "running") {
    await sleep(POLL_MS);
    row = await api(`/plans/${row.id}`);
    showStatus(row);
  }
  if (!await showPlanOf(row.id, row.plan_date)) return row; // the date shown is another
  if (row.status === "done" && row.parent_id) await showDiff(row.id);
  else $("diff-panel").hidden = true;
  return row;
}

/* POST /plans answers the job of the same request, with a note, when one is queued or
   running (a double click, two dispatchers): say that this plan was not made on this
   click's readings and alerts, and how to get one that is. */
function sameRequest(asked) {
  if (!asked.note) return "";
  const was = asked.status === "queued" ? "waiting" : "being made";
  return `; this plan was already ${was} when you asked: it is shown, and no other was started; ask again to plan with the readings and alerts of now`;
}

async function requestPlan() {
  const date = $("plan-date").value;
  const btn = $("request-plan");
  btn.disabled = true;
  try {
    const asked = await api("/plans", { method: "POST", json: { plan_date: date } });
    const row = await followPlan(asked);
    const from = row.status === "done" && row.parent_id ? ` (re-planned from where the trucks are on plan #${row.parent_id})` : "";
    // alerts waiting for a plan of the day are taken in: say who empties each bin, when
    const taken = state.alerts.filter((a) => a.plan_id === row.id && a.status === "planned")
      .map((a) => `; alert #${a.id} on ${a.bin_id}${alertEta(a) || ": planned"}`);
    if (row.status === "done") say(`plan #${row.id} ready${from}${taken.join("")}${sameRequest(asked)}`, true);
    else say(`plan #${row.id} ${row.status}: ${row.message}${sameRequest(asked)}`);
  } catch (err) {
    say(err.message);
  } finally {
    btn.disabled = false;
  }
}

/* The line of the last nightly run (its day, when it ran in the city's time, and how it
   ended, with its error) and the scheduler (its next run, or why it is stopped), from
   GET /health: no key needed, and a 503 (scheduler stopped) has the same body. */
async function loadNightly() {
  let health;
  try {
    health = await (await fetch("/health")).json();
  } catch (err) {
    renderNightly(null);
    return;
  }
  renderNightly(health);
  fillLanguages(health);
}

/* The languages the route sheets are written in (GET /health's), each by its own name
   ("suomi", "Deutsch"), the service's LANGUAGE chosen until the dispatcher picks another. */
function fillLanguages(health) {
  const select = $("sheet-language");
  if (!health || !health.languages || select.options.length) return;
  for (const code of health.languages) {
    let name = code;
    try {
      name = new Intl.DisplayNames([code], { type: "language" }).of(code) || code;
    } catch (err) { /* a browser without Intl.DisplayNames: the code */ }
    select.appendChild(el("option", { value: code }, name));
  }
  select.value = health.language;
}

function renderNightly(health) {
  const box = $("nightly");
  if (!health || !health.timezone) {
    box.textContent = "last nightly plan: the service does not answer";
    box.className = "failed";
    box.dataset.status = "unknown";
    return;
  }
  const at = (iso) => new Date(iso).toLocaleString("en-GB", {
    timeZone: health.timezone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  const run = health.last_nightly_run;
  let text = "last nightly plan: none yet";
  if (run) {
    text = `last nightly plan: ${run.plan_date}, ran ${at(run.started_at)}: ${run.status}`;
    if (run.status === "done" && run.plan_id) text += ` (plan ${run.plan_id})`;
    else if (run.status !== "done" && run.message) {
      const why = run.message.length > 240 ? `${run.message.substring(0, 240)}...` : run.message;
      text += `: ${why}`;
      // the message ends with its retry's time: cut, the line says when it is
      if (why !== run.message && run.retry_at) text += `; tried again ${at(run.retry_at)}`;
    }
  }
  if (health.scheduler === "stopped") {
    text += `; scheduler stopped: ${health.scheduler_problem || "not running"}`;
  } else if (health.next_nightly_run) {
    text += `; next ${at(health.next_nightly_run)}`;
  }
  box.textContent = text;
  box.title = run && run.message ? run.message : "";
  box.className = (run && run.status === "failed") || health.scheduler === "stopped" ? "failed" : "";
  box.dataset.status = run ? run.status : "none";
}

async function showDate() {
  loadNightly();
  if (!state.key) { say("enter an API key first"); return; }
  const t = ticket(); // a date changed again before this one came is shown, not this one
  state.pinned = false;
  try {
    const id = await loadPlanList(null, t);
    if (overtaken(t)) return;
    $("diff-panel").hidden = true;
    if (!await loadPlan(id, t)) return;
    say(id ? "" : `no plan for ${t.date} yet: request one`, !!id);
  } catch (err) {
    if (!overtaken(t)) say(err.message);
  }
}

function init() {
  $("api-key").value = state.key;
  const tomorrow = new Date(Date.now() + 86400e3).toLocaleDateString("en-CA"); // the browser's zone
  $("plan-date").value = localStorage.getItem("binroute.date") || tomorrow;
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.key = $("api-key").value.trim();
    localStorage.setItem("binroute.key", state.key);
    showDate();
  });
  $("plan-form").addEventListener("submit", (ev) => { ev.preventDefault(); requestPlan(); });
  $("load-date").addEventListener("click", showDate);
  $("plan-date").addEventListener("change", () => {
    localStorage.setItem("binroute.date", $("plan-date").value);
    showDate();
  });
  $("plan-select").addEventListener("change", async () => {
    // another version: the diff shown was the other's; a reroute's own diff, against its parent
    const id = Number($("plan-select").value);
    $("plan-select").blur(); // the menu's focus would hold live.js's looks
    $("diff-panel").hidden = true;
    // an older version: kept shown when others change the day (live.js), till Show or a date
    state.pinned = id !== newestDone(state.versions);
    try {
      if (await loadPlan(id) && state.planRow.status === "done" && state.planRow.parent_id) await showDiff(id);
    } catch (err) { say(err.message); }
  });
  $("osm-tiles").addEventListener("change", () => { state.tiles = $("osm-tiles").checked; renderMap(); });
  $("map").addEventListener("click", () => { $("popup").hidden = true; });
  render();
  if (state.key) showDate();
  else loadNightly();
}

init();
