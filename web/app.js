// upbrella front-end: a small single-page app over the WAS API (same origin, /api).
// Routes are real paths; web-proxy answers index.html for any path without an
// extension, so deep links (the QR code's /rent/12) work.

const view = document.getElementById("view");
const nav = document.getElementById("nav");
let me = null;

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/api${path}`, init);
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, (data && data.detail) || res.statusText);
  return data;
}

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return el;
};

const link = (href, ...children) => h("a", { href, "data-link": true }, ...children);
const date = (iso) => (iso ? new Date(iso).toLocaleDateString("ko-KR") : "-");
const show = (...nodes) => view.replaceChildren(...nodes);
const errorBox = (e) => h("p", { class: "error", role: "alert" }, e.message || String(e));

function go(path) {
  history.pushState(null, "", path);
  route();
}

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

function form(fields, submitLabel, onsubmit) {
  const err = h("div");
  const f = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      err.replaceChildren();
      const values = Object.fromEntries(new FormData(f).entries());
      const button = f.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await onsubmit(values);
      } catch (ex) {
        err.replaceChildren(errorBox(ex));
      } finally {
        button.disabled = false;
      }
    },
  },
  ...fields.map(([name, label, type = "text", extra = {}]) =>
    h("label", {}, label, type === "textarea"
      ? h("textarea", { name, rows: 3, maxlength: 400, ...extra })
      : h("input", { name, type, ...extra }))),
  err,
  h("button", { class: "primary", type: "submit" }, submitLabel));
  return f;
}

function needLogin() {
  const here = location.pathname + location.search;
  show(h("h1", {}, "로그인이 필요합니다"), h("p", {}, link(`/login?next=${encodeURIComponent(here)}`, "로그인하러 가기")));
}

// Pages ------------------------------------------------------------------------------

async function home() {
  const regions = await api("GET", "/regions");
  const list = h("div");
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const select = async (region, button) => {
    for (const b of tabs.children) b.setAttribute("aria-pressed", String(b === button));
    const stores = await api("GET", `/regions/${region.id}/stores`);
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
  show(h("h1", {}, "가까운 우산 대여소"), regions.length ? tabs : h("p", { class: "muted" }, "등록된 지역이 없습니다."), list);
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
    h("p", {}, link(`/return/${s.id}`, "이 매장에 반납하기")),
  );
}

function login() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  show(h("h1", {}, "로그인"),
    form([["email", "이메일", "email", { required: true, autocomplete: "email" }], ["password", "비밀번호", "password", { required: true, autocomplete: "current-password" }]],
      "로그인", async (v) => { await api("POST", "/auth/login", v); await refreshMe(); go(next); }),
    h("p", {}, "처음이신가요? ", link(`/signup?next=${encodeURIComponent(next)}`, "회원가입"), " · ", h("a", { href: "/api/auth/kakao" }, "카카오로 로그인")));
}

function signup() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  show(h("h1", {}, "회원가입"),
    form([["name", "이름", "text", { required: true }], ["email", "이메일", "email", { required: true }],
      ["password", "비밀번호 (8자 이상)", "password", { required: true, minlength: 8, autocomplete: "new-password" }],
      ["phone", "휴대폰 번호", "tel", { required: true, placeholder: "010-1234-5678" }]],
    "가입하기", async (v) => { await api("POST", "/auth/signup", v); await refreshMe(); go(next); }));
}

async function rent(umbrellaId) {
  if (!me) return needLogin();
  const f = await api("GET", `/umbrellas/${umbrellaId}/rent-form`);
  const key = crypto.randomUUID();
  show(h("h1", {}, "우산 대여"),
    h("p", {}, `${f.region_name} · ${f.store_name} · 우산 ${f.umbrella_number}번`),
    f.rentable
      ? form([["condition_report", "우산 상태 (선택, 400자 이내)", "textarea"]], "대여하기", async (v) => {
          const r = await api("POST", "/rentals", { umbrella_id: f.umbrella_id, store_id: f.store_id, condition_report: v.condition_report || null }, { "idempotency-key": key });
          show(h("h1", {}, "대여 완료"),
            h("p", { class: "notice", id: "rented" }, `우산 ${r.rental.umbrella_number}번을 빌렸습니다. 반납 기한: ${date(r.rental.due_at)}`),
            ...(r.locker_password ? [h("p", {}, "보관함 비밀번호"), h("p", { class: "password", id: "locker-password" }, r.locker_password)] : []),
            h("p", {}, link("/me", "내 대여 현황 보기")));
        })
      : h("p", { class: "error" }, "지금은 대여할 수 없는 우산입니다."));
}

async function returnPage(storeId) {
  if (!me) return needLogin();
  const params = new URLSearchParams(location.search);
  const proof = { salt: params.get("salt"), signature: params.get("signature") };
  const q = proof.salt ? `?salt=${encodeURIComponent(proof.salt)}&signature=${encodeURIComponent(proof.signature || "")}` : "";
  const f = await api("GET", `/stores/${storeId}/return-form${q}`);
  const key = crypto.randomUUID();
  show(h("h1", {}, "우산 반납"),
    h("p", {}, `${f.store_name}에 우산 ${f.rental.umbrella_number}번을 반납합니다.`),
    form([["bank_name", "환불 받을 은행", "text", { required: !me.bank, placeholder: me.bank ? me.bank.bank_name : "" }],
      ["account_number", "계좌번호", "text", { required: !me.bank, placeholder: me.bank ? me.bank.account_number : "" }],
      ["improvement_report", "개선 의견 (선택)", "textarea"]], "반납하기", async (v) => {
      const body = { store_id: f.store_id, improvement_report: v.improvement_report || null, ...proof };
      if (v.bank_name && v.account_number) Object.assign(body, { bank_name: v.bank_name, account_number: v.account_number });
      await api("POST", "/rentals/current/return", body, { "idempotency-key": key });
      show(h("h1", {}, "반납 완료"), h("p", { class: "notice" }, "감사합니다. 보증금은 확인 후 환불됩니다."), h("p", {}, link("/me", "내 정보")));
    }));
}

async function mePage() {
  if (!me) return needLogin();
  const [{ rental }, history] = await Promise.all([api("GET", "/me/rental"), api("GET", "/me/rentals")]);
  show(h("h1", {}, `${me.name}님`),
    h("h2", {}, "대여 중인 우산"),
    rental
      ? h("div", { class: "card", id: "current-rental" }, h("strong", {}, `우산 ${rental.umbrella_number}번`),
          h("div", { class: "muted" }, `${rental.rent_store.name}에서 ${rental.elapsed_days}일째 · 반납 기한 ${date(rental.due_at)}`))
      : h("p", { class: "muted" }, "대여 중인 우산이 없습니다."),
    h("h2", {}, "대여 기록"),
    h("table", {}, h("tr", {}, h("th", {}, "우산"), h("th", {}, "대여"), h("th", {}, "반납")),
      ...history.map((r) => h("tr", {}, h("td", {}, `${r.umbrella_number}번`), h("td", {}, `${r.rent_store.name} ${date(r.rented_at)}`),
        h("td", {}, r.return_store ? `${r.return_store.name} ${date(r.returned_at)}` : "대여 중")))),
    h("h2", {}, "환불 계좌"),
    h("p", { class: "muted" }, me.bank ? `${me.bank.bank_name} ${me.bank.account_number}` : "등록된 계좌가 없습니다."),
    form([["bank_name", "은행"], ["account_number", "계좌번호"]], "계좌 저장", async (v) => { me = await api("PUT", "/me/bank-account", v); mePage(); }),
    h("h2", {}, "탈퇴"),
    h("button", { class: "secondary", type: "button", onclick: async () => {
      if (!confirm("정말 탈퇴하시겠습니까?")) return;
      try { await api("DELETE", "/me"); await refreshMe(); go("/"); } catch (e) { alert(e.message); }
    } }, "회원 탈퇴"));
}

async function admin() {
  if (!me) return needLogin();
  const [stats, rentals] = await Promise.all([api("GET", "/admin/umbrellas/statistics"), api("GET", "/admin/rentals?size=50")]);
  const toggle = (r, field) => h("input", { type: "checkbox", checked: Boolean(r[`${field}_at`]), onchange: async (e) => {
    try { await api("PATCH", `/admin/rentals/${r.id}`, { [field]: e.target.checked }); } catch (ex) { e.target.checked = !e.target.checked; alert(ex.message); }
  } });
  show(h("h1", {}, "관리자"),
    h("div", { class: "card" }, `전체 ${stats.total} · 대여 가능 ${stats.rentable} · 대여 중 ${stats.rented} · 분실 ${stats.missing} (${(stats.missing_rate * 100).toFixed(1)}%) · 누적 대여 ${stats.total_rents}`),
    h("h2", {}, "대여 기록"),
    h("table", {}, h("tr", {}, ...["이용자", "우산", "대여", "반납", "입금", "환불"].map((t) => h("th", {}, t))),
      ...rentals.map((r) => h("tr", {}, h("td", {}, r.user_name), h("td", {}, `${r.umbrella_number}번`),
        h("td", {}, `${r.rent_store_name} ${date(r.rented_at)}`), h("td", {}, r.return_store_name ? date(r.returned_at) : "-"),
        h("td", {}, toggle(r, "paid")), h("td", {}, toggle(r, "refunded"))))));
}

// Router -----------------------------------------------------------------------------

const routes = [
  [/^\/$/, home],
  [/^\/stores\/(\d+)$/, store],
  [/^\/login$/, login],
  [/^\/signup$/, signup],
  [/^\/rent\/(\d+)$/, rent],
  [/^\/return\/(\d+)$/, returnPage],
  [/^\/me$/, mePage],
  [/^\/admin$/, admin],
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
  show(h("h1", {}, "페이지를 찾을 수 없습니다"), h("p", {}, link("/", "처음으로")));
}

refreshMe().then(route);
