// Stores: the list, adding one (with Kakao's address search when the WAS has a key),
// and one store's page with a staff return.

import { t } from "/i18n.js";
import { api, go, h, link } from "/ui.js";
import {
  act, button, formBox, frame, input, isAdmin, maybe, message, notice, number, role, select, table, textarea,
} from "/console-common.js";
import { lockerSection } from "/console-inventory.js";
import { stockBadge, thresholdsForm } from "/console-statistics.js";
import { closuresSection, hoursForm, hoursList, imagesSection, umbrellasSection } from "/console-store-sections.js";

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

export async function storesPage(path) {
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

export async function storePage(path, id) {
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
