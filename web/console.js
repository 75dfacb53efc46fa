// The operators' console: what it takes to run the service day to day, for three roles.
// Admins see everything; deposit clerks the money (rentals, deposits, reports,
// statistics); partner-store staff their own stores (umbrellas, staff returns, reports,
// stock). The server decides (403 role_forbidden / store_forbidden); the console only
// leaves out what a role cannot use, and says so plainly when a link leads there anyway.
// Every screen keeps its state in the URL (/admin/rentals?status=open&q=김&page=1), so
// the back button, a reload and a shared link all show the same thing, and every row
// that leads somewhere is a real <a href> (a new tab works).

import { errorText, t } from "/i18n.js";
import { api, date, dateTime, errorBox, go, h, link, show } from "/ui.js";

// Console-only styles (charts, stock alerts, the hours editor), loaded once.
if (!document.querySelector("link[href='/console.css']")) {
  document.head.append(h("link", { rel: "stylesheet", href: "/console.css" }));
}

const ROLES = {
  renter: () => t("이용자", "Renter"),
  staff: () => t("매장 직원", "Store staff"),
  clerk: () => t("정산 담당", "Deposit clerk"),
  admin: () => t("관리자", "Admin"),
};
/// The caller's role; sessions of a WAS before roles carry only the admin flag.
const roleOf = (me) => (me && me.role) || (me && me.is_admin ? "admin" : "renter");

// Which role sees which tab. The server's policy is the contract (docs: roles); this
// mirrors it so nobody is shown a screen that would only answer 403.
const TABS = [
  ["/admin", () => t("대시보드", "Dashboard"), ["admin", "clerk"]],
  ["/admin", () => t("내 매장", "My store"), ["staff"]],
  ["/admin/rentals", () => t("대여", "Rentals"), ["admin", "clerk"]],
  ["/admin/reports", () => t("신고", "Reports"), ["admin", "clerk", "staff"]],
  ["/admin/statistics", () => t("통계", "Statistics"), ["admin", "clerk"]],
  ["/admin/stock", () => t("재고", "Stock"), ["admin", "clerk", "staff"]],
  ["/admin/stores", () => t("매장", "Stores"), ["admin", "clerk"]],
  ["/admin/classifications", () => t("지역/태그", "Regions/tags"), ["admin"]],
  ["/admin/umbrellas", () => t("우산", "Umbrellas"), ["admin", "clerk"]],
  ["/admin/lockers", () => t("보관함", "Lockers"), ["admin", "staff"]],
  ["/admin/users", () => t("회원", "Users"), ["admin"]],
  ["/admin/deposits", () => t("정산", "Deposits"), ["admin", "clerk"]],
  ["/admin/actions", () => t("작업 기록", "Action log"), ["admin"]],
];
const PAGE_SIZE = 20;

let me = null;
let role = "renter";
const isAdmin = () => role === "admin";

// Building blocks ---------------------------------------------------------------------

/// Today (or `days` from today) as YYYY-MM-DD in Seoul.
const seoulDay = (days = 0) => new Date(Date.now() + days * 86400000).toLocaleDateString("sv-SE", { timeZone: "Asia/Seoul" });

function frame(path, title, ...content) {
  const current = (href) => (href === "/admin" ? path === "/admin" || path === "/admin/" : path.startsWith(href));
  const tabs = TABS.filter(([, , roles]) => roles.includes(role));
  show(
    h("nav", { class: "console-nav no-print", "aria-label": t("관리 메뉴", "Console menu") },
      ...tabs.map(([href, label]) => h("a", { href, "data-link": true, "aria-current": current(href) ? "page" : null }, label()))),
    h("p", { class: "muted no-print console-role" }, `${me ? me.name : ""} · ${(ROLES[role] || ROLES.renter)()}`),
    h("h1", {}, title),
    ...content,
  );
}

const params = () => new URLSearchParams(location.search);

/// This page's URL with some query parameters changed (null or "" removes one).
function withQuery(changes) {
  const p = params();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "" || v === undefined) p.delete(k);
    else p.set(k, v);
  }
  const q = p.toString();
  return `${location.pathname}${q ? `?${q}` : ""}`;
}

function pager(page, shown) {
  const nav = h("nav", { class: "pager", "aria-label": t("페이지", "Pages") });
  nav.append(page > 0 ? link(withQuery({ page: page - 1 || null }), t("← 이전", "← Previous")) : h("span", { class: "muted" }, t("← 이전", "← Previous")),
    h("span", {}, t(`${page + 1}쪽`, `Page ${page + 1}`)),
    shown >= PAGE_SIZE ? link(withQuery({ page: page + 1 }), t("다음 →", "Next →")) : h("span", { class: "muted" }, t("다음 →", "Next →")));
  return nav;
}

function table(headers, rows, empty = t("아직 없습니다.", "Nothing yet."), attrs = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("div", { class: "table-wrap", tabindex: "0", ...attrs },
    h("table", {}, h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))), h("tbody", {}, ...rows)));
}

const input = (name, label, attrs = {}) => h("label", {}, label, h("input", { name, ...attrs }));
const textarea = (name, label, value = "", attrs = {}) => {
  const el = h("textarea", { name, rows: 3, ...attrs });
  el.value = value;
  return h("label", {}, label, el);
};
function select(name, label, options, selected, attrs = {}) {
  return h("label", {}, label, h("select", { name, ...attrs },
    ...options.map(([value, text]) => h("option", { value, selected: String(value) === String(selected ?? "") }, text))));
}

// The API's codes the console meets, in both languages (the server's own message is
// Korean with English beside; the page shows the chosen language only).
const CODES = {
  role_forbidden: ["이 역할로는 쓸 수 없는 화면이나 기능입니다. 필요하면 관리자에게 권한을 요청하세요.",
    "Your role cannot use this screen or action. Ask an admin for the rights if you need them."],
  store_forbidden: ["담당하는 매장의 일만 할 수 있습니다. 이 매장은 담당 매장이 아닙니다.",
    "You can act only for the stores you work for; this is not one of them."],
  no_open_rental: ["이 번호의 우산은 지금 대여 중이 아닙니다. 번호를 확인해 주세요.",
    "That umbrella is not out on a rental. Check the number."],
  uploads_unavailable: ["사진 올리기를 쓸 수 없습니다 (저장소가 설정되지 않음). 사진 주소로 추가해 주세요.",
    "Photo upload is not available (no storage configured). Add the photo by its address."],
  geocode_unavailable: ["주소 검색을 쓸 수 없습니다. 위도와 경도를 직접 입력해 주세요.",
    "Address search is not available. Type the latitude and longitude."],
};
const NETWORK = ["서버에 연결하지 못했습니다. 연결을 확인하고 다시 시도해 주세요.", "Could not reach the server. Check the connection and try again."];

/// An error's message in the chosen language.
function message(e) {
  const pair = e && e.code && CODES[e.code];
  if (pair) return t(pair[0], pair[1]);
  if (e instanceof TypeError) return t(NETWORK[0], NETWORK[1]);
  return errorText(e && e.code, (e && e.message) || String(e));
}
// A connection or gateway failure gets the shared box (its words, a retry, the contact);
// a refusal or a mistake is said plainly where it happened.
const failBox = (e) => (e && e.retryable ? errorBox(e) : h("p", { class: "error", role: "alert", "data-code": (e && e.code) || null,
  "data-status": (e && e.status) || null }, message(e)));

/// A form whose submit button stays disabled while `onsubmit` runs, with its error shown
/// under the fields.
function formBox(id, children, submitLabel, onsubmit) {
  const err = h("div", { class: "form-error", "aria-live": "polite" });
  const f = h("form", {
    id,
    onsubmit: async (e) => {
      e.preventDefault();
      err.replaceChildren();
      const b = f.querySelector("button[type=submit]");
      b.disabled = true;
      try {
        await onsubmit(new FormData(f), f);
      } catch (ex) {
        err.replaceChildren(failBox(ex));
      } finally {
        b.disabled = false;
      }
    },
  }, ...children, err, h("button", { class: "primary", type: "submit" }, submitLabel));
  return f;
}

/// Asks (when `question` is given), runs `call` with the button disabled, then `after`
/// with its result; an error shows in `box`.
async function act(b, box, question, call, after) {
  if (question && !confirm(question)) return;
  b.disabled = true;
  try {
    const result = await call();
    if (after) await after(result);
  } catch (e) {
    box.replaceChildren(failBox(e));
  } finally {
    b.disabled = false;
  }
}

const button = (label, cls, onclick, attrs = {}) => h("button", { type: "button", class: `secondary ${cls}`, onclick, ...attrs }, label);
const notice = (text, attrs = {}) => h("p", { class: "notice", role: "status", ...attrs }, text);
const number = (data, name) => Number(data.get(name));
const won = (n) => t(`${Number(n).toLocaleString("ko-KR")}원`, `₩${Number(n).toLocaleString("en-GB")}`);
const hours = (x) => (x === null || x === undefined ? "-" : t(`${Number(x).toFixed(1)}시간`, `${Number(x).toFixed(1)} h`));
const percent = (x) => (x === null || x === undefined ? "-" : `${(Number(x) * 100).toFixed(1)}%`);

/// Fetches, and answers `fallback` when the server has no such route yet or refuses it
/// (a section of a page that another role or release may not have).
async function maybe(promise, fallback) {
  try {
    return await promise;
  } catch (e) {
    if (e.status === 404 || e.status === 403 || e.status === 405) return fallback;
    throw e;
  }
}

// Dashboard ---------------------------------------------------------------------------

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

const STATUSES = [["all", "전체", "All"], ["open", "대여 중", "Out"], ["overdue", "연체", "Overdue"], ["unpaid", "입금 대기", "Awaiting payment"],
  ["refund_due", "환급 대기", "Refund due"], ["refund_failed", "환급 실패", "Refund failed"], ["refunded", "환급 완료", "Refunded"],
  ["forfeited", "보증금 차감", "Forfeited"], ["waived", "면제", "Waived"], ["flagged", "QR 코드 없이", "Without a code"],
  ["closed", "반납·종료", "Returned/closed"], ["today", "오늘 대여", "Rented today"]];

/// Where a deposit stands, as operators say it.
const DEPOSIT_STATES = {
  awaiting_payment: ["입금 대기", "Awaiting payment"], paid: ["입금 확인", "Paid"], refund_due: ["환급 대기", "Refund due"],
  refunded: ["환급 완료", "Refunded"], forfeited: ["보증금 차감", "Forfeited"], refund_failed: ["환급 실패", "Refund failed"],
  waived: ["면제", "Waived"],
};
const depositState = (s) => (DEPOSIT_STATES[s] ? t(...DEPOSIT_STATES[s]) : s);
/// The operator's deposit operations: the button, the question before it, and whether a
/// note is asked for (the bank's reason, what was broken).
const DEPOSIT_OPERATIONS = {
  confirm_payment: [() => t("입금 확인", "Confirm payment"), (r) => t(`${r.user_name}님(${r.deposit.reference || "-"})의 보증금 ${won(r.deposit.amount)} 입금을 확인할까요?`,
    `Confirm ${r.user_name}'s (${r.deposit.reference || "-"}) deposit of ${won(r.deposit.amount)}?`), false],
  refund: [() => t("환급 완료", "Refunded"), (r) => t(`${r.user_name}님께 보증금 ${won(r.deposit.amount)}을 돌려보냈나요?`,
    `Did you send ${r.user_name} the deposit of ${won(r.deposit.amount)} back?`), false],
  refund_failed: [() => t("환급 실패", "Refund failed"), () => t("은행이 계좌를 거절했나요? 이용자에게 계좌를 다시 받습니다. 사유를 적어 주세요.",
    "Did the bank refuse the account? The renter is asked again. Give the reason."), true],
  forfeit_damaged: [() => t("파손 차감", "Keep (damaged)"), () => t("우산이 파손되어 약관에 따라 보증금을 돌려주지 않을까요? 파손 내용을 적어 주세요.",
    "Keep the deposit for a damaged umbrella, per the terms? Describe the damage."), true],
  waive: [() => t("보증금 면제", "Waive"), () => t("이 대여의 보증금을 받지 않기로 할까요? 사유를 적어 주세요.", "Waive this rental's deposit? Give the reason."), true],
};
const flagged = (r) => !r.rent_verified || r.return_verified === false;

async function rentals(path) {
  const q = params();
  const status = q.get("status") || "all";
  const page = Number(q.get("page") || 0);
  const search = q.get("q") || "";
  const query = new URLSearchParams({ status, page, size: PAGE_SIZE });
  if (search) query.set("q", search);
  const [list, stores, conditions, improvements] = await Promise.all([
    api("GET", `/admin/rentals?${query}`), api("GET", "/admin/stores?size=100"),
    api("GET", "/admin/condition-reports?size=10"), api("GET", "/admin/improvement-reports?size=10")]);
  const chips = h("nav", { class: "tabs", "aria-label": t("대여 상태", "Rental status") }, ...STATUSES.map(([value, ko, en]) =>
    h("a", { class: "chip", href: withQuery({ status: value === "all" ? null : value, page: null }), "data-link": true, "aria-current": value === status ? "page" : null }, t(ko, en))));
  const searchForm = h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    go(withQuery({ q: new FormData(e.target).get("q").trim(), page: null }));
  } }, h("label", {}, t("검색", "Search"), h("input", { name: "q", type: "search", value: search, placeholder: t("이름, 휴대폰 번호, 우산 번호", "Name, phone, umbrella number") })),
  h("button", { class: "secondary", type: "submit" }, t("찾기", "Find")));
  const reports = (items) => table([t("우산", "Umbrella"), t("내용", "Text"), t("작성", "Written")], items.map((r) => h("tr", {},
    h("td", {}, t(`${r.umbrella_number}번`, `No. ${r.umbrella_number}`)), h("td", {}, r.content), h("td", {}, date(r.written_at)))));
  // The payment queue confirms several transfers at once, as a bank statement lists them.
  const bulk = status === "unpaid" && list.length ? bulkConfirm() : "";
  frame(path, t("대여", "Rentals"), chips, searchForm, bulk,
    h("div", { id: "rental-list" }, ...(list.length ? list.map((r) => rentalCard(r, stores, status === "unpaid")) : [h("p", { class: "muted" }, t("해당하는 대여가 없습니다.", "No rentals match."))])),
    pager(page, list.length),
    h("h2", {}, t("우산 상태 신고", "Condition reports")), reports(conditions),
    h("h2", {}, t("개선 의견", "Suggestions")), reports(improvements));
}

async function rentalPage(path, id) {
  const [r, stores] = await Promise.all([api("GET", `/admin/rentals/${id}`), api("GET", "/admin/stores?size=100")]);
  frame(path, t(`대여 #${r.id}`, `Rental #${r.id}`), rentalCard(r, stores),
    h("p", {}, link(`/admin/rentals?q=${encodeURIComponent(r.user_name)}`, t(`${r.user_name}님의 다른 대여`, `${r.user_name}'s other rentals`))));
}

function bulkConfirm() {
  const box = h("div", { class: "rental-message", "aria-live": "polite" });
  return h("div", { class: "bulk no-print" },
    button(t("선택한 입금 한꺼번에 확인", "Confirm the selected payments"), "bulk-confirm", (e) => {
      const ids = [...document.querySelectorAll("input.select-rental:checked")].map((c) => Number(c.value));
      if (!ids.length) return box.replaceChildren(h("p", { class: "error", role: "alert" }, t("확인할 대여를 골라 주세요.", "Pick the rentals to confirm.")));
      return act(e.currentTarget, box, t(`${ids.length}건의 입금을 확인할까요?`, `Confirm ${ids.length} payments?`),
        () => api("POST", "/admin/deposits/confirm", { rental_ids: ids }),
        (outcomes) => {
          const done = outcomes.filter((o) => o.confirmed).length;
          const failed = outcomes.filter((o) => !o.confirmed);
          box.replaceChildren(notice(t(`${done}건 확인했습니다.`, `${done} confirmed.`)),
            ...failed.map((o) => h("p", { class: "error" }, `#${o.rental_id}: ${o.message}`)));
          for (const o of outcomes.filter((x) => x.confirmed)) document.querySelector(`[data-rental-id="${o.rental_id}"]`)?.remove();
        });
    }), box);
}

function rentalCard(rental, stores, selectable = false) {
  const card = h("article", { class: "card rental", "data-rental-id": rental.id });
  const render = (r) => {
    const box = h("div", { class: "rental-message" });
    const operation = (op) => {
      const [label, question, needsNote] = DEPOSIT_OPERATIONS[op];
      return button(label(), `deposit-${op.replaceAll("_", "-")}`, (e) => {
        let note = null;
        if (needsNote) {
          note = prompt(question(r));
          if (note === null) return undefined;
        }
        return act(e.currentTarget, box, needsNote ? null : question(r),
          () => api("POST", `/admin/rentals/${r.id}/deposit`, { operation: op, note: note || null }), render);
      });
    };
    const returned = r.returned_at
      ? (r.return_store_name ? t(`${r.return_store_name}에 ${date(r.returned_at)} 반납`, `returned to ${r.return_store_name} on ${date(r.returned_at)}`)
        : t(`${date(r.returned_at)} 종료`, `closed on ${date(r.returned_at)}`))
      : t(`반납 기한 ${date(r.due_at)}`, `due ${date(r.due_at)}`);
    const lostNotFound = r.closed_reason === "lost" && !r.found_at;
    const actions = h("div", { class: "actions" },
      ...(r.deposit_operations || []).map(operation),
      r.has_bank_account ? button(t("계좌 보기", "Show account"), "show-account", (e) => act(e.currentTarget, box, null,
        () => api("POST", `/admin/rentals/${r.id}/bank-account/reveal`),
        (a) => box.replaceChildren(h("p", { class: "notice account" }, `${a.bank_name} ${a.account_number}`),
          h("p", { class: "muted" }, t("계좌를 볼 때마다 작업 기록에 남습니다.", "Every look at an account is logged."))))) : "",
      r.returned_at ? "" : button(t("대여 종료", "Close rental"), "close-rental", () => box.replaceChildren(closeForm(r, stores, render))),
      lostNotFound ? button(t("우산 찾음", "Umbrella found"), "found-umbrella", () => box.replaceChildren(foundForm(r, stores, render))) : "");
    const d = r.deposit;
    const closed = r.closed_reason === "lost" ? (r.found_at ? t("분실 후 회수", "Lost, found") : t("분실", "Lost")) : t("직원 회수", "Staff return");
    card.replaceChildren(
      h("div", { class: "row" },
        selectable ? h("label", { class: "select" }, h("input", { type: "checkbox", class: "select-rental", value: r.id, "aria-label": t(`${r.user_name} 선택`, `Select ${r.user_name}`) })) : "",
        h("strong", {}, link(`/admin/rentals/${r.id}`, t(`${r.user_name} · 우산 ${r.umbrella_number}번`, `${r.user_name} · umbrella ${r.umbrella_number}`))),
        h("span", {}, r.overdue ? h("span", { class: "badge bad" }, t("연체", "Overdue")) : "",
          r.closed_reason ? h("span", { class: "badge" }, closed) : "",
          flagged(r) ? h("span", { class: "badge bad flag", title: t("원래 서비스의 스티커로 대여 또는 반납: 매장에서 우산을 확인해 주세요", "Rented or returned with an old sticker: check the umbrella at the store") }, t("QR 코드 없이", "Without a code")) : "")),
      h("div", { class: "muted" }, t(`${r.rent_store_name}에서 ${date(r.rented_at)} 대여 · ${returned}`, `rented at ${r.rent_store_name} on ${date(r.rented_at)} · ${returned}`),
        r.user_phone ? ` · ${r.user_phone}` : ""),
      h("div", { class: "deposit-state" }, t(`보증금 ${won(d.amount)}: `, `Deposit ${won(d.amount)}: `), h("strong", {}, depositState(d.state)),
        d.forfeit_reason ? ` (${d.forfeit_reason === "lost" ? t("분실", "lost") : t("파손", "damaged")})` : "",
        d.reference ? t(` · 입금자명 ${d.reference}`, ` · reference ${d.reference}`) : "",
        r.has_bank_account ? t(` · 환급 계좌 ${r.bank_name} ${r.account_masked}`, ` · refund account ${r.bank_name} ${r.account_masked}`) : ""),
      r.condition_report ? h("p", { class: "muted" }, t(`대여 시 상태: ${r.condition_report}`, `Condition at rent: ${r.condition_report}`)) : "",
      r.improvement_report ? h("p", { class: "muted" }, t(`개선 의견: ${r.improvement_report}`, `Suggestion: ${r.improvement_report}`)) : "",
      r.closed_note ? h("p", { class: "muted" }, t(`종료 메모: ${r.closed_note}`, `Closing note: ${r.closed_note}`)) : "",
      actions, box);
  };
  render(rental);
  return card;
}

function foundForm(r, stores, render) {
  const f = formBox(`found-${r.id}`, [
    select("store_id", t("우산을 찾은 매장", "Store where it was found"), stores.map((s) => [s.id, s.name]), r.rent_store_id),
    textarea("note", t("메모 (선택, 400자 이내)", "Note (optional, up to 400 characters)"), "", { maxlength: 400 }),
  ], t("우산 찾음", "Umbrella found"), async (data) => {
    if (!confirm(t("분실된 우산을 찾았나요? 우산은 이 매장에 돌아오고, 받아 둔 보증금은 환급 대기로 바뀝니다.",
      "Was the lost umbrella found? It goes back to this store, and a deposit held becomes due for refund."))) return;
    render(await api("POST", `/admin/rentals/${r.id}/found`, { store_id: number(data, "store_id"), note: data.get("note") || null }));
  });
  f.classList.add("found-form");
  return f;
}

function closeForm(r, stores, render) {
  const where = select("store_id", t("우산을 둔 매장", "Store holding the umbrella"), stores.map((s) => [s.id, s.name]), r.rent_store_id);
  where.hidden = true;
  const f = formBox(`close-${r.id}`, [
    select("reason", t("종료 사유", "Reason"), [["lost", t("분실", "Lost")], ["returned_by_staff", t("직원 회수", "Staff return")]], "lost",
      { onchange: (e) => { where.hidden = e.target.value !== "returned_by_staff"; } }),
    where,
    textarea("note", t("메모 (선택, 400자 이내)", "Note (optional, up to 400 characters)"), "", { maxlength: 400 }),
  ], t("대여 종료", "Close rental"), async (data) => {
    const question = data.get("reason") === "lost"
      ? t("분실로 종료할까요? 받은 보증금은 약관에 따라 차감되고, 우산을 찾으면 환급 대기로 돌아갑니다.",
        "Close as lost? A deposit held is kept per the terms, and becomes due for refund if the umbrella is found.")
      : t("직원 회수로 종료할까요? 받은 보증금은 환급 대기가 됩니다.", "Close as a staff return? A deposit held becomes due for refund.");
    if (!confirm(question)) return;
    const body = { reason: data.get("reason"), note: data.get("note") || null };
    if (body.reason === "returned_by_staff") body.store_id = number(data, "store_id");
    render(await api("POST", `/admin/rentals/${r.id}/close`, body));
  });
  f.classList.add("close-form");
  return f;
}

// Renters' reports (lost / broken) ------------------------------------------------------

const REPORT_KINDS = { lost: ["분실", "Lost"], broken: ["파손", "Broken"] };

async function reportsPage(path) {
  const status = params().get("status") || "open";
  const page = Number(params().get("page") || 0);
  const list = await api("GET", `/admin/reports?status=${status}&page=${page}&size=${PAGE_SIZE}`);
  const chips = h("nav", { class: "tabs", "aria-label": t("신고 상태", "Report status") },
    ...[["open", t("처리 전", "Open")], ["all", t("전체", "All")]].map(([value, label]) =>
      h("a", { class: "chip", href: withQuery({ status: value === "open" ? null : value, page: null }), "data-link": true, "aria-current": value === status ? "page" : null }, label)));
  frame(path, t("우산 신고", "Umbrella reports"),
    h("p", { class: "muted" }, t("이용자가 알린 분실·파손입니다. 확인하고 처리한 뒤 '처리 완료'를 눌러 주세요.",
      "Lost and broken umbrellas reported by renters. Follow up, then mark each resolved.")),
    chips,
    h("div", { id: "report-list" }, ...(list.length ? list.map(reportCard)
      : [h("p", { class: "muted" }, status === "open" ? t("처리할 신고가 없습니다.", "No open reports.") : t("신고가 없습니다.", "No reports."))])),
    pager(page, list.length));
}

function reportCard(report) {
  const card = h("article", { class: "card report", "data-report-id": report.id });
  const render = (r) => {
    const box = h("div", { class: "report-message" });
    const kind = REPORT_KINDS[r.kind] ? t(...REPORT_KINDS[r.kind]) : r.kind;
    const resolve = () => box.replaceChildren(formBox(`resolve-${r.id}`, [
      textarea("note", t("처리 내용 (선택, 400자 이내)", "What was done (optional, up to 400 characters)"), "", { maxlength: 400 }),
    ], t("처리 완료", "Mark resolved"), async (data) => {
      render({ ...r, ...(await api("POST", `/admin/reports/${r.id}/resolve`, { note: data.get("note") || "" })) });
    }));
    card.replaceChildren(
      h("div", { class: "row" },
        h("strong", {}, h("span", { class: `badge ${r.kind === "lost" ? "bad" : "warn"} report-kind` }, kind), " ",
          link(`/admin/rentals/${r.rental_id}`, t(`우산 ${r.umbrella_number}번 · ${r.user_name}`, `Umbrella ${r.umbrella_number} · ${r.user_name}`))),
        h("span", { class: r.resolved_at ? "badge open report-state" : "badge bad report-state" },
          r.resolved_at ? t("처리 완료", "Resolved") : t("처리 전", "Open"))),
      h("div", { class: "muted" }, t(`${dateTime(r.created_at)} 신고`, `reported ${dateTime(r.created_at)}`),
        r.store ? [" · ", t("대여 매장 ", "rented at "), link(`/admin/stores/${r.store.id}`, r.store.name)] : ""),
      r.note ? h("p", { class: "report-note" }, r.note) : "",
      r.resolved_at ? h("p", { class: "muted" }, t(`${dateTime(r.resolved_at)} 처리`, `resolved ${dateTime(r.resolved_at)}`),
        r.resolution || r.resolution_note ? ` · ${r.resolution || r.resolution_note}` : "") : "",
      r.resolved_at ? "" : h("div", { class: "actions" }, button(t("처리 완료", "Mark resolved"), "resolve-report", resolve)),
      box);
  };
  render(report);
  return card;
}

// Statistics: charts drawn as inline SVG, each with a title, a description and its
// numbers as a table --------------------------------------------------------------------

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

async function statisticsPage(path) {
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
const stockBadge = (status) => {
  const [ko, en, cls] = STOCK[status] || [status, status, ""];
  return h("span", { class: `badge ${cls} stock-status`, "data-status": status }, t(ko, en));
};

async function stockPage(path) {
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

function thresholdsForm(id, storeId, current, saved) {
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

async function classes() {
  const all = await api("GET", "/admin/classifications");
  return { regions: all.filter((c) => c.kind === "region"), tags: all.filter((c) => c.kind === "tag") };
}

// Whether the WAS can search addresses (Kakao Local API key set): asked once.
let geocoding = null;
function geocodeAvailable() {
  geocoding ??= api("GET", `/admin/geocode?query=${encodeURIComponent("서울")}`)
    .then(() => true, (e) => (e.status === 404 || e.status === 405 || e.status === 503 ? false : true));
  return geocoding;
}

/// The address search: a query, the WAS's results as buttons, a pick fills address,
/// latitude and longitude. Without a key it says so and the coordinates stay typed.
function addressSearch(fill, coords) {
  const results = h("div", { class: "geocode-results", "aria-live": "polite" });
  const query = h("input", { type: "search", name: "geocode_query", autocomplete: "off", placeholder: t("예: 연세로 1", "e.g. 연세로 1") });
  const run = async (b) => {
    const text = query.value.trim();
    if (!text) return;
    await act(b, results, null, () => api("GET", `/admin/geocode?query=${encodeURIComponent(text)}`), (found) => {
      results.replaceChildren(...(found.length ? [h("ul", { class: "geocode-list" }, ...found.map((r) => h("li", {},
        button(`${r.address} (${Number(r.latitude).toFixed(5)}, ${Number(r.longitude).toFixed(5)})`, "geocode-pick", () => {
          fill(r);
          results.replaceChildren(notice(t(`주소를 골랐습니다: ${r.address}`, `Address picked: ${r.address}`)));
        }))))] : [h("p", { class: "muted" }, t("찾은 주소가 없습니다.", "No address found."))]));
    });
  };
  query.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      run(e.target.nextElementSibling);
    }
  });
  const box = h("div", { class: "geocode" },
    h("label", { for: "geocode-query" }, t("주소 검색", "Search the address")),
    h("div", { class: "row" }, query, button(t("검색", "Search"), "geocode-search", (e) => run(e.currentTarget))),
    results);
  query.id = "geocode-query";
  // A search that answers geocode_unavailable opens the typed coordinates.
  const observer = new MutationObserver(() => {
    if (results.querySelector("[data-code='geocode_unavailable']")) {
      coords.open = true;
      coords.classList.add("typed");
    }
  });
  observer.observe(results, { childList: true, subtree: true });
  return box;
}

function storeForm(id, s, { regions, tags }, save, canGeocode) {
  const v = (k) => (s && s[k] !== null && s[k] !== undefined ? s[k] : "");
  const lat = input("latitude", t("위도", "Latitude"), { type: "number", step: "any", min: -90, max: 90, required: !canGeocode, value: v("latitude") });
  const lng = input("longitude", t("경도", "Longitude"), { type: "number", step: "any", min: -180, max: 180, required: !canGeocode, value: v("longitude") });
  const address = input("address", t("주소", "Address"), { maxlength: 200, value: v("address") });
  // With the search, the coordinates are filled by a pick (and can be corrected by hand);
  // without it they are typed, as before.
  const coords = canGeocode
    ? h("details", { class: "coords" }, h("summary", {}, t("좌표 (직접 고치기)", "Coordinates (correct by hand)")), lat, lng)
    : h("div", { class: "coords typed" }, h("p", { class: "muted" }, t("주소 검색을 쓸 수 없어 위도와 경도를 직접 입력합니다.",
      "Address search is not available: type the latitude and longitude.")), lat, lng);
  const fill = (r) => {
    address.querySelector("input").value = r.address;
    lat.querySelector("input").value = r.latitude;
    lng.querySelector("input").value = r.longitude;
  };
  return formBox(id, [
    input("name", t("매장 이름", "Store name"), { required: true, maxlength: 100, value: v("name") }),
    input("category", t("분류 (카페, 식당 …)", "Category (café, restaurant …)"), { required: true, maxlength: 50, value: v("category") }),
    select("region_id", t("지역", "Region"), regions.map((r) => [r.id, r.name]), v("region_id"), { required: true }),
    select("tag_id", t("태그 (선택)", "Tag (optional)"), [["", t("없음", "None")], ...tags.map((x) => [x.id, x.name])], v("tag_id")),
    canGeocode ? addressSearch(fill, coords) : "",
    address,
    coords,
    input("address_detail", t("상세 주소", "Address detail"), { maxlength: 200, value: v("address_detail") }),
    input("umbrella_location", t("우산 위치 (매장 안 어디에 있는지)", "Where the umbrellas stand"), { maxlength: 200, value: v("umbrella_location") }),
    input("working_hours", t("영업시간 안내 문구", "Opening hours note"), { maxlength: 500, value: v("working_hours") }),
    input("contact", t("연락처", "Contact"), { maxlength: 100, value: v("contact") }),
    input("instagram_url", t("인스타그램 주소", "Instagram URL"), { type: "url", value: v("instagram_url") }),
    textarea("description", t("소개", "Description"), v("description"), { maxlength: 2000 }),
  ], s ? t("매장 정보 저장", "Save store") : t("매장 추가", "Add store"), (data) => {
    if (!data.get("latitude") || !data.get("longitude")) {
      coords.open = true;
      throw new Error(t("주소를 검색해 고르거나 위도와 경도를 입력해 주세요.", "Search and pick the address, or type the latitude and longitude."));
    }
    return save({
      name: data.get("name"), category: data.get("category"), region_id: number(data, "region_id"),
      tag_id: data.get("tag_id") ? number(data, "tag_id") : null,
      latitude: number(data, "latitude"), longitude: number(data, "longitude"),
      address: data.get("address"), address_detail: data.get("address_detail"),
      umbrella_location: data.get("umbrella_location"), working_hours: data.get("working_hours"),
      contact: data.get("contact"), instagram_url: data.get("instagram_url") || null, description: data.get("description"),
    });
  });
}

async function storesPage(path) {
  const [stores, c, canGeocode] = await Promise.all([api("GET", "/admin/stores?size=100"),
    isAdmin() ? classes() : { regions: [], tags: [] }, isAdmin() ? geocodeAvailable() : false]);
  const region = new Map(c.regions.map((r) => [r.id, r.name]));
  frame(path, t("매장", "Stores"),
    table([t("매장", "Store"), t("지역", "Region"), t("상태", "State"), t("대여 가능", "To lend")], stores.map((s) => h("tr", {},
      h("td", {}, link(`/admin/stores/${s.id}`, s.name)), h("td", {}, region.get(s.region_id) || "-"),
      h("td", {}, s.activated ? t("운영 중", "Open") : t("준비 중", "Preparing")), h("td", {}, t(`${s.rentable_count}개`, String(s.rentable_count))))),
    t("아직 매장이 없습니다.", "No stores yet.")),
    ...(isAdmin() ? [h("h2", {}, t("매장 추가", "Add a store")),
      c.regions.length
        ? storeForm("store-form", null, c, async (body) => { const s = await api("POST", "/admin/stores", body); go(`/admin/stores/${s.id}`); }, canGeocode)
        : h("p", {}, t("먼저 ", "First add a "), link("/admin/classifications", t("지역", "region")), t("을 추가해 주세요.", "."))] : []));
}

/// Staff record an umbrella left at the counter: its open rental closes as a staff
/// return at this store.
function staffReturnForm(storeId, done) {
  const result = h("div", { class: "staff-return-result", "aria-live": "polite" });
  const f = formBox("staff-return-form", [
    h("p", { class: "muted" }, t("손님이 매장에 두고 간 우산의 번호를 적으면, 그 대여가 이 매장에서 직원 반납으로 끝납니다.",
      "Type the number of an umbrella left at the counter: its rental ends as a staff return at this store.")),
    input("umbrella_number", t("우산 번호", "Umbrella number"), { type: "number", min: 1, required: true, inputmode: "numeric" }),
    textarea("note", t("메모 (선택, 400자 이내)", "Note (optional, up to 400 characters)"), "", { maxlength: 400 }),
  ], t("직원 반납 기록", "Record the staff return"), async (data, form) => {
    result.replaceChildren();
    const r = await api("POST", `/admin/stores/${storeId}/staff-returns`,
      { umbrella_number: number(data, "umbrella_number"), note: data.get("note") || null });
    const said = () => notice(t(`우산 ${r.umbrella_number}번 반납을 기록했습니다 (${r.user_name}님의 대여 #${r.id}).`,
      `Umbrella ${r.umbrella_number} recorded as returned (${r.user_name}'s rental #${r.id}).`), { id: "staff-return-done" });
    form.reset();
    // The store's umbrellas and stock changed: the page is read again, the note kept.
    if (done) await done();
    (document.querySelector(".staff-return-result") || result).replaceChildren(said());
  });
  return h("div", {}, f, result);
}

async function storePage(path, id) {
  const admin = isAdmin();
  const [s, c, umbrellas, lockers, stock, closures, canGeocode] = await Promise.all([
    api("GET", `/admin/stores/${id}`), admin ? classes() : null,
    role === "clerk" ? [] : api("GET", `/admin/umbrellas?store_id=${id}&size=100`),
    role === "clerk" ? [] : maybe(api("GET", "/admin/lockers"), []),
    maybe(api("GET", "/admin/stock"), []),
    admin ? maybe(api("GET", `/admin/stores/${id}/closures`), null) : null,
    admin ? geocodeAvailable() : false]);
  const message = h("div", { id: "store-message" });
  const reload = () => storePage(path, id);
  const level = stock.find((x) => String(x.store_id) === String(id));
  const locker = lockers.find((l) => l.store_id === s.id);
  const status = h("span", { class: s.activated ? "badge open" : "badge" }, s.activated ? t("운영 중", "Open") : t("준비 중", "Preparing"));
  const staffSections = [
    h("h2", {}, t("직원 반납", "Staff return")), staffReturnForm(s.id, reload),
    h("h2", {}, t("재고", "Stock")),
    level ? h("p", { id: "store-stock" }, stockBadge(level.status), " ", t(`대여 가능 ${level.available}개 · 기준 ${level.low}–${level.high}개`,
      `${level.available} to lend · marks ${level.low}–${level.high}`)) : h("p", { class: "muted" }, t(`대여 가능 ${s.rentable_count}개`, `${s.rentable_count} to lend`)),
    h("h2", {}, t("우산", "Umbrellas")), umbrellasSection(s.id, umbrellas, admin),
    locker || admin ? h("h2", {}, t("보관함", "Locker")) : "",
    locker || admin ? lockerSection(s, locker, [s]) : "",
    h("p", {}, link("/admin/reports", t("담당 매장의 신고", "Reports for my stores"))),
  ];
  if (role === "staff") {
    return frame(path, s.name, h("p", {}, status), message, ...staffSections);
  }
  if (role === "clerk") {
    return frame(path, s.name, h("p", {}, status, " ", link(`/admin/stores/${id}/report`, t("월간 보고서", "Monthly report"))),
      h("h2", {}, t("재고", "Stock")), level ? h("p", {}, stockBadge(level.status), " ", t(`대여 가능 ${level.available}개`, `${level.available} to lend`)) : "",
      h("h2", {}, t("영업 시간", "Hours")), hoursList(s.business_hours || []));
  }
  frame(path, s.name,
    h("p", {}, status, " ", link(`/admin/stores/${id}/codes`, t("QR 코드 인쇄", "Print the QR codes")), " · ",
      link(`/admin/stores/${id}/report`, t("월간 보고서", "Monthly report")), " · ", h("a", { href: `/stores/${id}` }, t("공개 페이지", "Public page"))),
    h("p", {}, button(s.activated ? t("운영 중지", "Stop") : t("운영 시작", "Open the store"), "", (e) => act(e.currentTarget, message,
      s.activated ? t("운영을 멈출까요? 지도와 대여 화면에서 사라집니다.", "Stop? The store leaves the map and the rent screens.")
        : t("매장을 공개하고 대여를 시작할까요?", "Publish the store and start lending?"),
      () => api("PUT", `/admin/stores/${id}/activation`, { activated: !s.activated }), reload), { id: "activate" })),
    message,
    h("h2", {}, t("영업 시간", "Opening hours")), hoursForm(s, message),
    h("h2", {}, t("휴무일", "Closures")), closures === null ? h("p", { class: "muted" }, t("휴무일을 불러오지 못했습니다.", "Closures are not available.")) : closuresSection(s.id, closures),
    h("h2", {}, t("재고 기준", "Stock marks")),
    level ? h("p", { id: "store-stock" }, stockBadge(level.status), " ", t(`대여 가능 ${level.available}개`, `${level.available} to lend`)) : "",
    thresholdsForm("thresholds-form", s.id, level, () => message.replaceChildren(notice(t("재고 기준을 저장했습니다.", "Stock marks saved.")))),
    h("h2", {}, t("사진", "Photos")), imagesSection(s),
    ...staffSections,
    h("h2", {}, t("매장 정보", "Store details")),
    storeForm("store-edit-form", s, c, async (body) => {
      await api("PUT", `/admin/stores/${id}`, body);
      message.replaceChildren(notice(t("매장 정보를 저장했습니다.", "Store details saved.")));
    }, canGeocode),
    h("h2", {}, t("매장 삭제", "Delete the store")),
    button(t("매장 삭제", "Delete the store"), "danger", (e) => act(e.currentTarget, message, t(`${s.name}을(를) 삭제할까요? 되돌릴 수 없습니다.`, `Delete ${s.name}? This cannot be undone.`),
      () => api("DELETE", `/admin/stores/${id}`), () => go("/admin/stores"))));
}

// Business hours: several intervals a weekday, past midnight, 24 hours ------------------

const DAYS = [["월", "Mon"], ["화", "Tue"], ["수", "Wed"], ["목", "Thu"], ["금", "Fri"], ["토", "Sat"], ["일", "Sun"]];
const dayName = (weekday) => t(`${DAYS[weekday - 1][0]}요일`, DAYS[weekday - 1][1]);
const toMinutes = (hhmm) => {
  const [hh, mm] = String(hhmm || "0:0").split(":").map(Number);
  return hh * 60 + mm;
};
/// How an interval reads: "24시간", or "11:00 – 02:00 (다음 날)".
function intervalText(open, close) {
  if (open === close) return t("24시간", "24 hours");
  return `${open} – ${close}${toMinutes(close) < toMinutes(open) ? t(" (다음 날)", " (next day)") : ""}`;
}

function hoursList(list) {
  const by = new Map();
  for (const b of list) by.set(b.weekday, [...(by.get(b.weekday) || []), b]);
  return h("table", { class: "hours" }, ...DAYS.map((_, i) => h("tr", {}, h("th", { scope: "row" }, dayName(i + 1)),
    h("td", {}, (by.get(i + 1) || []).map((b) => intervalText(b.open, b.close)).join(", ") || t("휴무", "Closed")))));
}

function hoursForm(s, message) {
  const byDay = new Map();
  for (const b of [...(s.business_hours || [])].sort((a, b) => toMinutes(a.open) - toMinutes(b.open))) {
    byDay.set(b.weekday, [...(byDay.get(b.weekday) || []), b]);
  }
  const fieldsets = DAYS.map((_, i) => dayEditor(i + 1, byDay.get(i + 1) || []));
  return formBox("hours-form", [
    h("p", { class: "muted" }, t("하루에 여러 구간(쉬는 시간)을 둘 수 있습니다. 닫는 시간이 여는 시간보다 이르면 다음 날 닫습니다 (예: 11:00–02:00).",
      "A day can have several intervals (a break between them). A closing time before the opening time closes the next day (e.g. 11:00–02:00).")),
    ...fieldsets,
  ], t("영업 시간 저장", "Save opening hours"), async (data) => {
    const week = [];
    for (const fs of fieldsets) {
      const day = Number(fs.dataset.weekday);
      if (data.get(`open_${day}`) !== "on") continue;
      if (data.get(`allday_${day}`) === "on") {
        week.push({ weekday: day, open: "00:00", close: "00:00" });
        continue;
      }
      for (const row of fs.querySelectorAll(".interval")) {
        const [o, c] = row.querySelectorAll("input[type=time]");
        if (o.value && c.value) week.push({ weekday: day, open: o.value, close: c.value });
      }
    }
    await api("PUT", `/admin/stores/${s.id}/business-hours`, week);
    message.replaceChildren(notice(t("영업 시간을 저장했습니다.", "Opening hours saved.")));
  });
}

/// One weekday: open or not, 24 hours or not, and its intervals. The first interval's
/// fields are `open_at_{day}` / `close_at_{day}`; the next ones `open_at_{day}_{n}`.
function dayEditor(day, intervals) {
  const allDay = intervals.length === 1 && intervals[0].open === intervals[0].close;
  const rows = h("div", { class: "intervals" });
  let count = 0;
  const addRow = (open, close) => {
    count += 1;
    const suffix = count === 1 ? `${day}` : `${day}_${count}`;
    const hint = h("span", { class: "next-day muted", "aria-live": "polite" });
    const update = () => {
      const [o, c] = row.querySelectorAll("input[type=time]");
      hint.textContent = o.value && c.value
        ? (o.value === c.value ? t("24시간", "24 hours") : toMinutes(c.value) < toMinutes(o.value) ? t("다음 날", "next day") : "")
        : "";
    };
    const row = h("div", { class: "interval", oninput: update },
      input(`open_at_${suffix}`, t("여는 시간", "Opens"), { type: "time", value: open }),
      input(`close_at_${suffix}`, t("닫는 시간", "Closes"), { type: "time", value: close }),
      hint,
      count === 1 ? "" : button(t("구간 삭제", "Remove interval"), "remove-interval", () => row.remove(),
        { "aria-label": t(`${dayName(day)} 구간 삭제`, `Remove this ${dayName(day)} interval`) }));
    rows.append(row);
    update();
  };
  const list = intervals.length && !allDay ? intervals : [{ open: "09:00", close: "21:00" }];
  for (const b of list) addRow(b.open, b.close);
  const more = button(t("구간 추가", "Add an interval"), "add-interval", () => addRow("", ""),
    { "aria-label": t(`${dayName(day)} 구간 추가`, `Add a ${dayName(day)} interval`) });
  const allDayBox = h("input", { type: "checkbox", name: `allday_${day}`, checked: allDay,
    onchange: (e) => { rows.hidden = e.target.checked; more.hidden = e.target.checked; } });
  rows.hidden = allDay;
  more.hidden = allDay;
  return h("fieldset", { class: "day", "data-weekday": day }, h("legend", {}, dayName(day)),
    h("div", { class: "day-flags" },
      h("label", { class: "check" }, h("input", { type: "checkbox", name: `open_${day}`, checked: intervals.length > 0 }), t("영업", "Open")),
      h("label", { class: "check" }, allDayBox, t("24시간", "24 hours"))),
    rows, more);
}

function closuresSection(storeId, closures) {
  const box = h("div", { id: "closures" });
  const render = (list) => box.replaceChildren(
    table([t("시작", "From"), t("끝", "To"), t("사유", "Reason"), ""], list.map((c) => h("tr", { "data-closure-id": c.id },
      h("td", {}, c.starts_on), h("td", {}, c.ends_on), h("td", {}, c.reason || "-"),
      h("td", {}, button(t("삭제", "Delete"), "danger delete-closure", (e) => act(e.currentTarget, box, t(`${c.starts_on}–${c.ends_on} 휴무를 지울까요?`, `Delete the closure ${c.starts_on}–${c.ends_on}?`),
        () => api("DELETE", `/admin/stores/${storeId}/closures/${c.id}`), () => render(list.filter((x) => x.id !== c.id))),
      { "aria-label": t(`${c.starts_on} 휴무 삭제`, `Delete the closure from ${c.starts_on}`) })))),
    t("정해진 휴무일이 없습니다.", "No closures.")),
    formBox("closure-form", [
      h("div", { class: "pair" },
        input("starts_on", t("휴무 시작일", "Closed from"), { type: "date", required: true, value: seoulDay() }),
        input("ends_on", t("휴무 마지막 날", "Closed until (inclusive)"), { type: "date", required: true, value: seoulDay() })),
      input("reason", t("사유 (예: 설 연휴)", "Reason (e.g. Lunar New Year)"), { maxlength: 100 }),
    ], t("휴무일 추가", "Add a closure"), async (data) => {
      const c = await api("POST", `/admin/stores/${storeId}/closures`,
        { starts_on: data.get("starts_on"), ends_on: data.get("ends_on"), reason: data.get("reason") || "" });
      render([...list, c].sort((a, b) => a.starts_on.localeCompare(b.starts_on)));
    }));
  render(closures);
  return box;
}

// Photos: uploaded from the phone's camera (presigned PUT), or by address ------------

function imagesSection(s) {
  const box = h("div");
  const render = (images) => {
    const uploadBox = h("div", { class: "upload-message", id: "upload-message", "aria-live": "polite" });
    const upload = formBox("photo-form", [
      h("label", {}, t("사진 찍기 또는 고르기", "Take or choose a photo"),
        h("input", { type: "file", name: "photo", accept: "image/*", capture: "environment", required: true })),
    ], t("사진 올리기", "Upload the photo"), async (data) => {
      const file = data.get("photo");
      if (!file || !file.size) throw new Error(t("사진을 골라 주세요.", "Choose a photo."));
      const type = file.type || "image/jpeg";
      let ticket;
      try {
        ticket = await api("POST", `/admin/stores/${s.id}/images/uploads`, { content_type: type, size: file.size });
      } catch (e) {
        if (e.code !== "uploads_unavailable") throw e;
        // No bucket: the photo goes in by its address (the form below) from now on.
        upload.hidden = true;
        uploadBox.replaceChildren(failBox(e));
        return;
      }
      const put = await fetch(ticket.upload_url, { method: ticket.method || "PUT", headers: ticket.headers || { "Content-Type": type }, body: file });
      if (!put.ok) throw new Error(t(`사진을 올리지 못했습니다 (${put.status}). 다시 시도해 주세요.`, `The photo did not upload (${put.status}). Try again.`));
      const image = await api("POST", `/admin/stores/${s.id}/images`, { url: ticket.image_url });
      render([...images, image]);
    });
    box.replaceChildren(
      h("div", { class: "gallery admin" }, ...images.map((i) => h("figure", {},
        h("img", { src: i.url, alt: t(`${s.name} 사진`, `Photo of ${s.name}`), class: "store-image" }),
        button(t("삭제", "Delete"), "", (e) => act(e.currentTarget, box, t("이 사진을 지울까요?", "Delete this photo?"),
          () => api("DELETE", `/admin/stores/${s.id}/images/${i.id}`), () => render(images.filter((x) => x.id !== i.id))))))),
      upload, uploadBox,
      formBox("image-form", [input("url", t("사진 주소 (https://…)", "Photo address (https://…)"), { type: "url", required: true })],
        t("사진 추가", "Add the photo"), async (data) => {
          const image = await api("POST", `/admin/stores/${s.id}/images`, { url: data.get("url") });
          render([...images, image]);
        }));
  };
  render(s.images || []);
  return box;
}

function umbrellaState(u) {
  if (u.missed) return t("분실", "Missing");
  if (u.rented) return t("대여 중", "Out");
  return u.rentable ? t("대여 가능", "Rentable") : t("쉬는 중", "Resting");
}

function umbrellasSection(storeId, umbrellas, canAdd = true) {
  const box = h("div");
  const render = (list) => box.replaceChildren(
    table([t("번호", "Number"), t("상태", "State"), t("비고", "Note")], list.map((u) => h("tr", { "data-umbrella-id": u.id },
      h("td", {}, t(`${u.number}번`, `No. ${u.number}`)), h("td", {}, umbrellaState(u)), h("td", {}, u.note))),
    t("아직 우산이 없습니다.", "No umbrellas yet.")),
    canAdd ? formBox("umbrella-form", [input("number", t("우산 번호", "Umbrella number"), { type: "number", min: 1, required: true }),
      input("note", t("비고 (선택)", "Note (optional)"), { maxlength: 200 })], t("우산 추가", "Add an umbrella"), async (data) => {
      const u = await api("POST", "/admin/umbrellas", { store_id: storeId, number: number(data, "number"), note: data.get("note") || "" });
      render([...list, u]);
    }) : "");
  render(umbrellas);
  return box;
}

// The monthly per-store report: printable, and mailed to the café ----------------------

const WEEKDAYS = { 1: ["월요일", "Monday"], 2: ["화요일", "Tuesday"], 3: ["수요일", "Wednesday"], 4: ["목요일", "Thursday"],
  5: ["금요일", "Friday"], 6: ["토요일", "Saturday"], 7: ["일요일", "Sunday"] };
const weekdayName = (w) => {
  if (w === null || w === undefined) return "-";
  const pair = WEEKDAYS[w] || Object.values(WEEKDAYS).find(([ko, en]) => ko === w || en.toLowerCase() === String(w).toLowerCase());
  return pair ? t(...pair) : String(w);
};

async function monthlyReportPage(path, id) {
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

const secretBox = (secret) => h("div", { class: "notice secret", role: "status" },
  h("p", {}, t("이 비밀키는 지금 한 번만 보여 드립니다. 보관함 기기에 입력하세요.", "This secret is shown this once. Enter it on the locker.")),
  h("code", { id: "locker-secret" }, secret));

/// A store's locker: installing one (the secret shown once), or the installed one's
/// counter and removal.
function lockerSection(store, locker, stores, onChange) {
  const box = h("div", { class: "locker" });
  const render = (l, secret) => {
    if (!l) {
      box.replaceChildren(isAdmin() ? installForm(stores, store ? store.id : null, (made) => { render(made, made.secret); if (onChange) onChange(); })
        : h("p", { class: "muted" }, t("보관함이 없습니다.", "No locker.")));
      return;
    }
    box.replaceChildren(
      ...(secret ? [secretBox(secret)] : []),
      h("p", {}, t(`설치됨 · 카운터 ${l.counter} · 마지막 발급 ${dateTime(l.last_access)}`, `Installed · counter ${l.counter} · last password ${dateTime(l.last_access)}`)),
      formBox(`counter-${l.id}`, [input("counter", t("기기의 카운터", "The device's counter"), { type: "number", min: 0, required: true, value: l.counter })],
        t("카운터 맞추기", "Set the counter"), async (data) => render(await api("PUT", `/admin/lockers/${l.id}/counter`, { counter: number(data, "counter") }))),
      isAdmin() ? button(t("보관함 제거", "Remove the locker"), "danger", (e) => act(e.currentTarget, box, t("보관함을 제거할까요? 이 매장의 대여에 비밀번호가 나오지 않게 됩니다.",
        "Remove the locker? Rentals here will get no password."),
      () => api("DELETE", `/admin/lockers/${l.id}`), () => { render(null); if (onChange) onChange(); })) : "");
  };
  render(locker, null);
  return box;
}

function installForm(stores, storeId, installed) {
  return formBox("locker-form", [
    storeId ? h("input", { type: "hidden", name: "store_id", value: storeId })
      : select("store_id", t("매장", "Store"), stores.map((s) => [s.id, s.name]), null, { required: true }),
    input("secret", t("비밀키 (기기에 정해져 있으면 입력, 비워 두면 새로 만듭니다)", "Secret (type the device's, or leave empty for a new one)"), { autocomplete: "off", pattern: "[0-9a-fA-F]{32,}", spellcheck: "false" }),
  ], t("보관함 설치", "Install a locker"), async (data) => {
    const body = { store_id: number(data, "store_id") };
    if (data.get("secret")) body.secret = data.get("secret").trim();
    installed(await api("POST", "/admin/lockers", body));
  });
}

async function lockersPage(path) {
  const [lockers, stores] = await Promise.all([api("GET", "/admin/lockers"), api("GET", "/admin/stores?size=100")]);
  const name = new Map(stores.map((s) => [s.id, s.name]));
  const free = stores.filter((s) => !lockers.some((l) => l.store_id === s.id));
  const reload = () => lockersPage(path);
  frame(path, t("보관함", "Lockers"),
    ...lockers.map((l) => h("section", { class: "card" }, h("h2", {}, name.get(l.store_id) || t(`매장 ${l.store_id}`, `Store ${l.store_id}`)), lockerSection(null, l, stores, reload))),
    lockers.length ? "" : h("p", { class: "muted" }, t("설치된 보관함이 없습니다.", "No lockers installed.")),
    ...(isAdmin() ? [h("h2", {}, t("보관함 설치", "Install a locker")),
      free.length ? lockerSection(null, null, free, null) : h("p", { class: "muted" }, t("모든 매장에 보관함이 있습니다.", "Every store has a locker."))] : []));
}

// QR codes ----------------------------------------------------------------------------

async function codesPage(path, id) {
  const c = await api("GET", `/admin/stores/${id}/codes`);
  frame(path, t(`${c.store.name} QR 코드`, `${c.store.name}: QR codes`),
    h("p", { class: "muted no-print" }, t("매장 입구에는 반납 코드를, 우산마다 그 번호의 대여 코드를 붙이세요. 코드는 서명되어 있어 다른 우산이나 매장에서는 쓸 수 없습니다.",
      "Put the return code at the entrance and each umbrella's rent code on it. The codes are signed: they work for no other umbrella or store.")),
    h("p", { class: "no-print" }, h("button", { class: "primary", type: "button", onclick: () => window.print() }, t("인쇄", "Print")), " ",
      link(`/admin/stores/${id}`, t("매장으로 돌아가기", "Back to the store"))),
    h("img", { class: "qr-sheet", src: `/api/admin/stores/${id}/codes.svg`, alt: t(`${c.store.name}의 반납 코드와 우산 ${c.umbrellas.length}개의 대여 코드`,
      `${c.store.name}'s return code and the rent codes of ${c.umbrellas.length} umbrellas`) }),
    h("details", { class: "no-print" }, h("summary", {}, t("코드의 주소", "The codes' addresses")),
      h("ul", { class: "codes" }, h("li", {}, t(`반납: ${c.store.url}`, `Return: ${c.store.url}`)),
        ...c.umbrellas.map((u) => h("li", {}, t(`우산 ${u.number}번: ${u.url}`, `Umbrella ${u.number}: ${u.url}`))))));
}

// Regions and tags --------------------------------------------------------------------

async function classificationsPage(path) {
  const all = await api("GET", "/admin/classifications");
  const reload = () => classificationsPage(path);
  const box = h("div");
  const row = (c) => h("tr", {}, h("td", {}, c.name), h("td", {}, `${c.latitude}, ${c.longitude}`),
    h("td", {}, button(t("이름 바꾸기", "Rename"), "", (e) => {
      const name = prompt(t("새 이름", "New name"), c.name);
      if (!name || name === c.name) return;
      act(e.currentTarget, box, null, () => api("PUT", `/admin/classifications/${c.id}`, { ...c, name }), reload);
    }), " ", button(t("삭제", "Delete"), "danger", (e) => act(e.currentTarget, box, t(`${c.name}을(를) 삭제할까요?`, `Delete ${c.name}?`),
      () => api("DELETE", `/admin/classifications/${c.id}`), reload))));
  const section = (kind, title) => [
    h("h2", {}, title),
    table([t("이름", "Name"), t("좌표", "Coordinates"), ""], all.filter((c) => c.kind === kind).map(row), t(`등록된 ${title}이(가) 없습니다.`, `No ${title} yet.`)),
    formBox(`${kind}-form`, [input("name", t("이름", "Name"), { required: true, maxlength: 100 }),
      input("latitude", t("위도", "Latitude"), { type: "number", step: "any", min: -90, max: 90, required: true }),
      input("longitude", t("경도", "Longitude"), { type: "number", step: "any", min: -180, max: 180, required: true })],
    t(`${title} 추가`, `Add a ${title}`), async (data) => {
      await api("POST", "/admin/classifications", { kind, name: data.get("name"), latitude: number(data, "latitude"), longitude: number(data, "longitude") });
      await reload();
    }),
  ];
  frame(path, t("지역과 태그", "Regions and tags"), box, ...section("region", t("지역", "region")), ...section("tag", t("태그", "tag")));
}

// Umbrellas ---------------------------------------------------------------------------

async function umbrellasPage(path) {
  const q = params();
  const store = q.get("store") || "";
  const page = Number(q.get("page") || 0);
  const [stores, stats, list] = await Promise.all([api("GET", "/admin/stores?size=100"), api("GET", "/admin/umbrellas/statistics"),
    api("GET", `/admin/umbrellas?page=${page}&size=${PAGE_SIZE}${store ? `&store_id=${store}` : ""}`)]);
  const name = new Map(stores.map((s) => [s.id, s.name]));
  const box = h("div");
  const reload = () => umbrellasPage(path);
  const admin = isAdmin();
  const row = (u) => {
    const move = h("select", { "aria-label": t(`우산 ${u.number}번을 옮길 매장`, `Store to move umbrella ${u.number} to`) },
      ...stores.map((s) => h("option", { value: s.id, selected: s.id === u.store_id }, s.name)));
    return h("tr", {}, h("td", {}, t(`${u.number}번`, `No. ${u.number}`)), h("td", {}, link(`/admin/stores/${u.store_id}`, name.get(u.store_id) || "-")),
      h("td", {}, umbrellaState(u)), h("td", {}, u.note),
      admin ? h("td", { class: "actions" }, move,
        button(t("옮기기", "Move"), "", (e) => act(e.currentTarget, box, null,
          () => api("PUT", `/admin/umbrellas/${u.id}`, { store_id: Number(move.value), number: u.number, rentable: u.rentable, note: u.note }), reload),
        { disabled: u.rented }),
        button(u.rentable ? t("대여 중지", "Stop lending") : t("대여 재개", "Lend again"), "", (e) => act(e.currentTarget, box, null,
          () => api("PUT", `/admin/umbrellas/${u.id}`, { store_id: u.store_id, number: u.number, rentable: !u.rentable, note: u.note }), reload),
        { disabled: u.rented || (u.missed && !u.rentable) }),
        button(u.missed ? t("찾음", "Found") : t("분실", "Missing"), "", (e) => act(e.currentTarget, box, u.missed ? null : t(`우산 ${u.number}번을 분실로 표시할까요?`, `Mark umbrella ${u.number} missing?`),
          () => api("PUT", `/admin/umbrellas/${u.id}/missed`, { missed: !u.missed }), reload)),
        button(t("폐기", "Retire"), "danger", (e) => act(e.currentTarget, box, t(`우산 ${u.number}번을 폐기할까요? 목록에서 사라집니다.`, `Retire umbrella ${u.number}? It leaves the list.`),
          () => api("DELETE", `/admin/umbrellas/${u.id}`), reload), { disabled: u.rented })) : "");
  };
  frame(path, t("우산", "Umbrellas"),
    h("p", {}, t(`전체 ${stats.total}개 · 대여 가능 ${stats.rentable} · 대여 중 ${stats.rented} · 분실 ${stats.missing}`,
      `${stats.total} in all · ${stats.rentable} rentable · ${stats.rented} out · ${stats.missing} missing`)),
    h("label", {}, t("매장", "Store"), h("select", { onchange: (e) => go(withQuery({ store: e.target.value, page: null })) },
      h("option", { value: "" }, t("모든 매장", "All stores")), ...stores.map((s) => h("option", { value: s.id, selected: String(s.id) === store }, s.name)))),
    box,
    table([t("번호", "Number"), t("매장", "Store"), t("상태", "State"), t("비고", "Note"), ...(admin ? [""] : [])], list.map(row), t("우산이 없습니다.", "No umbrellas.")),
    pager(page, list.length));
}

// Users and their roles -----------------------------------------------------------------

const USER_STATUS = { active: ["이용 중", "Active"], left: ["탈퇴", "Left"], banned: ["이용 정지", "Banned"] };

async function usersPage(path) {
  const q = params();
  const page = Number(q.get("page") || 0);
  const search = q.get("q") || "";
  const query = new URLSearchParams({ page, size: PAGE_SIZE });
  if (search) query.set("q", search);
  const [users, blacklist, stores] = await Promise.all([api("GET", `/admin/users?${query}`), api("GET", "/admin/blacklist?size=50"),
    api("GET", "/admin/stores?size=100")]);
  const box = h("div");
  const reload = () => usersPage(path);
  frame(path, t("회원과 권한", "Users and roles"),
    h("p", { class: "muted" }, t("역할: 이용자, 매장 직원(담당 매장의 우산·직원 반납·신고), 정산 담당(보증금·대여·통계, 권한과 차단은 제외), 관리자(전부).",
      "Roles: renter; store staff (their stores' umbrellas, staff returns, reports); deposit clerk (deposits, rentals, statistics; not rights or bans); admin (everything).")),
    h("form", { class: "search", role: "search", onsubmit: (e) => {
      e.preventDefault();
      go(withQuery({ q: new FormData(e.target).get("q").trim(), page: null }));
    } }, h("label", {}, t("검색", "Search"), h("input", { name: "q", type: "search", value: search, placeholder: t("이름, 이메일, 휴대폰 번호", "Name, e-mail, phone") })),
    h("button", { class: "secondary", type: "submit" }, t("찾기", "Find"))),
    box,
    users.length ? h("div", { id: "user-list" }, ...users.map((u) => userCard(u, stores, reload)))
      : h("p", { class: "muted" }, t("해당하는 회원이 없습니다.", "No users match.")),
    pager(page, users.length),
    h("h2", {}, t("차단 목록", "Blocked accounts")),
    table([t("계정", "Account"), t("차단일", "Blocked"), ""], blacklist.map((b) => h("tr", {}, h("td", {}, `${b.provider === "kakao" ? t("카카오", "Kakao") : t("이메일", "E-mail")} ${b.subject}`),
      h("td", {}, date(b.blocked_at)),
      h("td", {}, button(t("차단 해제", "Lift"), "", (e) => act(e.currentTarget, box, t("차단을 풀까요? 같은 계정으로 다시 가입할 수 있게 됩니다.", "Lift the block? The account can sign up again."),
        () => api("DELETE", `/admin/blacklist/${b.id}`), reload))))), t("차단된 계정이 없습니다.", "No blocked accounts.")));
}

function userCard(u, stores, reload) {
  const box = h("div", { class: "user-message", "aria-live": "polite" });
  const userRole = u.role || (u.is_admin ? "admin" : "renter");
  const storeNames = new Map(stores.map((s) => [s.id, s.name]));
  const mine = new Set(u.store_ids || []);
  const picker = h("fieldset", { class: "store-picker" }, h("legend", {}, t("담당 매장 (직원)", "Stores served (staff)")),
    ...(stores.length ? stores.map((s) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "store_ids", value: s.id, checked: mine.has(s.id) }), s.name))
      : [h("p", { class: "muted" }, t("매장이 없습니다.", "No stores."))]));
  picker.hidden = userRole !== "staff";
  const self = me && u.id === me.id;
  const roleForm = formBox(`role-${u.id}`, [
    select("role", t(`${u.name}님의 역할`, `${u.name}'s role`), Object.entries(ROLES).map(([k, label]) => [k, label()]), userRole,
      { onchange: (e) => { picker.hidden = e.target.value !== "staff"; } }),
    picker,
  ], t("역할 저장", "Save the role"), async (data) => {
    const next = data.get("role");
    const storeIds = data.getAll("store_ids").map(Number);
    if (next === "staff" && !storeIds.length) throw new Error(t("직원은 담당 매장을 하나 이상 골라야 합니다.", "Pick at least one store for staff."));
    if ((next === "admin") !== (userRole === "admin")
      && !confirm(next === "admin" ? t(`${u.name}님을 관리자로 지정할까요? 모든 권한을 갖습니다.`, `Make ${u.name} an admin, with every right?`)
        : t(`${u.name}님의 관리자 권한을 거둘까요?`, `Take ${u.name}'s admin rights away?`))) return;
    await api("PATCH", `/admin/users/${u.id}`, { role: next, store_ids: next === "staff" ? storeIds : [] });
    await reload();
    document.querySelector(`[data-user-id="${u.id}"] .user-message`)
      ?.replaceChildren(notice(t(`${u.name}님의 역할을 ${ROLES[next]()}(으)로 저장했습니다.`, `${u.name} is now: ${ROLES[next]()}.`), { class: "notice role-saved" }));
  });
  roleForm.classList.add("role-form", "compact");
  const status = USER_STATUS[u.status] ? t(...USER_STATUS[u.status]) : u.status;
  return h("article", { class: "card user", "data-user-id": u.id },
    h("div", { class: "row" }, h("strong", {}, u.name), h("span", {},
      h("span", { class: `badge role role-${userRole}` }, (ROLES[userRole] || ROLES.renter)()),
      u.status !== "active" ? h("span", { class: "badge bad" }, status) : "")),
    h("div", { class: "muted" }, [u.email || (u.kakao_id ? t("카카오", "Kakao") : "-"), u.phone || "-", t(`${date(u.created_at)} 가입`, `joined ${date(u.created_at)}`)].join(" · ")),
    userRole === "staff" && mine.size ? h("div", { class: "muted staff-stores" }, t("담당: ", "Serves: "),
      ...[...mine].flatMap((id, i) => [i ? ", " : "", link(`/admin/stores/${id}`, storeNames.get(id) || `#${id}`)])) : "",
    u.status === "active" && !self ? [roleForm,
      h("div", { class: "actions" }, button(t("이용 정지", "Ban"), "danger ban-user", (e) => act(e.currentTarget, box,
        t(`${u.name}님의 이용을 정지할까요? 개인정보가 지워지고 다시 가입할 수 없습니다.`, `Ban ${u.name}? Their personal data is erased and they cannot sign up again.`),
        () => api("POST", `/admin/users/${u.id}/ban`), reload)))] : "",
    box);
}

// Deposits: the books --------------------------------------------------------------------

async function depositsPage(path) {
  const page = Number(params().get("page") || 0);
  const [summary, queue] = await Promise.all([
    api("GET", "/admin/deposits/summary"), api("GET", `/admin/deposits/refund-queue?page=${page}&size=${PAGE_SIZE}`)]);
  const movements = (rows, label) => table([label, t("입금", "Received"), t("환급", "Refunded"), t("차감", "Kept")], rows.map((m) => h("tr", {},
    h("td", {}, m.period), h("td", {}, won(m.received)), h("td", {}, won(m.refunded)), h("td", {}, won(m.forfeited)))), t("아직 기록이 없습니다.", "Nothing recorded yet."));
  const total = summary.total;
  const exportForm = h("form", { class: "search export", method: "get", action: "/api/admin/deposits/export.csv" },
    h("label", {}, t("대여일 시작", "Rented from"), h("input", { name: "from", type: "date", value: seoulDay(-30) })),
    h("label", {}, t("대여일 끝", "Rented until"), h("input", { name: "to", type: "date", value: seoulDay() })),
    h("button", { class: "secondary", type: "submit", id: "export-csv" }, t("CSV 내려받기 (Excel)", "Download CSV (Excel)")));
  frame(path, t("정산", "Deposits"),
    h("div", { class: "stats" },
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("보관 중인 보증금", "Deposits held")), h("strong", { id: "held-amount" }, won(summary.held_amount)),
        h("span", { class: "muted" }, t(`${summary.held_count}건`, String(summary.held_count)))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("누적 입금", "Received so far")), h("strong", {}, won(total.received))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("누적 환급", "Refunded so far")), h("strong", {}, won(total.refunded))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("누적 차감", "Kept so far")), h("strong", {}, won(total.forfeited)))),
    h("p", { class: "muted" }, t("보관 중 = 누적 입금 − 누적 환급 − 누적 차감", "Held = received − refunded − kept")),
    h("h2", {}, t("환급 대기 (오래된 순)", "Refunds due (oldest first)")),
    table([t("대기", "Waiting"), t("대여자", "Renter"), t("우산", "Umbrella"), t("보증금", "Deposit"), t("상태", "State"), t("환급 계좌", "Refund account")],
      queue.map((w) => h("tr", { "data-rental-id": w.rental.id },
        h("td", {}, t(`${w.age_days}일째`, `${w.age_days} days`)), h("td", {}, link(`/admin/rentals/${w.rental.id}`, w.rental.user_name)),
        h("td", {}, t(`${w.rental.umbrella_number}번`, `No. ${w.rental.umbrella_number}`)), h("td", {}, won(w.rental.deposit.amount)),
        h("td", {}, depositState(w.rental.deposit.state)),
        h("td", {}, w.rental.has_bank_account ? `${w.rental.bank_name} ${w.rental.account_masked}` : t("없음", "None")))),
      t("환급할 보증금이 없습니다.", "No refunds due.")),
    pager(page, queue.length),
    h("h2", {}, t("내보내기", "Export")), exportForm,
    h("h2", {}, t("일별 (최근 31일)", "Per day (last 31 days)")), movements(summary.by_day, t("날짜", "Day")),
    h("h2", {}, t("월별 (최근 12개월)", "Per month (last 12 months)")), movements(summary.by_month, t("월", "Month")));
}

// The operator action log ----------------------------------------------------------------

// Every action the WAS logs (was/src/http/admin), with its name in the console.
const ACTIONS = [["", "전체", "All"], ["deposit.confirm_payment", "입금 확인", "Payment confirmed"], ["deposit.refund", "환급 완료", "Refunded"],
  ["deposit.refund_failed", "환급 실패", "Refund failed"], ["deposit.forfeit_damaged", "파손 차감", "Kept (damaged)"], ["deposit.waive", "보증금 면제", "Waived"],
  ["deposits.export", "정산 내보내기", "Deposits exported"], ["rental.close", "대여 종료", "Rental closed"], ["rental.found", "분실 우산 회수", "Lost umbrella found"],
  ["rental.staff_return", "직원 반납", "Staff return"], ["report.resolve", "신고 처리", "Report resolved"],
  ["bank_account.read", "계좌 열람", "Account read"], ["bank_account.delete", "계좌 삭제", "Account deleted"], ["user.ban", "회원 차단", "User banned"],
  ["user.lift_ban", "차단 해제", "Ban lifted"], ["user.create_admin", "관리자 계정 생성", "Admin created"], ["user.grant_admin", "관리자 지정", "Admin granted"],
  ["user.revoke_admin", "관리자 해제", "Admin revoked"], ["user.set_role", "역할 변경", "Role changed"], ["store.create", "매장 등록", "Store created"],
  ["store.update", "매장 수정", "Store updated"], ["store.delete", "매장 삭제", "Store deleted"], ["store.set_activation", "매장 공개/중지", "Store opened/stopped"],
  ["store.add_image", "매장 사진 추가", "Photo added"], ["store.delete_image", "매장 사진 삭제", "Photo deleted"], ["store.set_hours", "영업 시간", "Hours set"],
  ["store.add_closure", "휴무일 추가", "Closure added"], ["store.delete_closure", "휴무일 삭제", "Closure deleted"],
  ["store.set_stock_thresholds", "재고 기준", "Stock marks set"], ["store.send_monthly_report", "월간 보고서 발송", "Monthly report sent"],
  ["umbrella.create", "우산 등록", "Umbrella added"], ["umbrella.update", "우산 수정", "Umbrella updated"], ["umbrella.retire", "우산 삭제", "Umbrella retired"],
  ["umbrella.set_missed", "우산 분실 표시", "Umbrella marked missing"], ["locker.install", "보관함 설치", "Locker installed"],
  ["locker.replace", "보관함 교체", "Locker replaced"], ["locker.remove", "보관함 철거", "Locker removed"], ["locker.set_counter", "보관함 카운터", "Locker counter set"],
  ["classification.create", "지역/태그 추가", "Region/tag added"], ["classification.update", "지역/태그 수정", "Region/tag updated"],
  ["classification.delete", "지역/태그 삭제", "Region/tag deleted"]];
const TARGETS = [["", "전체", "All"], ["rental", "대여", "Rental"], ["user", "회원", "User"], ["store", "매장", "Store"], ["umbrella", "우산", "Umbrella"],
  ["locker", "보관함", "Locker"], ["classification", "지역/태그", "Region/tag"], ["blacklist", "차단 기록", "Block"], ["deposits", "정산", "Deposits"],
  ["report", "신고", "Report"]];
const labelOf = (list, key) => {
  const found = list.find(([k]) => k === key);
  return found ? t(found[1], found[2]) : key;
};
/// Where an action's target is in the console, when it has a page.
const targetHref = (kind, id) => ({ rental: `/admin/rentals/${id}`, store: `/admin/stores/${id}` })[kind];

async function actionsPage(path, fixedAction) {
  const q = params();
  const page = Number(q.get("page") || 0);
  const action = fixedAction || q.get("action") || "";
  const query = new URLSearchParams({ page, size: PAGE_SIZE });
  if (action) query.set("action", action);
  for (const k of ["actor_id", "target_kind", "target_id"]) if (q.get(k)) query.set(k, q.get(k));
  const entries = await api("GET", `/admin/actions?${query}`);
  const filter = h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    go(`/admin/actions?${new URLSearchParams([...data.entries()].filter(([, v]) => v))}`);
  } },
  select("action", t("작업", "Action"), ACTIONS.map(([k, ko, en]) => [k, t(ko, en)]), action),
  select("target_kind", t("대상", "Target"), TARGETS.map(([k, ko, en]) => [k, t(ko, en)]), q.get("target_kind") || ""),
  input("target_id", t("대상 번호", "Target id"), { type: "number", min: 1, value: q.get("target_id") || "" }),
  input("actor_id", t("운영자 번호", "Operator id"), { type: "number", min: 1, value: q.get("actor_id") || "" }),
  h("button", { class: "secondary", type: "submit" }, t("찾기", "Find")));
  frame(path, t("작업 기록", "Action log"),
    h("p", { class: "muted" }, t("운영진이 바꾼 모든 것(보증금, 대여 종료, 우산, 보관함, 매장, 회원, 권한, 차단, 계좌 열람)이 누가, 언제, 어디서 했는지와 함께 남습니다. 고치거나 지울 수 없습니다.",
      "Everything operators change (deposits, closings, umbrellas, lockers, stores, users, rights, bans, account reads) is kept with who, when and from where. It cannot be edited or deleted.")),
    filter,
    // One card per entry: on a phone a six-column table would wrap every cell.
    entries.length ? h("ol", { class: "action-log" }, ...entries.map((a) => {
      const target = `${labelOf(TARGETS, a.target_kind)}${a.target_id ? ` #${a.target_id}` : ""}`;
      const href = a.target_id && targetHref(a.target_kind, a.target_id);
      return h("li", { class: "card action" },
        h("div", { class: "row" }, h("strong", {}, labelOf(ACTIONS, a.action)),
          h("span", { class: "muted" }, href ? link(href, target) : target)),
        h("div", { class: "muted" }, `${dateTime(a.at)} · ${a.actor_email ? `${a.actor_name} (${a.actor_email})` : a.actor_name} · ${a.address || "-"}`),
        Object.keys(a.details || {}).length ? h("code", { class: "details" }, JSON.stringify(a.details)) : "");
    }))
      : h("p", { class: "muted" }, t("기록이 없습니다.", "Nothing logged.")),
    pager(page, entries.length));
}

// Router ------------------------------------------------------------------------------

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
  me = user;
  role = roleOf(user);
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
