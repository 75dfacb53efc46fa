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
  // Filled in as the pages need them: code: ["한국어", "English"].
};

/** An API error's message in the chosen language. */
export function errorText(code, fallback) {
  const pair = code && CODES[code];
  return pair ? t(pair[0], pair[1]) : fallback;
}

export function addCodes(more) {
  Object.assign(CODES, more);
}
