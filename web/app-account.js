// Logging in and signing up (with the umbrella or store a QR code named kept through
// both), the mailed links (verify, reset), and asking the password again for a change
// that needs it.

import { t } from "/i18n.js";
import { api, errorBox, form, go, h, link, show, supportLine } from "/ui.js";
import { contextBox, me, refreshMe, setMe } from "/app-session.js";

// Why a Kakao login came back to this page (`/login?error=…`, set by the WAS).
const loginErrors = {
  kakao_login_cancelled: ["카카오 로그인이 취소되었습니다. 다시 시도해 주세요.", "The Kakao login was cancelled. Please try again."],
  kakao_code_missing: ["카카오 로그인이 완료되지 않았습니다. 다시 시도해 주세요.", "The Kakao login did not finish. Please try again."],
  kakao_state_mismatch: ["로그인 정보가 맞지 않습니다. 처음부터 다시 시도해 주세요.", "The login did not match. Please start again."],
  banned: ["이용이 제한된 계정입니다. 운영진에게 문의해 주세요.", "This account is suspended. Please contact us."],
  too_many_requests: ["요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.", "Too many requests. Please try again shortly."],
};

// Only a path of this site: `next` never sends anyone elsewhere.
const safeNext = (value) => (value && value.startsWith("/") && !value.startsWith("//") ? value : "/");

export function login() {
  const params = new URLSearchParams(location.search);
  const next = safeNext(params.get("next"));
  const error = params.get("error");
  const resumed = Boolean(sessionStorage.getItem("upbrella.resume"));
  const failed = error && (loginErrors[error] || ["카카오 로그인에 실패했습니다. 잠시 후 다시 시도하거나 이메일로 로그인해 주세요.",
    "The Kakao login failed. Try again shortly or log in with e-mail."]);
  show(h("h1", {}, t("로그인", "Log in")),
    contextBox(next),
    ...(resumed ? [h("p", { class: "notice", id: "session-lapsed", role: "status" },
      t("로그인이 끊겼습니다. 다시 로그인하면 입력하신 내용이 그대로 남아 있습니다.", "Your session ended. Log in again and what you typed will still be there."))] : []),
    ...(failed ? [h("div", { class: "error-box" }, h("p", { class: "error", role: "alert", id: "login-error" }, t(failed[0], failed[1])), supportLine())] : []),
    h("a", { class: "kakao-login", href: `/api/auth/kakao?next=${encodeURIComponent(next)}` }, t("카카오로 1초 만에 로그인", "Log in with Kakao")),
    h("p", { class: "or muted" }, t("또는 이메일로 로그인", "or log in with e-mail")),
    form([["email", t("이메일", "E-mail"), "email", { required: true, autocomplete: "email" }],
      ["password", t("비밀번호", "Password"), "password", { required: true, autocomplete: "current-password" }]],
    t("로그인", "Log in"), async (v) => { await api("POST", "/auth/login", v); await refreshMe(); go(next); }),
    h("p", {}, link("/forgot-password", t("비밀번호를 잊으셨나요?", "Forgot your password?"))),
    h("p", {}, t("처음이신가요? ", "New here? "), link(`/signup?next=${encodeURIComponent(next)}`, t("회원가입", "Sign up"))));
}

// The token of a mailed link travels after `#`, so it never reaches a server log.
const linkToken = () => new URLSearchParams(location.hash.slice(1)).get("t") || "";

export async function verifyEmail() {
  const title = t("이메일 주소 확인", "Verify your e-mail");
  show(h("h1", {}, title), h("p", { class: "muted" }, t("확인하고 있습니다…", "Checking…")));
  try {
    await api("POST", "/auth/email/confirm", { token: linkToken() });
    history.replaceState(null, "", "/verify-email");
    if (me) await refreshMe();
    show(h("h1", {}, title),
      h("p", { class: "notice", id: "email-verified" }, t("이메일 주소를 확인했습니다. 고맙습니다.", "Your e-mail address is verified. Thank you.")),
      h("p", {}, link(me ? "/me" : "/login", me ? t("내 정보로 가기", "Go to my page") : t("로그인하기", "Log in"))));
  } catch (e) {
    show(h("h1", {}, title), errorBox(e),
      h("p", {}, me ? t("내 정보 화면에서 확인 메일을 다시 받을 수 있습니다. ", "You can ask for a new mail on your page. ") : "",
        link(me ? "/me" : "/login", me ? t("내 정보", "My page") : t("로그인", "Log in"))));
  }
}

export function forgotPassword() {
  show(h("h1", {}, t("비밀번호 재설정", "Reset your password")),
    h("p", { class: "muted" }, t("가입한 이메일 주소를 입력하시면 새 비밀번호를 정할 수 있는 링크를 보내 드립니다. 카카오로 가입하셨다면 카카오로 로그인해 주세요.",
      "Enter the e-mail you signed up with and we'll send a link to choose a new password. If you signed up with Kakao, log in with Kakao.")),
    form([["email", t("이메일", "E-mail"), "email", { required: true, autocomplete: "email" }]], t("재설정 링크 받기", "Send the link"), async (v) => {
      await api("POST", "/auth/password-reset", v);
      show(h("h1", {}, t("메일을 확인해 주세요", "Check your mail")),
        h("p", { class: "notice", id: "reset-sent" }, t(`${v.email}(으)로 가입된 계정이 있다면 재설정 링크를 보냈습니다. 링크는 30분 동안 한 번 쓸 수 있습니다.`,
          `If ${v.email} has an account, we sent it a reset link. It works once, for 30 minutes.`)),
        h("p", { class: "muted" }, t("메일이 오지 않으면 스팸함을 확인하거나 잠시 후 다시 요청해 주세요.", "No mail? Check the spam folder or ask again in a moment.")),
        h("p", {}, link("/login", t("로그인으로 돌아가기", "Back to log in"))));
    }));
}

export function resetPassword() {
  const token = linkToken();
  show(h("h1", {}, t("새 비밀번호 정하기", "Choose a new password")),
    h("p", { class: "muted" }, t("새 비밀번호를 정하면 모든 기기에서 로그아웃됩니다.", "Choosing a new password logs you out everywhere.")),
    form([["password", t("새 비밀번호 (8자 이상)", "New password (8+ characters)"), "password", { required: true, minlength: 8, autocomplete: "new-password" }],
      ["confirm", t("새 비밀번호 확인", "New password again"), "password", { required: true, minlength: 8, autocomplete: "new-password" }]],
    t("비밀번호 바꾸기", "Change password"), async (v) => {
      if (v.password !== v.confirm) throw new Error(t("두 비밀번호가 같지 않습니다.", "The passwords differ."));
      await api("POST", "/auth/password-reset/confirm", { token, password: v.password });
      history.replaceState(null, "", "/reset-password");
      await refreshMe();
      show(h("h1", {}, t("비밀번호를 바꿨습니다", "Password changed")),
        h("p", { class: "notice", id: "password-reset" }, t("새 비밀번호로 로그인해 주세요.", "Please log in with the new password.")),
        h("p", {}, link("/login?next=/me", t("로그인하기", "Log in"))));
    }));
}

// Changes that redirect refunds or the account need the password given again (or a
// fresh Kakao login): asked here, then the change is sent again.
export async function withReauth(action) {
  try {
    return await action();
  } catch (e) {
    if (e.code !== "reauth_required") throw e;
    if (!me.has_password) {
      location.href = `/api/auth/kakao?next=${encodeURIComponent(location.pathname)}`;
      return new Promise(() => {});
    }
    if (!(await askPassword())) throw e;
    return await action();
  }
}

function askPassword() {
  return new Promise((resolve) => {
    const dialog = h("dialog", { id: "reauth", "aria-labelledby": "reauth-title" });
    const close = (ok) => { dialog.close(); dialog.remove(); resolve(ok); };
    dialog.append(h("h2", { id: "reauth-title" }, t("비밀번호를 다시 입력해 주세요", "Please enter your password again")),
      h("p", { class: "muted" }, t("환불 계좌나 이메일을 바꾸기 전에 본인인지 확인합니다.", "We check it's you before the refund account or e-mail changes.")),
      form([["password", t("비밀번호", "Password"), "password", { required: true, autocomplete: "current-password" }]], t("확인", "Confirm"), async (v) => {
        await api("POST", "/auth/reauth", v);
        close(true);
      }),
      h("button", { type: "button", class: "secondary", onclick: () => close(false) }, t("취소", "Cancel")));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export const phoneHint = () => t("010-1234-5678 또는 국제번호 +44 7911 123456", "010-1234-5678, or international +44 7911 123456");
const agreements = () => [
  ["agree_terms", t("이용약관에 동의합니다 (필수)", "I agree to the terms (required)"), "checkbox", { required: true }],
  ["agree_privacy", t("개인정보 수집·이용에 동의합니다 (필수)", "I agree to the privacy policy (required)"), "checkbox", { required: true }]];
const policyLinks = () => h("p", { class: "muted" }, link("/terms", t("이용약관", "Terms")), " · ", link("/privacy", t("개인정보 처리방침", "Privacy")),
  " · ", link("/guide", t("이용안내", "Guide")));

export function signup() {
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  show(h("h1", {}, t("회원가입", "Sign up")),
    contextBox(next),
    h("a", { class: "kakao-login", href: `/api/auth/kakao?next=${encodeURIComponent(next)}` }, t("카카오로 시작하기", "Start with Kakao")),
    h("p", { class: "or muted" }, t("또는 이메일로 가입", "or sign up with e-mail")),
    form([["name", t("이름", "Name"), "text", { required: true, autocomplete: "name" }],
      ["email", t("이메일", "E-mail"), "email", { required: true, autocomplete: "email" }],
      ["password", t("비밀번호 (8자 이상)", "Password (8+ characters)"), "password", { required: true, minlength: 8, autocomplete: "new-password" }],
      ["phone", t("휴대폰 번호", "Mobile phone"), "tel", { required: true, placeholder: "010-1234-5678", autocomplete: "tel", title: phoneHint() }],
      ...agreements()],
    t("가입하기", "Sign up"), async (v) => {
      await api("POST", "/auth/signup", { ...v, agree_terms: v.agree_terms === "on", agree_privacy: v.agree_privacy === "on" });
      await refreshMe();
      go(next);
    }),
    h("p", { class: "muted" }, phoneHint()),
    policyLinks());
}

// Kakao sign-ups have no phone number and have agreed to nothing yet: asked once, before
// the first rent.
export function completeProfile(then) {
  show(h("h1", {}, t("대여 전에 확인해 주세요", "Before you rent")),
    h("p", {}, t("우산을 빌리려면 연락받을 휴대폰 번호와 약관 동의가 필요합니다.", "Renting needs a phone number we can reach and your agreement to the terms.")),
    form([["phone", t("휴대폰 번호", "Mobile phone"), "tel", { required: true, placeholder: "010-1234-5678", value: me.phone || "", autocomplete: "tel" }],
      ...agreements()],
    t("저장하고 계속하기", "Save and continue"), async (v) => {
      setMe(await api("PUT", "/me/profile", { phone: v.phone, agree_terms: v.agree_terms === "on", agree_privacy: v.agree_privacy === "on" }));
      await then();
    }),
    h("p", { class: "muted" }, phoneHint()),
    policyLinks());
}
