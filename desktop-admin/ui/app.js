// The console's window. All data comes from the Rust command layer (`invoke`); live changes arrive
// as `live` events. No framework, no remote assets.
const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => [...document.querySelectorAll(sel)];
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};
const money = (minor, currency) => `${(minor / 100).toFixed(2)} ${currency}`;
const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);

const state = { cards: new Map(), view: "overview", offline: false, mapFacility: null, following: false };

function showError(err) {
  const box = $("#error");
  if (!err) { box.hidden = true; return; }
  box.textContent = err.message ? `${err.message} (${err.code})` : String(err);
  box.hidden = false;
}

// Marks data as cached (offline) or live, and disables what needs the server.
function freshness(fetched) {
  state.offline = fetched.offline;
  document.body.classList.toggle("offline", fetched.offline);
  const status = $("#status");
  if (fetched.offline) {
    const mins = Math.round(fetched.age_seconds / 60);
    status.textContent = `Offline: showing data from ${mins < 1 ? "less than a minute" : mins + " min"} ago`;
    status.className = "status offline";
  } else {
    status.textContent = "Live";
    status.className = "status live";
  }
  for (const b of $$("[data-needs-server]")) b.disabled = fetched.offline;
}

// ---- sign-in ---------------------------------------------------------------------------------------
async function start() {
  listen("live", (e) => e.payload.forEach(applyChange));
  listen("menu", (e) => {
    if (e.payload === "sign_out") return $("#signout").click();
    if (!$("#app").hidden) show(e.payload);
  });
  listen("link", (e) => { if (!state.offline) $("#status").classList.toggle("down", !e.payload); });
  try {
    const session = await invoke("restore");
    if (session) return enter(session);
  } catch (err) {
    $("#signin-error").textContent = err.message;
  }
  $("#signin").hidden = false;
}

$("#signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("#signin-error").textContent = "";
  $("#signin-button").disabled = true;
  try {
    const session = await invoke("sign_in", { email: $("#email").value, password: $("#password").value });
    enter(session);
  } catch (err) {
    $("#signin-error").textContent = err.message;
  } finally {
    $("#signin-button").disabled = false;
  }
});

$("#signout").addEventListener("click", async () => {
  await invoke("sign_out").catch(showError);
  location.reload();
});

async function enter(session) {
  $("#signin").hidden = true;
  $("#app").hidden = false;
  state.session = session;
  $("#who").textContent = session.operator && session.role !== "admin" ? `${session.email} · ${session.operator}` : session.email;
  $("#who").title = `${session.email}, ${session.role}, on ${session.server}`;
  if (session.role === "admin" && !session.offline) await fillOperators(session.operator);
  await loadOverview();
  if (!state.following && !session.offline) {
    state.following = true;
    await invoke("follow");
  }
  refreshAlertCount();
}

// An admin looks at one operator at a time, or at all of them.
async function fillOperators(chosen) {
  const operators = await invoke("operators");
  const select = $("#operator");
  select.replaceChildren(el("option", { value: "" }, "every operator"),
    ...operators.map((o) => el("option", { value: o.id }, o.name)));
  select.value = chosen ?? "";
  select.hidden = false;
}

// ---- navigation ------------------------------------------------------------------------------------
for (const button of $$("nav button")) {
  button.addEventListener("click", () => show(button.dataset.view));
}

function show(view) {
  state.view = view;
  for (const b of $$("nav button")) b.classList.toggle("active", b.dataset.view === view);
  for (const s of $$(".view")) s.hidden = s.id !== `view-${view}`;
  showError(null);
  const loaders = { overview: loadOverview, map: loadMap, revenue: loadRevenue, demand: loadDemand,
    sessions: () => {}, audit: loadAudit, alerts: loadAlerts, rates: loadRates, setup: loadSetup };
  loaders[view]();
}

function fillFacilities(select) {
  const keep = select.value;
  select.replaceChildren(...[...state.cards.values()].map((c) => el("option", { value: c.id }, c.name)));
  if (keep) select.value = keep;
}

// ---- overview --------------------------------------------------------------------------------------
async function loadOverview() {
  try {
    const fetched = await invoke("overview");
    freshness(fetched);
    state.cards = new Map(fetched.value.map((c) => [c.id, c]));
    $("#cards").replaceChildren(...fetched.value.map(card));
  } catch (err) {
    showError(err);
  }
}

function counts(c) {
  return el("span", { class: "counts" },
    el("b", { "data-count": "free" }, c.free), " free · ",
    el("span", { "data-count": "occupied" }, c.occupied), " occupied · ",
    el("span", { "data-count": "held" }, c.held), " reserved · ",
    el("span", { "data-count": "out_of_service" }, c.out_of_service), " closed");
}

function bar(percent) {
  const b = el("div", { class: "bar" }, el("div", { class: "fill" }));
  b.firstChild.style.width = `${percent}%`;
  b.classList.toggle("high", percent >= 95);
  return b;
}

function card(c) {
  const floors = el("table", { class: "floors" }, el("tbody", {}, ...c.floors.map((f) => {
    const inService = f.counts.free + f.counts.occupied + f.counts.held;
    const pct = inService ? Math.round(((f.counts.occupied + f.counts.held) * 100) / inService) : 0;
    return el("tr", { "data-level": f.level },
      el("th", {}, f.label), el("td", { class: "num" }, `${f.counts.free} free`), el("td", {}, bar(pct)),
      el("td", { class: "zones muted" }, f.zones.map((z) => `${z.code} ${z.counts.free}`).join(" · ")));
  })));
  const stale = c.freshness.stale_sensors;
  return el("article", { class: "card", "data-facility": c.id },
    el("header", {}, el("h2", {}, c.name), el("span", { class: "pct", "data-count": "taken" }, `${c.taken_percent}%`)),
    el("p", { class: "muted" }, c.address),
    bar(c.taken_percent),
    el("p", {}, counts(c.counts), " of ", el("span", { "data-count": "capacity" }, c.counts.capacity)),
    el("p", { class: stale ? "warn" : "muted", "data-count": "stale" }, stale ? `${stale} sensors silent` : "all sensors reporting"),
    floors);
}

function applyChange(change) {
  if (change.type === "card") {
    state.cards.set(change.card.id, change.card);
    const old = document.querySelector(`.card[data-facility="${CSS.escape(change.card.id)}"]`);
    if (old) old.replaceWith(card(change.card));
  } else if (change.type === "spot" || change.type === "sensor") {
    const map = document.querySelector(`#map svg[data-facility="${CSS.escape(change.facility)}"]`);
    const spot = map && map.querySelector(`[data-spot="${CSS.escape(change.spot)}"]`);
    if (!spot) return;
    if (change.type === "spot") {
      spot.classList.remove("free", "occupied", "reserved", "out-of-service");
      spot.classList.add({ held: "reserved", out_of_service: "out-of-service" }[change.state] || change.state);
    } else {
      spot.classList.toggle("stale", change.silent);
    }
  }
}

// ---- floor map -------------------------------------------------------------------------------------
$("#map-facility").addEventListener("change", () => { $("#map-level").value = ""; loadMap(); });
$("#map-level").addEventListener("change", loadMap);

async function loadMap() {
  fillFacilities($("#map-facility"));
  const facility = $("#map-facility").value;
  if (!facility) return;
  const level = $("#map-level").value === "" ? null : Number($("#map-level").value);
  try {
    const fetched = await invoke("floor_map", { facility, level });
    const m = fetched.value;
    $("#map-level").replaceChildren(...m.levels.map((l) => el("option", { value: l }, l)));
    $("#map-level").value = m.level;
    $("#map").innerHTML = m.svg; // drawn by the console itself, every text escaped
    for (const spot of $$("#map [data-spot]")) spot.addEventListener("click", () => toggleService(facility, spot));
    const l = m.legend;
    $("#legend").replaceChildren(
      el("li", { class: "free" }, `${l.free} free`), el("li", { class: "occupied" }, `${l.occupied} occupied`),
      el("li", { class: "reserved" }, `${l.reserved} reserved`),
      el("li", { class: "out-of-service" }, `${l.out_of_service} out of service`),
      el("li", { class: "stale" }, `${l.stale} stale sensor`));
  } catch (err) {
    showError(err);
  }
}

// Clicking a spot closes it (cones, repairs) or reopens it; the stream recolours it.
async function toggleService(facility, spot) {
  const closing = !spot.classList.contains("out-of-service");
  const code = spot.dataset.spot;
  if (state.offline || !confirm(`${closing ? "Close" : "Reopen"} spot ${code}?`)) return;
  try {
    await invoke("set_spot_service", { facility, spot: code, outOfService: closing });
  } catch (err) {
    showError(err);
  }
}

// ---- revenue ---------------------------------------------------------------------------------------
$("#rev-load").addEventListener("click", loadRevenue);
// Any chart on screen (and the revenue table) can be saved; the console writes the file.
for (const b of $$("[data-export-chart]")) {
  b.addEventListener("click", async () => {
    const saved = b.closest(".view").querySelector(".saved");
    try {
      const path = await invoke("export", { name: b.dataset.exportChart, format: b.dataset.format });
      saved.textContent = `Saved ${path}`;
    } catch (err) {
      showError(err);
    }
  });
}

const facilityName = (id) => state.cards.get(id)?.name ?? id;

async function loadRevenue() {
  if (!$("#rev-from").value) { $("#rev-from").value = daysAgo(13); $("#rev-to").value = today(); }
  try {
    const fetched = await invoke("revenue", { from: $("#rev-from").value, to: $("#rev-to").value });
    freshness(fetched);
    const r = fetched.value;
    $("#rev-chart").innerHTML = r.chart_svg; // drawn by plotters in the console
    const rows = (pairs, name) => pairs.map(([k, v]) => el("tr", {}, el("td", {}, name(k)), el("td", { class: "num" }, money(v, r.currency))));
    $("#rev-facilities tbody").replaceChildren(...rows(r.by_facility, facilityName));
    $("#rev-methods tbody").replaceChildren(...rows(r.by_method, (m) => m));
    $("#rev-rows tbody").replaceChildren(...r.rows.map((x) => el("tr", {},
      el("td", {}, x.date), el("td", {}, x.facility), el("td", {}, x.method), el("td", { class: "num" }, x.payments),
      el("td", { class: "num" }, money(x.taken_minor, x.currency)), el("td", { class: "num" }, money(x.refunded_minor, x.currency)))));
    $("#rev-balances tbody").replaceChildren(...r.open_balances.map((b) => el("tr", {},
      el("td", {}, new Date(b.exited_at).toLocaleString()), el("td", {}, facilityName(b.facility)), el("td", {}, b.ticket),
      el("td", { class: "num" }, money(b.owed_minor, b.currency)))));
    if (!r.open_balances.length) $("#rev-balances tbody").append(el("tr", {}, el("td", { colSpan: 4, class: "muted" }, "Nothing owed.")));
    if (!r.rows.length) $("#rev-rows tbody").append(el("tr", {}, el("td", { colSpan: 6, class: "muted" }, "No payments in this range.")));
  } catch (err) {
    showError(err);
  }
}

// ---- demand ----------------------------------------------------------------------------------------
$("#dm-facility").addEventListener("change", loadDemand);

async function loadDemand() {
  fillFacilities($("#dm-facility"));
  const facility = $("#dm-facility").value;
  if (!facility) return;
  try {
    const fetched = await invoke("demand", { facility });
    freshness(fetched);
    const d = fetched.value;
    // Drawn by plotters in the console.
    $("#dm-today").innerHTML = d.today_svg;
    $("#dm-forecast").innerHTML = d.forecast_svg;
    $("#dm-heat").innerHTML = d.heat_map_svg;
    $("#dm-peak").textContent = d.next_peak
      ? `Busiest in the next 24 hours: ${d.next_peak[0]}, about ${d.next_peak[1]}% taken`
      : "Not enough history for a forecast yet.";
  } catch (err) {
    showError(err);
  }
}

// ---- sessions and audit ----------------------------------------------------------------------------
$("#ss-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const stays = await invoke("find_sessions", { by: $("#ss-by").value, value: $("#ss-value").value });
    if (!stays.length) return $("#ss-results").replaceChildren(el("li", { class: "muted" }, "No stays found."));
    $("#ss-results").replaceChildren(...stays.map(stayItem));
  } catch (err) {
    showError(err);
  }
});

function stayItem(t) {
  const s = t.session;
  const when = (at) => new Date(at).toLocaleString();
  const images = [t.entry_image && `entry image ${t.entry_image}`, t.exit_image && `exit image ${t.exit_image}`].filter(Boolean);
  return el("li", { class: "stay", "data-session": s.id },
    el("header", {}, el("b", {}, `Ticket ${s.ticket}`), ` · ${s.plate ?? "no plate"} · ${facilityName(s.facility)}`,
      el("span", { class: "muted" }, s.exited_at ? ` · finished` : ` · inside${s.overstay ? " (overstay)" : ""}`)),
    el("p", {}, `Fee ${money(s.fee.minor, s.fee.currency)}, paid ${money(s.paid.minor, s.paid.currency)}`,
      images.length ? el("span", { class: "muted" }, ` · ${images.join(" · ")}`) : ""),
    el("table", { class: "timeline" }, el("tbody", {}, ...t.events.map((e) => el("tr", { "data-kind": e.kind },
      el("td", { class: "muted" }, when(e.at)), el("td", {}, e.text),
      el("td", { class: "num" }, e.amount_minor == null ? "" : money(e.amount_minor, s.fee.currency)),
      el("td", {}, e.payment ? refundForm(e, s.fee.currency) : ""))))));
}

// A payment can be refunded, in part or whole, with a reason; one key per form, so a double click or a
// retry is the same refund.
function refundForm(event, currency) {
  const key = crypto.randomUUID();
  const amount = el("input", { class: "refund-amount", type: "number", min: "0.01", step: "0.01", value: (event.amount_minor / 100).toFixed(2) });
  const reason = el("input", { class: "refund-reason", placeholder: "Reason" });
  const button = el("button", { class: "refund-button", "data-needs-server": "" }, "Refund");
  const done = el("span", { class: "ok" });
  button.addEventListener("click", async () => {
    try {
      const minor = Math.round(Number(amount.value) * 100);
      const receipt = await invoke("refund", { payment: event.payment, amountMinor: minor, reason: reason.value, key });
      done.textContent = `Refunded ${money(receipt.amount.minor, currency)}`;
      button.disabled = true;
    } catch (err) {
      showError(err);
    }
  });
  const show = el("button", { class: "receipt-button" }, "Receipt");
  show.addEventListener("click", async () => {
    try {
      const r = await invoke("receipt", { id: event.payment });
      done.textContent = `Receipt ${r.id}: ${money(r.amount.minor, r.amount.currency)} by ${r.method ?? "?"}` +
        `${r.provider_ref ? ` (${r.provider_ref})` : ""}, ${new Date(r.at).toLocaleString()}`;
    } catch (err) {
      showError(err);
    }
  });
  return el("span", { class: "refund" }, amount, reason, button, show, done);
}

async function loadAudit() {
  try {
    const rows = await invoke("audit");
    $("#au-rows tbody").replaceChildren(...rows.map((r) => el("tr", {},
      el("td", { class: "num" }, r.seq), el("td", {}, new Date(r.at).toLocaleString()), el("td", {}, r.kind),
      el("td", {}, r.ref_id), el("td", { class: "muted mono" }, r.hash.slice(0, 16) + "…"))));
  } catch (err) {
    showError(err);
  }
}

$("#au-verify").addEventListener("click", async () => {
  try {
    const v = await invoke("verify_audit");
    $("#au-result").textContent = v.ok
      ? `Intact: ${v.records} records, ${v.ledger_entries} ledger entries, every one accounted for.`
      : `${v.problems.length} problems: ${v.problems.slice(0, 5).join("; ")}`;
    $("#au-result").className = v.ok ? "ok" : "error";
  } catch (err) {
    showError(err);
  }
});

// ---- alerts ----------------------------------------------------------------------------------------
async function refreshAlertCount() {
  try {
    const fetched = await invoke("alerts");
    const open = fetched.value.filter((a) => !a.acknowledged).length;
    $("#alert-count").textContent = open;
    $("#alert-count").hidden = open === 0;
    return fetched;
  } catch (err) {
    return null;
  }
}

async function loadAlerts() {
  const fetched = await refreshAlertCount();
  if (!fetched) return showError({ message: "Alerts could not be loaded.", code: "alerts" });
  freshness(fetched);
  if (!fetched.value.length) return $("#alerts").replaceChildren(el("li", { class: "muted" }, "No alerts."));
  $("#alerts").replaceChildren(...fetched.value.map(alertItem));
}

function alertItem(a) {
  const item = el("li", { class: `alert ${a.kind}${a.acknowledged ? " acknowledged" : ""}`, "data-alert": a.id },
    el("span", { class: "kind" }, a.kind.replaceAll("_", " ")),
    el("span", { class: "facility muted" }, a.facility),
    el("p", { class: "text" }, a.text));
  if (a.acknowledged) {
    const k = a.acknowledged;
    item.append(el("p", { class: "ack muted" }, `Acknowledged by ${k.by} at ${new Date(k.at).toLocaleString()}: ${k.note}`));
    return item;
  }
  const note = el("input", { class: "note", placeholder: "What was done, or why it can wait" });
  const button = el("button", { class: "ack-button", "data-needs-server": "" }, "Acknowledge");
  button.disabled = state.offline;
  button.addEventListener("click", async () => {
    try {
      await invoke("acknowledge_alert", { id: a.id, note: note.value });
      loadAlerts();
    } catch (err) {
      showError(err);
    }
  });
  item.append(el("div", { class: "ack-form" }, note, button));
  return item;
}

// ---- rates -----------------------------------------------------------------------------------------
let previewTimer = null;
$("#rates-facility").addEventListener("change", loadRates);
$("#rates-text").addEventListener("input", schedulePreview);
for (const id of ["#pv-class", "#pv-date", "#pv-from", "#pv-to"]) $(id).addEventListener("input", schedulePreview);

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 150);
}

async function loadRates() {
  fillFacilities($("#rates-facility"));
  if (!$("#pv-date").value) $("#pv-date").value = nextFriday();
  $("#rates-saved").textContent = "";
  try {
    $("#rates-text").value = await invoke("rate_plan", { facility: $("#rates-facility").value });
    preview();
  } catch (err) {
    showError(err);
  }
}

function nextFriday() {
  const d = new Date();
  d.setDate(d.getDate() + ((5 - d.getDay() + 7) % 7));
  return d.toISOString().slice(0, 10);
}

async function preview() {
  const stay = { vehicle_class: $("#pv-class").value, date: $("#pv-date").value, from: $("#pv-from").value, to: $("#pv-to").value };
  try {
    const p = await invoke("preview_quote", { facility: $("#rates-facility").value, draft: $("#rates-text").value, stay });
    $("#rates-error").textContent = "";
    $("#pv-sentence").textContent = p.sentence;
    $("#pv-lines tbody").replaceChildren(...p.lines.map((l) => el("tr", {},
      el("td", {}, l.label), el("td", { class: "muted" }, `${l.from}–${l.to}`), el("td", { class: "num" }, l.amount))));
    $("#rates-save").disabled = state.offline;
  } catch (err) {
    $("#rates-error").textContent = err.message;
    $("#rates-save").disabled = true;
  }
}

$("#rates-save").addEventListener("click", async () => {
  try {
    await invoke("save_rate_plan", { facility: $("#rates-facility").value, draft: $("#rates-text").value });
    $("#rates-saved").textContent = `Saved. New stays at ${state.cards.get($("#rates-facility").value)?.name} are priced by this plan.`;
  } catch (err) {
    showError(err);
  }
});

// ---- setup -----------------------------------------------------------------------------------------
const done = (text) => { $("#setup-done").textContent = text; };
const attempt = (fn) => async (e) => {
  e?.preventDefault();
  showError(null);
  try {
    await fn();
  } catch (err) {
    showError(err);
  }
};

async function loadSetup() {
  for (const sel of ["#dv-facility", "#vl-facility", "#us-facilities"]) fillFacilities($(sel));
  if (!$("#pm-text").value) $("#pm-text").value = await invoke("permit_template");
  await Promise.all([loadDevices(), loadUsers(), loadPermits()]).catch(showError);
}

async function loadDevices() {
  const rows = await invoke("devices");
  $("#dv-rows tbody").replaceChildren(...rows.map((d) => {
    const revoke = el("button", { "data-needs-server": "" }, "Revoke");
    revoke.addEventListener("click", attempt(async () => { await invoke("revoke_device", { id: d.id }); done(`Revoked ${d.name}.`); loadDevices(); }));
    return el("tr", { class: d.revoked_at ? "muted" : "" }, el("td", {}, d.name), el("td", {}, d.kind.replace("_", " ")),
      el("td", {}, d.facility ? facilityName(d.facility) : "any"), el("td", {}, new Date(d.created_at).toLocaleDateString()),
      el("td", {}, d.revoked_at ? "revoked" : revoke));
  }));
}

$("#dv-form").addEventListener("submit", attempt(async () => {
  const device = { name: $("#dv-name").value, kind: $("#dv-kind").value, facility: $("#dv-facility").value };
  const issued = await invoke("create_device", { device });
  $("#dv-token").textContent = `Token for ${device.name} (shown once, copy it now): ${issued.token}`;
  loadDevices();
}));

const picked = (select) => [...select.selectedOptions].map((o) => o.value);

// The operator's staff, each with the facilities they are limited to (none picked: all of them).
async function loadUsers() {
  const users = (await invoke("users")).filter((u) => u.operator && (!state.session.operator || u.operator === state.session.operator));
  $("#us-rows tbody").replaceChildren(...users.map((u) => {
    const limits = el("select", { multiple: true, class: "staff-facilities", ariaLabel: `facilities of ${u.email}` },
      ...[...state.cards.values()].map((c) => el("option", { value: c.id }, c.name)));
    for (const o of limits.options) o.selected = u.facilities.includes(o.value);
    const save = el("button", { "data-needs-server": "" }, "Save");
    save.addEventListener("click", attempt(async () => {
      await invoke("set_staff_facilities", { user: u.id, facilities: picked(limits) });
      done(`${u.email} works at ${picked(limits).map(facilityName).join(", ") || "every facility"}.`);
      loadUsers();
    }));
    return el("tr", { "data-user": u.email }, el("td", {}, u.email), el("td", {}, u.role),
      el("td", {}, el("p", {}, u.facilities.length ? u.facilities.map(facilityName).join(", ") : "every facility"), limits),
      el("td", {}, save));
  }));
}

$("#us-form").addEventListener("submit", attempt(async () => {
  const user = { email: $("#us-email").value, password: $("#us-password").value, role: $("#us-role").value,
    operator: state.session.operator ?? null, facilities: picked($("#us-facilities")) };
  await invoke("create_user", { user });
  done(`Added ${user.email} as ${user.role}.`);
  $("#us-password").value = "";
  loadUsers();
}));

async function loadPermits() {
  const list = await invoke("permits");
  $("#pm-rows tbody").replaceChildren(...list.permits.map((p) => {
    const revoke = el("button", { "data-needs-server": "" }, "Revoke");
    revoke.addEventListener("click", attempt(async () => { await invoke("revoke_permit", { id: p.id }); done(`Revoked ${p.id}.`); loadPermits(); }));
    return el("tr", {}, el("td", {}, `${p.id}${p.pool ? ` (${p.pool})` : ""}`), el("td", {}, p.holder), el("td", {}, p.plates.join(", ")),
      el("td", {}, new Date(p.valid_until).toLocaleDateString()), el("td", {}, revoke));
  }));
}

$("#pm-create").addEventListener("click", attempt(async () => {
  await invoke("create_permit", { draft: $("#pm-text").value });
  done("Permit created.");
  loadPermits();
}));

$("#pl-form").addEventListener("submit", attempt(async () => {
  await invoke("set_pool", { id: $("#pl-id").value, limit: Number($("#pl-limit").value) });
  done(`Pool ${$("#pl-id").value} holds ${$("#pl-limit").value} places.`);
}));

$("#vl-form").addEventListener("submit", attempt(async () => {
  const request = { code: $("#vl-code").value.trim() || null, facility: $("#vl-facility").value, merchant: $("#vl-merchant").value,
    discount: { [$("#vl-kind").value]: Number($("#vl-value").value) },
    max_uses: $("#vl-uses").value ? Number($("#vl-uses").value) : null };
  const code = await invoke("create_validation", { request });
  done(`Code ${code} works at ${facilityName(request.facility)}.`);
}));

$("#ly-import").addEventListener("click", attempt(async () => {
  const id = await invoke("import_layout", { draft: $("#ly-text").value });
  done(`Imported ${id}.`);
  await loadOverview();
}));

$("#operator").addEventListener("change", attempt(async () => {
  state.session = await invoke("choose_operator", { operator: $("#operator").value || null });
  await loadOverview();
  show(state.view);
}));

start();
