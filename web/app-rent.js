// Renting the umbrella a QR code names, and returning at a store.

import { lang, t } from "/i18n.js";
import { api, dateTime, form, h, link, loadServiceInfo, show } from "/ui.js";
import { completeProfile } from "/app-account.js";
import { notFound } from "/app-pages.js";
import { me, needLogin, saveRental } from "/app-session.js";

const won = (n) => t(`${n.toLocaleString("ko-KR")}원`, `₩${n.toLocaleString("en-US")}`);
export const depositLabel = (d) => (lang() === "en" && d.label_en ? d.label_en : d.label);

export async function rent(umbrellaId) {
  if (!me) return needLogin();
  if (!me.ready_to_rent) return completeProfile(() => rent(umbrellaId));
  const code = new URLSearchParams(location.search).get("code");
  const q = code ? `?code=${encodeURIComponent(code)}` : "";
  const [f, info] = await Promise.all([api("GET", `/umbrellas/${umbrellaId}/rent-form${q}`), loadServiceInfo()]);
  const key = crypto.randomUUID();
  const sendTo = () => (info.deposit_account ? t(`${info.deposit_account}(으)로 보내 주세요.`, `Please send it to ${info.deposit_account}.`)
    : t("입금 계좌는 운영진이 문자로 안내합니다.", "We'll text you the account to send it to."));
  show(h("h1", {}, t("우산 대여", "Rent an umbrella")),
    h("p", {}, `${f.region_name} · ${f.store_name} · ${t(`우산 ${f.umbrella_number}번`, `Umbrella No. ${f.umbrella_number}`)}`),
    h("div", { class: "card", id: "deposit" },
      h("strong", {}, t(`보증금 ${won(info.deposit_amount)}`, `Deposit ${won(info.deposit_amount)}`)),
      h("p", {}, sendTo()),
      h("p", { class: "muted" }, t(`대여 기간은 ${info.rental_days}일입니다. 반납하면 확인 후 보증금을 돌려드립니다.`,
        `You may keep it ${info.rental_days} days. After the return we refund the deposit.`))),
    f.rentable
      ? form([["condition_report", t("우산 상태 (선택, 400자 이내)", "The umbrella's condition (optional, up to 400 characters)"), "textarea"]], t("대여하기", "Rent"), async (v) => {
          const r = await api("POST", "/rentals", { umbrella_id: f.umbrella_id, store_id: f.store_id, condition_report: v.condition_report || null, code }, { "idempotency-key": key });
          saveRental(r.rental);
          show(h("h1", {}, t("대여 완료", "Rented")),
            h("p", { class: "notice", id: "rented" }, t(`우산 ${r.rental.umbrella_number}번을 빌렸습니다. 반납 기한: ${dateTime(r.rental.due_at)}`,
              `You rented umbrella No. ${r.rental.umbrella_number}. Return by ${dateTime(r.rental.due_at)}.`)),
            h("div", { class: "card", id: "deposit-reference" },
              h("strong", {}, t(`보증금 ${won(r.rental.deposit.amount)}`, `Deposit ${won(r.rental.deposit.amount)}`)),
              h("p", {}, sendTo()),
              r.rental.deposit.reference ? h("p", {}, t("입금자명을 ", "Write "), h("strong", { class: "reference" }, r.rental.deposit.reference),
                t("(으)로 적어 주세요. 입금을 빨리 확인할 수 있습니다.", " as the sender's name, so we find your transfer quickly.")) : ""),
            ...(r.locker_password ? [h("p", {}, t("보관함 비밀번호", "Locker password")), h("p", { class: "password", id: "locker-password" }, r.locker_password)] : []),
            h("p", {}, link("/me", t("내 대여 현황 보기", "See my rental"))));
        })
      : h("p", { class: "error" }, t("지금은 대여할 수 없는 우산입니다.", "This umbrella can't be rented now.")));
}

export async function returnPage(storeId) {
  if (!/^\d+$/.test(storeId || "")) return notFound();
  if (!me) return needLogin();
  const params = new URLSearchParams(location.search);
  // Our stickers carry `code`; the original service's, at a store with a locker, a salt
  // and a signature.
  const proof = Object.fromEntries(["code", "salt", "signature"].filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  const q = Object.keys(proof).length ? `?${new URLSearchParams(proof)}` : "";
  const f = await api("GET", `/stores/${storeId}/return-form${q}`);
  const key = crypto.randomUUID();
  // Just rented here and the locker will not open: the store's code proves the renter
  // stands at it, so this is where the password can be asked for again (once).
  const justRentedHere = f.has_locker && proof.code && f.rental.rent_store.id === f.store_id
    && Date.now() - Date.parse(f.rental.rented_at) < 30 * 60 * 1000;
  // With a saved refund account, returning is one tap: the account fields are there
  // only to use another one.
  const bankFields = [["bank_name", t("환불 받을 은행", "Bank for the refund"), "text", { required: !me.bank, autocomplete: "off" }],
    ["account_number", t("계좌번호", "Account number"), "text", { required: !me.bank, autocomplete: "off", inputmode: "numeric" }]];
  const returnForm = form([...bankFields, ["improvement_report", t("개선 의견 (선택)", "Suggestions (optional)"), "textarea"]], t("반납하기", "Return"), async (v) => {
    const body = { store_id: f.store_id, improvement_report: v.improvement_report || null, ...proof };
    if (v.bank_name && v.account_number) Object.assign(body, { bank_name: v.bank_name, account_number: v.account_number });
    const done = await api("POST", "/rentals/current/return", body, { "idempotency-key": key });
    saveRental(null);
    show(h("h1", {}, t("반납 완료", "Returned")), h("p", { class: "notice", id: "returned" }, t(`감사합니다. 보증금: ${done.deposit.label}.`, `Thank you. Deposit: ${depositLabel(done.deposit)}.`)),
      h("p", {}, link("/me", t("내 정보", "My page"))));
  });
  if (me.bank) {
    const fields = [...returnForm.querySelectorAll(".field")].slice(0, 2);
    const other = h("details", { class: "other-account" }, h("summary", {}, t("다른 계좌로 받기", "Use another account")), ...fields);
    returnForm.prepend(h("p", { id: "saved-account" }, t(`보증금은 저장된 계좌(${me.bank.bank_name} ${me.bank.account_number})로 돌려드립니다.`,
      `The deposit goes back to your saved account (${me.bank.bank_name} ${me.bank.account_number}).`)), other);
  }
  show(h("h1", {}, t("우산 반납", "Return the umbrella")),
    ...(justRentedHere ? [h("div", { class: "card", id: "resync" },
      h("strong", {}, t("보관함이 열리지 않나요?", "The locker won't open?")),
      h("p", { class: "muted" }, t("보관함 화면에 보이는 숫자를 입력하면 새 비밀번호를 알려드립니다. 대여 한 번에 한 번만 받을 수 있습니다.",
        "Type the number on the locker's screen for a new password. Once per rental.")),
      form([["counter", t("보관함 화면의 숫자", "The number on the locker"), "number", { required: true, min: 0 }]], t("비밀번호 다시 받기", "Get a new password"), async (v) => {
        const r = await api("POST", "/rentals/current/locker-password", { counter: Number(v.counter), code: proof.code });
        document.getElementById("resync-password").textContent = r.locker_password;
      }),
      h("p", { class: "password", id: "resync-password" }))] : []),
    h("p", {}, t(`${f.store_name}에 우산 ${f.rental.umbrella_number}번을 반납합니다.`, `Returning umbrella No. ${f.rental.umbrella_number} at ${f.store_name}.`)),
    returnForm);
}
