// upbrella front-end: a small single-page app over the WAS API (same origin, /api).
// Routes are real paths; web-proxy answers index.html for any path without an
// extension, so deep links (the QR code's /rent/12) work. Links are real links: the
// page takes over a plain click only, so a Ctrl/⌘/Shift/middle click opens a new tab.
// Every string a renter reads is Korean first, English through the switch (t(ko, en)).

import { adminConsole } from "/console.js";
import { lang, setLang, t } from "/i18n.js";
import {
  api, date, dateTime, errorBox, form, go, h, link, loadServiceInfo, loginHref, seoulDays, show, supportLine, view,
} from "/ui.js";

const nav = document.getElementById("nav");
let me = null;

window.addEventListener("upbrella:navigate", route);
window.addEventListener("popstate", route);

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-link]");
  // A modified or non-primary click is the browser's: a new tab or window.
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.origin !== location.origin || (a.target && a.target !== "_self") || a.hasAttribute("download")) return;
  e.preventDefault();
  go(a.pathname + a.search);
});

if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => navigator.serviceWorker.register("/sw.js").catch(() => {}));
}

// The rental last seen, kept on the device so the offline page can still show when the
// umbrella is due.
const SAVED_RENTAL = "upbrella.rental";

function saveRental(rental) {
  if (rental) {
    localStorage.setItem(SAVED_RENTAL, JSON.stringify({
      umbrella_number: rental.umbrella_number, store: rental.rent_store && rental.rent_store.name,
      rented_at: rental.rented_at, due_at: rental.due_at, seen_at: new Date().toISOString(),
    }));
  } else {
    localStorage.removeItem(SAVED_RENTAL);
  }
}

function savedRental() {
  try { return JSON.parse(localStorage.getItem(SAVED_RENTAL) || "null"); } catch { return null; }
}

const isOperator = (user) => Boolean(user && (user.role ? user.role !== "renter" : user.is_admin));

async function refreshMe() {
  try {
    me = await api("GET", "/me");
  } catch {
    me = null;
  }
  renderChrome();
}

// The header (links, the language switch) and the footer, in the chosen language.
function renderChrome() {
  nav.setAttribute("aria-label", t("주 메뉴", "Main menu"));
  nav.replaceChildren(
    link("/", t("대여소", "Stores")),
    ...(me
      ? [link("/me", t("내 정보", "My page")), ...(isOperator(me) ? [link("/admin", t("관리자", "Console"))] : []),
         h("button", { onclick: logout, type: "button" }, t("로그아웃", "Log out"))]
      : [link("/login", t("로그인", "Log in"))]),
  );
  const switcher = document.getElementById("lang-switch");
  switcher.textContent = lang() === "en" ? "한국어" : "English";
  switcher.setAttribute("lang", lang() === "en" ? "ko" : "en");
  document.querySelector(".brand-name").textContent = t("업브렐라", "Upbrella");
  document.querySelector(".skip").textContent = t("본문으로 건너뛰기", "Skip to content");
  const foot = document.getElementById("foot");
  foot.replaceChildren(
    h("p", {}, t("비 오는 날, 가까운 협력 매장에서 우산을 빌리고 아무 매장에나 반납하세요.",
      "On a rainy day, borrow an umbrella at a partner store nearby and return it at any of them.")),
    h("nav", { "aria-label": t("안내", "About") }, link("/stores", t("협력 매장", "Partner stores")), " · ", link("/guide", t("이용안내", "Guide")), " · ",
      link("/terms", t("이용약관", "Terms")), " · ", link("/privacy", t("개인정보 처리방침", "Privacy"))),
    supportLine("support footer-support"));
}

document.getElementById("lang-switch").addEventListener("click", async () => {
  setLang(lang() === "en" ? "ko" : "en");
  renderChrome();
  await route();
});

async function logout() {
  try { await api("POST", "/auth/logout", {}); } catch { /* the cookie goes anyway */ }
  saveRental(null);
  await refreshMe();
  go("/");
}

// What a login is for: the umbrella or store named by `next` (from a QR code), shown
// before logging in and kept through login and sign-up.
async function loginContext(next) {
  let m = next.match(/^\/rent\/(?:form\/)?(\d+)/);
  try {
    if (m) {
      const u = await api("GET", `/umbrellas/${m[1]}/location`);
      return t(`${u.store_name}의 우산 ${u.number}번을 빌리려면 로그인하세요.`, `Log in to rent umbrella No. ${u.number} at ${u.store_name}.`);
    }
    m = next.match(/^\/return\/(\d+)/) || next.match(/^\/return\/form\?(?:.*&)?storeId=(\d+)/);
    if (m) {
      const s = await api("GET", `/stores/${m[1]}`);
      return t(`${s.name}에 우산을 반납하려면 로그인하세요.`, `Log in to return your umbrella at ${s.name}.`);
    }
  } catch {
    // Without the name the generic line below still says what to do.
  }
  if (/^\/rent\//.test(next)) return t("우산을 빌리려면 로그인하세요.", "Log in to rent the umbrella.");
  if (/^\/return\//.test(next)) return t("우산을 반납하려면 로그인하세요.", "Log in to return the umbrella.");
  return null;
}

function contextBox(next) {
  const box = h("p", { class: "context", id: "login-context", hidden: true });
  loginContext(next).then((text) => {
    if (text) { box.textContent = text; box.hidden = false; }
  });
  return box;
}

function needLogin() {
  const here = location.pathname + location.search;
  show(h("h1", {}, t("로그인이 필요합니다", "Please log in")), contextBox(here),
    h("a", { class: "kakao-login", href: `/api/auth/kakao?next=${encodeURIComponent(here)}` }, t("카카오로 1초 만에 로그인", "Log in with Kakao")),
    h("p", { class: "or" }, link(loginHref(here), t("이메일로 로그인하러 가기", "Log in with e-mail"))),
    h("p", { class: "muted" }, t("한 번 로그인하면 이 기기에서는 몇 주 동안 로그인이 유지됩니다.", "Once logged in, this device stays logged in for weeks.")));
}

// Pages ------------------------------------------------------------------------------

// Kakao Maps' SDK, loaded once and only when the WAS has a key (web-proxy's CSP allows
// its hosts only then).
let kakaoMaps = null;
function loadKakaoMaps(key) {
  kakaoMaps ??= new Promise((resolve, reject) => {
    const script = h("script", { src: `https://dapi.kakao.com/v2/maps/sdk.js?appkey=${encodeURIComponent(key)}&autoload=false` });
    script.onload = () => window.kakao.maps.load(() => resolve(window.kakao.maps));
    script.onerror = () => { kakaoMaps = null; reject(new Error(t("지도를 불러오지 못했습니다.", "The map could not be loaded."))); };
    document.head.append(script);
  });
  return kakaoMaps;
}

const openBadge = (open) => h("span", { class: open ? "badge open" : "badge" }, open ? t("영업 중", "Open") : t("영업 종료", "Closed"));

// One marker per store: its name, whether it is open and how many umbrellas it lends.
function drawMap(el, region, stores, key) {
  loadKakaoMaps(key).then((maps) => {
    const map = new maps.Map(el, { center: new maps.LatLng(region.latitude, region.longitude), level: 5 });
    const bounds = new maps.LatLngBounds();
    for (const s of stores) {
      const position = new maps.LatLng(s.latitude, s.longitude);
      bounds.extend(position);
      const marker = new maps.Marker({ map, position, title: s.name });
      maps.event.addListener(marker, "click", () => go(`/stores/${s.id}`));
      new maps.CustomOverlay({ map, position, yAnchor: 2.4,
        content: h("div", { class: "map-label" }, `${s.name} · ${s.open_now ? t("영업 중", "Open") : t("영업 종료", "Closed")} · ${s.rentable_count}${t("개", "")}`) });
    }
    if (stores.length) map.setBounds(bounds);
  }).catch((e) => el.replaceWith(h("p", { class: "muted" }, `${e.message} ${t("아래 목록에서 매장을 찾아 주세요.", "Please find a store in the list below.")}`)));
}

// Days since renting, said as people say it: the day of renting is "today", not "day 0".
function elapsedText(rental) {
  const days = seoulDays(rental.rented_at, new Date());
  return days <= 0 ? t("오늘 빌림", "rented today") : t(`${days}일 전 빌림`, `rented ${days} day${days === 1 ? "" : "s"} ago`);
}

function daysLeftText(rental) {
  const left = seoulDays(new Date(), rental.due_at);
  if (rental.overdue || Date.parse(rental.due_at) < Date.now()) return t(`반납 기한이 ${Math.max(1, -left)}일 지났습니다`, `${Math.max(1, -left)} day(s) overdue`);
  if (left === 0) return t("오늘까지 반납해 주세요", "due today");
  return t(`${left}일 남음`, `${left} day${left === 1 ? "" : "s"} left`);
}

/** The "이용 중" card: which umbrella, from where, due when (with the time) and how long is left. */
function inUseCard(rental, id = "in-use") {
  return h("section", { class: "card in-use", id, "aria-labelledby": `${id}-title` },
    h("div", { class: "row" }, h("h2", { id: `${id}-title` }, t("이용 중", "In use")), h("span", { class: "badge due" }, daysLeftText(rental))),
    h("p", {}, h("strong", {}, t(`우산 ${rental.umbrella_number}번`, `Umbrella No. ${rental.umbrella_number}`)),
      ` · ${rental.rent_store.name} · ${elapsedText(rental)}`),
    h("p", { class: "due-at" }, t(`${dateTime(rental.due_at)}까지 반납`, `Return by ${dateTime(rental.due_at)}`)),
    h("p", { class: "muted" }, t("아무 협력 매장에서나 반납용 QR 코드를 찍으면 반납됩니다.", "Scan the return QR code at any partner store to return it.")),
    h("p", {}, link("/me", t("내 대여 현황", "My rental"))));
}

async function home() {
  const [regions, info, current] = await Promise.all([api("GET", "/regions"), loadServiceInfo(),
    me ? api("GET", "/me/rental").catch(() => null) : null]);
  if (current) saveRental(current.rental);
  const list = h("div");
  const mapBox = h("div");
  const tabs = h("div", { class: "tabs", role: "group", "aria-label": t("지역", "Regions") });
  const select = async (region, button) => {
    for (const b of tabs.children) b.setAttribute("aria-pressed", String(b === button));
    list.setAttribute("aria-busy", "true");
    let stores;
    try {
      stores = await api("GET", `/regions/${region.id}/stores`);
    } catch (e) {
      list.removeAttribute("aria-busy");
      list.replaceChildren(errorBox(e, () => select(region, button)));
      return;
    }
    list.removeAttribute("aria-busy");
    if (info.map_key) {
      const el = h("div", { id: "map", class: "map", role: "region", "aria-label": t(`${region.name} 대여소 지도`, `Map of stores in ${region.name}`) });
      mapBox.replaceChildren(el);
      drawMap(el, region, stores, info.map_key);
    }
    list.replaceChildren(...(stores.length ? stores.map((s) =>
      h("a", { class: "card store", href: `/stores/${s.id}`, "data-link": true },
        h("div", { class: "row" }, h("strong", {}, s.name), openBadge(s.open_now)),
        h("div", { class: "muted" }, t(`대여 가능 우산 ${s.rentable_count}개`, `${s.rentable_count} umbrella(s) to rent`))))
      : [h("p", { class: "muted" }, t("이 지역에는 아직 대여소가 없습니다.", "No stores in this region yet."))]));
  };
  for (const r of regions) {
    const b = h("button", { type: "button", "aria-pressed": "false", onclick: () => select(r, b) }, r.name);
    tabs.append(b);
  }
  show(...(current && current.rental ? [inUseCard(current.rental)] : []),
    h("h1", {}, t("가까운 우산 대여소", "Umbrella stores nearby")),
    regions.length ? tabs : h("p", { class: "muted" }, t("등록된 지역이 없습니다.", "No regions yet.")), mapBox, list);
  if (regions.length) await select(regions[0], tabs.children[0]);
}

const WEEKDAYS = [["", ""], ["월", "Mon"], ["화", "Tue"], ["수", "Wed"], ["목", "Thu"], ["금", "Fri"], ["토", "Sat"], ["일", "Sun"]];

/** "11:00–02:00 (다음 날)", "24시간", "09:00–18:00". */
function intervalText({ open, close }) {
  if (open === close) return t("24시간", "24 hours");
  if (close < open) return `${open}–${close} ${t("(다음 날)", "(next day)")}`;
  return `${open}–${close}`;
}

function hoursTable(hours) {
  const byDay = new Map();
  for (const hr of hours) {
    if (!byDay.has(hr.weekday)) byDay.set(hr.weekday, []);
    byDay.get(hr.weekday).push(hr);
  }
  return h("table", { class: "hours" },
    h("caption", { class: "visually-hidden" }, t("요일별 영업 시간", "Opening hours by weekday")),
    h("tbody", {}, ...[1, 2, 3, 4, 5, 6, 7].map((d) => {
      const intervals = (byDay.get(d) || []).sort((a, b) => a.open.localeCompare(b.open));
      return h("tr", {}, h("th", { scope: "row" }, t(`${WEEKDAYS[d][0]}요일`, WEEKDAYS[d][1])),
        h("td", {}, intervals.length ? intervals.map(intervalText).join(", ") : t("휴무", "Closed")));
    })));
}

async function store(id) {
  const s = await api("GET", `/stores/${id}`);
  const hours = s.hours || s.business_hours || [];
  const hoursText = s.hours_text ?? s.working_hours;
  const closures = s.closures || [];
  const instagram = s.instagram_url && /^https:\/\//.test(s.instagram_url) ? s.instagram_url : null;
  show(
    h("h1", {}, s.name), h("p", {}, openBadge(s.open_now),
      " ", h("span", { class: "badge" }, s.category), " ", h("span", { class: "badge" }, t(`대여 가능 ${s.rentable_count}개`, `${s.rentable_count} to rent`)),
      " ", h("span", { class: "badge", id: "locker" }, s.has_locker ? t("보관함 있음", "Locker") : t("보관함 없음", "No locker"))),
    h("div", { class: "gallery" }, ...s.images.map((i) => h("img", { src: i.url, alt: t(`${s.name} 사진`, `Photo of ${s.name}`) }))),
    h("h2", {}, t("우산 위치", "Where the umbrellas are")), h("p", {}, s.umbrella_location || "-"),
    h("h2", {}, t("주소", "Address")), h("p", {}, [s.address, s.address_detail].filter(Boolean).join(" ") || "-"),
    h("h2", {}, t("영업 시간", "Opening hours")),
    hoursTable(hours),
    hoursText ? h("p", { class: "hours-text" }, hoursText) : "",
    ...(closures.length ? [h("h2", {}, t("쉬는 날", "Closures")),
      h("ul", { class: "closures" }, ...closures.map((c) => h("li", {},
        `${date(c.starts_on)}${c.ends_on && c.ends_on !== c.starts_on ? ` – ${date(c.ends_on)}` : ""}${c.reason ? ` · ${c.reason}` : ""}`)))] : []),
    h("h2", {}, t("연락처", "Contact")),
    h("p", { class: "store-contact" }, s.contact ? h("a", { href: `tel:${s.contact.replace(/[^+\d]/g, "")}` }, s.contact) : "-",
      ...(instagram ? [" · ", h("a", { href: instagram, rel: "noopener", target: "_blank", class: "instagram" }, t("인스타그램", "Instagram"))] : [])),
    s.description ? h("p", { class: "muted" }, s.description) : "",
    // Returning needs the store's own QR code (proof that the umbrella is here), so the
    // page tells how rather than linking to a return anyone could make from home.
    h("p", { class: "muted", id: "how-to-return" }, t("반납할 때는 매장에 붙은 반납용 QR 코드를 찍어 주세요.", "To return, scan the store's return QR code.")),
  );
}

// Why a Kakao login came back to this page (`/login?error=…`, set by the WAS).
const loginErrors = {
  kakao_login_cancelled: ["카카오 로그인이 취소되었습니다. 다시 시도해 주세요.", "The Kakao login was cancelled. Please try again."],
  kakao_code_missing: ["카카오 로그인이 완료되지 않았습니다. 다시 시도해 주세요.", "The Kakao login did not finish. Please try again."],
  kakao_state_mismatch: ["로그인 정보가 맞지 않습니다. 처음부터 다시 시도해 주세요.", "The login did not match. Please start again."],
  banned: ["이용이 제한된 계정입니다. 운영진에게 문의해 주세요.", "This account is suspended. Please contact us."],
  too_many_requests: ["요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.", "Too many requests. Please try again shortly."],
};

// Only a path of this site: `next` never sends anyone elsewhere.
const safeNext = (value) => (value && value.startsWith("/") && !value.startsWith("//") ? value : "/");

function login() {
  const params = new URLSearchParams(location.search);
  const next = safeNext(params.get("next"));
  const error = params.get("error");
  const resumed = Boolean(sessionStorage.getItem("upbrella.resume"));
  const failed = error && (loginErrors[error] || ["카카오 로그인에 실패했습니다. 잠시 후 다시 시도하거나 이메일로 로그인해 주세요.",
    "The Kakao login failed. Try again shortly or log in with e-mail."]);
  show(h("h1", {}, t("로그인", "Log in")),
    contextBox(next),
    ...(resumed ? [h("p", { class: "notice", id: "session-lapsed", role: "status" },
      t("로그인이 끊겼습니다. 다시 로그인하면 입력하신 내용이 그대로 남아 있습니다.", "Your session ended. Log in again and what you typed will still be there."))] : []),
    ...(failed ? [h("div", { class: "error-box" }, h("p", { class: "error", role: "alert", id: "login-error" }, t(failed[0], failed[1])), supportLine())] : []),
    h("a", { class: "kakao-login", href: `/api/auth/kakao?next=${encodeURIComponent(next)}` }, t("카카오로 1초 만에 로그인", "Log in with Kakao")),
    h("p", { class: "or muted" }, t("또는 이메일로 로그인", "or log in with e-mail")),
    form([["email", t("이메일", "E-mail"), "email", { required: true, autocomplete: "email" }],
      ["password", t("비밀번호", "Password"), "password", { required: true, autocomplete: "current-password" }]],
    t("로그인", "Log in"), async (v) => { await api("POST", "/auth/login", v); await refreshMe(); go(next); }),
    h("p", {}, link("/forgot-password", t("비밀번호를 잊으셨나요?", "Forgot your password?"))),
    h("p", {}, t("처음이신가요? ", "New here? "), link(`/signup?next=${encodeURIComponent(next)}`, t("회원가입", "Sign up"))));
}

// The token of a mailed link travels after `#`, so it never reaches a server log.
const linkToken = () => new URLSearchParams(location.hash.slice(1)).get("t") || "";

async function verifyEmail() {
  const title = t("이메일 주소 확인", "Verify your e-mail");
  show(h("h1", {}, title), h("p", { class: "muted" }, t("확인하고 있습니다…", "Checking…")));
  try {
    await api("POST", "/auth/email/confirm", { token: linkToken() });
    history.replaceState(null, "", "/verify-email");
    if (me) await refreshMe();
    show(h("h1", {}, title),
      h("p", { class: "notice", id: "email-verified" }, t("이메일 주소를 확인했습니다. 고맙습니다.", "Your e-mail address is verified. Thank you.")),
      h("p", {}, link(me ? "/me" : "/login", me ? t("내 정보로 가기", "Go to my page") : t("로그인하기", "Log in"))));
  } catch (e) {
    show(h("h1", {}, title), errorBox(e),
      h("p", {}, me ? t("내 정보 화면에서 확인 메일을 다시 받을 수 있습니다. ", "You can ask for a new mail on your page. ") : "",
        link(me ? "/me" : "/login", me ? t("내 정보", "My page") : t("로그인", "Log in"))));
  }
}

function forgotPassword() {
  show(h("h1", {}, t("비밀번호 재설정", "Reset your password")),
    h("p", { class: "muted" }, t("가입한 이메일 주소를 입력하시면 새 비밀번호를 정할 수 있는 링크를 보내 드립니다. 카카오로 가입하셨다면 카카오로 로그인해 주세요.",
      "Enter the e-mail you signed up with and we'll send a link to choose a new password. If you signed up with Kakao, log in with Kakao.")),
    form([["email", t("이메일", "E-mail"), "email", { required: true, autocomplete: "email" }]], t("재설정 링크 받기", "Send the link"), async (v) => {
      await api("POST", "/auth/password-reset", v);
      show(h("h1", {}, t("메일을 확인해 주세요", "Check your mail")),
        h("p", { class: "notice", id: "reset-sent" }, t(`${v.email}(으)로 가입된 계정이 있다면 재설정 링크를 보냈습니다. 링크는 30분 동안 한 번 쓸 수 있습니다.`,
          `If ${v.email} has an account, we sent it a reset link. It works once, for 30 minutes.`)),
        h("p", { class: "muted" }, t("메일이 오지 않으면 스팸함을 확인하거나 잠시 후 다시 요청해 주세요.", "No mail? Check the spam folder or ask again in a moment.")),
        h("p", {}, link("/login", t("로그인으로 돌아가기", "Back to log in"))));
    }));
}

function resetPassword() {
  const token = linkToken();
  show(h("h1", {}, t("새 비밀번호 정하기", "Choose a new password")),
    h("p", { class: "muted" }, t("새 비밀번호를 정하면 모든 기기에서 로그아웃됩니다.", "Choosing a new password logs you out everywhere.")),
    form([["password", t("새 비밀번호 (8자 이상)", "New password (8+ characters)"), "password", { required: true, minlength: 8, autocomplete: "new-password" }],
      ["confirm", t("새 비밀번호 확인", "New password again"), "password", { required: true, minlength: 8, autocomplete: "new-password" }]],
    t("비밀번호 바꾸기", "Change password"), async (v) => {
      if (v.password !== v.confirm) throw new Error(t("두 비밀번호가 같지 않습니다.", "The passwords differ."));
      await api("POST", "/auth/password-reset/confirm", { token, password: v.password });
      history.replaceState(null, "", "/reset-password");
      await refreshMe();
      show(h("h1", {}, t("비밀번호를 바꿨습니다", "Password changed")),
        h("p", { class: "notice", id: "password-reset" }, t("새 비밀번호로 로그인해 주세요.", "Please log in with the new password.")),
        h("p", {}, link("/login?next=/me", t("로그인하기", "Log in"))));
    }));
}

// Changes that redirect refunds or the account need the password given again (or a
// fresh Kakao login): asked here, then the change is sent again.
async function withReauth(action) {
  try {
    return await action();
  } catch (e) {
    if (e.code !== "reauth_required") throw e;
    if (!me.has_password) {
      location.href = `/api/auth/kakao?next=${encodeURIComponent(location.pathname)}`;
      return new Promise(() => {});
    }
    if (!(await askPassword())) throw e;
    return await action();
  }
}

function askPassword() {
  return new Promise((resolve) => {
    const dialog = h("dialog", { id: "reauth", "aria-labelledby": "reauth-title" });
    const close = (ok) => { dialog.close(); dialog.remove(); resolve(ok); };
    dialog.append(h("h2", { id: "reauth-title" }, t("비밀번호를 다시 입력해 주세요", "Please enter your password again")),
      h("p", { class: "muted" }, t("환불 계좌나 이메일을 바꾸기 전에 본인인지 확인합니다.", "We check it's you before the refund account or e-mail changes.")),
      form([["password", t("비밀번호", "Password"), "password", { required: true, autocomplete: "current-password" }]], t("확인", "Confirm"), async (v) => {
        await api("POST", "/auth/reauth", v);
        close(true);
      }),
      h("button", { type: "button", class: "secondary", onclick: () => close(false) }, t("취소", "Cancel")));
    document.body.append(dialog);
    dialog.showModal();
  });
}

const phoneHint = () => t("010-1234-5678 또는 국제번호 +44 7911 123456", "010-1234-5678, or international +44 7911 123456");
const agreements = () => [
  ["agree_terms", t("이용약관에 동의합니다 (필수)", "I agree to the terms (required)"), "checkbox", { required: true }],
  ["agree_privacy", t("개인정보 수집·이용에 동의합니다 (필수)", "I agree to the privacy policy (required)"), "checkbox", { required: true }]];
const policyLinks = () => h("p", { class: "muted" }, link("/terms", t("이용약관", "Terms")), " · ", link("/privacy", t("개인정보 처리방침", "Privacy")),
  " · ", link("/guide", t("이용안내", "Guide")));

function signup() {
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  show(h("h1", {}, t("회원가입", "Sign up")),
    contextBox(next),
    h("a", { class: "kakao-login", href: `/api/auth/kakao?next=${encodeURIComponent(next)}` }, t("카카오로 시작하기", "Start with Kakao")),
    h("p", { class: "or muted" }, t("또는 이메일로 가입", "or sign up with e-mail")),
    form([["name", t("이름", "Name"), "text", { required: true, autocomplete: "name" }],
      ["email", t("이메일", "E-mail"), "email", { required: true, autocomplete: "email" }],
      ["password", t("비밀번호 (8자 이상)", "Password (8+ characters)"), "password", { required: true, minlength: 8, autocomplete: "new-password" }],
      ["phone", t("휴대폰 번호", "Mobile phone"), "tel", { required: true, placeholder: "010-1234-5678", autocomplete: "tel", title: phoneHint() }],
      ...agreements()],
    t("가입하기", "Sign up"), async (v) => {
      await api("POST", "/auth/signup", { ...v, agree_terms: v.agree_terms === "on", agree_privacy: v.agree_privacy === "on" });
      await refreshMe();
      go(next);
    }),
    h("p", { class: "muted" }, phoneHint()),
    policyLinks());
}

// Kakao sign-ups have no phone number and have agreed to nothing yet: asked once, before
// the first rent.
function completeProfile(then) {
  show(h("h1", {}, t("대여 전에 확인해 주세요", "Before you rent")),
    h("p", {}, t("우산을 빌리려면 연락받을 휴대폰 번호와 약관 동의가 필요합니다.", "Renting needs a phone number we can reach and your agreement to the terms.")),
    form([["phone", t("휴대폰 번호", "Mobile phone"), "tel", { required: true, placeholder: "010-1234-5678", value: me.phone || "", autocomplete: "tel" }],
      ...agreements()],
    t("저장하고 계속하기", "Save and continue"), async (v) => {
      me = await api("PUT", "/me/profile", { phone: v.phone, agree_terms: v.agree_terms === "on", agree_privacy: v.agree_privacy === "on" });
      await then();
    }),
    h("p", { class: "muted" }, phoneHint()),
    policyLinks());
}

const won = (n) => t(`${n.toLocaleString("ko-KR")}원`, `₩${n.toLocaleString("en-US")}`);
const depositLabel = (d) => (lang() === "en" && d.label_en ? d.label_en : d.label);

async function rent(umbrellaId) {
  if (!me) return needLogin();
  if (!me.ready_to_rent) return completeProfile(() => rent(umbrellaId));
  const code = new URLSearchParams(location.search).get("code");
  const q = code ? `?code=${encodeURIComponent(code)}` : "";
  const [f, info] = await Promise.all([api("GET", `/umbrellas/${umbrellaId}/rent-form${q}`), loadServiceInfo()]);
  const key = crypto.randomUUID();
  const sendTo = () => (info.deposit_account ? t(`${info.deposit_account}(으)로 보내 주세요.`, `Please send it to ${info.deposit_account}.`)
    : t("입금 계좌는 운영진이 문자로 안내합니다.", "We'll text you the account to send it to."));
  show(h("h1", {}, t("우산 대여", "Rent an umbrella")),
    h("p", {}, `${f.region_name} · ${f.store_name} · ${t(`우산 ${f.umbrella_number}번`, `Umbrella No. ${f.umbrella_number}`)}`),
    h("div", { class: "card", id: "deposit" },
      h("strong", {}, t(`보증금 ${won(info.deposit_amount)}`, `Deposit ${won(info.deposit_amount)}`)),
      h("p", {}, sendTo()),
      h("p", { class: "muted" }, t(`대여 기간은 ${info.rental_days}일입니다. 반납하면 확인 후 보증금을 돌려드립니다.`,
        `You may keep it ${info.rental_days} days. After the return we refund the deposit.`))),
    f.rentable
      ? form([["condition_report", t("우산 상태 (선택, 400자 이내)", "The umbrella's condition (optional, up to 400 characters)"), "textarea"]], t("대여하기", "Rent"), async (v) => {
          const r = await api("POST", "/rentals", { umbrella_id: f.umbrella_id, store_id: f.store_id, condition_report: v.condition_report || null, code }, { "idempotency-key": key });
          saveRental(r.rental);
          show(h("h1", {}, t("대여 완료", "Rented")),
            h("p", { class: "notice", id: "rented" }, t(`우산 ${r.rental.umbrella_number}번을 빌렸습니다. 반납 기한: ${dateTime(r.rental.due_at)}`,
              `You rented umbrella No. ${r.rental.umbrella_number}. Return by ${dateTime(r.rental.due_at)}.`)),
            h("div", { class: "card", id: "deposit-reference" },
              h("strong", {}, t(`보증금 ${won(r.rental.deposit.amount)}`, `Deposit ${won(r.rental.deposit.amount)}`)),
              h("p", {}, sendTo()),
              r.rental.deposit.reference ? h("p", {}, t("입금자명을 ", "Write "), h("strong", { class: "reference" }, r.rental.deposit.reference),
                t("(으)로 적어 주세요. 입금을 빨리 확인할 수 있습니다.", " as the sender's name, so we find your transfer quickly.")) : ""),
            ...(r.locker_password ? [h("p", {}, t("보관함 비밀번호", "Locker password")), h("p", { class: "password", id: "locker-password" }, r.locker_password)] : []),
            h("p", {}, link("/me", t("내 대여 현황 보기", "See my rental"))));
        })
      : h("p", { class: "error" }, t("지금은 대여할 수 없는 우산입니다.", "This umbrella can't be rented now.")));
}

async function returnPage(storeId) {
  if (!/^\d+$/.test(storeId || "")) return notFound();
  if (!me) return needLogin();
  const params = new URLSearchParams(location.search);
  // Our stickers carry `code`; the original service's, at a store with a locker, a salt
  // and a signature.
  const proof = Object.fromEntries(["code", "salt", "signature"].filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  const q = Object.keys(proof).length ? `?${new URLSearchParams(proof)}` : "";
  const f = await api("GET", `/stores/${storeId}/return-form${q}`);
  const key = crypto.randomUUID();
  // Just rented here and the locker will not open: the store's code proves the renter
  // stands at it, so this is where the password can be asked for again (once).
  const justRentedHere = f.has_locker && proof.code && f.rental.rent_store.id === f.store_id
    && Date.now() - Date.parse(f.rental.rented_at) < 30 * 60 * 1000;
  // With a saved refund account, returning is one tap: the account fields are there
  // only to use another one.
  const bankFields = [["bank_name", t("환불 받을 은행", "Bank for the refund"), "text", { required: !me.bank, autocomplete: "off" }],
    ["account_number", t("계좌번호", "Account number"), "text", { required: !me.bank, autocomplete: "off", inputmode: "numeric" }]];
  const returnForm = form([...bankFields, ["improvement_report", t("개선 의견 (선택)", "Suggestions (optional)"), "textarea"]], t("반납하기", "Return"), async (v) => {
    const body = { store_id: f.store_id, improvement_report: v.improvement_report || null, ...proof };
    if (v.bank_name && v.account_number) Object.assign(body, { bank_name: v.bank_name, account_number: v.account_number });
    const done = await api("POST", "/rentals/current/return", body, { "idempotency-key": key });
    saveRental(null);
    show(h("h1", {}, t("반납 완료", "Returned")), h("p", { class: "notice", id: "returned" }, t(`감사합니다. 보증금: ${done.deposit.label}.`, `Thank you. Deposit: ${depositLabel(done.deposit)}.`)),
      h("p", {}, link("/me", t("내 정보", "My page"))));
  });
  if (me.bank) {
    const fields = [...returnForm.querySelectorAll(".field")].slice(0, 2);
    const other = h("details", { class: "other-account" }, h("summary", {}, t("다른 계좌로 받기", "Use another account")), ...fields);
    returnForm.prepend(h("p", { id: "saved-account" }, t(`보증금은 저장된 계좌(${me.bank.bank_name} ${me.bank.account_number})로 돌려드립니다.`,
      `The deposit goes back to your saved account (${me.bank.bank_name} ${me.bank.account_number}).`)), other);
  }
  show(h("h1", {}, t("우산 반납", "Return the umbrella")),
    ...(justRentedHere ? [h("div", { class: "card", id: "resync" },
      h("strong", {}, t("보관함이 열리지 않나요?", "The locker won't open?")),
      h("p", { class: "muted" }, t("보관함 화면에 보이는 숫자를 입력하면 새 비밀번호를 알려드립니다. 대여 한 번에 한 번만 받을 수 있습니다.",
        "Type the number on the locker's screen for a new password. Once per rental.")),
      form([["counter", t("보관함 화면의 숫자", "The number on the locker"), "number", { required: true, min: 0 }]], t("비밀번호 다시 받기", "Get a new password"), async (v) => {
        const r = await api("POST", "/rentals/current/locker-password", { counter: Number(v.counter), code: proof.code });
        document.getElementById("resync-password").textContent = r.locker_password;
      }),
      h("p", { class: "password", id: "resync-password" }))] : []),
    h("p", {}, t(`${f.store_name}에 우산 ${f.rental.umbrella_number}번을 반납합니다.`, `Returning umbrella No. ${f.rental.umbrella_number} at ${f.store_name}.`)),
    returnForm);
}

const REPORT_DAYS = 7;
const reportKinds = () => [["broken", t("파손 (고장 났어요)", "Broken")], ["lost", t("분실 (잃어버렸어요)", "Lost")]];
const kindText = (kind) => (kind === "lost" ? t("분실", "Lost") : t("파손", "Broken"));

/** "분실/파손 신고" for a rental that is open or came back in the last week. */
function reportSection(r) {
  const reports = r.reports || [];
  const recent = !r.returned_at || Date.now() - Date.parse(r.returned_at) < REPORT_DAYS * 86400000;
  if (!recent && !reports.length) return [];
  const done = h("p", { role: "status", class: "report-sent" });
  return [h("section", { class: "card report", id: `report-${r.id}`, "data-rental-id": r.id, "aria-labelledby": `report-title-${r.id}` },
    h("h3", { id: `report-title-${r.id}` }, t(`우산 ${r.umbrella_number}번 분실/파손 신고`, `Report umbrella No. ${r.umbrella_number} lost or broken`)),
    ...(reports.length ? [h("ul", { class: "reports" }, ...reports.map((p) => h("li", {},
      `${kindText(p.kind)} · ${date(p.created_at)} · ${p.resolved_at ? t("처리됨", "Resolved") : t("접수됨", "Received")}${p.note ? ` · ${p.note}` : ""}`)))] : []),
    ...(recent ? [form([["kind", t("무슨 일인가요?", "What happened?"), "select", { required: true, options: reportKinds() }],
      ["note", t("자세한 내용 (선택, 400자 이내)", "Details (optional, up to 400 characters)"), "textarea"]],
    t("신고하기", "Report"), async (v) => {
      await api("POST", `/me/rentals/${r.id}/reports`, { kind: v.kind, note: v.note || "" });
      done.className = "notice report-sent";
      done.textContent = t("신고를 접수했습니다. 운영진이 확인 후 연락드립니다.", "Thank you. We received the report and will get in touch.");
    }), done] : []))];
}

function currentRentalCard(rental) {
  return h("section", { class: "card in-use", id: "current-rental", "aria-labelledby": "current-title" },
    h("div", { class: "row" }, h("h3", { id: "current-title" }, t(`우산 ${rental.umbrella_number}번`, `Umbrella No. ${rental.umbrella_number}`)),
      h("span", { class: "badge due" }, daysLeftText(rental))),
    h("div", { class: "muted" }, t(`${rental.rent_store.name}에서 ${elapsedText(rental)}`, `From ${rental.rent_store.name}, ${elapsedText(rental)}`)),
    h("p", { class: "due-at" }, t(`${dateTime(rental.due_at)}까지 반납`, `Return by ${dateTime(rental.due_at)}`)),
    h("div", { class: "deposit-label" }, `${t("보증금", "Deposit")}: ${depositLabel(rental.deposit)}`,
      rental.deposit.state === "awaiting_payment" && rental.deposit.reference ? ` · ${t("입금자명", "Sender name")} ${rental.deposit.reference}` : ""),
    ...(rental.overdue ? [h("p", { class: "error", id: "overdue" }, t("반납 기한이 지났습니다. 가까운 매장에 반납해 주세요.", "It's overdue. Please return it at a store nearby."))] : []),
    ...(Date.now() - Date.parse(rental.rented_at) < 30 * 60 * 1000 ? [
      h("p", { class: "muted" }, t("보관함이 열리지 않나요? 매장의 반납용 QR 코드를 찍으면 새 비밀번호를 받을 수 있습니다.",
        "Locker won't open? Scan the store's return QR code for a new password."))] : []));
}

function statusLine(id) {
  return h("p", { id, role: "status" });
}

function say(id, text) {
  const el = document.getElementById(id);
  if (!el) return;
  el.className = "notice";
  el.textContent = text;
}

async function mePage() {
  if (!me) return needLogin();
  const [{ rental }, history] = await Promise.all([api("GET", "/me/rental"), api("GET", "/me/rentals")]);
  saveRental(rental);
  const unverified = me.email && !me.email_verified;
  const reportable = history.filter((r) => !r.returned_at || (r.reports && r.reports.length)
    || Date.now() - Date.parse(r.returned_at) < REPORT_DAYS * 86400000).filter((r) => r.closed_reason !== "lost").slice(0, 3);
  show(h("h1", {}, t(`${me.name}님`, `Hello, ${me.name}`)),
    ...(unverified ? [h("div", { class: "card", id: "verify-banner" },
      h("strong", {}, t("이메일 주소를 확인해 주세요", "Please verify your e-mail address")),
      h("p", { class: "muted" }, t(`${me.email}(으)로 보낸 메일의 링크를 열면 확인됩니다. 비밀번호를 잊었을 때 이 주소로 안내를 보내 드립니다.`,
        `Open the link in the mail sent to ${me.email}. If you forget your password, we write to this address.`)),
      h("button", { type: "button", class: "secondary", onclick: async (e) => {
        e.target.disabled = true;
        try { await api("POST", "/me/email/verification", {}); e.target.replaceWith(h("p", { class: "notice" }, t("확인 메일을 다시 보냈습니다.", "We sent the mail again."))); }
        catch (ex) { e.target.disabled = false; e.target.after(errorBox(ex)); }
      } }, t("확인 메일 다시 받기", "Send the mail again")))] : []),
    h("h2", {}, t("대여 중인 우산", "Your umbrella")),
    rental ? currentRentalCard(rental) : h("p", { class: "muted" }, t("대여 중인 우산이 없습니다.", "You have no umbrella now.")),
    ...reportable.flatMap(reportSection),
    h("h2", {}, t("대여 기록", "Rentals")),
    h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("대여 기록", "Rentals") }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("우산", "Umbrella")), h("th", { scope: "col" }, t("대여", "Rented")),
        h("th", { scope: "col" }, t("반납", "Returned")), h("th", { scope: "col" }, t("보증금", "Deposit")))),
      h("tbody", {}, ...history.map((r) => h("tr", {}, h("td", {}, t(`${r.umbrella_number}번`, `No. ${r.umbrella_number}`)), h("td", {}, `${r.rent_store.name} ${date(r.rented_at)}`),
        h("td", {}, r.closed_reason === "lost" ? t(`분실 처리 ${date(r.returned_at)}`, `Closed as lost ${date(r.returned_at)}`)
          : r.return_store ? `${r.return_store.name} ${date(r.returned_at)}` : t("대여 중", "In use")),
        h("td", { class: "deposit-label" }, depositLabel(r.deposit))))))),
    ...history.filter((r) => r.needs_refund_account).map((r) => h("div", { class: "card refund-account", "data-rental-id": r.id },
      h("strong", {}, t(`우산 ${r.umbrella_number}번 보증금을 돌려받을 계좌`, `Refund account for umbrella No. ${r.umbrella_number}`)),
      h("p", { class: "muted" }, r.deposit.state === "refund_failed" ? t("은행이 계좌를 거절했습니다. 계좌를 다시 입력해 주세요.", "The bank refused the account. Please enter it again.")
        : t("환급 계좌가 없습니다. 입력해 주시면 보증금을 돌려드립니다.", "No refund account yet. Give one and we'll refund the deposit.")),
      form([["bank_name", t("은행", "Bank"), "text", { required: true }], ["account_number", t("계좌번호", "Account number"), "text", { required: true, inputmode: "numeric" }]],
        t("계좌 입력", "Save account"), async (v) => { await withReauth(() => api("PUT", `/me/rentals/${r.id}/refund-account`, v)); mePage(); }))),
    h("h2", {}, t("환불 계좌", "Refund account")),
    h("p", { class: "muted", id: "bank-account" }, me.bank ? `${me.bank.bank_name} ${me.bank.account_number}` : t("등록된 계좌가 없습니다.", "No account saved.")),
    ...(me.bank ? [h("button", { type: "button", class: "secondary danger", id: "delete-bank", onclick: async (e) => {
      if (!confirm(t("저장된 환불 계좌를 지울까요?", "Delete the saved refund account?"))) return;
      e.target.disabled = true;
      try { await withReauth(() => api("DELETE", "/me/bank-account")); await refreshMe(); await mePage(); say("bank-status", t("환불 계좌를 지웠습니다.", "The refund account is deleted.")); }
      catch (ex) { e.target.disabled = false; e.target.after(errorBox(ex)); }
    } }, t("저장된 계좌 지우기", "Delete the saved account"))] : []),
    statusLine("bank-status"),
    form([["bank_name", t("은행", "Bank")], ["account_number", t("계좌번호", "Account number"), "text", { inputmode: "numeric" }]], t("계좌 저장", "Save account"),
      async (v) => { me = await withReauth(() => api("PUT", "/me/bank-account", v)); mePage(); }),
    h("h2", {}, t("프로필", "Profile")),
    h("section", { id: "profile" }, form([["name", t("이름", "Name"), "text", { required: true, maxlength: 50, value: me.name || "", autocomplete: "name" }],
      ["phone", t("휴대폰 번호", "Mobile phone"), "tel", { required: true, value: me.phone || "", autocomplete: "tel", placeholder: "010-1234-5678" }]],
    t("프로필 저장", "Save profile"), async (v) => {
      me = await api("PUT", "/me/profile", { name: v.name, phone: v.phone, agree_terms: true, agree_privacy: true });
      renderChrome();
      say("profile-saved", t("프로필을 저장했습니다.", "Profile saved."));
    }), h("p", { class: "muted" }, phoneHint()), statusLine("profile-saved")),
    h("h2", {}, t("알림", "Notifications")),
    h("section", { id: "reminders" },
      h("div", { class: "check" }, h("input", { type: "checkbox", id: "reminders-toggle", checked: me.reminders !== false, onchange: async (e) => {
        const box = e.target;
        box.disabled = true;
        try {
          me = await api("PUT", "/me/preferences", { reminders: box.checked });
          say("reminders-saved", box.checked ? t("반납 알림 메일을 받습니다.", "Reminder e-mails are on.") : t("반납 알림 메일을 받지 않습니다.", "Reminder e-mails are off."));
        } catch (ex) {
          box.checked = !box.checked;
          box.after(errorBox(ex));
        } finally {
          box.disabled = false;
        }
      } }), h("label", { for: "reminders-toggle" }, t("반납 기한 알림 메일 받기", "E-mail me before the umbrella is due"))),
      statusLine("reminders-saved")),
    h("h2", {}, t("계정", "Account")),
    ...(me.has_password ? [
      h("section", { id: "change-password" }, h("h3", {}, t("비밀번호 바꾸기", "Change password")),
        h("p", { class: "muted" }, t("바꾸면 이 기기를 뺀 모든 기기에서 로그아웃됩니다.", "Other devices are logged out.")),
        form([["current_password", t("지금 비밀번호", "Current password"), "password", { required: true, autocomplete: "current-password" }],
          ["new_password", t("새 비밀번호 (8자 이상)", "New password (8+ characters)"), "password", { required: true, minlength: 8, autocomplete: "new-password" }]],
        t("비밀번호 바꾸기", "Change password"), async (v) => {
          await api("PUT", "/me/password", v);
          say("password-changed", t("비밀번호를 바꿨습니다. 다른 기기에서는 다시 로그인해야 합니다.", "Password changed. Other devices must log in again."));
        }),
        statusLine("password-changed")),
      h("section", { id: "change-email" }, h("h3", {}, t("이메일 주소 바꾸기", "Change e-mail")),
        h("p", { class: "muted" }, t("새 주소로 보낸 메일의 링크를 열어야 바뀝니다.", "It changes once you open the link we send to the new address.")),
        form([["email", t("새 이메일", "New e-mail"), "email", { required: true, autocomplete: "email" }]], t("확인 메일 보내기", "Send the mail"), async (v) => {
          await withReauth(() => api("PUT", "/me/email", v));
          say("email-change-sent", t(`${v.email}(으)로 확인 메일을 보냈습니다.`, `We sent a mail to ${v.email}.`));
        }),
        statusLine("email-change-sent"))] : []),
    h("button", { class: "secondary", type: "button", id: "logout-everywhere", onclick: async (e) => {
      if (!confirm(t("모든 기기에서 로그아웃할까요? 이 기기에서도 로그아웃됩니다.", "Log out on every device, this one included?"))) return;
      try { await api("POST", "/auth/logout-everywhere", {}); saveRental(null); await refreshMe(); go("/login"); } catch (ex) { e.target.after(errorBox(ex)); }
    } }, t("모든 기기에서 로그아웃", "Log out everywhere")),
    h("h2", {}, t("탈퇴", "Leave")),
    h("button", { class: "secondary", type: "button", onclick: async (e) => {
      if (!confirm(t("정말 탈퇴하시겠습니까?", "Do you really want to leave?"))) return;
      try { await api("DELETE", "/me"); saveRental(null); await refreshMe(); go("/"); } catch (ex) { e.target.after(errorBox(ex)); }
    } }, t("회원 탈퇴", "Leave upbrella")));
}

async function admin() {
  if (!me) return needLogin();
  if (!isOperator(me)) return show(h("h1", {}, t("운영진만 볼 수 있습니다", "For operators only")), h("p", {}, link("/", t("처음으로", "Home"))));
  await adminConsole(location.pathname, me);
}

async function introductions() {
  const stores = await api("GET", "/stores/introductions");
  show(h("h1", {}, t("협력 매장 소개", "Partner stores")),
    h("p", { class: "muted" }, t("업브렐라와 함께하는 매장들입니다. 어느 매장에서 빌려도 아무 매장에나 반납할 수 있습니다.",
      "The stores that lend upbrella umbrellas. Borrow at one, return at any.")),
    ...(stores.length ? stores.map((s) => h("a", { class: "card intro", href: `/stores/${s.id}`, "data-link": true },
      ...(s.image_url ? [h("img", { src: s.image_url, alt: "", loading: "lazy" })] : []),
      h("div", { class: "row" }, h("strong", {}, s.name), h("span", { class: "badge" }, s.region_name)),
      h("div", { class: "muted" }, [s.category, s.description].filter(Boolean).join(" · "))))
      : [h("p", { class: "muted" }, t("아직 소개할 매장이 없습니다.", "No stores to show yet."))]));
}

// Policies and help: each section in both languages, shown in the chosen one --------------

function page(title, ...sections) {
  show(h("h1", {}, t(...title)), ...sections.map(([heading, ...paragraphs]) =>
    h("section", {}, h("h2", {}, t(...heading)), ...paragraphs.map((p) => (p instanceof Node ? p : h("p", {}, t(...p)))))));
}

function guide() {
  page(["이용안내", "Guide"],
    [["빌리기", "Renting"], ["매장의 우산에 붙은 QR 코드를 찍고 로그인하면 대여 화면이 열립니다. 보관함이 있는 매장에서는 대여 후 보관함 비밀번호가 나옵니다.",
      "Scan the QR code on an umbrella at a store and log in: the rent page opens. At a store with a locker, you get the locker's password after renting."]],
    [["보증금", "Deposit"], ["대여할 때 안내된 계좌로 보증금을 보내 주세요. 운영진이 입금을 확인합니다. 반납 후 등록한 계좌로 돌려드립니다.",
      "Send the deposit to the account shown when you rent. We confirm it by hand, and refund it to your account after the return."]],
    [["반납", "Returning"], ["빌린 날부터 14일 안에 아무 협력 매장에나 반납할 수 있습니다. 매장의 QR 코드를 찍고 반납하기를 누르세요. 기한 하루 전에 알림 메일을 보내 드립니다.",
      "Return it at any partner store within 14 days. Scan the store's QR code and tap Return. We e-mail you the day before it is due."]],
    [["보관함이 열리지 않을 때", "If the locker won't open"], ["대여 후 30분 안에는 매장의 반납용 QR 코드를 찍고 보관함 화면에 보이는 숫자를 입력하면 새 비밀번호를 받을 수 있습니다.",
      "Within 30 minutes of renting, scan the store's return QR code and type the number on the locker's screen for a new password."]],
    [["자주 묻는 질문", "Questions"],
      ["우산을 잃어버렸거나 망가졌어요: 내 정보 화면의 분실/파손 신고로 알려 주세요.", "Lost or broke the umbrella? Report it on your page (lost or broken)."],
      ["기한이 지났어요: 가능한 한 빨리 가까운 매장에 반납해 주세요.", "Overdue? Please return it at a store nearby as soon as you can."]],
    [["문의", "Contact"], supportLine("support guide-support")]);
}

function terms() {
  page(["이용약관", "Terms of service"],
    [["제1조 (목적)", "1. Purpose"], ["이 약관은 업브렐라(이하 \"서비스\")가 제공하는 우산 대여 서비스의 이용 조건과 절차를 정합니다.",
      "These terms set the conditions and steps for using the umbrella rental service of upbrella (\"the service\")."]],
    [["제2조 (대여와 반납)", "2. Renting and returning"], ["이용자는 한 번에 우산 하나를 빌릴 수 있으며, 빌린 날부터 14일 안에 협력 매장에 반납합니다.",
      "A user may rent one umbrella at a time and returns it at a partner store within 14 days of renting."]],
    [["제3조 (보증금)", "3. Deposit"], ["이용자는 대여 시 안내된 보증금을 입금하고, 반납이 확인되면 등록한 계좌로 돌려받습니다. 우산을 잃어버리면 보증금은 돌려드리지 않을 수 있습니다.",
      "The user pays the deposit shown when renting, and gets it back to the account given once the return is confirmed. A lost umbrella's deposit may be kept."]],
    [["제4조 (이용 제한)", "4. Restrictions"], ["허위 반납, 반복된 미반납 등 서비스 운영을 방해하는 이용자는 이용이 제한될 수 있습니다.",
      "Users who disturb the service, e.g. by false returns or repeatedly not returning, may be restricted."]],
    [["제5조 (탈퇴)", "5. Leaving"], ["이용자는 빌린 우산을 반납한 뒤 언제든지 내 정보 화면에서 탈퇴할 수 있습니다.",
      "Users may leave at any time on their page, once the umbrella is returned."]],
    [["문의", "Contact"], supportLine("support")]);
}

function privacy() {
  page(["개인정보 처리방침", "Privacy policy"],
    [["수집하는 항목", "What we collect"], ["이름, 이메일 주소, 휴대폰 번호, 비밀번호(복원할 수 없는 형태로 저장), 카카오 로그인 시 카카오 회원번호와 별명, 보증금 환불을 위한 은행 이름과 계좌번호(암호화하여 저장).",
      "Name, e-mail address, phone number, password (stored so it cannot be recovered), with a Kakao login the Kakao member number and nickname, and the bank and account number for the refund (계좌번호, stored encrypted)."]],
    [["이용 목적", "Why"], ["회원 식별과 로그인, 대여·반납 기록 관리, 보증금 입금 확인과 환불, 반납 기한 알림과 미반납 시 연락.",
      "To identify members and log them in, keep rental records, confirm and refund deposits, remind before the due date and reach renters who don't return."]],
    [["보관 기간", "How long"], ["탈퇴하면 이름·연락처·계좌 정보를 지우고 대여 기록만 익명으로 남깁니다. 환불을 마친 대여의 계좌 정보는 운영진이 지울 수 있습니다.",
      "On leaving, name, contact and account are deleted; only anonymous rental records stay. Operators may delete a refunded rental's account."]],
    [["열람과 삭제", "Access and deletion"], ["내 정보 화면에서 이름·전화번호를 고치고, 환불 계좌를 지우거나 탈퇴할 수 있습니다. 그 밖의 요청은 운영진에게 연락해 주세요.",
      "On your page you can edit your name and phone, delete the refund account, or leave. For anything else, contact us."]],
    [["문의", "Contact"], supportLine("support")]);
}

// Offline (or the service out of reach): the shell still says which umbrella is out and
// when it is due, from what this device saw last.
function offlinePage(e) {
  const saved = savedRental();
  show(h("h1", {}, t("연결할 수 없습니다", "Can't connect")),
    errorBox(e),
    saved
      ? h("section", { class: "card in-use", id: "offline-rental", "aria-labelledby": "offline-rental-title" },
          h("h2", { id: "offline-rental-title" }, t("이용 중", "In use")),
          h("p", {}, h("strong", {}, t(`우산 ${saved.umbrella_number}번`, `Umbrella No. ${saved.umbrella_number}`)), saved.store ? ` · ${saved.store}` : ""),
          h("p", { class: "due-at" }, t(`${dateTime(saved.due_at)}까지 반납`, `Return by ${dateTime(saved.due_at)}`)),
          h("p", { class: "muted" }, t(`${dateTime(saved.seen_at)}에 확인한 정보입니다.`, `As last seen on ${dateTime(saved.seen_at)}.`)))
      : h("p", { class: "muted" }, t("이 기기에 저장된 대여 정보가 없습니다.", "No rental is saved on this device.")));
}

// Router -----------------------------------------------------------------------------

const routes = [
  [/^\/$/, home],
  [/^\/stores\/(\d+)$/, store],
  [/^\/login$/, login],
  [/^\/signup$/, signup],
  [/^\/verify-email$/, verifyEmail],
  [/^\/forgot-password$/, forgotPassword],
  [/^\/reset-password$/, resetPassword],
  [/^\/rent\/(\d+)$/, rent],
  [/^\/return\/(\d+)$/, returnPage],
  // The original service's printed QR codes: /rent/form/{umbrellaId} and
  // /return/form?storeId=…&salt=…&signature=….
  [/^\/rent\/form\/(\d+)$/, rent],
  [/^\/return\/form$/, () => returnPage(new URLSearchParams(location.search).get("storeId"))],
  [/^\/me$/, mePage],
  [/^\/guide$/, guide],
  [/^\/stores$/, introductions],
  [/^\/terms$/, terms],
  [/^\/privacy$/, privacy],
  [/^\/offline$/, () => offlinePage(new Error(t("인터넷 연결을 확인해 주세요.", "You're offline.")))],
  [/^\/admin(\/.*)?$/, admin],
];

const progress = document.getElementById("progress");

async function route() {
  const path = location.pathname;
  view.setAttribute("aria-busy", "true");
  progress.hidden = false;
  try {
    for (const [pattern, handler] of routes) {
      const m = path.match(pattern);
      if (m) {
        try {
          await handler(...m.slice(1));
        } catch (e) {
          if (e.status === 401) return needLogin();
          if (e.kind === "offline" || e.kind === "timeout" || e.kind === "gateway") return offlinePage(e);
          show(h("h1", {}, t("문제가 생겼습니다", "Something went wrong")), errorBox(e));
        }
        return;
      }
    }
    notFound();
  } finally {
    progress.hidden = true;
    view.removeAttribute("aria-busy");
  }
}

function notFound() {
  show(h("h1", {}, t("페이지를 찾을 수 없습니다", "Page not found")), h("p", {}, link("/", t("처음으로", "Home"))));
}

refreshMe().then(route);
