// The operators' console: what it takes to run the service day to day, for three roles.
// Admins see everything; deposit clerks the money (rentals, deposits, reports,
// statistics); partner-store staff their own stores (umbrellas, staff returns, reports,
// stock). The server decides (403 role_forbidden / store_forbidden); the console only
// leaves out what a role cannot use, and says so plainly when a link leads there anyway.
// Every screen keeps its state in the URL (/admin/rentals?status=open&q=김&page=1), so
// the back button, a reload and a shared link all show the same thing, and every row
// that leads somewhere is a real <a href> (a new tab works).

import { t } from "/i18n.js";
import { api, h, link } from "/ui.js";
import { frame, maybe, message, role, ROLES, setUser, won } from "/console-common.js";
import { classificationsPage, codesPage, lockersPage, umbrellasPage } from "/console-inventory.js";
import { actionsPage, depositsPage, usersPage } from "/console-people.js";
import { rentalPage, rentals, reportsPage } from "/console-rentals.js";
import { monthlyReportPage, statisticsPage, stockBadge, stockPage } from "/console-statistics.js";
import { storePage, storesPage } from "/console-stores.js";

// Console-only styles (charts, stock alerts, the hours editor), loaded once.
if (!document.querySelector("link[href='/console.css']")) {
  document.head.append(h("link", { rel: "stylesheet", href: "/console.css" }));
}

async function dashboard(path) {
  if (role === "staff") return staffHome(path);
  const d = await api("GET", "/admin/dashboard");
  const count = (label, n, status) => h("a", { class: "card stat", href: `/admin/rentals?status=${status}`, "data-link": true },
    h("span", { class: "muted" }, label), h("strong", {}, String(n)));
  const u = d.umbrellas;
  frame(path, t("대시보드", "Dashboard"),
    h("div", { class: "stats" },
      count(t("오늘 대여", "Rented today"), d.rented_today, "today"), count(t("대여 중", "Out now"), d.open, "open"),
      count(t("연체", "Overdue"), d.overdue, "overdue"),
      count(t("입금 대기", "Awaiting payment"), d.unpaid_deposits, "unpaid"), count(t("환급 대기", "Refund due"), d.refunds_due, "refund_due"),
      count(t("환급 실패", "Refund failed"), d.refunds_failed, "refund_failed"), count(t("QR 코드 없이 (7일)", "Without a code (7 days)"), d.flagged, "flagged"),
      h("a", { class: "card stat", href: "/admin/deposits", "data-link": true },
        h("span", { class: "muted" }, t("보관 중인 보증금", "Deposits held")), h("strong", {}, won(d.deposits_held_amount)),
        h("span", { class: "muted" }, t(`${d.deposits_held}건`, `${d.deposits_held}`)))),
    h("p", {}, link("/admin/reports", t("열린 신고 보기", "Open reports")), " · ", link("/admin/stock", t("재고 알림", "Stock alerts")),
      " · ", link("/admin/statistics", t("기간별 통계", "Statistics over time"))),
    h("h2", {}, t("우산", "Umbrellas")),
    h("p", {}, t(`전체 ${u.total}개 · 대여 가능 ${u.rentable} · 대여 중 ${u.rented} · 분실 ${u.missing} (${(u.missing_rate * 100).toFixed(1)}%) · 누적 대여 ${u.total_rents}회`,
      `${u.total} in all · ${u.rentable} rentable · ${u.rented} out · ${u.missing} missing (${(u.missing_rate * 100).toFixed(1)}%) · ${u.total_rents} rentals so far`)));
}

/// A partner store's staff start here: their store(s), each with its stock and a link
/// to record a staff return.
async function staffHome(path) {
  const [stores, stock] = await Promise.all([api("GET", "/admin/stores?size=100"), maybe(api("GET", "/admin/stock"), [])]);
  const level = new Map(stock.map((x) => [x.store_id, x]));
  frame(path, t("내 매장", "My store"),
    h("p", { class: "muted" }, t("손님이 두고 간 우산을 받으면 매장 화면에서 '직원 반납'으로 기록해 주세요.",
      "When a customer leaves an umbrella at the counter, record it as a staff return on the store's page.")),
    ...(stores.length ? stores.map((s) => {
      const st = level.get(s.id);
      return h("a", { class: "card store staff-store", href: `/admin/stores/${s.id}`, "data-link": true, "data-store-id": s.id },
        h("div", { class: "row" }, h("strong", {}, s.name), st ? stockBadge(st.status) : ""),
        h("div", { class: "muted" }, t(`대여 가능 우산 ${s.rentable_count}개`, `${s.rentable_count} umbrellas to lend`)));
    }) : [h("p", { class: "muted" }, t("담당 매장이 없습니다. 관리자에게 문의해 주세요.", "No store is assigned to you. Ask an admin."))]),
    h("p", {}, link("/admin/reports", t("우리 매장 신고 보기", "Reports for my stores")), " · ", link("/admin/stock", t("재고", "Stock"))));
}

// Rentals -----------------------------------------------------------------------------

const ROUTES = [
  [/^\/admin\/?$/, dashboard],
  [/^\/admin\/rentals$/, rentals],
  [/^\/admin\/rentals\/(\d+)$/, rentalPage],
  [/^\/admin\/reports$/, reportsPage],
  [/^\/admin\/statistics$/, statisticsPage],
  [/^\/admin\/stock$/, stockPage],
  [/^\/admin\/stores$/, storesPage],
  [/^\/admin\/stores\/(\d+)$/, storePage],
  [/^\/admin\/stores\/(\d+)\/codes$/, codesPage],
  [/^\/admin\/stores\/(\d+)\/report$/, monthlyReportPage],
  [/^\/admin\/classifications$/, classificationsPage],
  [/^\/admin\/umbrellas$/, umbrellasPage],
  [/^\/admin\/lockers$/, lockersPage],
  [/^\/admin\/users$/, usersPage],
  [/^\/admin\/deposits$/, depositsPage],
  [/^\/admin\/actions$/, actionsPage],
  [/^\/admin\/account-views$/, (path) => actionsPage(path, "bank_account.read")],
];

/// A refusal: what the server said (role or store), and the way back.
function refused(path, e) {
  frame(path, t("권한이 없습니다", "Not allowed"),
    h("p", { class: "error forbidden", role: "alert", id: "forbidden", "data-code": e.code || null }, message(e)),
    h("p", { class: "muted" }, t(`지금 역할: ${(ROLES[role] || ROLES.renter)()}`, `Your role: ${(ROLES[role] || ROLES.renter)()}`)),
    h("p", {}, link("/admin", t("콘솔 처음으로", "Back to the console"))));
}

export async function adminConsole(path, user) {
  setUser(user);
  if (role === "renter") {
    return refused(path, { code: "role_forbidden", message: t("운영진만 볼 수 있습니다.", "Operators only.") });
  }
  for (const [pattern, page] of ROUTES) {
    const m = path.match(pattern);
    if (!m) continue;
    try {
      await page(path, ...m.slice(1));
    } catch (e) {
      if (e.status === 403) return refused(path, e);
      throw e;
    }
    return;
  }
  return frame(path, t("페이지를 찾을 수 없습니다", "Page not found"), h("p", {}, link("/admin", t("콘솔 처음으로", "Back to the console"))));
}
