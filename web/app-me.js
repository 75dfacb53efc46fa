// My page: the current rental (and reporting it broken or lost), the profile, the
// refund account, reminders, and leaving.

import { t } from "/i18n.js";
import { api, date, dateTime, errorBox, form, go, h, show } from "/ui.js";
import { phoneHint, withReauth } from "/app-account.js";
import { depositLabel } from "/app-rent.js";
import { me, needLogin, refreshMe, renderChrome, saveRental, setMe } from "/app-session.js";
import { daysLeftText, elapsedText } from "/app-stores.js";

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

export async function mePage() {
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
      async (v) => { setMe(await withReauth(() => api("PUT", "/me/bank-account", v))); mePage(); }),
    h("h2", {}, t("프로필", "Profile")),
    h("section", { id: "profile" }, form([["name", t("이름", "Name"), "text", { required: true, maxlength: 50, value: me.name || "", autocomplete: "name" }],
      ["phone", t("휴대폰 번호", "Mobile phone"), "tel", { required: true, value: me.phone || "", autocomplete: "tel", placeholder: "010-1234-5678" }]],
    t("프로필 저장", "Save profile"), async (v) => {
      setMe(await api("PUT", "/me/profile", { name: v.name, phone: v.phone, agree_terms: true, agree_privacy: true }));
      renderChrome();
      say("profile-saved", t("프로필을 저장했습니다.", "Profile saved."));
    }), h("p", { class: "muted" }, phoneHint()), statusLine("profile-saved")),
    h("h2", {}, t("알림", "Notifications")),
    h("section", { id: "reminders" },
      h("div", { class: "check" }, h("input", { type: "checkbox", id: "reminders-toggle", checked: me.reminders !== false, onchange: async (e) => {
        const box = e.target;
        box.disabled = true;
        try {
          setMe(await api("PUT", "/me/preferences", { reminders: box.checked }));
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
