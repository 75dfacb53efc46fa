// Policies and help, each section in both languages shown in the chosen one, and the
// offline page.

import { t } from "/i18n.js";
import { dateTime, errorBox, h, link, show, supportLine } from "/ui.js";
import { savedRental } from "/app-session.js";

function page(title, ...sections) {
  show(h("h1", {}, t(...title)), ...sections.map(([heading, ...paragraphs]) =>
    h("section", {}, h("h2", {}, t(...heading)), ...paragraphs.map((p) => (p instanceof Node ? p : h("p", {}, t(...p)))))));
}

export function guide() {
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

export function terms() {
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

export function privacy() {
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
export function offlinePage(e) {
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

export function notFound() {
  show(h("h1", {}, t("페이지를 찾을 수 없습니다", "Page not found")), h("p", {}, link("/", t("처음으로", "Home"))));
}
