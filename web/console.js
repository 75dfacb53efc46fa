// The operators' console (admins only): what it takes to run the service day to day.
// Every screen keeps its state in the URL (/admin/rentals?status=open&q=김&page=1), so
// the back button, a reload and a shared link all show the same thing.

import { api, date, errorBox, go, h, link, show } from "/ui.js";

const TABS = [
  ["/admin", "대시보드"], ["/admin/rentals", "대여"], ["/admin/stores", "매장"],
  ["/admin/classifications", "지역/태그"], ["/admin/umbrellas", "우산"], ["/admin/lockers", "보관함"],
  ["/admin/users", "회원"], ["/admin/deposits", "정산"], ["/admin/actions", "작업 기록"],
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
      count("입금 대기", d.unpaid_deposits, "unpaid"), count("환급 대기", d.refunds_due, "refund_due"),
      count("환급 실패", d.refunds_failed, "refund_failed"), count("QR 코드 없이 (7일)", d.flagged, "flagged"),
      h("a", { class: "card stat", href: "/admin/deposits", "data-link": true },
        h("span", { class: "muted" }, "보관 중인 보증금"), h("strong", {}, won(d.deposits_held_amount)),
        h("span", { class: "muted" }, `${d.deposits_held}건`))),
    h("h2", {}, "우산"),
    h("p", {}, `전체 ${u.total}개 · 대여 가능 ${u.rentable} · 대여 중 ${u.rented} · 분실 ${u.missing} (${(u.missing_rate * 100).toFixed(1)}%) · 누적 대여 ${u.total_rents}회`));
}

// Rentals -----------------------------------------------------------------------------

const STATUSES = [["all", "전체"], ["open", "대여 중"], ["overdue", "연체"], ["unpaid", "입금 대기"],
  ["refund_due", "환급 대기"], ["refund_failed", "환급 실패"], ["refunded", "환급 완료"], ["forfeited", "보증금 차감"],
  ["waived", "면제"], ["flagged", "QR 코드 없이"], ["closed", "반납·종료"], ["today", "오늘 대여"]];

/// Where a deposit stands, as operators say it.
const DEPOSIT_STATES = {
  awaiting_payment: "입금 대기", paid: "입금 확인", refund_due: "환급 대기", refunded: "환급 완료",
  forfeited: "보증금 차감", refund_failed: "환급 실패", waived: "면제",
};
/// The operator's deposit operations: the button, the question before it, and whether a
/// note is asked for (the bank's reason, what was broken).
const DEPOSIT_OPERATIONS = {
  confirm_payment: ["입금 확인", (r) => `${r.user_name}님(${r.deposit.reference || "-"})의 보증금 ${won(r.deposit.amount)} 입금을 확인할까요?`, false],
  refund: ["환급 완료", (r) => `${r.user_name}님께 보증금 ${won(r.deposit.amount)}을 돌려보냈나요?`, false],
  refund_failed: ["환급 실패", () => "은행이 계좌를 거절했나요? 이용자에게 계좌를 다시 받습니다. 사유를 적어 주세요.", true],
  forfeit_damaged: ["파손 차감", () => "우산이 파손되어 약관에 따라 보증금을 돌려주지 않을까요? 파손 내용을 적어 주세요.", true],
  waive: ["보증금 면제", () => "이 대여의 보증금을 받지 않기로 할까요? 사유를 적어 주세요.", true],
};
const won = (n) => `${Number(n).toLocaleString("ko-KR")}원`;
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
  const chips = h("nav", { class: "tabs", "aria-label": "대여 상태" }, ...STATUSES.map(([value, label]) =>
    h("a", { class: "chip", href: withQuery({ status: value === "all" ? null : value, page: null }), "data-link": true, "aria-current": value === status ? "page" : null }, label)));
  const searchForm = h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    go(withQuery({ q: new FormData(e.target).get("q").trim(), page: null }));
  } }, h("label", {}, "검색", h("input", { name: "q", type: "search", value: search, placeholder: "이름, 휴대폰 번호, 우산 번호" })),
  h("button", { class: "secondary", type: "submit" }, "찾기"));
  const reports = (items) => table(["우산", "내용", "작성"], items.map((r) => h("tr", {},
    h("td", {}, `${r.umbrella_number}번`), h("td", {}, r.content), h("td", {}, date(r.written_at)))));
  // The payment queue confirms several transfers at once, as a bank statement lists them.
  const bulk = status === "unpaid" && list.length ? bulkConfirm() : "";
  frame(path, "대여", chips, searchForm, bulk,
    h("div", { id: "rental-list" }, ...(list.length ? list.map((r) => rentalCard(r, stores, status === "unpaid")) : [h("p", { class: "muted" }, "해당하는 대여가 없습니다.")])),
    pager(page, list.length),
    h("h2", {}, "우산 상태 신고"), reports(conditions),
    h("h2", {}, "개선 의견"), reports(improvements));
}

function bulkConfirm() {
  const box = h("div", { class: "rental-message", "aria-live": "polite" });
  return h("div", { class: "bulk no-print" },
    button("선택한 입금 한꺼번에 확인", "bulk-confirm", (e) => {
      const ids = [...document.querySelectorAll("input.select-rental:checked")].map((c) => Number(c.value));
      if (!ids.length) return box.replaceChildren(h("p", { class: "error", role: "alert" }, "확인할 대여를 골라 주세요."));
      return act(e.currentTarget, box, `${ids.length}건의 입금을 확인할까요?`,
        () => api("POST", "/admin/deposits/confirm", { rental_ids: ids }),
        (outcomes) => {
          const done = outcomes.filter((o) => o.confirmed).length;
          const failed = outcomes.filter((o) => !o.confirmed);
          box.replaceChildren(notice(`${done}건 확인했습니다.`),
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
      return button(label, `deposit-${op.replaceAll("_", "-")}`, (e) => {
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
      ? (r.return_store_name ? `${r.return_store_name}에 ${date(r.returned_at)} 반납` : `${date(r.returned_at)} 종료`)
      : `반납 기한 ${date(r.due_at)}`;
    const lostNotFound = r.closed_reason === "lost" && !r.found_at;
    const actions = h("div", { class: "actions" },
      ...r.deposit_operations.map(operation),
      r.has_bank_account ? button("계좌 보기", "show-account", (e) => act(e.currentTarget, box, null,
        () => api("POST", `/admin/rentals/${r.id}/bank-account/reveal`),
        (a) => box.replaceChildren(h("p", { class: "notice account" }, `${a.bank_name} ${a.account_number}`),
          h("p", { class: "muted" }, "계좌를 볼 때마다 작업 기록에 남습니다.")))) : "",
      r.returned_at ? "" : button("대여 종료", "close-rental", () => box.replaceChildren(closeForm(r, stores, render))),
      lostNotFound ? button("우산 찾음", "found-umbrella", () => box.replaceChildren(foundForm(r, stores, render))) : "");
    const d = r.deposit;
    card.replaceChildren(
      h("div", { class: "row" },
        selectable ? h("label", { class: "select" }, h("input", { type: "checkbox", class: "select-rental", value: r.id, "aria-label": `${r.user_name} 선택` })) : "",
        h("strong", {}, `${r.user_name} · 우산 ${r.umbrella_number}번`),
        h("span", {}, r.overdue ? h("span", { class: "badge bad" }, "연체") : "",
          r.closed_reason ? h("span", { class: "badge" }, r.closed_reason === "lost" ? (r.found_at ? "분실 후 회수" : "분실") : "직원 회수") : "",
          flagged(r) ? h("span", { class: "badge bad flag", title: "원래 서비스의 스티커로 대여 또는 반납: 매장에서 우산을 확인해 주세요" }, "QR 코드 없이") : "")),
      h("div", { class: "muted" }, `${r.rent_store_name}에서 ${date(r.rented_at)} 대여 · ${returned}${r.user_phone ? ` · ${r.user_phone}` : ""}`),
      h("div", { class: "deposit-state" }, `보증금 ${won(d.amount)}: `, h("strong", {}, DEPOSIT_STATES[d.state] || d.state),
        d.forfeit_reason ? ` (${d.forfeit_reason === "lost" ? "분실" : "파손"})` : "",
        d.reference ? ` · 입금자명 ${d.reference}` : "",
        r.has_bank_account ? ` · 환급 계좌 ${r.bank_name} ${r.account_masked}` : ""),
      r.condition_report ? h("p", { class: "muted" }, `대여 시 상태: ${r.condition_report}`) : "",
      r.improvement_report ? h("p", { class: "muted" }, `개선 의견: ${r.improvement_report}`) : "",
      r.closed_note ? h("p", { class: "muted" }, `종료 메모: ${r.closed_note}`) : "",
      actions, box);
  };
  render(rental);
  return card;
}

function foundForm(r, stores, render) {
  const f = formBox(`found-${r.id}`, [
    select("store_id", "우산을 찾은 매장", stores.map((s) => [s.id, s.name]), r.rent_store_id),
    textarea("note", "메모 (선택, 400자 이내)", "", { maxlength: 400 }),
  ], "우산 찾음", async (data) => {
    if (!confirm("분실된 우산을 찾았나요? 우산은 이 매장에 돌아오고, 받아 둔 보증금은 환급 대기로 바뀝니다.")) return;
    render(await api("POST", `/admin/rentals/${r.id}/found`, { store_id: number(data, "store_id"), note: data.get("note") || null }));
  });
  f.classList.add("found-form");
  return f;
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
    const question = data.get("reason") === "lost"
      ? "분실로 종료할까요? 받은 보증금은 약관에 따라 차감되고, 우산을 찾으면 환급 대기로 돌아갑니다."
      : "직원 회수로 종료할까요? 받은 보증금은 환급 대기가 됩니다.";
    if (!confirm(question)) return;
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

// Deposits: the books --------------------------------------------------------------------

async function depositsPage(path) {
  const page = Number(params().get("page") || 0);
  const [summary, queue] = await Promise.all([
    api("GET", "/admin/deposits/summary"), api("GET", `/admin/deposits/refund-queue?page=${page}&size=${PAGE_SIZE}`)]);
  const movements = (rows, label) => table([label, "입금", "환급", "차감"], rows.map((m) => h("tr", {},
    h("td", {}, m.period), h("td", {}, won(m.received)), h("td", {}, won(m.refunded)), h("td", {}, won(m.forfeited)))), "아직 기록이 없습니다.");
  const t = summary.total;
  const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Seoul" });
  const monthAgo = new Date(Date.now() - 30 * 86400000).toLocaleDateString("sv-SE", { timeZone: "Asia/Seoul" });
  const exportForm = h("form", { class: "search export", method: "get", action: "/api/admin/deposits/export.csv" },
    h("label", {}, "대여일 시작", h("input", { name: "from", type: "date", value: monthAgo })),
    h("label", {}, "대여일 끝", h("input", { name: "to", type: "date", value: today })),
    h("button", { class: "secondary", type: "submit", id: "export-csv" }, "CSV 내려받기 (Excel)"));
  frame(path, "정산",
    h("div", { class: "stats" },
      h("div", { class: "card stat" }, h("span", { class: "muted" }, "보관 중인 보증금"), h("strong", { id: "held-amount" }, won(summary.held_amount)), h("span", { class: "muted" }, `${summary.held_count}건`)),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, "누적 입금"), h("strong", {}, won(t.received))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, "누적 환급"), h("strong", {}, won(t.refunded))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, "누적 차감"), h("strong", {}, won(t.forfeited)))),
    h("p", { class: "muted" }, "보관 중 = 누적 입금 − 누적 환급 − 누적 차감"),
    h("h2", {}, "환급 대기 (오래된 순)"),
    table(["대기", "대여자", "우산", "보증금", "상태", "환급 계좌"], queue.map((w) => h("tr", { "data-rental-id": w.rental.id },
      h("td", {}, `${w.age_days}일째`), h("td", {}, link(`/admin/rentals?q=${encodeURIComponent(w.rental.deposit.reference || w.rental.user_name)}`, w.rental.user_name)),
      h("td", {}, `${w.rental.umbrella_number}번`), h("td", {}, won(w.rental.deposit.amount)),
      h("td", {}, DEPOSIT_STATES[w.rental.deposit.state]), h("td", {}, w.rental.has_bank_account ? `${w.rental.bank_name} ${w.rental.account_masked}` : "없음"))),
      "환급할 보증금이 없습니다."),
    pager(page, queue.length),
    h("h2", {}, "내보내기"), exportForm,
    h("h2", {}, "일별 (최근 31일)"), movements(summary.by_day, "날짜"),
    h("h2", {}, "월별 (최근 12개월)"), movements(summary.by_month, "월"));
}

// The operator action log ----------------------------------------------------------------

// Every action the WAS logs (was/src/http/admin), with its name in the console.
const ACTIONS = [["", "전체"], ["deposit.confirm_payment", "입금 확인"], ["deposit.refund", "환급 완료"],
  ["deposit.refund_failed", "환급 실패"], ["deposit.forfeit_damaged", "파손 차감"], ["deposit.waive", "보증금 면제"],
  ["deposits.export", "정산 내보내기"], ["rental.close", "대여 종료"], ["rental.found", "분실 우산 회수"],
  ["bank_account.read", "계좌 열람"], ["bank_account.delete", "계좌 삭제"], ["user.ban", "회원 차단"],
  ["user.lift_ban", "차단 해제"], ["user.create_admin", "관리자 계정 생성"], ["user.grant_admin", "관리자 지정"],
  ["user.revoke_admin", "관리자 해제"], ["store.create", "매장 등록"], ["store.update", "매장 수정"],
  ["store.delete", "매장 삭제"], ["store.set_activation", "매장 공개/중지"], ["store.add_image", "매장 사진 추가"],
  ["store.delete_image", "매장 사진 삭제"], ["store.set_hours", "영업 시간"], ["umbrella.create", "우산 등록"],
  ["umbrella.update", "우산 수정"], ["umbrella.retire", "우산 삭제"], ["umbrella.set_missed", "우산 분실 표시"],
  ["locker.install", "보관함 설치"], ["locker.replace", "보관함 교체"], ["locker.remove", "보관함 철거"],
  ["locker.set_counter", "보관함 카운터"], ["classification.create", "지역/태그 추가"],
  ["classification.update", "지역/태그 수정"], ["classification.delete", "지역/태그 삭제"]];
const ACTION_LABELS = Object.fromEntries(ACTIONS);
const TARGETS = [["", "전체"], ["rental", "대여"], ["user", "회원"], ["store", "매장"], ["umbrella", "우산"],
  ["locker", "보관함"], ["classification", "지역/태그"], ["blacklist", "차단 기록"], ["deposits", "정산"]];
const TARGET_LABELS = Object.fromEntries(TARGETS);

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
  select("action", "작업", ACTIONS, action),
  select("target_kind", "대상", TARGETS, q.get("target_kind") || ""),
  input("target_id", "대상 번호", { type: "number", min: 1, value: q.get("target_id") || "" }),
  input("actor_id", "운영자 번호", { type: "number", min: 1, value: q.get("actor_id") || "" }),
  h("button", { class: "secondary", type: "submit" }, "찾기"));
  frame(path, "작업 기록",
    h("p", { class: "muted" }, "운영진이 바꾼 모든 것(보증금, 대여 종료, 우산, 보관함, 매장, 회원, 권한, 차단, 계좌 열람)이 누가, 언제, 어디서 했는지와 함께 남습니다. 고치거나 지울 수 없습니다."),
    filter,
    // One card per entry: on a phone a six-column table would wrap every cell.
    entries.length ? h("ol", { class: "action-log" }, ...entries.map((a) => h("li", { class: "card action" },
      h("div", { class: "row" }, h("strong", {}, ACTION_LABELS[a.action] || a.action),
        h("span", { class: "muted" }, `${TARGET_LABELS[a.target_kind] || a.target_kind}${a.target_id ? ` #${a.target_id}` : ""}`)),
      h("div", { class: "muted" }, `${dateTime(a.at)} · ${a.actor_email ? `${a.actor_name} (${a.actor_email})` : a.actor_name} · ${a.address || "-"}`),
      Object.keys(a.details).length ? h("code", { class: "details" }, JSON.stringify(a.details)) : "")))
      : h("p", { class: "muted" }, "기록이 없습니다."),
    pager(page, entries.length));
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
  [/^\/admin\/deposits$/, depositsPage],
  [/^\/admin\/actions$/, actionsPage],
  [/^\/admin\/account-views$/, (path) => actionsPage(path, "bank_account.read")],
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
