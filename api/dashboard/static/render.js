/* binroute dispatcher dashboard, render: drawing what app.js loaded (the map, the trucks'
   cards and their stops, the alerts, the unserved bins, the notes, the KPIs). */
"use strict";

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
