// The renter's first pages: stores near by (on Kakao's map when the WAS has a key), one
// store with its hours, and the partner stores' introductions.

import { t } from "/i18n.js";
import { api, date, dateTime, errorBox, go, h, link, loadServiceInfo, seoulDays, show } from "/ui.js";
import { me, saveRental } from "/app-session.js";

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
export function elapsedText(rental) {
  const days = seoulDays(rental.rented_at, new Date());
  return days <= 0 ? t("오늘 빌림", "rented today") : t(`${days}일 전 빌림`, `rented ${days} day${days === 1 ? "" : "s"} ago`);
}

export function daysLeftText(rental) {
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

export async function home() {
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

export async function store(id) {
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

export async function introductions() {
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
