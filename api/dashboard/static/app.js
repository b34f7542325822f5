/* binroute dispatcher dashboard: vanilla JS, no build step, no external requests unless the
   user switches on OSM tiles. Talks to the JSON API with the X-API-Key stored in localStorage. */
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
  // the readings' stamp first: one received meanwhile has the next look load again
  const newest = await readingsStamp(date);
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
  return { bins, depots, sites, alerts, reports, fill: latestFill(readings), down, newest };
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

/* ---------------------------------------------------------------- rendering */
function render() {
  state.view = state.view || buildView();
  renderMap();
  renderLegend();
  renderKpis();
  renderUnserved();
  renderAlerts();
  renderNotes();
  renderTrucks();
}

function truckIndex() {
  const idx = {};
  ((state.plan && state.plan.routes) || []).forEach((r, i) => { idx[r.vehicle_id] = i; });
  return idx;
}

function openAlertBins() {
  const pending = new Set(["open", "rerouting", "rerouted", "planned", "unserved", "no_plan"]);
  return new Set(state.alerts.filter((a) => pending.has(a.status)).map((a) => a.bin_id));
}

function tileLayer(g, view) {
  const z = Math.max(0, Math.min(19, Math.floor(Math.log2(view.scale / 256))));
  const n = 2 ** z, size = view.scale / n;
  const tx0 = Math.floor((view.cx - W / 2 / view.scale) * n), tx1 = Math.floor((view.cx + W / 2 / view.scale) * n);
  const ty0 = Math.floor((view.cy - H / 2 / view.scale) * n), ty1 = Math.floor((view.cy + H / 2 / view.scale) * n);
  for (let tx = tx0; tx <= tx1; tx++) {
    for (let ty = ty0; ty <= ty1; ty++) {
      if (ty < 0 || ty >= n) continue;
      const x = W / 2 + (tx / n - view.cx) * view.scale, y = H / 2 + (ty / n - view.cy) * view.scale;
      g.appendChild(sv("image", {
        href: `https://tile.openstreetmap.org/${z}/${((tx % n) + n) % n}/${ty}.png`,
        x, y, width: size, height: size, opacity: 0.8,
      }));
    }
  }
}

function shownReports() {
  // the citizen reports of the date shown, but for those whose alert the dispatcher
  // dismissed as a false alarm
  const dismissed = new Set(state.alerts.filter((a) => a.status === "dismissed" && a.report_id).map((a) => a.report_id));
  return state.reports.filter((rep) => !dismissed.has(rep.report_id));
}

function renderMap() {
  const svg = $("map");
  svg.textContent = "";
  const view = state.view;
  if (!view) {
    svg.appendChild(sv("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#7a8596" },
      "no data yet: enter a key and pick a date"));
    return;
  }
  const layers = {};
  for (const name of ["tiles", "streets", "routes", "bins", "sites", "labels"]) {
    layers[name] = svg.appendChild(sv("g", { id: `layer-${name}` }));
  }
  if (state.tiles) tileLayer(layers.tiles, view);
  const line = (coords) => coords.map(([lon, lat]) => view.xy(lon, lat).map((v) => v.toFixed(1)).join(",")).join(" ");
  for (const s of state.streets) {
    layers.streets.appendChild(sv("polyline", { points: line(s), fill: "none", stroke: "#c3c9d1", "stroke-width": 1.5 }));
  }
  const idx = truckIndex();
  for (const f of (state.geojson && state.geojson.features) || []) {
    if (f.properties.kind !== "route" || f.geometry.type !== "LineString") continue;
    layers.routes.appendChild(sv("polyline", {
      points: line(f.geometry.coordinates), fill: "none", "stroke-linejoin": "round",
      stroke: truckColour(idx[f.properties.vehicle_id] || 0), "stroke-width": 3.5, opacity: 0.85,
      "data-truck": f.properties.vehicle_id,
    }));
  }
  for (const d of state.depots) {
    const [x, y] = view.xy(d.lon, d.lat);
    const g = layers.sites.appendChild(sv("g", { "data-depot": d.depot_id }));
    // a hollow square: a bin at the depot stays visible and clickable inside it
    g.appendChild(sv("rect", { x: x - 14, y: y - 14, width: 28, height: 28, fill: "none", stroke: "#263238", "stroke-width": 4, rx: 3, "pointer-events": "none" }));
    g.appendChild(sv("text", { x: x - 14, y: y - 17, fill: "#263238", style: "font: 700 11px system-ui" }, `depot ${d.depot_id}`));
    g.appendChild(sv("title", {}, `depot ${d.depot_id} ${d.name || ""}`));
  }
  for (const s of state.sites) {
    const [x, y] = view.xy(s.lon, s.lat);
    const g = layers.sites.appendChild(sv("g", { "data-site": s.site_id }));
    g.appendChild(sv("polygon", { points: `${x},${y - 12} ${x + 12},${y} ${x},${y + 12} ${x - 12},${y}`, fill: "#6d4c41" }));
    g.appendChild(sv("text", { x, y: y + 4, "text-anchor": "middle", class: "map-label" }, "S"));
    g.appendChild(sv("title", {}, `disposal site ${s.site_id} (${(s.streams || []).join(", ")})`));
  }
  const dec = decisions(), alerts = openAlertBins();
  for (const rep of shownReports()) {
    if (rep.lon === null || rep.lat === null || rep.lon === undefined) continue;
    const [x, y] = view.xy(rep.lon, rep.lat);
    layers.bins.appendChild(sv("circle", { cx: x, cy: y, r: 16, fill: "none", stroke: "#8e24aa", "stroke-width": 3, "stroke-dasharray": "4 3", "data-report": rep.report_id }));
  }
  for (const b of state.bins) {
    const [x, y] = view.xy(b.lon, b.lat);
    const g = layers.bins.appendChild(sv("g", { class: "bin", "data-bin": b.bin_id }));
    if (emptiedToday(b.bin_id)) g.setAttribute("opacity", "0.4"); // emptied today
    if (alerts.has(b.bin_id)) {
      g.appendChild(sv("circle", { cx: x, cy: y, r: 15, fill: "rgba(198,40,40,.18)", stroke: "#c62828", "stroke-width": 3, class: "alert-ring" }));
    }
    const cur = state.fill[b.bin_id], fc = dec[b.bin_id];
    g.appendChild(sv("circle", { cx: x, cy: y, r: 9, fill: "#fff", stroke: fillColour(fc && fc.expected_fill), "stroke-width": 4 }));
    g.appendChild(sv("circle", { cx: x, cy: y, r: 5, fill: fillColour(cur && cur.fill) }));
    g.appendChild(sv("title", {}, `bin ${b.bin_id}: now ${pct(cur && cur.fill)}, forecast ${pct(fc && fc.expected_fill)}`));
    g.addEventListener("click", (ev) => { ev.stopPropagation(); showBinPopup(b, x, y); });
  }
  for (const r of (state.plan && state.plan.routes) || []) {
    for (const v of r.visits) { // numbered as in the truck's stops table (its depot start is 0)
      if (v.kind !== "bin") continue;
      const [x, y] = view.xy(v.lon, v.lat);
      const g = layers.labels.appendChild(sv("g", { "data-stop": v.ref }));
      g.appendChild(sv("circle", { cx: x + 11, cy: y - 11, r: 8, fill: truckColour(idx[r.vehicle_id]) }));
      g.appendChild(sv("text", { x: x + 11, y: y - 7.5, "text-anchor": "middle", class: "map-label", style: "font-size:10px" }, String(v.order)));
    }
  }
}

function renderLegend() {
  const lg = $("legend");
  lg.textContent = "";
  const swatch = (html, text) => {
    const s = el("span");
    s.innerHTML = `<svg width="22" height="18" viewBox="0 0 22 18">${html}</svg>`;
    s.appendChild(document.createTextNode(text));
    lg.appendChild(s);
  };
  ((state.plan && state.plan.routes) || []).forEach((r, i) => {
    swatch(`<line x1="1" y1="9" x2="21" y2="9" stroke="${truckColour(i)}" stroke-width="4"/>`, `truck ${r.vehicle_id}`);
  });
  for (const [f, t] of [[0.2, "<40%"], [0.5, "40-70%"], [0.8, "70-90%"], [0.95, ">=90%"]]) {
    swatch(`<circle cx="11" cy="9" r="6" fill="#fff" stroke="${fillColour(f)}" stroke-width="3"/><circle cx="11" cy="9" r="3" fill="${fillColour(f)}"/>`, t);
  }
  swatch('<circle cx="11" cy="9" r="3" fill="#777"/>', "centre: fill now");
  swatch('<circle cx="11" cy="9" r="6" fill="none" stroke="#777" stroke-width="3"/>', "ring: forecast at pickup");
  swatch('<circle cx="11" cy="9" r="7" fill="rgba(198,40,40,.18)" stroke="#c62828" stroke-width="2"/>', "overflow alert");
  swatch('<circle cx="11" cy="9" r="7" fill="none" stroke="#8e24aa" stroke-width="2" stroke-dasharray="3 2"/>', "citizen report");
  swatch('<circle cx="11" cy="9" r="6" fill="#fff" stroke="#ef6c00" stroke-width="3" opacity="0.4"/>', "emptied");
  swatch('<rect x="4" y="2" width="14" height="14" fill="none" stroke="#263238" stroke-width="3"/>', "depot");
  swatch('<polygon points="11,1 19,9 11,17 3,9" fill="#6d4c41"/>', "disposal site");
}

function renderKpis() {
  const box = $("kpis");
  box.textContent = "";
  const k = (state.plan && state.plan.kpis) || (state.planRow && state.planRow.kpis);
  if (!k) { box.appendChild(el("span", { class: "muted" }, "no finished plan")); return; }
  const grid = box.appendChild(el("div", { class: "kpi-grid" }));
  const items = [["km", k.km, "km"], ["hours", k.hours, "h"], ["kg", k.kg, "kg"],
    ["bins collected", k.bins_collected, ""], ["mean fill at pickup", pct(k.mean_fill_at_pickup), ""],
    ["unserved", k.unserved, ""], ["must collected", `${k.must_collected ?? "-"}/${k.must_total ?? "-"}`, ""],
    ["trucks used", k.trucks_used, ""], ["disposal trips", k.disposal_trips, ""]];
  for (const [label, value, unit] of items) {
    const d = grid.appendChild(el("div", { class: "kpi", "data-kpi": label }));
    const shown = typeof value === "number" ? (Number.isInteger(value) ? value : value.toFixed(1)) : (value ?? "-");
    d.appendChild(el("b", {}, `${shown}${unit ? " " + unit : ""}`));
    d.appendChild(el("small", {}, label));
  }
}

function renderUnserved() {
  const box = $("unserved");
  box.textContent = "";
  const list = (state.plan && state.plan.unserved) || [];
  if (!state.plan) { box.appendChild(el("span", { class: "muted" }, "-")); return; }
  if (!list.length) { box.appendChild(el("span", { class: "muted" }, "every planned bin is served")); return; }
  const ul = box.appendChild(el("ul"));
  // data-kind: the reason's kind (UnservedKind; "other" on a plan stored before kinds)
  for (const u of list) ul.appendChild(el("li", { "data-unserved": u.bin_id, "data-kind": u.kind || "other" }, `${u.bin_id}: ${u.reason}`));
}

/* The city's time zone (the plan's; the browser's before a plan is shown). */
const cityZone = () => (state.plan && state.plan.timezone) || undefined;

/* An instant (ISO, any offset) as HH:MM in the city's zone (the plan's). */
function localClock(iso) {
  if (!iso) return "-";
  const timeZone = cityZone();
  return new Date(iso).toLocaleTimeString("en-GB", { timeZone, hour: "2-digit", minute: "2-digit" });
}

/* As localClock, with the day ("24 Nov 17:30") when the instant is on another local date
   than the one shown (an alert carried from the day before). */
function localWhen(iso) {
  if (!iso) return "-";
  const timeZone = cityZone();
  const day = new Date(iso).toLocaleDateString("en-CA", { timeZone });  // YYYY-MM-DD
  if (day === $("plan-date").value) return localClock(iso);
  const date = new Date(iso).toLocaleDateString("en-GB", { timeZone, day: "numeric", month: "short" });
  return `${date} ${localClock(iso)}`;
}

const NOT_SENT = new Set(["no_plan", "unserved", "failed"]);
const SENT = new Set(["rerouted", "planned"]);  // dismissing re-plans the day without the visit

function renderAlerts() {
  // the date's alerts: when, where, what became of them; a rerouted one's truck, ETA, target
  const box = $("alerts");
  box.textContent = "";
  if (!state.alerts.length) { box.appendChild(el("span", { class: "muted" }, "no alert on this date")); return; }
  const t = box.appendChild(el("table", { class: "alerts" }));
  t.innerHTML = "<tr><th>at</th><th>bin</th><th>from</th><th>status</th><th>truck</th><th>empties at</th><th>target</th><th></th></tr>";
  for (const a of state.alerts) {
    const tr = t.appendChild(el("tr", { "data-alert": String(a.id), "data-status": a.status }));
    const late = a.eta && a.respond_by && new Date(a.eta) > new Date(a.respond_by);
    if (late) tr.classList.add("late");
    for (const text of [localWhen(a.at), a.bin_id, a.source, a.status, a.vehicle_id || "-", localWhen(a.eta), localWhen(a.respond_by)]) {
      tr.appendChild(el("td", {}, text));
    }
    const cell = tr.appendChild(el("td"));
    if (NOT_SENT.has(a.status) || SENT.has(a.status)) {  // a false alarm can be dismissed
      const title = SENT.has(a.status) ? "a false alarm: the day is re-planned without this visit" : "a false alarm: no plan takes it in";
      const b = cell.appendChild(el("button", { class: "dismiss", title }, "dismiss"));
      b.addEventListener("click", () => dismissAlert(a, b));
    }
  }
}

async function dismissAlert(a, button) {
  button.disabled = true;
  try {
    const got = await api(`/alerts/${a.id}/dismiss`, { method: "POST" });
    if (SENT.has(a.status) && got.plan_id !== a.plan_id) {  // a plan job drops the visit
      say(`alert #${a.id} on ${a.bin_id} dismissed: re-planning the day without it...`, true);
      const row = await followPlan(await api(`/plans/${got.plan_id}`));
      if (row.status === "done") say(`alert #${a.id} on ${a.bin_id} dismissed: plan #${row.id} ready without its visit`, true);
      else say(`alert #${a.id} dismissed, but plan #${row.id} ${row.status}: ${row.message}`);
      return;
    }
    await reloadShown();
    say(`alert #${a.id} on ${a.bin_id} dismissed: no plan takes it in`, true);
  } catch (err) {
    say(err.message);
    button.disabled = false;
  }
}

function renderNotes() {
  // rules the independent checker found broken first (e.g. a late truck's shift), then notes
  const box = $("notes");
  box.textContent = "";
  if (!state.plan) { box.appendChild(el("span", { class: "muted" }, "-")); return; }
  const broken = state.plan.violations || [], notes = state.plan.notes || [];
  if (!broken.length && !notes.length) { box.appendChild(el("span", { class: "muted" }, "none")); return; }
  const ul = box.appendChild(el("ul"));
  for (const v of broken) {
    const who = [v.vehicle_id, v.ref].filter((x) => x).join(" / ");
    ul.appendChild(el("li", { class: "violation", "data-violation": v.code }, `rule broken (${v.code}) ${who}: ${v.message}`));
  }
  for (const n of notes) ul.appendChild(el("li", { "data-note": "" }, n));
}

function visitAt(visit) {
  // the instant a dispatcher action refers to: now on the plan's own day in the city's zone
  // (not UTC's: in Seoul UTC's day begins at 09:00), else the visit's time
  const today = new Date().toLocaleDateString("en-CA", { timeZone: cityZone() }); // YYYY-MM-DD
  return state.plan && state.plan.plan_date === today ? new Date().toISOString() : visit.end;
}

const typedKey = (ref) => `${state.date}|${ref}`; // a stop's "fill %" box, in state.typed

function renderTrucks() {
  const box = $("trucks");
  box.textContent = "";
  if (!state.plan) { box.appendChild(el("span", { class: "muted" }, "no finished plan")); return; }
  const dec = decisions(), alerts = openAlertBins();
  state.plan.routes.forEach((r, i) => {
    const card = box.appendChild(el("div", { class: "truck", "data-truck": r.vehicle_id, style: `--c:${truckColour(i)}` }));
    const h = card.appendChild(el("h3", {}, `truck ${r.vehicle_id}`));
    const idle = r.waiting_at_depot_s || 0;
    const atDepot = idle > 0 ? ` (+${(idle / 3600).toFixed(2)} h at its depot)` : "";
    h.appendChild(el("small", {}, `${(r.distance_m / 1000).toFixed(1)} km, ${((r.duration_s - idle) / 3600).toFixed(2)} h${atDepot}, ${r.bins} bins`));
    const down = state.down && state.down.get(r.vehicle_id);
    const service = h.appendChild(el("button", {
      class: "service-btn", type: "button", "data-down": down ? "yes" : "no",
      title: down ? "repaired: it takes bins again (the day is re-planned)" : "broken down: it takes no more bins (the day is re-planned)",
    }, down ? "back in service" : "out of service"));
    service.addEventListener("click", () => setService(r.vehicle_id, service));
    const sheet = h.appendChild(el("button", {
      class: "sheet-btn", type: "button", "data-sheet": r.vehicle_id,
      title: "the driver's stops in order with turn-by-turn directions, a page to print",
    }, "route sheet"));
    sheet.addEventListener("click", () => saveSheet(r.vehicle_id, sheet));
    const work = r.visits;
    for (const p of state.offMissed.filter((x) => x.vehicle_id === r.vehicle_id)) {
      card.appendChild(el("div", { class: "off-route", "data-off-route": p.bin_id },
        `${p.bin_id} missed off its route at ${localClock(p.at)}${p.reason ? ` (${p.reason})` : ""}`));
    }
    if (!r.bins) { card.appendChild(el("div", { class: "muted" }, "not used today")); return; }
    const t = card.appendChild(el("table", { class: "stops" }));
    t.innerHTML = "<tr><th>#</th><th>stop</th><th>ETA</th><th>fill at pickup</th><th></th></tr>";
    const unloadNo = new Map(); // site -> how many of this truck's unloadings there so far
    for (const v of work) {
      let nth = 0;
      if (v.kind === "disposal") { nth = (unloadNo.get(v.ref) || 0) + 1; unloadNo.set(v.ref, nth); }
      const done = (v.kind === "bin" && isDone(v.ref))
        || (v.kind === "disposal" && (state.unloaded.get(unloadKey(r.vehicle_id, v.ref)) || 0) >= nth);
      const tr = t.appendChild(el("tr", { "data-stop": v.ref, "data-kind": v.kind }));
      if (done) tr.classList.add("done");
      if (v.kind === "bin" && alerts.has(binOf(v.ref))) tr.classList.add("alert");
      tr.appendChild(el("td", {}, String(v.order)));
      const away = v.kind === "end" && (v.lon !== work[0].lon || v.lat !== work[0].lat); // broken down
      const label = away ? "stands (out of service) "
        : { bin: "", disposal: "disposal ", start: "depot ", end: "depot ", break: "break" }[v.kind] ?? `${v.kind} `;
      tr.appendChild(el("td", { class: "ref" }, v.kind === "break" ? "break" : `${label}${v.ref}`));
      const eta = tr.appendChild(el("td", {}, clock(v.arrival)));
      if (v.respond_by) {
        eta.classList.add(v.late_s > 0 ? "late" : "on-time");
        eta.title = `${v.alert ? "alert: empty by" : "overflows at"} ${clock(v.respond_by)}` + (v.late_s > 0 ? `; starts ${minutes(v.late_s)} late` : "");
      }
      const d = dec[v.ref];
      tr.appendChild(el("td", {}, v.kind === "bin" ? pct(v.expected_fill ?? (d && d.expected_fill)) : ""));
      const act = tr.appendChild(el("td", { class: "act" }));
      if (v.kind === "bin") {
        if (done) {
          const found = doneFills(v.ref)[visitNo(v.ref) - 1];
          if (found === MISSED) tr.classList.add("missed");
          act.textContent = found === MISSED ? "missed" : found == null ? "done" : `done, found ${pct(found)}`;
        } else {
          const f = act.appendChild(el("input", {
            class: "fill-found", type: "number", min: "0", max: "100", step: "1",
            placeholder: "fill %", title: "fill found at pickup, % (optional)",
          }));
          // what was typed survives the tables being redrawn (another stop marked done)
          f.value = state.typed.get(typedKey(v.ref)) || "";
          f.addEventListener("input", () => state.typed.set(typedKey(v.ref), f.value));
          const b = act.appendChild(el("button", { class: "done-btn", type: "button" }, "done"));
          b.addEventListener("click", () => markDone(r.vehicle_id, v, b, f));
          const m = act.appendChild(el("button", {
            class: "missed-btn", type: "button", title: "the crew could not empty it (blocked, locked, missing)",
          }, "missed"));
          m.addEventListener("click", () => markMissed(r.vehicle_id, v, m));
        }
      } else if (v.kind === "disposal") {
        if (done) act.textContent = "unloaded";
        else {
          const b = act.appendChild(el("button", { class: "done-btn", type: "button" }, "unloaded"));
          b.addEventListener("click", () => markUnloaded(r.vehicle_id, v, b));
        }
      }
    }
  });
}

function showStatus(row) {
  $("job-progress").value = row ? row.progress : 0;
  $("plan-status").textContent = row
    ? `plan #${row.id} v${row.version}: ${row.status} ${Math.round(row.progress * 100)}% ${row.message || ""}`
    : "no plan for this date";
}

/* ---------------------------------------------------------------- actions */
function showBinPopup(bin, x, y) {
  const pop = $("popup");
  const svg = $("map"), rect = svg.getBoundingClientRect(), k = rect.width / W;
  pop.style.left = `${Math.min(x * k + 12, rect.width - 210)}px`;
  pop.style.top = `${Math.max(y * k - 20, 0)}px`;
  pop.textContent = "";
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
