// Shared building blocks of the front-end: the API client, element builder, forms.

export const view = document.getElementById("view");

export class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/api${path}`, init);
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, (data && data.detail) || res.statusText, data && data.code);
  return data;
}

export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return el;
};

export const link = (href, ...children) => h("a", { href, "data-link": true }, ...children);
export const date = (iso) => (iso ? new Date(iso).toLocaleDateString("ko-KR") : "-");
export const show = (...nodes) => view.replaceChildren(...nodes);
export const errorBox = (e) => h("p", { class: "error", role: "alert" }, e.message || String(e));

export function form(fields, submitLabel, onsubmit) {
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

export function go(path) {
  history.pushState(null, "", path);
  window.dispatchEvent(new Event("upbrella:navigate"));
}
