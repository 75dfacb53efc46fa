// Lockers (installing one shows its secret once), a store's QR codes, regions and tags,
// and the umbrellas.

import { t } from "/i18n.js";
import { api, dateTime, go, h, link } from "/ui.js";
import {
  act, button, formBox, frame, input, isAdmin, number, PAGE_SIZE, pager, params, select, table, withQuery,
} from "/console-common.js";
import { umbrellaState } from "/console-store-sections.js";

const secretBox = (secret) => h("div", { class: "notice secret", role: "status" },
  h("p", {}, t("이 비밀키는 지금 한 번만 보여 드립니다. 보관함 기기에 입력하세요.", "This secret is shown this once. Enter it on the locker.")),
  h("code", { id: "locker-secret" }, secret));

/// A store's locker: installing one (the secret shown once), or the installed one's
/// counter and removal.
export function lockerSection(store, locker, stores, onChange) {
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

export async function lockersPage(path) {
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

export async function codesPage(path, id) {
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

export async function classificationsPage(path) {
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

export async function umbrellasPage(path) {
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
