// Language: Korean first, English beside it. The choice persists in localStorage and
// sets <html lang>. Strings are written in place as pairs: t("대여소", "Stores").

const KEY = "upbrella.lang";

export function lang() {
  const saved = localStorage.getItem(KEY);
  return saved === "en" || saved === "ko" ? saved : "ko";
}

export function setLang(value) {
  localStorage.setItem(KEY, value === "en" ? "en" : "ko");
  document.documentElement.lang = lang();
}

document.documentElement.lang = lang();

/** The string in the chosen language. */
export const t = (ko, en) => (lang() === "en" ? en : ko);

// The API's stable error codes, translated here (the server's own message is Korean first
// with English beside; the page shows the chosen language only).
const CODES = {
  // code: ["한국어", "English"]. Codes not listed show the server's own message.
  login_required: ["로그인이 필요합니다.", "Please log in."],
  bad_credentials: ["이메일 또는 비밀번호가 맞지 않습니다.", "Wrong e-mail or password."],
  reauth_required: ["비밀번호를 다시 입력해 주세요.", "Please enter your password again."],
  banned: ["이용이 제한된 계정입니다. 운영진에게 문의해 주세요.", "This account is suspended. Please contact us."],
  email_taken: ["이미 가입된 이메일입니다.", "This e-mail is already registered."],
  invalid_email: ["이메일 주소를 확인해 주세요.", "Please check the e-mail address."],
  invalid_password: ["비밀번호는 8자 이상이어야 합니다.", "The password needs at least 8 characters."],
  invalid_phone: ["휴대폰 번호를 확인해 주세요 (010-1234-5678 또는 +44 7911 123456).", "Please check the phone number (010-1234-5678 or +44 7911 123456)."],
  invalid_name: ["이름을 확인해 주세요 (1–50자).", "Please check the name (1–50 characters)."],
  consent_required: ["이용약관과 개인정보 수집·이용에 동의해 주세요.", "Please agree to the terms and the privacy policy."],
  profile_incomplete: ["대여 전에 휴대폰 번호와 약관 동의가 필요합니다.", "A phone number and your agreement are needed before renting."],
  already_renting: ["이미 빌린 우산이 있습니다. 먼저 반납해 주세요.", "You already have an umbrella. Please return it first."],
  umbrella_not_rentable: ["지금은 대여할 수 없는 우산입니다.", "This umbrella can't be rented now."],
  umbrella_rented: ["다른 분이 빌린 우산입니다.", "Someone else has rented this umbrella."],
  umbrella_not_at_store: ["이 우산은 다른 매장에 있습니다.", "This umbrella is at another store."],
  store_not_in_service: ["지금 운영하지 않는 매장입니다.", "This store is not in service now."],
  nothing_to_return: ["반납할 우산이 없습니다.", "You have no umbrella to return."],
  qr_code_required: ["매장이나 우산의 QR 코드를 찍어 주세요.", "Please scan the store's or the umbrella's QR code."],
  qr_code_mismatch: ["QR 코드가 맞지 않습니다. 다시 찍어 주세요.", "The QR code doesn't match. Please scan it again."],
  locker_proof_required: ["보관함의 QR 코드를 찍어 주세요.", "Please scan the locker's QR code."],
  locker_proof_mismatch: ["보관함 QR 코드가 맞지 않습니다.", "The locker's QR code doesn't match."],
  locker_busy: ["보관함 비밀번호는 1분에 한 번 받을 수 있습니다. 잠시 후 다시 시도해 주세요.", "The locker gives one password a minute. Please try again shortly."],
  resync_used: ["이번 대여의 비밀번호는 이미 다시 받았습니다.", "You already got a new password for this rental."],
  resync_window_passed: ["대여 후 30분이 지나 비밀번호를 다시 받을 수 없습니다.", "More than 30 minutes since renting: no new password."],
  bank_account_required: ["환불 받을 계좌를 입력해 주세요.", "Please give an account for the refund."],
  incomplete_bank_account: ["은행과 계좌번호를 모두 입력해 주세요.", "Please give both the bank and the account number."],
  invalid_account_number: ["계좌번호를 확인해 주세요.", "Please check the account number."],
  invalid_bank_name: ["은행 이름을 확인해 주세요.", "Please check the bank name."],
  deposit_outstanding: ["정산되지 않은 보증금이 있어 탈퇴할 수 없습니다.", "A deposit is not settled yet, so you can't leave."],
  rental_still_open: ["빌린 우산을 먼저 반납해 주세요.", "Please return the umbrella first."],
  already_reported: ["이미 같은 신고가 접수되어 있습니다.", "This has already been reported."],
  rental_not_found: ["대여 기록을 찾을 수 없습니다.", "The rental was not found."],
  store_not_found: ["매장을 찾을 수 없습니다.", "The store was not found."],
  umbrella_not_found: ["우산을 찾을 수 없습니다.", "The umbrella was not found."],
  rate_limited: ["요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.", "Too many requests. Please try again shortly."],
  too_many_requests: ["요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.", "Too many requests. Please try again shortly."],
  temporarily_unavailable: ["서비스를 잠시 이용할 수 없습니다. 잠시 후 다시 시도해 주세요.", "The service is briefly unavailable. Please try again shortly."],
  busy: ["요청이 많아 잠시 처리할 수 없습니다. 다시 시도해 주세요.", "The service is busy. Please try again."],
  internal_error: ["문제가 생겼습니다. 잠시 후 다시 시도해 주세요.", "Something went wrong. Please try again shortly."],
  invalid_link: ["링크가 만료되었거나 이미 사용되었습니다.", "The link has expired or was already used."],
  email_unverified: ["이메일 주소를 먼저 확인해 주세요.", "Please verify your e-mail address first."],
  kakao_account: ["카카오로 가입한 계정입니다. 카카오로 로그인해 주세요.", "This account uses Kakao. Please log in with Kakao."],
  too_long: ["입력이 너무 깁니다.", "The text is too long."],
};

/**
 * An API error's message in the chosen language. A code not listed here shows the
 * server's message, which is Korean with the English in parentheses at its end: in
 * English, only that part.
 */
export function errorText(code, fallback) {
  const pair = code && CODES[code];
  if (pair) return t(pair[0], pair[1]);
  const english = lang() === "en" && typeof fallback === "string" && fallback.match(/\(([^()]*[A-Za-z][^()]*)\)\s*$/);
  return english ? english[1].trim() : fallback;
}

export function addCodes(more) {
  Object.assign(CODES, more);
}
