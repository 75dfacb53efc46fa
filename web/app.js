// upbrella front-end: a small single-page app over the WAS API (same origin, /api).
// Routes are real paths; web-proxy answers index.html for any path without an
// extension, so deep links (the QR code's /rent/12) work.

import { adminConsole } from "/console.js";
import { api, date, errorBox, form, go, h, link, show } from "/ui.js";

const nav = document.getElementById("nav");
let me = null;

window.addEventListener("upbrella:navigate", route);

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-link]");
  if (a && a.origin === location.origin) {
    e.preventDefault();
    go(a.pathname + a.search);
  }
});
window.addEventListener("popstate", route);

async function refreshMe() {
  try {
    me = await api("GET", "/me");
  } catch {
    me = null;
  }
  nav.replaceChildren(
    link("/", "대여소"),
    ...(me
      ? [link("/me", "내 정보"), ...(me.is_admin ? [link("/admin", "관리자")] : []),
         h("button", { onclick: logout, type: "button" }, "로그아웃")]
      : [link("/login", "로그인")]),
  );
}

async function logout() {
  await api("POST", "/auth/logout", {});
  await refreshMe();
  go("/");
}

function needLogin() {
  const here = location.pathname + location.search;
  show(h("h1", {}, "로그인이 필요합니다"), h("p", {}, link(`/login?next=${encodeURIComponent(here)}`, "로그인하러 가기")));
}

// Pages ------------------------------------------------------------------------------

// Kakao Maps' SDK, loaded once and only when the WAS has a key (web-proxy's CSP allows
// its hosts only then).
let kakaoMaps = null;
function loadKakaoMaps(key) {
  kakaoMaps ??= new Promise((resolve, reject) => {
    const script = h("script", { src: `https://dapi.kakao.com/v2/maps/sdk.js?appkey=${encodeURIComponent(key)}&autoload=false` });
    script.onload = () => window.kakao.maps.load(() => resolve(window.kakao.maps));
    script.onerror = () => { kakaoMaps = null; reject(new Error("지도를 불러오지 못했습니다.")); };
    document.head.append(script);
  });
  return kakaoMaps;
}

// One marker per store: its name, whether it is open and how many umbrellas it lends.
function drawMap(el, region, stores, key) {
  loadKakaoMaps(key).then((maps) => {
    const map = new maps.Map(el, { center: new maps.LatLng(region.latitude, region.longitude), level: 5 });
    const bounds = new maps.LatLngBounds();
    for (const s of stores) {
      const position = new maps.LatLng(s.latitude, s.longitude);
      bounds.extend(position);
      const marker = new maps.Marker({ map, position, title: s.name });
      maps.event.addListener(marker, "click", () => go(`/stores/${s.id}`));
      new maps.CustomOverlay({ map, position, yAnchor: 2.4,
        content: h("div", { class: "map-label" }, `${s.name} · ${s.open_now ? "영업 중" : "영업 종료"} · ${s.rentable_count}개`) });
    }
    if (stores.length) map.setBounds(bounds);
  }).catch((e) => el.replaceWith(h("p", { class: "muted" }, `${e.message} 아래 목록에서 매장을 찾아 주세요.`)));
}

async function home() {
  const [regions, info] = await Promise.all([api("GET", "/regions"), api("GET", "/service-info")]);
  const list = h("div");
  const mapBox = h("div");
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const select = async (region, button) => {
    for (const b of tabs.children) b.setAttribute("aria-pressed", String(b === button));
    const stores = await api("GET", `/regions/${region.id}/stores`);
    if (info.map_key) {
      const el = h("div", { id: "map", class: "map", role: "region", "aria-label": `${region.name} 대여소 지도` });
      mapBox.replaceChildren(el);
      drawMap(el, region, stores, info.map_key);
    }
    list.replaceChildren(...(stores.length ? stores.map((s) =>
      h("a", { class: "card store", href: `/stores/${s.id}`, "data-link": true },
        h("div", { class: "row" }, h("strong", {}, s.name),
          h("span", { class: s.open_now ? "badge open" : "badge" }, s.open_now ? "영업 중" : "영업 종료")),
        h("div", { class: "muted" }, `대여 가능 우산 ${s.rentable_count}개`))) : [h("p", { class: "muted" }, "이 지역에는 아직 대여소가 없습니다.")]));
  };
  for (const r of regions) {
    const b = h("button", { type: "button", "aria-pressed": "false", onclick: () => select(r, b) }, r.name);
    tabs.append(b);
  }
  show(h("h1", {}, "가까운 우산 대여소"), regions.length ? tabs : h("p", { class: "muted" }, "등록된 지역이 없습니다."), mapBox, list);
  if (regions.length) await select(regions[0], tabs.children[0]);
}

async function store(id) {
  const s = await api("GET", `/stores/${id}`);
  const days = ["", "월", "화", "수", "목", "금", "토", "일"];
  show(
    h("h1", {}, s.name), h("p", {}, h("span", { class: s.open_now ? "badge open" : "badge" }, s.open_now ? "영업 중" : "영업 종료"),
      " ", h("span", { class: "badge" }, s.category), " ", h("span", { class: "badge" }, `대여 가능 ${s.rentable_count}개`)),
    h("div", { class: "gallery" }, ...s.images.map((i) => h("img", { src: i.url, alt: `${s.name} 사진` }))),
    h("h2", {}, "우산 위치"), h("p", {}, s.umbrella_location || "-"),
    h("h2", {}, "주소"), h("p", {}, [s.address, s.address_detail].filter(Boolean).join(" ") || "-"),
    h("h2", {}, "영업 시간"),
    h("table", {}, ...s.business_hours.map((b) => h("tr", {}, h("th", {}, `${days[b.weekday]}요일`), h("td", {}, `${b.open} – ${b.close}`)))),
    s.description ? h("p", { class: "muted" }, s.description) : "",
    // Returning needs the store's own QR code (proof that the umbrella is here), so the
    // page tells how rather than linking to a return anyone could make from home.
    h("p", { class: "muted", id: "how-to-return" }, "반납할 때는 매장에 붙은 반납용 QR 코드를 찍어 주세요."),
  );
}

// Why a Kakao login came back to this page (`/login?error=…`, set by the WAS).
const loginErrors = {
  kakao_login_cancelled: "카카오 로그인이 취소되었습니다. 다시 시도해 주세요.",
  kakao_code_missing: "카카오 로그인이 완료되지 않았습니다. 다시 시도해 주세요.",
  kakao_state_mismatch: "로그인 정보가 맞지 않습니다. 처음부터 다시 시도해 주세요.",
  banned: "이용이 제한된 계정입니다. 운영진에게 문의해 주세요.",
  too_many_requests: "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
};

function login() {
  const params = new URLSearchParams(location.search);
  const next = params.get("next") || "/";
  const error = params.get("error");
  show(h("h1", {}, "로그인"),
    ...(error ? [h("p", { class: "error", role: "alert", id: "login-error" },
      loginErrors[error] || "카카오 로그인에 실패했습니다. 잠시 후 다시 시도하거나 이메일로 로그인해 주세요.")] : []),
    form([["email", "이메일", "email", { required: true, autocomplete: "email" }], ["password", "비밀번호", "password", { required: true, autocomplete: "current-password" }]],
      "로그인", async (v) => { await api("POST", "/auth/login", v); await refreshMe(); go(next); }),
    h("p", {}, link("/forgot-password", "비밀번호를 잊으셨나요?")),
    h("p", {}, "처음이신가요? ", link(`/signup?next=${encodeURIComponent(next)}`, "회원가입"), " · ", h("a", { href: `/api/auth/kakao?next=${encodeURIComponent(next)}` }, "카카오로 로그인")));
}

// The token of a mailed link travels after `#`, so it never reaches a server log.
const linkToken = () => new URLSearchParams(location.hash.slice(1)).get("t") || "";

async function verifyEmail() {
  show(h("h1", {}, "이메일 주소 확인"), h("p", { class: "muted" }, "확인하고 있습니다…"));
  try {
    await api("POST", "/auth/email/confirm", { token: linkToken() });
    history.replaceState(null, "", "/verify-email");
    if (me) await refreshMe();
    show(h("h1", {}, "이메일 주소 확인"),
      h("p", { class: "notice", id: "email-verified" }, "이메일 주소를 확인했습니다. 고맙습니다."),
      h("p", {}, link(me ? "/me" : "/login", me ? "내 정보로 가기" : "로그인하기")));
  } catch (e) {
    show(h("h1", {}, "이메일 주소 확인"), errorBox(e),
      h("p", {}, me ? "내 정보 화면에서 확인 메일을 다시 받을 수 있습니다. " : "", link(me ? "/me" : "/login", me ? "내 정보" : "로그인")));
  }
}

function forgotPassword() {
  show(h("h1", {}, "비밀번호 재설정"),
    h("p", { class: "muted" }, "가입한 이메일 주소를 입력하시면 새 비밀번호를 정할 수 있는 링크를 보내 드립니다. 카카오로 가입하셨다면 카카오로 로그인해 주세요."),
    form([["email", "이메일", "email", { required: true, autocomplete: "email" }]], "재설정 링크 받기", async (v) => {
      await api("POST", "/auth/password-reset", v);
      show(h("h1", {}, "메일을 확인해 주세요"),
        h("p", { class: "notice", id: "reset-sent" }, `${v.email}(으)로 가입된 계정이 있다면 재설정 링크를 보냈습니다. 링크는 30분 동안 한 번 쓸 수 있습니다.`),
        h("p", { class: "muted" }, "메일이 오지 않으면 스팸함을 확인하거나 잠시 후 다시 요청해 주세요."),
        h("p", {}, link("/login", "로그인으로 돌아가기")));
    }));
}

function resetPassword() {
  const token = linkToken();
  show(h("h1", {}, "새 비밀번호 정하기"),
    h("p", { class: "muted" }, "새 비밀번호를 정하면 모든 기기에서 로그아웃됩니다."),
    form([["password", "새 비밀번호 (8자 이상)", "password", { required: true, minlength: 8, autocomplete: "new-password" }],
      ["confirm", "새 비밀번호 확인", "password", { required: true, minlength: 8, autocomplete: "new-password" }]],
    "비밀번호 바꾸기", async (v) => {
      if (v.password !== v.confirm) throw new Error("두 비밀번호가 같지 않습니다. (The passwords differ.)");
      await api("POST", "/auth/password-reset/confirm", { token, password: v.password });
      history.replaceState(null, "", "/reset-password");
      await refreshMe();
      show(h("h1", {}, "비밀번호를 바꿨습니다"),
        h("p", { class: "notice", id: "password-reset" }, "새 비밀번호로 로그인해 주세요."),
        h("p", {}, link("/login?next=/me", "로그인하기")));
    }));
}

// Changes that redirect refunds or the account need the password given again (or a
// fresh Kakao login): asked here, then the change is sent again.
async function withReauth(action) {
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
    dialog.append(h("h2", { id: "reauth-title" }, "비밀번호를 다시 입력해 주세요"),
      h("p", { class: "muted" }, "환불 계좌나 이메일을 바꾸기 전에 본인인지 확인합니다."),
      form([["password", "비밀번호", "password", { required: true, autocomplete: "current-password" }]], "확인", async (v) => {
        await api("POST", "/auth/reauth", v);
        close(true);
      }),
      h("button", { type: "button", class: "secondary", onclick: () => close(false) }, "취소"));
    document.body.append(dialog);
    dialog.showModal();
  });
}

function signup() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  show(h("h1", {}, "회원가입"),
    form([["name", "이름", "text", { required: true }], ["email", "이메일", "email", { required: true }],
      ["password", "비밀번호 (8자 이상)", "password", { required: true, minlength: 8, autocomplete: "new-password" }],
      ["phone", "휴대폰 번호", "tel", { required: true, placeholder: "010-1234-5678" }],
      ["agree_terms", "이용약관에 동의합니다 (필수)", "checkbox", { required: true }],
      ["agree_privacy", "개인정보 수집·이용에 동의합니다 (필수)", "checkbox", { required: true }]],
    "가입하기", async (v) => {
      await api("POST", "/auth/signup", { ...v, agree_terms: v.agree_terms === "on", agree_privacy: v.agree_privacy === "on" });
      await refreshMe();
      go(next);
    }),
    h("p", { class: "muted" }, link("/terms", "이용약관"), " · ", link("/privacy", "개인정보 처리방침"), " · ", link("/guide", "이용안내")));
}

// Kakao sign-ups have no phone number and have agreed to nothing yet: asked once, before
// the first rent.
function completeProfile(then) {
  show(h("h1", {}, "대여 전에 확인해 주세요"),
    h("p", {}, "우산을 빌리려면 연락받을 휴대폰 번호와 약관 동의가 필요합니다."),
    form([["phone", "휴대폰 번호", "tel", { required: true, placeholder: "010-1234-5678", value: me.phone || "" }],
      ["agree_terms", "이용약관에 동의합니다 (필수)", "checkbox", { required: true }],
      ["agree_privacy", "개인정보 수집·이용에 동의합니다 (필수)", "checkbox", { required: true }]],
    "저장하고 계속하기", async (v) => {
      me = await api("PUT", "/me/profile", { phone: v.phone, agree_terms: v.agree_terms === "on", agree_privacy: v.agree_privacy === "on" });
      await then();
    }),
    h("p", { class: "muted" }, link("/terms", "이용약관"), " · ", link("/privacy", "개인정보 처리방침")));
}

async function rent(umbrellaId) {
  if (!me) return needLogin();
  if (!me.ready_to_rent) return completeProfile(() => rent(umbrellaId));
  const code = new URLSearchParams(location.search).get("code");
  const q = code ? `?code=${encodeURIComponent(code)}` : "";
  const [f, info] = await Promise.all([api("GET", `/umbrellas/${umbrellaId}/rent-form${q}`), api("GET", "/service-info")]);
  const key = crypto.randomUUID();
  show(h("h1", {}, "우산 대여"),
    h("p", {}, `${f.region_name} · ${f.store_name} · 우산 ${f.umbrella_number}번`),
    h("div", { class: "card", id: "deposit" },
      h("strong", {}, `보증금 ${info.deposit_amount.toLocaleString("ko-KR")}원`),
      h("p", {}, info.deposit_account ? `${info.deposit_account}(으)로 보내 주세요.` : "입금 계좌는 운영진이 문자로 안내합니다."),
      h("p", { class: "muted" }, `대여 기간은 ${info.rental_days}일입니다. 반납하면 확인 후 보증금을 돌려드립니다.`)),
    f.rentable
      ? form([["condition_report", "우산 상태 (선택, 400자 이내)", "textarea"]], "대여하기", async (v) => {
          const r = await api("POST", "/rentals", { umbrella_id: f.umbrella_id, store_id: f.store_id, condition_report: v.condition_report || null, code }, { "idempotency-key": key });
          show(h("h1", {}, "대여 완료"),
            h("p", { class: "notice", id: "rented" }, `우산 ${r.rental.umbrella_number}번을 빌렸습니다. 반납 기한: ${date(r.rental.due_at)}`),
            h("div", { class: "card", id: "deposit-reference" },
              h("strong", {}, `보증금 ${r.rental.deposit.amount.toLocaleString("ko-KR")}원`),
              h("p", {}, info.deposit_account ? `${info.deposit_account}(으)로 보내 주세요.` : "입금 계좌는 운영진이 문자로 안내합니다."),
              r.rental.deposit.reference ? h("p", {}, "입금자명을 ", h("strong", { class: "reference" }, r.rental.deposit.reference), "(으)로 적어 주세요. 입금을 빨리 확인할 수 있습니다.") : ""),
            ...(r.locker_password ? [h("p", {}, "보관함 비밀번호"), h("p", { class: "password", id: "locker-password" }, r.locker_password)] : []),
            h("p", {}, link("/me", "내 대여 현황 보기")));
        })
      : h("p", { class: "error" }, "지금은 대여할 수 없는 우산입니다."));
}

async function returnPage(storeId) {
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
  show(h("h1", {}, "우산 반납"),
    ...(justRentedHere ? [h("div", { class: "card", id: "resync" },
      h("strong", {}, "보관함이 열리지 않나요?"),
      h("p", { class: "muted" }, "보관함 화면에 보이는 숫자를 입력하면 새 비밀번호를 알려드립니다. 대여 한 번에 한 번만 받을 수 있습니다."),
      form([["counter", "보관함 화면의 숫자", "number", { required: true, min: 0 }]], "비밀번호 다시 받기", async (v) => {
        const r = await api("POST", "/rentals/current/locker-password", { counter: Number(v.counter), code: proof.code });
        document.getElementById("resync-password").textContent = r.locker_password;
      }),
      h("p", { class: "password", id: "resync-password" }))] : []),
    h("p", {}, `${f.store_name}에 우산 ${f.rental.umbrella_number}번을 반납합니다.`),
    form([["bank_name", "환불 받을 은행", "text", { required: !me.bank, placeholder: me.bank ? me.bank.bank_name : "" }],
      ["account_number", "계좌번호", "text", { required: !me.bank, placeholder: me.bank ? me.bank.account_number : "" }],
      ["improvement_report", "개선 의견 (선택)", "textarea"]], "반납하기", async (v) => {
      const body = { store_id: f.store_id, improvement_report: v.improvement_report || null, ...proof };
      if (v.bank_name && v.account_number) Object.assign(body, { bank_name: v.bank_name, account_number: v.account_number });
      const done = await api("POST", "/rentals/current/return", body, { "idempotency-key": key });
      show(h("h1", {}, "반납 완료"), h("p", { class: "notice" }, `감사합니다. 보증금: ${done.deposit.label}.`), h("p", {}, link("/me", "내 정보")));
    }));
}

async function mePage() {
  if (!me) return needLogin();
  const [{ rental }, history] = await Promise.all([api("GET", "/me/rental"), api("GET", "/me/rentals")]);
  const unverified = me.email && !me.email_verified;
  show(h("h1", {}, `${me.name}님`),
    ...(unverified ? [h("div", { class: "card", id: "verify-banner" },
      h("strong", {}, "이메일 주소를 확인해 주세요"),
      h("p", { class: "muted" }, `${me.email}(으)로 보낸 메일의 링크를 열면 확인됩니다. 비밀번호를 잊었을 때 이 주소로 안내를 보내 드립니다.`),
      h("button", { type: "button", class: "secondary", onclick: async (e) => {
        e.target.disabled = true;
        try { await api("POST", "/me/email/verification", {}); e.target.replaceWith(h("p", { class: "notice" }, "확인 메일을 다시 보냈습니다.")); }
        catch (ex) { e.target.replaceWith(errorBox(ex)); }
      } }, "확인 메일 다시 받기"))] : []),
    h("h2", {}, "대여 중인 우산"),
    rental
      ? h("div", { class: "card", id: "current-rental" }, h("strong", {}, `우산 ${rental.umbrella_number}번`),
          h("div", { class: "muted" }, `${rental.rent_store.name}에서 ${rental.elapsed_days}일째 · 반납 기한 ${date(rental.due_at)}`),
          h("div", { class: "deposit-label" }, `보증금: ${rental.deposit.label}`,
            rental.deposit.state === "awaiting_payment" && rental.deposit.reference ? ` · 입금자명 ${rental.deposit.reference}` : ""),
          ...(rental.overdue ? [h("p", { class: "error", id: "overdue" }, "반납 기한이 지났습니다. 가까운 매장에 반납해 주세요.")] : []),
          ...(Date.now() - Date.parse(rental.rented_at) < 30 * 60 * 1000 ? [
            h("p", { class: "muted" }, "보관함이 열리지 않나요? 매장의 반납용 QR 코드를 찍으면 새 비밀번호를 받을 수 있습니다.")] : []))
      : h("p", { class: "muted" }, "대여 중인 우산이 없습니다."),
    h("h2", {}, "대여 기록"),
    h("table", {}, h("tr", {}, h("th", {}, "우산"), h("th", {}, "대여"), h("th", {}, "반납"), h("th", {}, "보증금")),
      ...history.map((r) => h("tr", {}, h("td", {}, `${r.umbrella_number}번`), h("td", {}, `${r.rent_store.name} ${date(r.rented_at)}`),
        h("td", {}, r.closed_reason === "lost" ? `분실 처리 ${date(r.returned_at)}`
          : r.return_store ? `${r.return_store.name} ${date(r.returned_at)}` : "대여 중"),
        h("td", { class: "deposit-label" }, r.deposit.label)))),
    ...history.filter((r) => r.needs_refund_account).map((r) => h("div", { class: "card refund-account", "data-rental-id": r.id },
      h("strong", {}, `우산 ${r.umbrella_number}번 보증금을 돌려받을 계좌`),
      h("p", { class: "muted" }, r.deposit.state === "refund_failed" ? "은행이 계좌를 거절했습니다. 계좌를 다시 입력해 주세요." : "환급 계좌가 없습니다. 입력해 주시면 보증금을 돌려드립니다."),
      form([["bank_name", "은행", "text", { required: true }], ["account_number", "계좌번호", "text", { required: true }]], "계좌 입력",
        async (v) => { await withReauth(() => api("PUT", `/me/rentals/${r.id}/refund-account`, v)); mePage(); }))),
    h("h2", {}, "환불 계좌"),
    h("p", { class: "muted" }, me.bank ? `${me.bank.bank_name} ${me.bank.account_number}` : "등록된 계좌가 없습니다."),
    form([["bank_name", "은행"], ["account_number", "계좌번호"]], "계좌 저장", async (v) => { me = await withReauth(() => api("PUT", "/me/bank-account", v)); mePage(); }),
    h("h2", {}, "계정"),
    ...(me.has_password ? [
      h("section", { id: "change-password" }, h("h3", {}, "비밀번호 바꾸기"),
        h("p", { class: "muted" }, "바꾸면 이 기기를 뺀 모든 기기에서 로그아웃됩니다."),
        form([["current_password", "지금 비밀번호", "password", { required: true, autocomplete: "current-password" }],
          ["new_password", "새 비밀번호 (8자 이상)", "password", { required: true, minlength: 8, autocomplete: "new-password" }]],
        "비밀번호 바꾸기", async (v) => {
          await api("PUT", "/me/password", v);
          const done = document.getElementById("password-changed");
          done.className = "notice";
          done.textContent = "비밀번호를 바꿨습니다. 다른 기기에서는 다시 로그인해야 합니다.";
        }),
        h("p", { id: "password-changed", role: "status" })),
      h("section", { id: "change-email" }, h("h3", {}, "이메일 주소 바꾸기"),
        h("p", { class: "muted" }, "새 주소로 보낸 메일의 링크를 열어야 바뀝니다."),
        form([["email", "새 이메일", "email", { required: true, autocomplete: "email" }]], "확인 메일 보내기", async (v) => {
          await withReauth(() => api("PUT", "/me/email", v));
          const sent = document.getElementById("email-change-sent");
          sent.className = "notice";
          sent.textContent = `${v.email}(으)로 확인 메일을 보냈습니다.`;
        }),
        h("p", { id: "email-change-sent", role: "status" }))] : []),
    h("button", { class: "secondary", type: "button", id: "logout-everywhere", onclick: async () => {
      if (!confirm("모든 기기에서 로그아웃할까요? 이 기기에서도 로그아웃됩니다.")) return;
      try { await api("POST", "/auth/logout-everywhere", {}); await refreshMe(); go("/login"); } catch (e) { alert(e.message); }
    } }, "모든 기기에서 로그아웃"),
    h("h2", {}, "탈퇴"),
    h("button", { class: "secondary", type: "button", onclick: async () => {
      if (!confirm("정말 탈퇴하시겠습니까?")) return;
      try { await api("DELETE", "/me"); await refreshMe(); go("/"); } catch (e) { alert(e.message); }
    } }, "회원 탈퇴"));
}

async function admin() {
  if (!me) return needLogin();
  if (!me.is_admin) return show(h("h1", {}, "관리자만 볼 수 있습니다"), h("p", {}, link("/", "처음으로")));
  await adminConsole(location.pathname, me);
}

async function introductions() {
  const stores = await api("GET", "/stores/introductions");
  show(h("h1", {}, "협력 매장 소개"),
    h("p", { class: "muted" }, "업브렐라와 함께하는 매장들입니다. 어느 매장에서 빌려도 아무 매장에나 반납할 수 있습니다."),
    ...(stores.length ? stores.map((s) => h("a", { class: "card intro", href: `/stores/${s.id}`, "data-link": true },
      ...(s.image_url ? [h("img", { src: s.image_url, alt: `${s.name} 사진`, loading: "lazy" })] : []),
      h("div", { class: "row" }, h("strong", {}, s.name), h("span", { class: "badge" }, s.region_name)),
      h("div", { class: "muted" }, [s.category, s.description].filter(Boolean).join(" · "))))
      : [h("p", { class: "muted" }, "아직 소개할 매장이 없습니다.")]));
}

// Policies and help --------------------------------------------------------------------

function page(title, ...sections) {
  show(h("h1", {}, title), ...sections.map(([heading, ...paragraphs]) =>
    h("section", {}, h("h2", {}, heading), ...paragraphs.map((p) => h("p", {}, p)))));
}

function guide() {
  page("이용안내",
    ["빌리기", "매장의 우산에 붙은 QR 코드를 찍고 로그인하면 대여 화면이 열립니다. 보관함이 있는 매장에서는 대여 후 보관함 비밀번호가 나옵니다."],
    ["보증금", "대여할 때 안내된 계좌로 보증금을 보내 주세요. 운영진이 입금을 확인합니다. 반납 후 등록한 계좌로 돌려드립니다."],
    ["반납", "빌린 날부터 14일 안에 아무 협력 매장에나 반납할 수 있습니다. 매장의 QR 코드를 찍고 반납하기를 누르세요."],
    ["보관함이 열리지 않을 때", "대여 후 30분 안에는 내 정보 화면에서 보관함 화면에 보이는 숫자를 입력하면 새 비밀번호를 받을 수 있습니다."],
    ["자주 묻는 질문",
      "우산을 잃어버렸어요: 운영진에게 알려 주세요. 분실로 처리되면 다시 대여할 수 있습니다.",
      "기한이 지났어요: 가능한 한 빨리 가까운 매장에 반납해 주세요."]);
}

function terms() {
  page("이용약관",
    ["제1조 (목적)", "이 약관은 업브렐라(이하 \"서비스\")가 제공하는 우산 대여 서비스의 이용 조건과 절차를 정합니다."],
    ["제2조 (대여와 반납)", "이용자는 한 번에 우산 하나를 빌릴 수 있으며, 빌린 날부터 14일 안에 협력 매장에 반납합니다."],
    ["제3조 (보증금)", "이용자는 대여 시 안내된 보증금을 입금하고, 반납이 확인되면 등록한 계좌로 돌려받습니다. 우산을 잃어버리면 보증금은 돌려드리지 않을 수 있습니다."],
    ["제4조 (이용 제한)", "허위 반납, 반복된 미반납 등 서비스 운영을 방해하는 이용자는 이용이 제한될 수 있습니다."],
    ["제5조 (탈퇴)", "이용자는 빌린 우산을 반납한 뒤 언제든지 내 정보 화면에서 탈퇴할 수 있습니다."]);
}

function privacy() {
  page("개인정보 처리방침",
    ["수집하는 항목", "이름, 이메일 주소, 휴대폰 번호, 비밀번호(복원할 수 없는 형태로 저장), 카카오 로그인 시 카카오 회원번호와 별명, 보증금 환불을 위한 은행 이름과 계좌번호(암호화하여 저장)."],
    ["이용 목적", "회원 식별과 로그인, 대여·반납 기록 관리, 보증금 입금 확인과 환불, 미반납 시 연락."],
    ["보관 기간", "탈퇴하면 이름·연락처·계좌 정보를 지우고 대여 기록만 익명으로 남깁니다. 환불을 마친 대여의 계좌 정보는 운영진이 지울 수 있습니다."],
    ["열람과 삭제", "내 정보 화면에서 환불 계좌를 지우거나 탈퇴할 수 있습니다. 그 밖의 요청은 운영진에게 연락해 주세요."]);
}

// Router -----------------------------------------------------------------------------

const routes = [
  [/^\/$/, home],
  [/^\/stores\/(\d+)$/, store],
  [/^\/login$/, login],
  [/^\/signup$/, signup],
  [/^\/verify-email$/, verifyEmail],
  [/^\/forgot-password$/, forgotPassword],
  [/^\/reset-password$/, resetPassword],
  [/^\/rent\/(\d+)$/, rent],
  [/^\/return\/(\d+)$/, returnPage],
  // The original service's printed QR codes: /rent/form/{umbrellaId} and
  // /return/form?storeId=…&salt=…&signature=….
  [/^\/rent\/form\/(\d+)$/, rent],
  [/^\/return\/form$/, () => returnPage(new URLSearchParams(location.search).get("storeId"))],
  [/^\/me$/, mePage],
  [/^\/guide$/, guide],
  [/^\/stores$/, introductions],
  [/^\/terms$/, terms],
  [/^\/privacy$/, privacy],
  [/^\/admin(\/.*)?$/, admin],
];

async function route() {
  const path = location.pathname;
  for (const [pattern, page] of routes) {
    const m = path.match(pattern);
    if (m) {
      try {
        await page(...m.slice(1));
      } catch (e) {
        if (e.status === 401) return needLogin();
        show(h("h1", {}, "문제가 생겼습니다"), errorBox(e));
      }
      return;
    }
  }
  notFound();
}

function notFound() {
  show(h("h1", {}, "페이지를 찾을 수 없습니다"), h("p", {}, link("/", "처음으로")));
}

refreshMe().then(route);
