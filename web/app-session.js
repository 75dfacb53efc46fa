// Who is logged in, the header and footer around every page, and the rental this device
// last saw (for the offline page). `me` is read by every page; `setMe` replaces it.

import { lang, t } from "/i18n.js";
import { api, form, go, h, link, loginHref, show, supportLine } from "/ui.js";

const nav = document.getElementById("nav");
export let me = null;

/** Replaces the signed-in user (a change of the profile answers with it). */
export function setMe(user) {
  me = user;
}

// The rental last seen, kept on the device so the offline page can still show when the
// umbrella is due.
const SAVED_RENTAL = "upbrella.rental";

export function saveRental(rental) {
  if (rental) {
    localStorage.setItem(SAVED_RENTAL, JSON.stringify({
      umbrella_number: rental.umbrella_number, store: rental.rent_store && rental.rent_store.name,
      rented_at: rental.rented_at, due_at: rental.due_at, seen_at: new Date().toISOString(),
    }));
  } else {
    localStorage.removeItem(SAVED_RENTAL);
  }
}

export function savedRental() {
  try { return JSON.parse(localStorage.getItem(SAVED_RENTAL) || "null"); } catch { return null; }
}

export const isOperator = (user) => Boolean(user && (user.role ? user.role !== "renter" : user.is_admin));

export async function refreshMe() {
  try {
    me = await api("GET", "/me");
  } catch {
    me = null;
  }
  renderChrome();
}

// The header (links, the language switch) and the footer, in the chosen language.
export function renderChrome() {
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

export function contextBox(next) {
  const box = h("p", { class: "context", id: "login-context", hidden: true });
  loginContext(next).then((text) => {
    if (text) { box.textContent = text; box.hidden = false; }
  });
  return box;
}

export function needLogin() {
  const here = location.pathname + location.search;
  show(h("h1", {}, t("로그인이 필요합니다", "Please log in")), contextBox(here),
    h("a", { class: "kakao-login", href: `/api/auth/kakao?next=${encodeURIComponent(here)}` }, t("카카오로 1초 만에 로그인", "Log in with Kakao")),
    h("p", { class: "or" }, link(loginHref(here), t("이메일로 로그인하러 가기", "Log in with e-mail"))),
    h("p", { class: "muted" }, t("한 번 로그인하면 이 기기에서는 몇 주 동안 로그인이 유지됩니다.", "Once logged in, this device stays logged in for weeks.")));
}

// Pages ------------------------------------------------------------------------------
