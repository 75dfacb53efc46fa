// Rentals (search, bulk confirmation, one rental with its deposit operations) and the
// renters' umbrella reports.

import { t } from "/i18n.js";
import { api, date, dateTime, go, h, link } from "/ui.js";
import {
  act, button, formBox, frame, notice, number, PAGE_SIZE, pager, params, select, table, textarea, withQuery, won,
} from "/console-common.js";

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
export const depositState = (s) => (DEPOSIT_STATES[s] ? t(...DEPOSIT_STATES[s]) : s);
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

export async function rentals(path) {
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

export async function rentalPage(path, id) {
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

export async function reportsPage(path) {
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
