// upbrella front-end: a small single-page app over the WAS API (same origin, /api).
// Routes are real paths; web-proxy answers index.html for any path without an
// extension, so deep links (the QR code's /rent/12) work. Links are real links: the
// page takes over a plain click only, so a Ctrl/⌘/Shift/middle click opens a new tab.
// Every string a renter reads is Korean first, English through the switch (t(ko, en)).

import { lang, setLang, t } from "/i18n.js";
import { errorBox, form, go, h, link, show, view } from "/ui.js";
import { forgotPassword, login, resetPassword, signup, verifyEmail } from "/app-account.js";
import { mePage } from "/app-me.js";
import { guide, notFound, offlinePage, privacy, terms } from "/app-pages.js";
import { rent, returnPage } from "/app-rent.js";
import { isOperator, me, needLogin, refreshMe, renderChrome } from "/app-session.js";
import { home, introductions, store } from "/app-stores.js";

window.addEventListener("upbrella:navigate", route);
window.addEventListener("popstate", route);

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-link]");
  // A modified or non-primary click is the browser's: a new tab or window.
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.origin !== location.origin || (a.target && a.target !== "_self") || a.hasAttribute("download")) return;
  e.preventDefault();
  go(a.pathname + a.search);
});

if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => navigator.serviceWorker.register("/sw.js").catch(() => {}));
}

document.getElementById("lang-switch").addEventListener("click", async () => {
  setLang(lang() === "en" ? "ko" : "en");
  renderChrome();
  await route();
});

async function admin() {
  if (!me) return needLogin();
  if (!isOperator(me)) return show(h("h1", {}, t("운영진만 볼 수 있습니다", "For operators only")), h("p", {}, link("/", t("처음으로", "Home"))));
  // The console is loaded for operators only: a renter never downloads it.
  const { adminConsole } = await import("/console.js");
  await adminConsole(location.pathname, me);
}

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
  [/^\/offline$/, () => offlinePage(new Error(t("인터넷 연결을 확인해 주세요.", "You're offline.")))],
  [/^\/admin(\/.*)?$/, admin],
];

const progress = document.getElementById("progress");

async function route() {
  const path = location.pathname;
  view.setAttribute("aria-busy", "true");
  progress.hidden = false;
  try {
    for (const [pattern, handler] of routes) {
      const m = path.match(pattern);
      if (m) {
        try {
          await handler(...m.slice(1));
        } catch (e) {
          if (e.status === 401) return needLogin();
          if (e.kind === "offline" || e.kind === "timeout" || e.kind === "gateway") return offlinePage(e);
          show(h("h1", {}, t("문제가 생겼습니다", "Something went wrong")), errorBox(e));
        }
        return;
      }
    }
    notFound();
  } finally {
    progress.hidden = true;
    view.removeAttribute("aria-busy");
  }
}

refreshMe().then(route);
