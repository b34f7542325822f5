/* binroute dispatcher dashboard, live: the page follows what others change while it is open
   (the trucks' reports from their tablets, sensors' and citizens' alerts and the reroutes
   they start, citizens' reports, the nightly plan or another dispatcher's, new readings,
   the inventory's changes) without "Show".

   Every REFRESH_MS the page looks at the date shown: its plan versions, the reports of the
   plan shown, its alerts, its citizen reports, the last reading received and the
   inventory's changes since it loaded (bins, sites, depots, trucks). When any
   differs from what the page loaded last, it loads again: the day's newest done plan (a
   reroute or a new plan replaces the one shown, the reroute's change shown), unless the
   dispatcher picked a version in the menu: that one (the menu lists the new ones). It says
   what others changed in the header ("10:42:05 v1 emptied b3; alert #7 on b5 (sensor);
   bin b9 added; plan #12 shown"), not what the page itself sent. It waits while the page
   is busy (a load, a report being sent, a job followed), a bin's popup is open, a menu has
   the focus (a version picked lets it go), or the tab is hidden; a load a report of the
   page overtakes is dropped, and made again at the next look. A "fill %" being typed keeps
   its box, its text and the focus.

   ``/dashboard?refresh=S`` looks every S seconds (15 by default; 0: never). */
"use strict";

const REFRESH_MS = (() => {
  const asked = new URLSearchParams(window.location.search).get("refresh");
  const s = asked === null || asked.trim() === "" ? 15 : Number(asked);
  return Number.isFinite(s) && s > 0 ? Math.max(0.5, s) * 1000 : 0;
})();
const MAX_NEWS = 4; // news items named in the header; the rest counted

const live = {
  looks: 0, // looks done (the page's data-looks)
  synced: 0, // looks that found the page showing the server as it is (data-synced)
  running: false,
  said: [], // the news said, oldest first (the last MAX_SAID)
};
const MAX_SAID = 50;

/* Whether the page may look (and load) now: nothing of its own in progress, nothing the
   dispatcher has open that a load would redraw under them. */
function liveIdle() {
  const active = document.activeElement;
  const picking = active && active.tagName === "SELECT"; // its list open: not redrawn under it
  return !!state.key && state.date !== null && state.date === $("plan-date").value
    && state.inflight === 0 && $("popup").hidden && !picking
    && document.visibilityState === "visible";
}

/* The date's versions (newest first), the day's reports (a done plan's: the page shows no
   other's), the date's alerts and citizen reports, the last reading received, the
   inventory's changes after ``changed`` (the last first, the last MAX_SAID): what the page
   shows that others change. */
async function liveLook(date, planId, done, changed) {
  const [plans, progress, alerts, reports, newest, changes] = await Promise.all([
    versionsOf(date), done ? api(`/plans/${planId}/progress`) : [],
    alertsOf(date), reportsOf(date), readingsStamp(date),
    api(`/inventory/changes?after=${changed}&limit=${MAX_SAID}`),
  ]);
  changed = changes.length ? changes[0].id : changed;
  return { date, planId, plans, progress, alerts, reports, newest, changes, changed };
}

/* What the page shows of the same (as it loaded it, with the versions its menu lists). */
const shownLook = () => ({
  date: state.date, planId: state.planId, plans: state.versions, progress: state.progress,
  alerts: state.alerts, reports: state.reports, newest: state.newest, changes: [],
  changed: state.changed,
});

/* What the page compares of a look: ids, statuses, and what an alert's reroute decided. */
function liveKey(look) {
  return JSON.stringify([look.date, look.planId, look.plans.map((p) => [p.id, p.status]),
    look.progress.map((p) => p.id),
    look.alerts.map((a) => [a.id, a.status, a.plan_id, a.vehicle_id, a.eta]),
    look.reports.map((r) => r.report_id), look.newest, look.changed]);
}

const REPORTED = { visit_done: "emptied", visit_missed: "missed", disposal_done: "unloaded at" };

/* What others changed between what the page shows and a look, as the header says it. */
function liveNews(before, now) {
  const news = [];
  const others = (what, id) => !state.mine.has(`${what}:${id}`);
  const had = new Set(before.progress.map((p) => p.id));
  for (const p of now.progress) {
    if (had.has(p.id) || !others("progress", p.id) || p.resend) continue;
    news.push(`${p.vehicle_id} ${REPORTED[p.kind] || p.kind} ${p.bin_id || p.site_id || ""}`.trim());
  }
  const was = new Map(before.alerts.map((a) => [a.id, a.status]));
  for (const a of now.alerts) {
    if (!others("alert", a.id) || was.get(a.id) === a.status) continue;
    news.push(was.has(a.id) ? `alert #${a.id} on ${a.bin_id} ${a.status}` : `alert #${a.id} on ${a.bin_id} (${a.source})`);
  }
  // a citizen's report: named by its alert when it raised one
  const reported = new Set([...before.reports, ...now.alerts].map((r) => r.report_id));
  for (const r of now.reports) {
    if (reported.has(r.report_id)) continue;
    news.push(`report ${r.report_id}${r.bin_id ? ` on ${r.bin_id}` : ""} (citizen)`);
  }
  const plans = new Map(before.plans.map((p) => [p.id, p.status]));
  for (const p of now.plans) {
    if (!others("plan", p.id) || plans.get(p.id) === p.status) continue;
    const what = { done: "ready", queued: "asked for", running: "being made" }[p.status] || p.status;
    news.push(`plan #${p.id} v${p.version} (${p.origin}) ${what}`);
  }
  if (now.newest !== before.newest) news.push("new readings");
  if (now.changes.length >= MAX_SAID) { // a bulk import, say: the last named
    news.push(`${MAX_SAID}+ inventory changes, the last ${changeSaid(now.changes[0])}`);
  } else {
    for (const c of [...now.changes].reverse()) news.push(changeSaid(c)); // oldest first
  }
  return news;
}

/* The "fill %" box with the focus ([truck, stop]), to give it back after a redraw (its text
   is kept in ``state.typed``). */
function typing() {
  const f = document.activeElement;
  if (!f || !f.classList || !f.classList.contains("fill-found")) return null;
  return [f.closest(".truck").dataset.truck, f.closest("tr").dataset.stop];
}

function typeOn(where) {
  if (!where) return;
  const [truck, stop] = where;
  const f = document.querySelector(`.truck[data-truck="${CSS.escape(truck)}"] tr[data-stop="${CSS.escape(stop)}"] input.fill-found`);
  if (f) f.focus();
}

/* The page loaded again after a change: the day's newest done plan, unless the dispatcher
   picked a version in the menu (``state.pinned``): that one. Whether the load was shown
   (false: a load or a report of the page overtook it). */
async function liveLoad(planId) {
  const where = typing();
  const t = Object.assign(ticket(), { edits: state.edits });
  // the newest done of the versions as they are now (not as the look found them)
  const target = await loadPlanList(state.pinned ? planId : null, t);
  const shown = !overtaken(t) && await loadPlan(target, t);
  if (!shown) {
    // a report of the page's overtook it: the menu as the version shown (a load's sets it)
    if (!overtaken({ seq: t.seq, date: t.date }) && state.planId !== null) $("plan-select").value = String(state.planId);
    return false;
  }
  typeOn(where);
  if (target !== planId) {
    $("diff-panel").hidden = true;
    if (state.planRow && state.planRow.parent_id) await showDiff(target);
  }
  return true;
}

function liveSay(text) {
  const box = $("live");
  const at = new Date().toLocaleTimeString("en-GB", { timeZone: cityZone(), hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (text) {
    live.said = [...live.said.slice(1 - MAX_SAID), text];
    box.textContent = `${at} ${text}`;
    box.className = "news";
  } else if (box.className !== "news") {
    box.textContent = `checked ${at}`;
  }
  box.title = `looks for others' changes every ${REFRESH_MS / 1000} s (last ${at})`;
  box.dataset.looks = String(live.looks);
  box.dataset.synced = String(live.synced);
}

/* One look, and a load when something changed. */
async function liveTick() {
  if (live.running || !liveIdle()) return;
  live.running = true;
  try {
    const date = state.date, planId = state.planId, seq = state.seq, edits = state.edits;
    const now = await liveLook(date, planId, !!state.plan, state.changed);
    live.looks++;
    // the page moved on meanwhile (a load, a report): its next look
    if (!liveIdle() || state.seq !== seq || state.edits !== edits) return;
    const before = shownLook();
    const newer = newestDone(now.plans);
    const behind = !state.pinned && newer !== null && newer !== planId; // a newer one came
    if (!behind && liveKey(before) === liveKey(now)) {
      live.synced++;
      liveSay("");
      return;
    }
    const news = liveNews(before, now);
    if (!await liveLoad(planId)) return; // dropped: the next look loads and says it again
    if (state.planId !== planId) news.push(`plan #${state.planId} shown`);
    const named = news.slice(0, MAX_NEWS).join("; ");
    liveSay(news.length > MAX_NEWS ? `${named} and ${news.length - MAX_NEWS} more` : named);
  } catch (err) {
    liveSay(`could not look: ${err.message}`); // the next look tries again
  } finally {
    live.running = false;
    loadNightly();
  }
}

function liveStart() {
  const box = $("live");
  if (!REFRESH_MS) {
    box.textContent = "not following others' changes (refresh=0): press Show";
    return;
  }
  box.textContent = `follows others' changes every ${REFRESH_MS / 1000} s`;
  box.addEventListener("click", () => { box.className = ""; liveSay(""); });
  setInterval(liveTick, REFRESH_MS);
}

liveStart();
