// What every console screen uses: the signed-in operator and role, the frame with its
// tabs, tables, pagers, form fields, and the messages of refused or failed actions.

import { errorText, t } from "/i18n.js";
import { errorBox, h, link, show } from "/ui.js";

export const ROLES = {
  renter: () => t("이용자", "Renter"),
  staff: () => t("매장 직원", "Store staff"),
  clerk: () => t("정산 담당", "Deposit clerk"),
  admin: () => t("관리자", "Admin"),
};
/// The caller's role; sessions of a WAS before roles carry only the admin flag.
export const roleOf = (me) => (me && me.role) || (me && me.is_admin ? "admin" : "renter");

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
export const PAGE_SIZE = 20;

export let me = null;
export let role = "renter";

/** The operator the console is opened for, and the role it shows that operator. */
export function setUser(user) {
  me = user;
  role = roleOf(user);
}
export const isAdmin = () => role === "admin";

// Building blocks ---------------------------------------------------------------------

/// Today (or `days` from today) as YYYY-MM-DD in Seoul.
export const seoulDay = (days = 0) => new Date(Date.now() + days * 86400000).toLocaleDateString("sv-SE", { timeZone: "Asia/Seoul" });

export function frame(path, title, ...content) {
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

export const params = () => new URLSearchParams(location.search);

/// This page's URL with some query parameters changed (null or "" removes one).
export function withQuery(changes) {
  const p = params();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "" || v === undefined) p.delete(k);
    else p.set(k, v);
  }
  const q = p.toString();
  return `${location.pathname}${q ? `?${q}` : ""}`;
}

export function pager(page, shown) {
  const nav = h("nav", { class: "pager", "aria-label": t("페이지", "Pages") });
  nav.append(page > 0 ? link(withQuery({ page: page - 1 || null }), t("← 이전", "← Previous")) : h("span", { class: "muted" }, t("← 이전", "← Previous")),
    h("span", {}, t(`${page + 1}쪽`, `Page ${page + 1}`)),
    shown >= PAGE_SIZE ? link(withQuery({ page: page + 1 }), t("다음 →", "Next →")) : h("span", { class: "muted" }, t("다음 →", "Next →")));
  return nav;
}

export function table(headers, rows, empty = t("아직 없습니다.", "Nothing yet."), attrs = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("div", { class: "table-wrap", tabindex: "0", ...attrs },
    h("table", {}, h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))), h("tbody", {}, ...rows)));
}

export const input = (name, label, attrs = {}) => h("label", {}, label, h("input", { name, ...attrs }));
export const textarea = (name, label, value = "", attrs = {}) => {
  const el = h("textarea", { name, rows: 3, ...attrs });
  el.value = value;
  return h("label", {}, label, el);
};
export function select(name, label, options, selected, attrs = {}) {
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
export function message(e) {
  const pair = e && e.code && CODES[e.code];
  if (pair) return t(pair[0], pair[1]);
  if (e instanceof TypeError) return t(NETWORK[0], NETWORK[1]);
  return errorText(e && e.code, (e && e.message) || String(e));
}
// A connection or gateway failure gets the shared box (its words, a retry, the contact);
// a refusal or a mistake is said plainly where it happened.
export const failBox = (e) => (e && e.retryable ? errorBox(e) : h("p", { class: "error", role: "alert", "data-code": (e && e.code) || null,
  "data-status": (e && e.status) || null }, message(e)));

/// A form whose submit button stays disabled while `onsubmit` runs, with its error shown
/// under the fields.
export function formBox(id, children, submitLabel, onsubmit) {
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
export async function act(b, box, question, call, after) {
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

export const button = (label, cls, onclick, attrs = {}) => h("button", { type: "button", class: `secondary ${cls}`, onclick, ...attrs }, label);
export const notice = (text, attrs = {}) => h("p", { class: "notice", role: "status", ...attrs }, text);
export const number = (data, name) => Number(data.get(name));
export const won = (n) => t(`${Number(n).toLocaleString("ko-KR")}원`, `₩${Number(n).toLocaleString("en-GB")}`);
export const hours = (x) => (x === null || x === undefined ? "-" : t(`${Number(x).toFixed(1)}시간`, `${Number(x).toFixed(1)} h`));
export const percent = (x) => (x === null || x === undefined ? "-" : `${(Number(x) * 100).toFixed(1)}%`);

/// Fetches, and answers `fallback` when the server has no such route yet or refuses it
/// (a section of a page that another role or release may not have).
export async function maybe(promise, fallback) {
  try {
    return await promise;
  } catch (e) {
    if (e.status === 404 || e.status === 403 || e.status === 405) return fallback;
    throw e;
  }
}

// Dashboard ---------------------------------------------------------------------------
