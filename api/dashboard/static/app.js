/* binroute dispatcher dashboard: vanilla JS, no build step, no external requests unless the
   user switches on OSM tiles. Talks to the JSON API with the X-API-Key stored in localStorage.

   Four scripts, loaded in order, sharing the page's globals: app.js (the page's state, the
   API, formats, the map's projection, data loading), render.js (drawing the map, the
   trucks' cards, the alerts, the notes), actions.js (the dispatcher's buttons and menus;
   it starts the page) and live.js (following others' changes). */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const W = 1000, H = 700, PAD = 40;
const TRUCK_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
const POLL_MS = 400;

const state = {
  key: localStorage.getItem("binroute.key") || "",
  planId: null, plan: null, planRow: null, geojson: null,
  bins: [], depots: [], sites: [], fill: {}, alerts: [], reports: [], done: new Map(), unloaded: new Map(),
  progress: [], newest: "", // the plan's reports and the readings' stamp (readingsStamp), as loaded
  changed: 0, // the inventory's last change when it was loaded (changesStamp)
  offMissed: [], // bins a truck's crew could not empty off its route: {vehicle_id, bin_id, at, reason}
  streets: [], tiles: false, view: null, diffFor: null,
  date: null, // the date of the data shown (the date box may already show the next one)
  typed: new Map(), // "<date>|<stop ref>" -> the "fill %" typed in a stop's row, not yet sent
  seq: 0, // loads started (see ticket)
  inflight: 0, // requests and waits of the page in progress (live.js looks only when none is)
  edits: 0, // changes the page made to what it shows without a load (a report sent)
  versions: [], // the date's plans as the versions menu lists them, newest first
  mine: new Set(), // "progress:<id>", "alert:<id>", "plan:<id>": what this page sent or followed
  pinned: false, // the dispatcher picked the version shown in the menu: live.js keeps it shown
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function sv(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function say(text, ok) {
  $("message").textContent = text || "";
  $("message").className = ok ? "ok" : "";
}

async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options || {});
  opts.headers = Object.assign({ "X-API-Key": state.key }, opts.headers);
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers["Content-Type"] = "application/json";
  }
  state.inflight++;
  let r, body;
  try {
    r = await fetch(path, opts);
    body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  } finally {
    state.inflight--;
  }
  if (!r.ok) {
    const d = body && body.detail;
    const text = Array.isArray(d) ? d.map((x) => `${(x.loc || []).join(".")}: ${x.msg}`).join("; ")
      : (d || r.statusText);
    throw new Error(`${r.status} ${path}: ${text}`);
  }
  return body;
}

// a wait of the page's (a job followed) keeps it busy too: live.js does not load meanwhile
const sleep = (ms) => {
  state.inflight++;
  return new Promise((res) => setTimeout(() => { state.inflight--; res(); }, ms));
};

/* ``what`` ("progress", "alert", "plan") of ``id`` sent or followed by this page: live.js
   does not announce it as others' news. */
const mine = (what, id) => { if (id !== undefined && id !== null) state.mine.add(`${what}:${id}`); };

/* A report this page sent and shows without a load: a load begun before it (live.js's) is
   stale, and dropped. */
function ownReport(got) {
  mine("progress", got.id);
  state.edits++;
}

/* ---------------------------------------------------------------- colours and formats */
function fillColour(f) {
  if (f === undefined || f === null) return "#b0b7c3";
  if (f >= 0.9) return "#c62828";
  if (f >= 0.7) return "#ef6c00";
  if (f >= 0.4) return "#f9c74f";
  return "#43a047";
}
const pct = (f) => (f === undefined || f === null ? "-" : `${Math.round(f * 100)}%`);
// a bin's second visit of the day is the stop "<bin>#2" in the routes; trucks report the bin id
const binOf = (ref) => ref.replace(/#\d+$/, "");
const visitNo = (ref) => { const m = /#(\d+)$/.exec(ref); return m ? Number(m[1]) : 1; };
// fills found, one per emptying, or MISSED: a visit its crew could not empty (passed, the
// k-th report of a bin, done or missed, is its k-th visit)
const MISSED = "missed";
const doneFills = (ref) => state.done.get(binOf(ref)) || [];
const emptiedToday = (bin) => (state.done.get(bin) || []).some((f) => f !== MISSED);
const isDone = (ref) => doneFills(ref).length >= visitNo(ref);
const unloadKey = (vehicleId, siteId) => `${vehicleId}|${siteId}`; // -> unloadings reported
// record a truck's report, as loaded from the server (into the maps of a load) or just posted
const noteEmptying = (bin, fill, done = state.done) => done.set(bin, [...(done.get(bin) || []), fill]);
const noteUnloading = (vehicleId, siteId, unloaded = state.unloaded) => {
  const k = unloadKey(vehicleId, siteId);
  unloaded.set(k, (unloaded.get(k) || 0) + 1);
};
const clock = (iso) => (iso ? iso.substring(11, 16) : "-");
const minutes = (s) => (s >= 3600 ? `${Math.floor(s / 3600)} h ${String(Math.round(s % 3600 / 60)).padStart(2, "0")} min` : `${Math.max(1, Math.round(s / 60))} min`);

/* A rerouted or planned alert's truck and time: ": truck v1 empties it at 10:42 (target 12:00)". */
function alertEta(a) {
  if (!a.vehicle_id || !a.eta) return "";
  const late = a.respond_by ? (new Date(a.eta) - new Date(a.respond_by)) / 1000 : 0;
  const target = !a.respond_by ? ""
    : late > 0 ? `, ${minutes(late)} after its target ${localClock(a.respond_by)}` : ` (target ${localClock(a.respond_by)})`;
  return `: truck ${a.vehicle_id} empties it at ${localClock(a.eta)}${target}`;
}
const truckColour = (i) => TRUCK_COLOURS[i % TRUCK_COLOURS.length];

/* ---------------------------------------------------------------- projection (Web Mercator) */
function merc(lon, lat) {
  const s = Math.sin((lat * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}

function makeView(points) {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of points) {
    const [x, y] = merc(lon, lat);
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (!isFinite(x0)) return null;
  const span = Math.max(x1 - x0, y1 - y0, 1e-6);
  const scale = Math.min((W - 2 * PAD) / Math.max(x1 - x0, span * 0.2),
    (H - 2 * PAD) / Math.max(y1 - y0, span * 0.2));
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return {
    scale, cx, cy,
    xy(lon, lat) {
      const [x, y] = merc(lon, lat);
      return [W / 2 + (x - cx) * scale, H / 2 + (y - cy) * scale];
    },
    bbox() { // lon/lat box of the whole drawing area
      const inv = (px, py) => {
        const x = cx + (px - W / 2) / scale, y = cy + (py - H / 2) / scale;
        const lat = (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI;
        return [x * 360 - 180, lat];
      };
      const [a, b] = inv(0, H), [c, d] = inv(W, 0);
      return [a, b, c, d];
    },
  };
}

/* ---------------------------------------------------------------- data loading */
/* Loads overlap (the date changed twice quickly, a version picked while a date loads): each
   takes a ticket, and the answers of one overtaken by a newer load, or asked for another
   date than the date box now shows, are dropped. */
function ticket() { return { seq: ++state.seq, date: $("plan-date").value }; }
// a ticket with ``edits`` (live.js's) is overtaken too by a report the page sent meanwhile
const overtaken = (t) => t.seq !== state.seq || t.date !== $("plan-date").value
  || (t.edits !== undefined && t.edits !== state.edits);

function latestFill(readings) {
  // bin id -> its newest reading's fill and time (``readings``: each bin's newest)
  const out = {};
  for (const r of readings) out[r.bin_id] = { fill: r.fill_fraction, at: r.at };
  return out;
}

function decisions() {
  // bin id -> policy decision; a planned visit's expected fill (at its pickup time) wins
  const out = {};
  for (const d of (state.plan && state.plan.decisions) || []) out[d.bin_id] = Object.assign({}, d);
  for (const r of (state.plan && state.plan.routes) || []) {
    for (const v of r.visits) {
      if (v.kind === "bin" && v.expected_fill !== undefined) {
        out[v.ref] = Object.assign(out[v.ref] || { action: "collect" }, { expected_fill: v.expected_fill });
      }
    }
  }
  return out;
}

function when(iso) {
  return iso.substring(0, 16).replace("T", " ") + (iso.endsWith("Z") ? " UTC" : "");
}

// the readings a date's page shows: each bin's newest, from 3 days before the date
const readingsSince = (date) => encodeURIComponent(new Date(Date.parse(`${date}T00:00:00Z`) - 3 * 86400e3).toISOString());

/* The newest received of the readings a date's page shows (a gateway's late reading, dated
   before the newest, too): what live.js compares; "" for none. */
async function readingsStamp(date) {
  const last = await api(`/readings?limit=1&order=received&since=${readingsSince(date)}`);
  return last.length ? [last[0].received_at, last[0].bin_id, last[0].at].join(" ") : "";
}

const RECORD = { bins: "bin", sites: "site", depots: "depot", vehicles: "truck", cities: "city" };

/* What an inventory change did: "added", "deleted", "moved", "changed: capacity_l". */
function changeDone(c) {
  const moved = c.fields.length && c.fields.every((f) => f === "lon" || f === "lat");
  return { created: "added", deleted: "deleted" }[c.change] || (moved ? "moved" : `changed: ${c.fields.join(", ")}`);
}

/* An inventory change as the header says it: "bin b9 added", "site s2 moved". */
const changeSaid = (c) => `${RECORD[c.resource] || c.resource} ${c.ref} ${changeDone(c)}`;

/* The id of the inventory's last change (a bin, site, depot, truck or city created, changed
   or deleted): what live.js compares; 0 for none. */
async function changesStamp() {
  const last = await api("/inventory/changes?limit=1");
  return last.length ? last[0].id : 0;
}

/* Every row of an inventory list (``path``: "/bins", by its ``id``: "bin_id"), a page of
   PAGE rows at a time, each once (one added meanwhile may shift a row into the next page). */
const PAGE = 10000;
async function allOf(path, id) {
  const rows = new Map();
  for (let offset = 0; ; offset += PAGE) {
    const page = await api(`${path}?limit=${PAGE}&offset=${offset}`);
    page.forEach((r) => rows.set(r[id], r));
    if (page.length < PAGE) return [...rows.values()];
  }
}

// the citizen reports of a date (in the city's zone), newest first; its alerts (by id) and
// its plan versions (newest first), each all of them (the lists' defaults are 1000 and 100)
const reportsOf = (date) => api(`/reports?day=${date}&limit=10000`);
const alertsOf = (date) => api(`/alerts?plan_date=${date}&limit=10000`);
const versionsOf = (date) => api(`/plans?plan_date=${date}&limit=10000`);

async function loadInventory(date, plan) {
  // the date's inventory, readings, alerts and reports, and ``plan``'s trucks out of service;
  // the readings' and the inventory's stamps first: a change meanwhile has the next look
  // load again
  const [newest, changed] = await Promise.all([readingsStamp(date), changesStamp()]);
  const [bins, depots, sites, readings, alerts, reports] = await Promise.all([
    allOf("/bins", "bin_id"), allOf("/depots", "depot_id"), allOf("/sites", "site_id"),
    api(`/readings/latest?since=${readingsSince(date)}`),
    alertsOf(date), reportsOf(date),
  ]);
  // the plan's trucks out of service until further notice: their cards offer "back in service"
  const trucks = plan ? plan.routes.map((r) => r.vehicle_id) : [];
  const lists = await Promise.all(trucks.map((v) => api(`/vehicles/${encodeURIComponent(v)}/downtimes`)));
  const down = new Map();
  lists.flat().filter((d) => d.end_at === null).forEach((d) => down.set(d.vehicle_id, d));
  return { bins, depots, sites, alerts, reports, fill: latestFill(readings), down, newest, changed };
}

/* The newest done of ``plans`` (newest first, as GET /plans lists them): its id, or null. */
const newestDone = (plans) => { const p = plans.find((x) => x.status === "done"); return p ? p.id : null; };

async function loadPlanList(selectId, t = ticket()) {
  // the versions of the date: the menu, ``selectId`` (else the newest done) picked; its id
  const plans = await versionsOf(t.date);
  if (overtaken(t)) return null; // the menu is the newer load's
  state.versions = plans;
  const sel = $("plan-select");
  sel.textContent = "";
  for (const p of plans) {
    sel.appendChild(el("option", { value: p.id }, `v${p.version} #${p.id} ${p.origin} (${p.status})`));
  }
  const pick = selectId || newestDone(plans) || (plans[0] && plans[0].id);
  if (pick) sel.value = String(pick);
  return pick || null;
}

async function loadPlan(planId, t = ticket()) {
  // the plan, the trucks' progress, the date's inventory and the streets around, shown
  // together once all came; false (nothing shown) when a newer load overtook this one
  const got = { planId, planRow: null, plan: null, geojson: null, done: new Map(), unloaded: new Map(), offMissed: [], progress: [] };
  if (planId) {
    got.planRow = await api(`/plans/${planId}`);
    if (got.planRow.status === "done") {
      const [plan, geo, progress] = await Promise.all([
        api(`/plans/${planId}/routes`), api(`/plans/${planId}/geojson`),
        api(`/plans/${planId}/progress`),
      ]);
      got.plan = plan; got.geojson = geo; got.progress = progress;
      for (const p of progress) { // bin -> [fill found or null]
        if (p.resend) continue; // the truck's last report sent again: no second visit
        if (p.kind === "visit_done" && p.bin_id) noteEmptying(p.bin_id, p.fill_fraction ?? null, got.done);
        if (p.kind === "visit_missed" && p.bin_id && !p.off_route) noteEmptying(p.bin_id, MISSED, got.done);
        // off its route: no stop of the bin passed (its visits stay to do), listed on the truck's card
        if (p.kind === "visit_missed" && p.bin_id && p.off_route) got.offMissed.push(p);
        if (p.kind === "disposal_done" && p.site_id) noteUnloading(p.vehicle_id, p.site_id, got.unloaded);
      }
    }
  }
  Object.assign(got, await loadInventory(t.date, got.plan));
  got.view = buildView(got);
  Object.assign(got, await loadStreets(got.view));
  if (overtaken(t)) return false;
  Object.assign(state, got, { date: t.date });
  showStatus(state.planRow);
  if (got.view) $("streets-note").textContent = `base map: ${got.streetsNote}`;
  render();
  return true;
}

async function loadStreets(view) {
  if (!view) return { streets: [] };
  const box = view.bbox().map((v) => v.toFixed(5)).join(",");
  try {
    const res = await api(`/dashboard/streets?bbox=${box}`);
    return { streets: res.lines, streetsNote: res.note };
  } catch (err) {
    return { streets: [], streetsNote: err.message };
  }
}

/* Plan ``planId`` of the date shown: picked in the version menu and shown (false when a newer
   load overtook it). */
async function showPlan(planId, t = ticket()) {
  state.pinned = false;
  await loadPlanList(planId, t);
  return !overtaken(t) && loadPlan(planId, t);
}

function buildView(data = state) {
  const pts = [];
  for (const b of data.bins) pts.push([b.lon, b.lat]);
  for (const d of data.depots) pts.push([d.lon, d.lat]);
  for (const s of data.sites) pts.push([s.lon, s.lat]);
  for (const r of (data.plan && data.plan.routes) || []) {
    for (const v of r.visits) pts.push([v.lon, v.lat]);
  }
  return makeView(pts);
}
