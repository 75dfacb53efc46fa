// Statistics with their bar charts (each with its table), stock alerts and thresholds,
// and a store's monthly report.

import { t } from "/i18n.js";
import { api, go, h, link } from "/ui.js";
import {
  formBox, frame, hours, input, isAdmin, notice, number, params, percent, select, seoulDay, table, withQuery,
} from "/console-common.js";

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return el;
}

let chartIds = 0;
/// A bar chart (bars grouped per label), its legend and its data table.
/// `series`: [{name, cls, values}], one value per label.
function barChart(id, title, description, labels, series, { labelHeader = t("기간", "Period"), horizontal = false } = {}) {
  const n = chartIds++;
  const [W, H] = [360, horizontal ? Math.max(80, labels.length * 28 + 20) : 200];
  const pad = horizontal ? { l: 60, r: 36, t: 8, b: 8 } : { l: 34, r: 8, t: 12, b: 34 };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  const g = svg("g");
  const slot = (horizontal ? plotH : plotW) / Math.max(1, labels.length);
  const bar = Math.max(1, (slot * 0.8) / series.length);
  if (!horizontal) {
    // Gridlines at 0, half and the top, labelled.
    for (const v of new Set([0, Math.round(max / 2), max])) {
      const y = pad.t + plotH * (1 - v / max);
      g.append(svg("line", { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: "grid" }),
        svg("text", { x: pad.l - 4, y: y + 4, "text-anchor": "end", class: "tick" }, v));
    }
  }
  const every = Math.max(1, Math.ceil(labels.length / 7));
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      const tip = svg("title", {}, `${label} · ${s.name}: ${v}`);
      if (horizontal) {
        const y = pad.t + i * slot + slot * 0.1 + j * bar;
        const w = plotW * (v / max);
        g.append(svg("rect", { x: pad.l, y, width: Math.max(w, v ? 1 : 0), height: bar, class: `bar ${s.cls}` }, tip),
          svg("text", { x: pad.l + w + 4, y: y + bar / 2 + 4, class: "value" }, v));
      } else {
        const hgt = plotH * (v / max);
        const x = pad.l + i * slot + slot * 0.1 + j * bar;
        g.append(svg("rect", { x, y: pad.t + plotH - hgt, width: bar, height: hgt, class: `bar ${s.cls}` }, tip));
      }
    });
    if (horizontal) {
      g.append(svg("text", { x: pad.l - 6, y: pad.t + i * slot + slot / 2 + 4, "text-anchor": "end", class: "tick" }, label));
    } else if (i % every === 0) {
      g.append(svg("text", { x: pad.l + i * slot + slot / 2, y: H - pad.b + 14, "text-anchor": "middle", class: "tick" }, label));
    }
  });
  g.append(horizontal
    ? svg("line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b, class: "axis" })
    : svg("line", { x1: pad.l, x2: W - pad.r, y1: pad.t + plotH, y2: pad.t + plotH, class: "axis" }));
  const titleId = `chart-${n}-title`;
  const descId = `chart-${n}-desc`;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${titleId} ${descId}`, class: "chart-svg", width: "100%" },
    svg("title", { id: titleId }, title), svg("desc", { id: descId }, description), g);
  const legend = series.length > 1
    ? h("ul", { class: "legend" }, ...series.map((s) => h("li", {}, h("span", { class: `swatch ${s.cls}`, "aria-hidden": "true" }), s.name)))
    : "";
  const data = h("table", { class: "chart-data" },
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, labelHeader), ...series.map((s) => h("th", { scope: "col" }, s.name)))),
    h("tbody", {}, ...labels.map((label, i) => h("tr", {}, h("th", { scope: "row" }, label), ...series.map((s) => h("td", {}, String(s.values[i] || 0)))))));
  return h("figure", { class: "chart card", id },
    h("figcaption", {}, h("strong", {}, title)), chart, legend,
    h("details", { class: "chart-table" }, h("summary", {}, t("표로 보기", "Show as a table")), h("div", { class: "table-wrap" }, data)));
}

const BUCKETS = [["day", "일별", "Daily"], ["week", "주별", "Weekly"], ["month", "월별", "Monthly"]];

export async function statisticsPage(path) {
  const q = params();
  const from = q.get("from") || seoulDay(-29);
  const to = q.get("to") || seoulDay();
  const bucket = q.get("bucket") || "day";
  const store = q.get("store_id") || "";
  const query = new URLSearchParams({ from, to, bucket });
  if (store) query.set("store_id", store);
  const [stats, stores] = await Promise.all([api("GET", `/admin/statistics?${query}`), api("GET", "/admin/stores?size=100")]);
  const filter = h("form", { class: "search stats-filter", id: "statistics-form", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    go(`/admin/statistics?${new URLSearchParams([...data.entries()].filter(([, v]) => v))}`);
  } },
  input("from", t("시작일", "From"), { type: "date", value: from, required: true }),
  input("to", t("종료일", "To"), { type: "date", value: to, required: true }),
  select("bucket", t("단위", "Per"), BUCKETS.map(([v, ko, en]) => [v, t(ko, en)]), bucket),
  select("store_id", t("매장", "Store"), [["", t("모든 매장", "All stores")], ...stores.map((s) => [s.id, s.name])], store),
  h("button", { class: "secondary", type: "submit" }, t("보기", "Show")));
  const s = stats.series || [];
  const tot = stats.totals || {};
  const labels = s.map((x) => (bucket === "month" ? x.start.slice(0, 7) : x.start.slice(5)));
  const card = (id, label, value) => h("div", { class: "card stat", id }, h("span", { class: "muted" }, label), h("strong", { class: "value" }, value));
  const storeName = store ? (stores.find((x) => String(x.id) === store) || {}).name : t("모든 매장", "All stores");
  const period = `${from} – ${to}`;
  const sum = (k) => s.reduce((a, x) => a + (x[k] || 0), 0);
  const peak = s.reduce((best, x) => (x.rentals > (best ? best.rentals : -1) ? x : best), null);
  const ageing = stats.overdue_ageing || [];
  frame(path, t("통계", "Statistics"), filter,
    h("p", { class: "muted", id: "statistics-scope" }, `${storeName} · ${period}`),
    h("div", { class: "stats", id: "statistics-totals" },
      card("total-rentals", t("대여", "Rentals"), String(tot.rentals ?? sum("rentals"))),
      card("total-returns", t("반납", "Returns"), String(tot.returns ?? sum("returns"))),
      card("total-lost", t("분실", "Lost"), String(tot.lost ?? sum("lost"))),
      card("return-rate", t("반납률", "Return rate"), percent(tot.return_rate)),
      card("mean-duration", t("평균 대여 시간", "Mean duration"), hours(tot.mean_duration_hours)),
      card("median-duration", t("중앙값 대여 시간", "Median duration"), hours(tot.median_duration_hours))),
    barChart("chart-rentals", t("기간별 대여와 반납", "Rentals and returns per period"),
      t(`${storeName}, ${period}: 대여 ${sum("rentals")}건, 반납 ${sum("returns")}건.${peak && peak.rentals ? ` 가장 많은 때 ${peak.start} (${peak.rentals}건).` : ""}`,
        `${storeName}, ${period}: ${sum("rentals")} rentals, ${sum("returns")} returns.${peak && peak.rentals ? ` Busiest: ${peak.start} (${peak.rentals}).` : ""}`),
      labels, [{ name: t("대여", "Rentals"), cls: "rentals", values: s.map((x) => x.rentals) },
        { name: t("반납", "Returns"), cls: "returns", values: s.map((x) => x.returns) }]),
    barChart("chart-lost", t("기간별 분실", "Losses per period"),
      t(`${period}에 분실로 종료된 대여 ${sum("lost")}건.`, `${sum("lost")} rentals closed as lost in ${period}.`),
      labels, [{ name: t("분실", "Lost"), cls: "lost", values: s.map((x) => x.lost) }]),
    barChart("chart-overdue", t("연체 기간별 대여 중 우산", "Overdue rentals by days overdue"),
      t(`지금 연체 중인 대여 ${ageing.reduce((a, x) => a + x.count, 0)}건을 연체 일수별로 나눈 것.`,
        `The ${ageing.reduce((a, x) => a + x.count, 0)} rentals overdue now, by days overdue.`),
      ageing.map((x) => t(x.label, x.label_en || x.label)), [{ name: t("대여", "Rentals"), cls: "overdue", values: ageing.map((x) => x.count) }],
      { labelHeader: t("연체", "Overdue"), horizontal: true }),
    h("h2", {}, t("매장별", "Per store")),
    table([t("매장", "Store"), t("대여", "Rentals"), t("반납", "Returns"), t("분실", "Lost"), t("월간 보고서", "Monthly report")],
      (stats.per_store || []).map((p) => h("tr", { "data-store-id": p.store_id },
        h("td", {}, link(`/admin/statistics?${new URLSearchParams({ from, to, bucket, store_id: p.store_id })}`, p.name)),
        h("td", {}, String(p.rentals)), h("td", {}, String(p.returns)), h("td", {}, String(p.lost)),
        h("td", {}, link(`/admin/stores/${p.store_id}/report?month=${to.slice(0, 7)}`, t("보고서", "Report"))))),
      t("이 기간에 대여가 없습니다.", "No rentals in this period."), { id: "per-store" }));
}

// Stock alerts ------------------------------------------------------------------------

const STOCK = {
  empty: ["비었음", "Empty", "bad"], low: ["부족", "Low", "warn"], ok: ["적정", "OK", "open"], overflowing: ["넘침", "Overflowing", "bad"],
};
export const stockBadge = (status) => {
  const [ko, en, cls] = STOCK[status] || [status, status, ""];
  return h("span", { class: `badge ${cls} stock-status`, "data-status": status }, t(ko, en));
};

export async function stockPage(path) {
  const list = await api("GET", "/admin/stock");
  // Stores needing attention first: empty, low, overflowing, then the rest.
  const order = { empty: 0, low: 1, overflowing: 2, ok: 3 };
  list.sort((a, b) => (order[a.status] ?? 4) - (order[b.status] ?? 4) || a.name.localeCompare(b.name));
  const alerts = list.filter((x) => x.status !== "ok");
  frame(path, t("재고 알림", "Stock alerts"),
    h("p", { class: "muted" }, t("대여 가능한 우산이 기준보다 적거나(부족, 비었음) 많으면(넘침) 표시합니다. 기준은 매장마다 정합니다.",
      "Stores with fewer umbrellas to lend than their low mark (low, empty) or more than their high mark (overflowing). Each store has its own marks.")),
    alerts.length ? h("p", { class: "error", role: "status", id: "stock-summary" },
      t(`확인이 필요한 매장 ${alerts.length}곳`, `${alerts.length} stores need attention`))
      : h("p", { class: "notice", role: "status", id: "stock-summary" }, t("모든 매장의 재고가 적정합니다.", "Every store's stock is fine.")),
    h("div", { id: "stock-list" }, ...list.map((x) => stockCard(x, () => stockPage(path)))));
}

function stockCard(x, reload) {
  const box = h("div");
  const card = h("article", { class: `card stock stock-${x.status}`, "data-store-id": x.store_id },
    h("div", { class: "row" }, h("strong", {}, link(`/admin/stores/${x.store_id}`, x.name)), stockBadge(x.status)),
    h("p", {}, t(`대여 가능 ${x.available}개 · 기준 ${x.low}–${x.high}개`, `${x.available} to lend · marks ${x.low}–${x.high}`)),
    // Saved marks may change the store's status: the list is read again.
    isAdmin() ? thresholdsForm(`thresholds-${x.store_id}`, x.store_id, x, reload) : "",
    box);
  return card;
}

export function thresholdsForm(id, storeId, current, saved) {
  const f = formBox(id, [
    h("div", { class: "pair" },
      input("low", t("부족 기준 (이하)", "Low at or below"), { type: "number", min: 0, required: true, value: current ? current.low : 2 }),
      input("high", t("넘침 기준 (초과)", "Overflowing above"), { type: "number", min: 1, required: true, value: current ? current.high : 30 })),
  ], t("기준 저장", "Save marks"), async (data) => {
    const body = { low: number(data, "low"), high: number(data, "high") };
    const answer = await api("PUT", `/admin/stores/${storeId}/stock-thresholds`, body);
    saved({ ...body, ...(answer || {}) });
  });
  f.classList.add("thresholds-form", "compact");
  return f;
}

// Stores ------------------------------------------------------------------------------

const WEEKDAYS = { 1: ["월요일", "Monday"], 2: ["화요일", "Tuesday"], 3: ["수요일", "Wednesday"], 4: ["목요일", "Thursday"],
  5: ["금요일", "Friday"], 6: ["토요일", "Saturday"], 7: ["일요일", "Sunday"] };
const weekdayName = (w) => {
  if (w === null || w === undefined) return "-";
  const pair = WEEKDAYS[w] || Object.values(WEEKDAYS).find(([ko, en]) => ko === w || en.toLowerCase() === String(w).toLowerCase());
  return pair ? t(...pair) : String(w);
};

export async function monthlyReportPage(path, id) {
  const month = params().get("month") || seoulDay().slice(0, 7);
  const r = await api("GET", `/admin/stores/${id}/monthly-report?month=${month}`);
  const days = r.days || [];
  const sent = h("div", { "aria-live": "polite" });
  frame(path, t(`${r.store.name} 월간 보고서`, `${r.store.name}: monthly report`),
    h("form", { class: "search no-print", id: "month-form", onsubmit: (e) => {
      e.preventDefault();
      go(withQuery({ month: new FormData(e.target).get("month") }));
    } }, input("month", t("월", "Month"), { type: "month", value: month, required: true }), h("button", { class: "secondary", type: "submit" }, t("보기", "Show"))),
    h("section", { class: "card monthly-report", id: "monthly-report" },
      h("h2", {}, t(`${r.store.name} · ${r.month} 우산 대여 보고`, `${r.store.name} · umbrella lending, ${r.month}`)),
      h("dl", { class: "report-figures" },
        h("dt", {}, t("대여", "Rentals")), h("dd", { id: "report-rentals" }, String(r.rentals)),
        h("dt", {}, t("이 매장에 반납", "Returned here")), h("dd", { id: "report-returns" }, String(r.returns_here)),
        h("dt", {}, t("분실", "Lost")), h("dd", { id: "report-lost" }, String(r.lost)),
        h("dt", {}, t("평균 대여 시간", "Mean duration")), h("dd", {}, hours(r.mean_duration_hours)),
        h("dt", {}, t("가장 바쁜 요일", "Busiest weekday")), h("dd", {}, weekdayName(r.busiest_weekday))),
      barChart("chart-month", t("날짜별 대여와 반납", "Rentals and returns per day"),
        t(`${r.month} ${r.store.name}: 대여 ${r.rentals}건, 이 매장 반납 ${r.returns_here}건.`, `${r.store.name} in ${r.month}: ${r.rentals} rentals, ${r.returns_here} returns here.`),
        days.map((d) => d.date.slice(8)), [{ name: t("대여", "Rentals"), cls: "rentals", values: days.map((d) => d.rentals) },
          { name: t("반납", "Returns"), cls: "returns", values: days.map((d) => d.returns) }], { labelHeader: t("날짜", "Day") }),
      h("p", { class: "muted" }, t("업브렐라 운영진 드림. 궁금한 점은 언제든 알려 주세요.", "From the upbrella team; write to us any time."))),
    h("p", { class: "no-print" }, h("button", { class: "primary", type: "button", onclick: () => window.print() }, t("인쇄", "Print")), " ",
      link(`/admin/stores/${id}`, t("매장으로 돌아가기", "Back to the store"))),
    isAdmin() ? h("div", { class: "no-print" }, h("h2", {}, t("카페로 보내기", "Send to the café")),
      formBox("report-send-form", [input("to", t("받는 이메일", "To (e-mail)"), { type: "email", required: true, autocomplete: "email" })],
        t("카페로 보내기", "Send to the café"), async (data) => {
          await api("POST", `/admin/stores/${id}/monthly-report/send`, { month, to: data.get("to") });
          sent.replaceChildren(notice(t(`${data.get("to")}(으)로 보냈습니다.`, `Sent to ${data.get("to")}.`), { id: "report-sent" }));
        }), sent) : "");
}

// Lockers -----------------------------------------------------------------------------
