// The operators' console (admins only): what it takes to run the service day to day.
// Every screen keeps its state in the URL (/admin/rentals?status=open&q=김&page=1), so
// the back button, a reload and a shared link all show the same thing.

import { api, date, errorBox, go, h, link, show } from "/ui.js";

const TABS = [
  ["/admin", "대시보드"], ["/admin/rentals", "대여"], ["/admin/stores", "매장"],
  ["/admin/classifications", "지역/태그"], ["/admin/umbrellas", "우산"], ["/admin/lockers", "보관함"],
  ["/admin/users", "회원"], ["/admin/account-views", "열람 기록"],
];
const PAGE_SIZE = 20;

// Building blocks ---------------------------------------------------------------------

function frame(path, title, ...content) {
  const current = (href) => (href === "/admin" ? path === "/admin" : path.startsWith(href));
  show(
    h("nav", { class: "console-nav no-print", "aria-label": "관리 메뉴" },
      ...TABS.map(([href, label]) => h("a", { href, "data-link": true, "aria-current": current(href) ? "page" : null }, label))),
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
  const nav = h("nav", { class: "pager", "aria-label": "페이지" });
  nav.append(page > 0 ? link(withQuery({ page: page - 1 || null }), "← 이전") : h("span", { class: "muted" }, "← 이전"),
    h("span", {}, `${page + 1}쪽`),
    shown >= PAGE_SIZE ? link(withQuery({ page: page + 1 }), "다음 →") : h("span", { class: "muted" }, "다음 →"));
  return nav;
}

function table(headers, rows, empty = "아직 없습니다.") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("div", { class: "table-wrap", tabindex: "0" },
    h("table", {}, h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, ...rows)));
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

/// A form whose submit button stays disabled while `onsubmit` runs, with its error shown
/// under the fields.
function formBox(id, children, submitLabel, onsubmit) {
  const err = h("div", { class: "form-error", "aria-live": "polite" });
  const f = h("form", {
    id,
    onsubmit: async (e) => {
      e.preventDefault();
      err.replaceChildren();
      const button = f.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await onsubmit(new FormData(f), f);
      } catch (ex) {
        err.replaceChildren(errorBox(ex));
      } finally {
        button.disabled = false;
      }
    },
  }, ...children, err, h("button", { class: "primary", type: "submit" }, submitLabel));
  return f;
}

/// Asks (when `question` is given), runs `call` with the button disabled, then `after`
/// with its result; an error shows in `box`.
async function act(button, box, question, call, after) {
  if (question && !confirm(question)) return;
  button.disabled = true;
  try {
    const result = await call();
    if (after) await after(result);
  } catch (e) {
    box.replaceChildren(errorBox(e));
  } finally {
    button.disabled = false;
  }
}

const button = (label, cls, onclick, attrs = {}) => h("button", { type: "button", class: `secondary ${cls}`, onclick, ...attrs }, label);
const notice = (text) => h("p", { class: "notice", role: "status" }, text);
const number = (data, name) => Number(data.get(name));
const dateTime = (iso) => (iso ? new Date(iso).toLocaleString("ko-KR") : "-");

// Dashboard ---------------------------------------------------------------------------

async function dashboard(path) {
  const d = await api("GET", "/admin/dashboard");
  const count = (label, n, status) => h("a", { class: "card stat", href: `/admin/rentals?status=${status}`, "data-link": true },
    h("span", { class: "muted" }, label), h("strong", {}, String(n)));
  const u = d.umbrellas;
  frame(path, "대시보드",
    h("div", { class: "stats" },
      count("오늘 대여", d.rented_today, "today"), count("대여 중", d.open, "open"), count("연체", d.overdue, "overdue"),
      count("입금 확인 전", d.unpaid_deposits, "unpaid"), count("환불 대기", d.refunds_due, "refund_due")),
    h("h2", {}, "우산"),
    h("p", {}, `전체 ${u.total}개 · 대여 가능 ${u.rentable} · 대여 중 ${u.rented} · 분실 ${u.missing} (${(u.missing_rate * 100).toFixed(1)}%) · 누적 대여 ${u.total_rents}회`));
}

// Rentals -----------------------------------------------------------------------------

const STATUSES = [["all", "전체"], ["open", "대여 중"], ["overdue", "연체"], ["unpaid", "입금 확인 전"],
  ["refund_due", "환불 대기"], ["closed", "반납·종료"], ["today", "오늘 대여"]];

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
  const chips = h("nav", { class: "tabs", "aria-label": "대여 상태" }, ...STATUSES.map(([value, label]) =>
    h("a", { class: "chip", href: withQuery({ status: value === "all" ? null : value, page: null }), "data-link": true, "aria-current": value === status ? "page" : null }, label)));
  const searchForm = h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    go(withQuery({ q: new FormData(e.target).get("q").trim(), page: null }));
  } }, h("label", {}, "검색", h("input", { name: "q", type: "search", value: search, placeholder: "이름, 휴대폰 번호, 우산 번호" })),
  h("button", { class: "secondary", type: "submit" }, "찾기"));
  const reports = (items) => table(["우산", "내용", "작성"], items.map((r) => h("tr", {},
    h("td", {}, `${r.umbrella_number}번`), h("td", {}, r.content), h("td", {}, date(r.written_at)))));
  frame(path, "대여", chips, searchForm,
    h("div", { id: "rental-list" }, ...(list.length ? list.map((r) => rentalCard(r, stores)) : [h("p", { class: "muted" }, "해당하는 대여가 없습니다.")])),
    pager(page, list.length),
    h("h2", {}, "우산 상태 신고"), reports(conditions),
    h("h2", {}, "개선 의견"), reports(improvements));
}

function rentalCard(rental, stores) {
  const card = h("article", { class: "card rental", "data-rental-id": rental.id });
  const render = (r) => {
    const box = h("div", { class: "rental-message" });
    const patch = (body, question) => (e) => act(e.currentTarget, box, question, () => api("PATCH", `/admin/rentals/${r.id}`, body), render);
    const returned = r.returned_at
      ? (r.return_store_name ? `${r.return_store_name}에 ${date(r.returned_at)} 반납` : `${date(r.returned_at)} 종료`)
      : `반납 기한 ${date(r.due_at)}`;
    const refundable = r.paid_at && r.returned_at && r.closed_reason !== "lost";
    const actions = h("div", { class: "actions" },
      r.paid_at
        ? button("입금 취소", "confirm-paid", patch({ paid: false }, "입금 확인을 취소할까요?"), { disabled: Boolean(r.refunded_at) })
        : button("입금 확인", "confirm-paid", patch({ paid: true }, `${r.user_name}님의 보증금 입금을 확인할까요?`)),
      r.refunded_at
        ? button("환불 취소", "confirm-refund", patch({ refunded: false }, "환불 완료를 취소할까요?"))
        : button("환불 완료", "confirm-refund", patch({ refunded: true }, `${r.user_name}님께 보증금을 돌려보냈나요?`), { disabled: !refundable }),
      r.has_bank_account ? button("계좌 보기", "show-account", (e) => act(e.currentTarget, box, null,
        () => api("GET", `/admin/rentals/${r.id}/bank-account`),
        (a) => box.replaceChildren(h("p", { class: "notice account" }, `${a.bank_name} ${a.account_number}`),
          h("p", { class: "muted" }, "계좌를 볼 때마다 열람 기록이 남습니다.")))) : "",
      r.returned_at ? "" : button("대여 종료", "close-rental", () => box.replaceChildren(closeForm(r, stores, render))));
    card.replaceChildren(
      h("div", { class: "row" }, h("strong", {}, `${r.user_name} · 우산 ${r.umbrella_number}번`),
        h("span", {}, r.overdue ? h("span", { class: "badge bad" }, "연체") : "",
          r.closed_reason ? h("span", { class: "badge" }, r.closed_reason === "lost" ? "분실" : "직원 회수") : "")),
      h("div", { class: "muted" }, `${r.rent_store_name}에서 ${date(r.rented_at)} 대여 · ${returned}${r.user_phone ? ` · ${r.user_phone}` : ""}`),
      h("div", {}, `보증금: ${r.refunded_at ? "환불 완료" : r.paid_at ? "입금 확인됨" : "입금 확인 전"}`,
        r.has_bank_account ? ` · 환불 계좌 ${r.bank_name} ${r.account_masked}` : ""),
      r.condition_report ? h("p", { class: "muted" }, `대여 시 상태: ${r.condition_report}`) : "",
      r.improvement_report ? h("p", { class: "muted" }, `개선 의견: ${r.improvement_report}`) : "",
      r.closed_note ? h("p", { class: "muted" }, `종료 메모: ${r.closed_note}`) : "",
      actions, box);
  };
  render(rental);
  return card;
}

function closeForm(r, stores, render) {
  const where = select("store_id", "우산을 둔 매장", stores.map((s) => [s.id, s.name]), r.rent_store_id);
  where.hidden = true;
  const f = formBox(`close-${r.id}`, [
    select("reason", "종료 사유", [["lost", "분실"], ["returned_by_staff", "직원 회수"]], "lost",
      { onchange: (e) => { where.hidden = e.target.value !== "returned_by_staff"; } }),
    where,
    textarea("note", "메모 (선택, 400자 이내)", "", { maxlength: 400 }),
  ], "대여 종료", async (data) => {
    if (!confirm("이 대여를 종료할까요? 되돌릴 수 없습니다.")) return;
    const body = { reason: data.get("reason"), note: data.get("note") || null };
    if (body.reason === "returned_by_staff") body.store_id = number(data, "store_id");
    render(await api("POST", `/admin/rentals/${r.id}/close`, body));
  });
  f.classList.add("close-form");
  return f;
}

// Stores ------------------------------------------------------------------------------

async function classes() {
  const all = await api("GET", "/admin/classifications");
  return { regions: all.filter((c) => c.kind === "region"), tags: all.filter((c) => c.kind === "tag") };
}

function storeForm(id, s, { regions, tags }, save) {
  const v = (k) => (s && s[k] !== null && s[k] !== undefined ? s[k] : "");
  return formBox(id, [
    input("name", "매장 이름", { required: true, maxlength: 100, value: v("name") }),
    input("category", "분류 (카페, 식당 …)", { required: true, maxlength: 50, value: v("category") }),
    select("region_id", "지역", regions.map((r) => [r.id, r.name]), v("region_id"), { required: true }),
    select("tag_id", "태그 (선택)", [["", "없음"], ...tags.map((t) => [t.id, t.name])], v("tag_id")),
    input("latitude", "위도", { type: "number", step: "any", min: -90, max: 90, required: true, value: v("latitude") }),
    input("longitude", "경도", { type: "number", step: "any", min: -180, max: 180, required: true, value: v("longitude") }),
    input("address", "주소", { maxlength: 200, value: v("address") }),
    input("address_detail", "상세 주소", { maxlength: 200, value: v("address_detail") }),
    input("umbrella_location", "우산 위치 (매장 안 어디에 있는지)", { maxlength: 200, value: v("umbrella_location") }),
    input("working_hours", "영업시간 안내 문구", { maxlength: 500, value: v("working_hours") }),
    input("contact", "연락처", { maxlength: 100, value: v("contact") }),
    input("instagram_url", "인스타그램 주소", { type: "url", value: v("instagram_url") }),
    textarea("description", "소개", v("description"), { maxlength: 2000 }),
  ], s ? "매장 정보 저장" : "매장 추가", (data) => save({
    name: data.get("name"), category: data.get("category"), region_id: number(data, "region_id"),
    tag_id: data.get("tag_id") ? number(data, "tag_id") : null,
    latitude: number(data, "latitude"), longitude: number(data, "longitude"),
    address: data.get("address"), address_detail: data.get("address_detail"),
    umbrella_location: data.get("umbrella_location"), working_hours: data.get("working_hours"),
    contact: data.get("contact"), instagram_url: data.get("instagram_url") || null, description: data.get("description"),
  }));
}

async function storesPage(path) {
  const [stores, c] = await Promise.all([api("GET", "/admin/stores?size=100"), classes()]);
  const region = new Map(c.regions.map((r) => [r.id, r.name]));
  frame(path, "매장",
    table(["매장", "지역", "상태", "대여 가능"], stores.map((s) => h("tr", {},
      h("td", {}, link(`/admin/stores/${s.id}`, s.name)), h("td", {}, region.get(s.region_id) || "-"),
      h("td", {}, s.activated ? "운영 중" : "준비 중"), h("td", {}, `${s.rentable_count}개`))), "아직 매장이 없습니다."),
    h("h2", {}, "매장 추가"),
    c.regions.length
      ? storeForm("store-form", null, c, async (body) => { const s = await api("POST", "/admin/stores", body); go(`/admin/stores/${s.id}`); })
      : h("p", {}, "먼저 ", link("/admin/classifications", "지역"), "을 추가해 주세요."));
}

async function storePage(path, id) {
  const [s, c, umbrellas, lockers] = await Promise.all([api("GET", `/admin/stores/${id}`), classes(),
    api("GET", `/admin/umbrellas?store_id=${id}&size=100`), api("GET", "/admin/lockers")]);
  const message = h("div", { id: "store-message" });
  const reload = () => storePage(path, id);
  frame(path, s.name,
    h("p", {}, h("span", { class: s.activated ? "badge open" : "badge" }, s.activated ? "운영 중" : "준비 중"), " ",
      link(`/admin/stores/${id}/codes`, "QR 코드 인쇄")),
    h("p", {}, button(s.activated ? "운영 중지" : "운영 시작", "", (e) => act(e.currentTarget, message,
      s.activated ? "운영을 멈출까요? 지도와 대여 화면에서 사라집니다." : "매장을 공개하고 대여를 시작할까요?",
      () => api("PUT", `/admin/stores/${id}/activation`, { activated: !s.activated }), reload), { id: "activate" })),
    message,
    h("h2", {}, "영업 시간"), hoursForm(s, message),
    h("h2", {}, "사진"), imagesSection(s),
    h("h2", {}, "우산"), umbrellasSection(s.id, umbrellas),
    h("h2", {}, "보관함"), lockerSection(s, lockers.find((l) => l.store_id === s.id), [s]),
    h("h2", {}, "매장 정보"),
    storeForm("store-edit-form", s, c, async (body) => {
      await api("PUT", `/admin/stores/${id}`, body);
      message.replaceChildren(notice("매장 정보를 저장했습니다."));
    }),
    h("h2", {}, "매장 삭제"),
    button("매장 삭제", "danger", (e) => act(e.currentTarget, message, `${s.name}을(를) 삭제할까요? 되돌릴 수 없습니다.`,
      () => api("DELETE", `/admin/stores/${id}`), () => go("/admin/stores"))));
}

const DAYS = ["월", "화", "수", "목", "금", "토", "일"];

function hoursForm(s, message) {
  const byDay = new Map(s.business_hours.map((b) => [b.weekday, b]));
  return formBox("hours-form", DAYS.map((name, i) => {
    const day = i + 1;
    const b = byDay.get(day);
    return h("fieldset", { class: "day" }, h("legend", {}, `${name}요일`),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: `open_${day}`, checked: Boolean(b) }), "영업"),
      input(`open_at_${day}`, "여는 시간", { type: "time", value: b ? b.open : "09:00" }),
      input(`close_at_${day}`, "닫는 시간", { type: "time", value: b ? b.close : "21:00" }));
  }), "영업 시간 저장", async (data) => {
    const week = DAYS.map((_, i) => i + 1).filter((d) => data.get(`open_${d}`) === "on")
      .map((d) => ({ weekday: d, open: data.get(`open_at_${d}`), close: data.get(`close_at_${d}`) }));
    await api("PUT", `/admin/stores/${s.id}/business-hours`, week);
    message.replaceChildren(notice("영업 시간을 저장했습니다."));
  });
}

function imagesSection(s) {
  const box = h("div");
  const render = (images) => box.replaceChildren(
    h("div", { class: "gallery admin" }, ...images.map((i) => h("figure", {},
      h("img", { src: i.url, alt: `${s.name} 사진`, class: "store-image" }),
      button("삭제", "", (e) => act(e.currentTarget, box, "이 사진을 지울까요?",
        () => api("DELETE", `/admin/stores/${s.id}/images/${i.id}`), () => render(images.filter((x) => x.id !== i.id))))))),
    formBox("image-form", [input("url", "사진 주소 (https://…)", { type: "url", required: true })], "사진 추가", async (data) => {
      const image = await api("POST", `/admin/stores/${s.id}/images`, { url: data.get("url") });
      render([...images, image]);
    }));
  render(s.images);
  return box;
}

function umbrellaState(u) {
  if (u.missed) return "분실";
  if (u.rented) return "대여 중";
  return u.rentable ? "대여 가능" : "쉬는 중";
}

function umbrellasSection(storeId, umbrellas) {
  const box = h("div");
  const render = (list) => box.replaceChildren(
    table(["번호", "상태", "비고"], list.map((u) => h("tr", {}, h("td", {}, `${u.number}번`), h("td", {}, umbrellaState(u)), h("td", {}, u.note))),
      "아직 우산이 없습니다."),
    formBox("umbrella-form", [input("number", "우산 번호", { type: "number", min: 1, required: true }),
      input("note", "비고 (선택)", { maxlength: 200 })], "우산 추가", async (data) => {
      const u = await api("POST", "/admin/umbrellas", { store_id: storeId, number: number(data, "number"), note: data.get("note") || "" });
      render([...list, u]);
    }));
  render(umbrellas);
  return box;
}

// Lockers -----------------------------------------------------------------------------

const secretBox = (secret) => h("div", { class: "notice secret", role: "status" },
  h("p", {}, "이 비밀키는 지금 한 번만 보여 드립니다. 보관함 기기에 입력하세요."),
  h("code", { id: "locker-secret" }, secret));

/// A store's locker: installing one (the secret shown once), or the installed one's
/// counter and removal.
function lockerSection(store, locker, stores, onChange) {
  const box = h("div", { class: "locker" });
  const render = (l, secret) => {
    if (!l) {
      box.replaceChildren(installForm(stores, store ? store.id : null, (made) => { render(made, made.secret); if (onChange) onChange(); }));
      return;
    }
    box.replaceChildren(
      ...(secret ? [secretBox(secret)] : []),
      h("p", {}, `설치됨 · 카운터 ${l.counter} · 마지막 발급 ${dateTime(l.last_access)}`),
      formBox(`counter-${l.id}`, [input("counter", "기기의 카운터", { type: "number", min: 0, required: true, value: l.counter })],
        "카운터 맞추기", async (data) => render(await api("PUT", `/admin/lockers/${l.id}/counter`, { counter: number(data, "counter") }))),
      button("보관함 제거", "danger", (e) => act(e.currentTarget, box, "보관함을 제거할까요? 이 매장의 대여에 비밀번호가 나오지 않게 됩니다.",
        () => api("DELETE", `/admin/lockers/${l.id}`), () => { render(null); if (onChange) onChange(); })));
  };
  render(locker, null);
  return box;
}

function installForm(stores, storeId, installed) {
  return formBox("locker-form", [
    storeId ? h("input", { type: "hidden", name: "store_id", value: storeId })
      : select("store_id", "매장", stores.map((s) => [s.id, s.name]), null, { required: true }),
    input("secret", "비밀키 (기기에 정해져 있으면 입력, 비워 두면 새로 만듭니다)", { autocomplete: "off", pattern: "[0-9a-fA-F]{32,}", spellcheck: "false" }),
  ], "보관함 설치", async (data) => {
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
  frame(path, "보관함",
    ...lockers.map((l) => h("section", { class: "card" }, h("h2", {}, name.get(l.store_id) || `매장 ${l.store_id}`), lockerSection(null, l, stores, reload))),
    lockers.length ? "" : h("p", { class: "muted" }, "설치된 보관함이 없습니다."),
    h("h2", {}, "보관함 설치"),
    free.length ? lockerSection(null, null, free, null) : h("p", { class: "muted" }, "모든 매장에 보관함이 있습니다."));
}

// QR codes ----------------------------------------------------------------------------

async function codesPage(path, id) {
  const c = await api("GET", `/admin/stores/${id}/codes`);
  frame(path, `${c.store.name} QR 코드`,
    h("p", { class: "muted no-print" }, "매장 입구에는 반납 코드를, 우산마다 그 번호의 대여 코드를 붙이세요. 코드는 서명되어 있어 다른 우산이나 매장에서는 쓸 수 없습니다."),
    h("p", { class: "no-print" }, h("button", { class: "primary", type: "button", onclick: () => window.print() }, "인쇄"), " ",
      link(`/admin/stores/${id}`, "매장으로 돌아가기")),
    h("img", { class: "qr-sheet", src: `/api/admin/stores/${id}/codes.svg`, alt: `${c.store.name}의 반납 코드와 우산 ${c.umbrellas.length}개의 대여 코드` }),
    h("details", { class: "no-print" }, h("summary", {}, "코드의 주소"),
      h("ul", { class: "codes" }, h("li", {}, `반납: ${c.store.url}`), ...c.umbrellas.map((u) => h("li", {}, `우산 ${u.number}번: ${u.url}`)))));
}

// Regions and tags --------------------------------------------------------------------

async function classificationsPage(path) {
  const all = await api("GET", "/admin/classifications");
  const reload = () => classificationsPage(path);
  const message = h("div");
  const row = (c) => h("tr", {}, h("td", {}, c.name), h("td", {}, `${c.latitude}, ${c.longitude}`),
    h("td", {}, button("이름 바꾸기", "", (e) => {
      const name = prompt("새 이름", c.name);
      if (!name || name === c.name) return;
      act(e.currentTarget, message, null, () => api("PUT", `/admin/classifications/${c.id}`, { ...c, name }), reload);
    }), " ", button("삭제", "danger", (e) => act(e.currentTarget, message, `${c.name}을(를) 삭제할까요?`,
      () => api("DELETE", `/admin/classifications/${c.id}`), reload))));
  const section = (kind, title) => [
    h("h2", {}, title),
    table(["이름", "좌표", ""], all.filter((c) => c.kind === kind).map(row), `등록된 ${title}이(가) 없습니다.`),
    formBox(`${kind}-form`, [input("name", "이름", { required: true, maxlength: 100 }),
      input("latitude", "위도", { type: "number", step: "any", min: -90, max: 90, required: true }),
      input("longitude", "경도", { type: "number", step: "any", min: -180, max: 180, required: true })],
    `${title} 추가`, async (data) => {
      await api("POST", "/admin/classifications", { kind, name: data.get("name"), latitude: number(data, "latitude"), longitude: number(data, "longitude") });
      await reload();
    }),
  ];
  frame(path, "지역과 태그", message, ...section("region", "지역"), ...section("tag", "태그"));
}

// Umbrellas ---------------------------------------------------------------------------

async function umbrellasPage(path) {
  const q = params();
  const store = q.get("store") || "";
  const page = Number(q.get("page") || 0);
  const [stores, stats, list] = await Promise.all([api("GET", "/admin/stores?size=100"), api("GET", "/admin/umbrellas/statistics"),
    api("GET", `/admin/umbrellas?page=${page}&size=${PAGE_SIZE}${store ? `&store_id=${store}` : ""}`)]);
  const name = new Map(stores.map((s) => [s.id, s.name]));
  const message = h("div");
  const reload = () => umbrellasPage(path);
  const row = (u) => {
    const move = h("select", { "aria-label": `우산 ${u.number}번을 옮길 매장` },
      ...stores.map((s) => h("option", { value: s.id, selected: s.id === u.store_id }, s.name)));
    return h("tr", {}, h("td", {}, `${u.number}번`), h("td", {}, name.get(u.store_id) || "-"), h("td", {}, umbrellaState(u)), h("td", {}, u.note),
      h("td", { class: "actions" }, move,
        button("옮기기", "", (e) => act(e.currentTarget, message, null,
          () => api("PUT", `/admin/umbrellas/${u.id}`, { store_id: Number(move.value), number: u.number, rentable: u.rentable, note: u.note }), reload),
        { disabled: u.rented }),
        button(u.rentable ? "대여 중지" : "대여 재개", "", (e) => act(e.currentTarget, message, null,
          () => api("PUT", `/admin/umbrellas/${u.id}`, { store_id: u.store_id, number: u.number, rentable: !u.rentable, note: u.note }), reload),
        { disabled: u.rented || (u.missed && !u.rentable) }),
        button(u.missed ? "찾음" : "분실", "", (e) => act(e.currentTarget, message, u.missed ? null : `우산 ${u.number}번을 분실로 표시할까요?`,
          () => api("PUT", `/admin/umbrellas/${u.id}/missed`, { missed: !u.missed }), reload)),
        button("폐기", "danger", (e) => act(e.currentTarget, message, `우산 ${u.number}번을 폐기할까요? 목록에서 사라집니다.`,
          () => api("DELETE", `/admin/umbrellas/${u.id}`), reload), { disabled: u.rented })));
  };
  frame(path, "우산",
    h("p", {}, `전체 ${stats.total}개 · 대여 가능 ${stats.rentable} · 대여 중 ${stats.rented} · 분실 ${stats.missing}`),
    h("label", {}, "매장", h("select", { onchange: (e) => go(withQuery({ store: e.target.value, page: null })) },
      h("option", { value: "" }, "모든 매장"), ...stores.map((s) => h("option", { value: s.id, selected: String(s.id) === store }, s.name)))),
    message,
    table(["번호", "매장", "상태", "비고", ""], list.map(row), "우산이 없습니다."),
    pager(page, list.length));
}

// Users -------------------------------------------------------------------------------

const USER_STATUS = { active: "이용 중", left: "탈퇴", banned: "이용 정지" };

async function usersPage(path, me) {
  const q = params();
  const page = Number(q.get("page") || 0);
  const search = q.get("q") || "";
  const query = new URLSearchParams({ page, size: PAGE_SIZE });
  if (search) query.set("q", search);
  const [users, blacklist] = await Promise.all([api("GET", `/admin/users?${query}`), api("GET", "/admin/blacklist?size=50")]);
  const message = h("div");
  const reload = () => usersPage(path, me);
  const row = (u) => h("tr", {}, h("td", {}, u.name, u.is_admin ? h("span", { class: "badge" }, "관리자") : ""),
    h("td", {}, u.email || (u.kakao_id ? "카카오" : "-")), h("td", {}, u.phone || "-"), h("td", {}, USER_STATUS[u.status] || u.status),
    h("td", {}, date(u.created_at)),
    h("td", { class: "actions" }, u.status === "active" && u.id !== me.id ? [
      button(u.is_admin ? "관리자 해제" : "관리자 지정", "", (e) => act(e.currentTarget, message,
        u.is_admin ? `${u.name}님의 관리자 권한을 거둘까요?` : `${u.name}님을 관리자로 지정할까요?`,
        () => api("PATCH", `/admin/users/${u.id}`, { is_admin: !u.is_admin }), reload)),
      button("이용 정지", "danger", (e) => act(e.currentTarget, message, `${u.name}님의 이용을 정지할까요? 개인정보가 지워지고 다시 가입할 수 없습니다.`,
        () => api("POST", `/admin/users/${u.id}/ban`), reload)),
    ] : ""));
  frame(path, "회원",
    h("form", { class: "search", role: "search", onsubmit: (e) => {
      e.preventDefault();
      go(withQuery({ q: new FormData(e.target).get("q").trim(), page: null }));
    } }, h("label", {}, "검색", h("input", { name: "q", type: "search", value: search, placeholder: "이름, 이메일, 휴대폰 번호" })),
    h("button", { class: "secondary", type: "submit" }, "찾기")),
    message,
    table(["이름", "계정", "휴대폰", "상태", "가입", ""], users.map(row), "해당하는 회원이 없습니다."),
    pager(page, users.length),
    h("h2", {}, "차단 목록"),
    table(["계정", "차단일", ""], blacklist.map((b) => h("tr", {}, h("td", {}, `${b.provider === "kakao" ? "카카오" : "이메일"} ${b.subject}`),
      h("td", {}, date(b.blocked_at)),
      h("td", {}, button("차단 해제", "", (e) => act(e.currentTarget, message, "차단을 풀까요? 같은 계정으로 다시 가입할 수 있게 됩니다.",
        () => api("DELETE", `/admin/blacklist/${b.id}`), reload))))), "차단된 계정이 없습니다."));
}

// The refund-account audit log ----------------------------------------------------------

async function accountViewsPage(path) {
  const page = Number(params().get("page") || 0);
  const views = await api("GET", `/admin/account-views?page=${page}&size=${PAGE_SIZE}`);
  frame(path, "계좌 열람 기록",
    h("p", { class: "muted" }, "관리자가 환불 계좌 전체 번호를 볼 때마다 남는 기록입니다."),
    table(["시각", "관리자", "대여", "이용자"], views.map((v) => h("tr", {}, h("td", {}, dateTime(v.viewed_at)), h("td", {}, v.admin_name),
      h("td", {}, `#${v.rental_id}`), h("td", {}, v.user_name))), "열람 기록이 없습니다."),
    pager(page, views.length));
}

// Router ------------------------------------------------------------------------------

const ROUTES = [
  [/^\/admin\/?$/, dashboard],
  [/^\/admin\/rentals$/, rentals],
  [/^\/admin\/stores$/, storesPage],
  [/^\/admin\/stores\/(\d+)$/, storePage],
  [/^\/admin\/stores\/(\d+)\/codes$/, codesPage],
  [/^\/admin\/classifications$/, classificationsPage],
  [/^\/admin\/umbrellas$/, umbrellasPage],
  [/^\/admin\/lockers$/, lockersPage],
  [/^\/admin\/users$/, usersPage],
  [/^\/admin\/account-views$/, accountViewsPage],
];

export async function adminConsole(path, me) {
  for (const [pattern, page] of ROUTES) {
    const m = path.match(pattern);
    if (!m) continue;
    try {
      await (page === usersPage ? usersPage(path, me) : page(path, ...m.slice(1)));
    } catch (e) {
      if (e.status === 403) return frame(path, "관리자만 볼 수 있습니다");
      throw e;
    }
    return;
  }
  frame(path, "페이지를 찾을 수 없습니다", h("p", {}, link("/admin", "대시보드로")));
}
