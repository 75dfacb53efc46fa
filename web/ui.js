// Shared building blocks of the front-end: the API client, element builder, forms, the
// error box and page changes (title, focus, scroll).
//
// The API client is written for a phone on a bad connection: every request has a
// timeout, and what went wrong is said in words (offline, too slow, the service
// unreachable) instead of a browser's "Failed to fetch" or a JSON parser's complaint about
// a load balancer's HTML error page. Errors worth trying again carry a retry button.

import { errorText, t } from "/i18n.js";

export const view = document.getElementById("view");

/** Milliseconds a request may take before the page gives up on it and says so. */
export const TIMEOUT_MS = 15000;

export class ApiError extends Error {
  /** `kind`: "offline", "timeout", "gateway" (no answer from the service) or "http". */
  constructor(status, detail, code, kind = "http") {
    super(detail);
    this.status = status;
    this.code = code;
    this.kind = kind;
  }

  /** Trying again may help: the connection or the service, not the request. */
  get retryable() {
    return this.kind !== "http" || this.status === 429 || this.status >= 500;
  }
}

const offlineError = () => new ApiError(0,
  t("인터넷 연결을 확인해 주세요. 연결되면 다시 시도해 주세요.", "You're offline. Check your connection and try again."), "offline", "offline");
const timeoutError = () => new ApiError(0,
  t("응답이 너무 늦습니다. 연결 상태를 확인하고 다시 시도해 주세요.", "The request timed out. Check your connection and try again."), "timeout", "timeout");
const gatewayError = (status) => new ApiError(status,
  t(`서비스에 잠시 연결할 수 없습니다 (${status}). 잠시 후 다시 시도해 주세요.`,
    `The service can't be reached right now (${status}). Please try again in a moment.`), "gateway", "gateway");

export async function api(method, path, body, headers = {}, { timeout = TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const init = { method, headers: { accept: "application/json", ...headers }, credentials: "same-origin", signal: controller.signal };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  let text;
  try {
    res = await fetch(`/api${path}`, init);
    text = await res.text();
  } catch {
    throw controller.signal.aborted ? timeoutError() : offlineError();
  } finally {
    clearTimeout(timer);
  }
  // Only JSON is parsed: a proxy's or load balancer's error page is HTML.
  const type = res.headers.get("content-type") || "";
  let data = null;
  if (text && type.includes("json")) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    if (!data || typeof data !== "object") {
      if (res.status >= 500 || res.status === 0) throw gatewayError(res.status);
      throw new ApiError(res.status, t(`요청을 처리하지 못했습니다 (${res.status}).`, `The request failed (${res.status}).`), undefined, "http");
    }
    throw new ApiError(res.status, errorText(data.code, data.detail || res.statusText), data.code);
  }
  if (text && data === null) throw gatewayError(res.status);
  return data;
}

export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return el;
};

export const link = (href, ...children) => h("a", { href, "data-link": true }, ...children);
export const date = (iso) => (iso ? new Date(iso).toLocaleDateString(t("ko-KR", "en-GB"), { timeZone: "Asia/Seoul" }) : "-");

/** "12월 19일 (토) 14:05" / "Sat 19 Dec, 14:05": a date with its time, in Seoul. */
export function dateTime(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  const part = (locale, opts) => d.toLocaleString(locale, { timeZone: "Asia/Seoul", ...opts });
  const hm = part("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false });
  return t(`${part("ko-KR", { month: "long", day: "numeric" })} (${part("ko-KR", { weekday: "short" })}) ${hm}`,
    `${part("en-GB", { weekday: "short", day: "numeric", month: "short" })}, ${hm}`);
}

/** Whole calendar days (in Seoul) from `a` to `b`. */
export function seoulDays(a, b) {
  const day = (d) => Date.parse(new Date(d).toLocaleDateString("en-CA", { timeZone: "Asia/Seoul" }));
  return Math.round((day(b) - day(a)) / 86400000);
}

// The support contact (GET /api/service-info's `support`), fetched once and shown under
// every error box, in the footer and in the guide.
let serviceInfo = null;
export function loadServiceInfo() {
  serviceInfo ??= api("GET", "/service-info").catch((e) => { serviceInfo = null; throw e; });
  return serviceInfo;
}

/** Links to reach the operators, or nothing when none is configured. */
export function supportLinks(support) {
  if (!support) return [];
  const items = [];
  if (support.kakao_url) items.push(h("a", { href: support.kakao_url, rel: "noopener", target: "_blank", class: "support-kakao" }, t("카카오톡 채널", "KakaoTalk channel")));
  if (support.phone) items.push(h("a", { href: `tel:${support.phone.replace(/[^+\d]/g, "")}`, class: "support-phone" }, support.phone));
  if (support.email) items.push(h("a", { href: `mailto:${support.email}`, class: "support-email" }, support.email));
  return items;
}

/** "문의: 카카오톡 채널 · 010-… · help@…", filled in when the service info arrives. */
export function supportLine(cls = "support") {
  const el = h("p", { class: `muted ${cls}` });
  loadServiceInfo().then((info) => {
    const items = supportLinks(info && info.support);
    if (!items.length) return;
    el.append(t("도움이 필요하면 운영진에게 연락해 주세요: ", "Need help? Contact us: "));
    items.forEach((a, i) => el.append(...(i ? [" · ", a] : [a])));
  }).catch(() => {});
  return el;
}

export const show = (...nodes) => {
  view.replaceChildren(...nodes);
  pageChanged();
};

// A new page: its title, scrolled to the top, and focus on its heading so a screen
// reader starts there (not on the link that was followed, now gone). The same page
// drawn again (after an action on it) keeps its scroll and focus.
let firstPage = true;
let lastPage = "";
export function pageChanged() {
  const heading = view.querySelector("h1");
  view.removeAttribute("aria-busy");
  const page = `${location.pathname}${location.search}\n${heading ? heading.textContent : ""}`;
  const moved = !firstPage && page !== lastPage;
  lastPage = page;
  firstPage = false;
  if (heading) {
    document.title = `${heading.textContent} · ${t("업브렐라", "Upbrella")}`;
    heading.setAttribute("tabindex", "-1");
    if (moved) heading.focus({ preventScroll: true });
  }
  if (moved) window.scrollTo(0, 0);
}

/** The current route again (for "다시 시도"). */
export const reload = () => window.dispatchEvent(new Event("upbrella:navigate"));

/**
 * An error in words, a retry button when trying again may help (the current page, or
 * `retry`), and how to reach the operators.
 */
export const errorBox = (e, retry) => {
  const box = h("div", { class: "error-box" },
    h("p", { class: "error", role: "alert" }, (e && e.message) || String(e)));
  const again = retry || (e && e.retryable ? reload : null);
  if (again) {
    box.append(h("button", { type: "button", class: "secondary retry", onclick: async (ev) => {
      ev.target.disabled = true;
      try { await again(); } finally { ev.target.disabled = false; }
    } }, t("다시 시도", "Try again")));
  }
  box.append(supportLine());
  return box;
};

// A form whose session lapsed keeps what was typed: saved for this tab (never a
// password), restored on the same page after logging in, then forgotten.
const RESUME = "upbrella.resume";

function formKey(fields) {
  return fields.map(([name]) => name).join(",");
}

function restore(f, key) {
  let saved;
  try { saved = JSON.parse(sessionStorage.getItem(RESUME) || "null"); } catch { saved = null; }
  if (!saved || saved.path !== location.pathname + location.search || saved.key !== key) return false;
  sessionStorage.removeItem(RESUME);
  for (const [name, value] of Object.entries(saved.values)) {
    const field = f.elements.namedItem(name);
    if (!field || field.type === "password") continue;
    if (field.type === "checkbox") field.checked = value === "on";
    else field.value = value;
  }
  return true;
}

function remember(f, key) {
  const values = {};
  for (const field of f.elements) {
    if (!field.name || field.type === "password" || field.type === "submit") continue;
    values[field.name] = field.type === "checkbox" ? (field.checked ? "on" : "") : field.value;
  }
  sessionStorage.setItem(RESUME, JSON.stringify({ path: location.pathname + location.search, key, values }));
}

/** A login page that returns here afterwards. */
export const loginHref = (next = location.pathname + location.search) => `/login?next=${encodeURIComponent(next)}`;

let fieldSeq = 0;
export function form(fields, submitLabel, onsubmit) {
  const err = h("div");
  const key = formKey(fields);
  const button = h("button", { class: "primary", type: "submit" }, submitLabel);
  const f = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      if (button.disabled) return;
      err.replaceChildren();
      const values = Object.fromEntries(new FormData(f).entries());
      button.disabled = true;
      f.setAttribute("aria-busy", "true");
      button.textContent = t("처리 중…", "Working…");
      try {
        await onsubmit(values);
      } catch (ex) {
        if (ex && ex.status === 401 && ex.code === "login_required") {
          remember(f, key);
          go(loginHref());
          return;
        }
        err.replaceChildren(errorBox(ex, ex && ex.retryable ? () => f.requestSubmit() : null));
      } finally {
        button.disabled = false;
        f.removeAttribute("aria-busy");
        button.textContent = submitLabel;
      }
    },
  },
  ...fields.map(([name, label, type = "text", extra = {}]) => {
    const id = `f${++fieldSeq}-${name}`;
    if (type === "checkbox") {
      return h("div", { class: "check" }, h("input", { id, name, type, ...extra }), h("label", { for: id }, label));
    }
    if (type === "select") {
      const { options = [], ...rest } = extra;
      return h("div", { class: "field" }, h("label", { for: id }, label),
        h("select", { id, name, ...rest }, ...options.map(([value, text]) => h("option", { value }, text))));
    }
    return h("div", { class: "field" }, h("label", { for: id }, label), type === "textarea"
      ? h("textarea", { id, name, rows: 3, maxlength: 400, ...extra })
      : h("input", { id, name, type, ...extra }));
  }),
  err,
  button);
  if (restore(f, key)) {
    f.prepend(h("p", { class: "notice resumed", role: "status" },
      t("로그인 전에 입력하신 내용을 되살렸습니다. 확인하고 다시 보내 주세요.", "What you typed before logging in is back. Check it and send again.")));
  }
  return f;
}

export function go(path) {
  history.pushState(null, "", path);
  window.dispatchEvent(new Event("upbrella:navigate"));
}
