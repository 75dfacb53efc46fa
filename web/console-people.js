// Users and their roles, deposits to confirm or refund, and the action log.

import { t } from "/i18n.js";
import { api, date, dateTime, go, h, link } from "/ui.js";
import {
  act, button, formBox, frame, input, me, notice, PAGE_SIZE, pager, params, ROLES, select, seoulDay, table, withQuery, won,
} from "/console-common.js";
import { depositState } from "/console-rentals.js";

const USER_STATUS = { active: ["이용 중", "Active"], left: ["탈퇴", "Left"], banned: ["이용 정지", "Banned"] };

export async function usersPage(path) {
  const q = params();
  const page = Number(q.get("page") || 0);
  const search = q.get("q") || "";
  const query = new URLSearchParams({ page, size: PAGE_SIZE });
  if (search) query.set("q", search);
  const [users, blacklist, stores] = await Promise.all([api("GET", `/admin/users?${query}`), api("GET", "/admin/blacklist?size=50"),
    api("GET", "/admin/stores?size=100")]);
  const box = h("div");
  const reload = () => usersPage(path);
  frame(path, t("회원과 권한", "Users and roles"),
    h("p", { class: "muted" }, t("역할: 이용자, 매장 직원(담당 매장의 우산·직원 반납·신고), 정산 담당(보증금·대여·통계, 권한과 차단은 제외), 관리자(전부).",
      "Roles: renter; store staff (their stores' umbrellas, staff returns, reports); deposit clerk (deposits, rentals, statistics; not rights or bans); admin (everything).")),
    h("form", { class: "search", role: "search", onsubmit: (e) => {
      e.preventDefault();
      go(withQuery({ q: new FormData(e.target).get("q").trim(), page: null }));
    } }, h("label", {}, t("검색", "Search"), h("input", { name: "q", type: "search", value: search, placeholder: t("이름, 이메일, 휴대폰 번호", "Name, e-mail, phone") })),
    h("button", { class: "secondary", type: "submit" }, t("찾기", "Find"))),
    box,
    users.length ? h("div", { id: "user-list" }, ...users.map((u) => userCard(u, stores, reload)))
      : h("p", { class: "muted" }, t("해당하는 회원이 없습니다.", "No users match.")),
    pager(page, users.length),
    h("h2", {}, t("차단 목록", "Blocked accounts")),
    table([t("계정", "Account"), t("차단일", "Blocked"), ""], blacklist.map((b) => h("tr", {}, h("td", {}, `${b.provider === "kakao" ? t("카카오", "Kakao") : t("이메일", "E-mail")} ${b.subject}`),
      h("td", {}, date(b.blocked_at)),
      h("td", {}, button(t("차단 해제", "Lift"), "", (e) => act(e.currentTarget, box, t("차단을 풀까요? 같은 계정으로 다시 가입할 수 있게 됩니다.", "Lift the block? The account can sign up again."),
        () => api("DELETE", `/admin/blacklist/${b.id}`), reload))))), t("차단된 계정이 없습니다.", "No blocked accounts.")));
}

function userCard(u, stores, reload) {
  const box = h("div", { class: "user-message", "aria-live": "polite" });
  const userRole = u.role || (u.is_admin ? "admin" : "renter");
  const storeNames = new Map(stores.map((s) => [s.id, s.name]));
  const mine = new Set(u.store_ids || []);
  const picker = h("fieldset", { class: "store-picker" }, h("legend", {}, t("담당 매장 (직원)", "Stores served (staff)")),
    ...(stores.length ? stores.map((s) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "store_ids", value: s.id, checked: mine.has(s.id) }), s.name))
      : [h("p", { class: "muted" }, t("매장이 없습니다.", "No stores."))]));
  picker.hidden = userRole !== "staff";
  const self = me && u.id === me.id;
  const roleForm = formBox(`role-${u.id}`, [
    select("role", t(`${u.name}님의 역할`, `${u.name}'s role`), Object.entries(ROLES).map(([k, label]) => [k, label()]), userRole,
      { onchange: (e) => { picker.hidden = e.target.value !== "staff"; } }),
    picker,
  ], t("역할 저장", "Save the role"), async (data) => {
    const next = data.get("role");
    const storeIds = data.getAll("store_ids").map(Number);
    if (next === "staff" && !storeIds.length) throw new Error(t("직원은 담당 매장을 하나 이상 골라야 합니다.", "Pick at least one store for staff."));
    if ((next === "admin") !== (userRole === "admin")
      && !confirm(next === "admin" ? t(`${u.name}님을 관리자로 지정할까요? 모든 권한을 갖습니다.`, `Make ${u.name} an admin, with every right?`)
        : t(`${u.name}님의 관리자 권한을 거둘까요?`, `Take ${u.name}'s admin rights away?`))) return;
    await api("PATCH", `/admin/users/${u.id}`, { role: next, store_ids: next === "staff" ? storeIds : [] });
    await reload();
    document.querySelector(`[data-user-id="${u.id}"] .user-message`)
      ?.replaceChildren(notice(t(`${u.name}님의 역할을 ${ROLES[next]()}(으)로 저장했습니다.`, `${u.name} is now: ${ROLES[next]()}.`), { class: "notice role-saved" }));
  });
  roleForm.classList.add("role-form", "compact");
  const status = USER_STATUS[u.status] ? t(...USER_STATUS[u.status]) : u.status;
  return h("article", { class: "card user", "data-user-id": u.id },
    h("div", { class: "row" }, h("strong", {}, u.name), h("span", {},
      h("span", { class: `badge role role-${userRole}` }, (ROLES[userRole] || ROLES.renter)()),
      u.status !== "active" ? h("span", { class: "badge bad" }, status) : "")),
    h("div", { class: "muted" }, [u.email || (u.kakao_id ? t("카카오", "Kakao") : "-"), u.phone || "-", t(`${date(u.created_at)} 가입`, `joined ${date(u.created_at)}`)].join(" · ")),
    userRole === "staff" && mine.size ? h("div", { class: "muted staff-stores" }, t("담당: ", "Serves: "),
      ...[...mine].flatMap((id, i) => [i ? ", " : "", link(`/admin/stores/${id}`, storeNames.get(id) || `#${id}`)])) : "",
    u.status === "active" && !self ? [roleForm,
      h("div", { class: "actions" }, button(t("이용 정지", "Ban"), "danger ban-user", (e) => act(e.currentTarget, box,
        t(`${u.name}님의 이용을 정지할까요? 개인정보가 지워지고 다시 가입할 수 없습니다.`, `Ban ${u.name}? Their personal data is erased and they cannot sign up again.`),
        () => api("POST", `/admin/users/${u.id}/ban`), reload)))] : "",
    box);
}

// Deposits: the books --------------------------------------------------------------------

export async function depositsPage(path) {
  const page = Number(params().get("page") || 0);
  const [summary, queue] = await Promise.all([
    api("GET", "/admin/deposits/summary"), api("GET", `/admin/deposits/refund-queue?page=${page}&size=${PAGE_SIZE}`)]);
  const movements = (rows, label) => table([label, t("입금", "Received"), t("환급", "Refunded"), t("차감", "Kept")], rows.map((m) => h("tr", {},
    h("td", {}, m.period), h("td", {}, won(m.received)), h("td", {}, won(m.refunded)), h("td", {}, won(m.forfeited)))), t("아직 기록이 없습니다.", "Nothing recorded yet."));
  const total = summary.total;
  const exportForm = h("form", { class: "search export", method: "get", action: "/api/admin/deposits/export.csv" },
    h("label", {}, t("대여일 시작", "Rented from"), h("input", { name: "from", type: "date", value: seoulDay(-30) })),
    h("label", {}, t("대여일 끝", "Rented until"), h("input", { name: "to", type: "date", value: seoulDay() })),
    h("button", { class: "secondary", type: "submit", id: "export-csv" }, t("CSV 내려받기 (Excel)", "Download CSV (Excel)")));
  frame(path, t("정산", "Deposits"),
    h("div", { class: "stats" },
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("보관 중인 보증금", "Deposits held")), h("strong", { id: "held-amount" }, won(summary.held_amount)),
        h("span", { class: "muted" }, t(`${summary.held_count}건`, String(summary.held_count)))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("누적 입금", "Received so far")), h("strong", {}, won(total.received))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("누적 환급", "Refunded so far")), h("strong", {}, won(total.refunded))),
      h("div", { class: "card stat" }, h("span", { class: "muted" }, t("누적 차감", "Kept so far")), h("strong", {}, won(total.forfeited)))),
    h("p", { class: "muted" }, t("보관 중 = 누적 입금 − 누적 환급 − 누적 차감", "Held = received − refunded − kept")),
    h("h2", {}, t("환급 대기 (오래된 순)", "Refunds due (oldest first)")),
    table([t("대기", "Waiting"), t("대여자", "Renter"), t("우산", "Umbrella"), t("보증금", "Deposit"), t("상태", "State"), t("환급 계좌", "Refund account")],
      queue.map((w) => h("tr", { "data-rental-id": w.rental.id },
        h("td", {}, t(`${w.age_days}일째`, `${w.age_days} days`)), h("td", {}, link(`/admin/rentals/${w.rental.id}`, w.rental.user_name)),
        h("td", {}, t(`${w.rental.umbrella_number}번`, `No. ${w.rental.umbrella_number}`)), h("td", {}, won(w.rental.deposit.amount)),
        h("td", {}, depositState(w.rental.deposit.state)),
        h("td", {}, w.rental.has_bank_account ? `${w.rental.bank_name} ${w.rental.account_masked}` : t("없음", "None")))),
      t("환급할 보증금이 없습니다.", "No refunds due.")),
    pager(page, queue.length),
    h("h2", {}, t("내보내기", "Export")), exportForm,
    h("h2", {}, t("일별 (최근 31일)", "Per day (last 31 days)")), movements(summary.by_day, t("날짜", "Day")),
    h("h2", {}, t("월별 (최근 12개월)", "Per month (last 12 months)")), movements(summary.by_month, t("월", "Month")));
}

// The operator action log ----------------------------------------------------------------

// Every action the WAS logs (was/src/http/admin), with its name in the console.
const ACTIONS = [["", "전체", "All"], ["deposit.confirm_payment", "입금 확인", "Payment confirmed"], ["deposit.refund", "환급 완료", "Refunded"],
  ["deposit.refund_failed", "환급 실패", "Refund failed"], ["deposit.forfeit_damaged", "파손 차감", "Kept (damaged)"], ["deposit.waive", "보증금 면제", "Waived"],
  ["deposits.export", "정산 내보내기", "Deposits exported"], ["rental.close", "대여 종료", "Rental closed"], ["rental.found", "분실 우산 회수", "Lost umbrella found"],
  ["rental.staff_return", "직원 반납", "Staff return"], ["report.resolve", "신고 처리", "Report resolved"],
  ["bank_account.read", "계좌 열람", "Account read"], ["bank_account.delete", "계좌 삭제", "Account deleted"], ["user.ban", "회원 차단", "User banned"],
  ["user.lift_ban", "차단 해제", "Ban lifted"], ["user.create_admin", "관리자 계정 생성", "Admin created"], ["user.grant_admin", "관리자 지정", "Admin granted"],
  ["user.revoke_admin", "관리자 해제", "Admin revoked"], ["user.set_role", "역할 변경", "Role changed"], ["store.create", "매장 등록", "Store created"],
  ["store.update", "매장 수정", "Store updated"], ["store.delete", "매장 삭제", "Store deleted"], ["store.set_activation", "매장 공개/중지", "Store opened/stopped"],
  ["store.add_image", "매장 사진 추가", "Photo added"], ["store.delete_image", "매장 사진 삭제", "Photo deleted"], ["store.set_hours", "영업 시간", "Hours set"],
  ["store.add_closure", "휴무일 추가", "Closure added"], ["store.delete_closure", "휴무일 삭제", "Closure deleted"],
  ["store.set_stock_thresholds", "재고 기준", "Stock marks set"], ["store.send_monthly_report", "월간 보고서 발송", "Monthly report sent"],
  ["umbrella.create", "우산 등록", "Umbrella added"], ["umbrella.update", "우산 수정", "Umbrella updated"], ["umbrella.retire", "우산 삭제", "Umbrella retired"],
  ["umbrella.set_missed", "우산 분실 표시", "Umbrella marked missing"], ["locker.install", "보관함 설치", "Locker installed"],
  ["locker.replace", "보관함 교체", "Locker replaced"], ["locker.remove", "보관함 철거", "Locker removed"], ["locker.set_counter", "보관함 카운터", "Locker counter set"],
  ["classification.create", "지역/태그 추가", "Region/tag added"], ["classification.update", "지역/태그 수정", "Region/tag updated"],
  ["classification.delete", "지역/태그 삭제", "Region/tag deleted"]];
const TARGETS = [["", "전체", "All"], ["rental", "대여", "Rental"], ["user", "회원", "User"], ["store", "매장", "Store"], ["umbrella", "우산", "Umbrella"],
  ["locker", "보관함", "Locker"], ["classification", "지역/태그", "Region/tag"], ["blacklist", "차단 기록", "Block"], ["deposits", "정산", "Deposits"],
  ["report", "신고", "Report"]];
const labelOf = (list, key) => {
  const found = list.find(([k]) => k === key);
  return found ? t(found[1], found[2]) : key;
};
/// Where an action's target is in the console, when it has a page.
const targetHref = (kind, id) => ({ rental: `/admin/rentals/${id}`, store: `/admin/stores/${id}` })[kind];

export async function actionsPage(path, fixedAction) {
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
  select("action", t("작업", "Action"), ACTIONS.map(([k, ko, en]) => [k, t(ko, en)]), action),
  select("target_kind", t("대상", "Target"), TARGETS.map(([k, ko, en]) => [k, t(ko, en)]), q.get("target_kind") || ""),
  input("target_id", t("대상 번호", "Target id"), { type: "number", min: 1, value: q.get("target_id") || "" }),
  input("actor_id", t("운영자 번호", "Operator id"), { type: "number", min: 1, value: q.get("actor_id") || "" }),
  h("button", { class: "secondary", type: "submit" }, t("찾기", "Find")));
  frame(path, t("작업 기록", "Action log"),
    h("p", { class: "muted" }, t("운영진이 바꾼 모든 것(보증금, 대여 종료, 우산, 보관함, 매장, 회원, 권한, 차단, 계좌 열람)이 누가, 언제, 어디서 했는지와 함께 남습니다. 고치거나 지울 수 없습니다.",
      "Everything operators change (deposits, closings, umbrellas, lockers, stores, users, rights, bans, account reads) is kept with who, when and from where. It cannot be edited or deleted.")),
    filter,
    // One card per entry: on a phone a six-column table would wrap every cell.
    entries.length ? h("ol", { class: "action-log" }, ...entries.map((a) => {
      const target = `${labelOf(TARGETS, a.target_kind)}${a.target_id ? ` #${a.target_id}` : ""}`;
      const href = a.target_id && targetHref(a.target_kind, a.target_id);
      return h("li", { class: "card action" },
        h("div", { class: "row" }, h("strong", {}, labelOf(ACTIONS, a.action)),
          h("span", { class: "muted" }, href ? link(href, target) : target)),
        h("div", { class: "muted" }, `${dateTime(a.at)} · ${a.actor_email ? `${a.actor_name} (${a.actor_email})` : a.actor_name} · ${a.address || "-"}`),
        Object.keys(a.details || {}).length ? h("code", { class: "details" }, JSON.stringify(a.details)) : "");
    }))
      : h("p", { class: "muted" }, t("기록이 없습니다.", "Nothing logged.")),
    pager(page, entries.length));
}

// Router ------------------------------------------------------------------------------
