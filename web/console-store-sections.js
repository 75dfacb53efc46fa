// The sections of a store's page: opening hours (with intervals past midnight),
// closures, photos and umbrellas.

import { t } from "/i18n.js";
import { api, h } from "/ui.js";
import { act, button, failBox, formBox, input, message, notice, number, seoulDay, table } from "/console-common.js";

const DAYS = [["월", "Mon"], ["화", "Tue"], ["수", "Wed"], ["목", "Thu"], ["금", "Fri"], ["토", "Sat"], ["일", "Sun"]];
const dayName = (weekday) => t(`${DAYS[weekday - 1][0]}요일`, DAYS[weekday - 1][1]);
const toMinutes = (hhmm) => {
  const [hh, mm] = String(hhmm || "0:0").split(":").map(Number);
  return hh * 60 + mm;
};
/// How an interval reads: "24시간", or "11:00 – 02:00 (다음 날)".
function intervalText(open, close) {
  if (open === close) return t("24시간", "24 hours");
  return `${open} – ${close}${toMinutes(close) < toMinutes(open) ? t(" (다음 날)", " (next day)") : ""}`;
}

export function hoursList(list) {
  const by = new Map();
  for (const b of list) by.set(b.weekday, [...(by.get(b.weekday) || []), b]);
  return h("table", { class: "hours" }, ...DAYS.map((_, i) => h("tr", {}, h("th", { scope: "row" }, dayName(i + 1)),
    h("td", {}, (by.get(i + 1) || []).map((b) => intervalText(b.open, b.close)).join(", ") || t("휴무", "Closed")))));
}

export function hoursForm(s, message) {
  const byDay = new Map();
  for (const b of [...(s.business_hours || [])].sort((a, b) => toMinutes(a.open) - toMinutes(b.open))) {
    byDay.set(b.weekday, [...(byDay.get(b.weekday) || []), b]);
  }
  const fieldsets = DAYS.map((_, i) => dayEditor(i + 1, byDay.get(i + 1) || []));
  return formBox("hours-form", [
    h("p", { class: "muted" }, t("하루에 여러 구간(쉬는 시간)을 둘 수 있습니다. 닫는 시간이 여는 시간보다 이르면 다음 날 닫습니다 (예: 11:00–02:00).",
      "A day can have several intervals (a break between them). A closing time before the opening time closes the next day (e.g. 11:00–02:00).")),
    ...fieldsets,
  ], t("영업 시간 저장", "Save opening hours"), async (data) => {
    const week = [];
    for (const fs of fieldsets) {
      const day = Number(fs.dataset.weekday);
      if (data.get(`open_${day}`) !== "on") continue;
      if (data.get(`allday_${day}`) === "on") {
        week.push({ weekday: day, open: "00:00", close: "00:00" });
        continue;
      }
      for (const row of fs.querySelectorAll(".interval")) {
        const [o, c] = row.querySelectorAll("input[type=time]");
        if (o.value && c.value) week.push({ weekday: day, open: o.value, close: c.value });
      }
    }
    await api("PUT", `/admin/stores/${s.id}/business-hours`, week);
    message.replaceChildren(notice(t("영업 시간을 저장했습니다.", "Opening hours saved.")));
  });
}

/// One weekday: open or not, 24 hours or not, and its intervals. The first interval's
/// fields are `open_at_{day}` / `close_at_{day}`; the next ones `open_at_{day}_{n}`.
function dayEditor(day, intervals) {
  const allDay = intervals.length === 1 && intervals[0].open === intervals[0].close;
  const rows = h("div", { class: "intervals" });
  let count = 0;
  const addRow = (open, close) => {
    count += 1;
    const suffix = count === 1 ? `${day}` : `${day}_${count}`;
    const hint = h("span", { class: "next-day muted", "aria-live": "polite" });
    const update = () => {
      const [o, c] = row.querySelectorAll("input[type=time]");
      hint.textContent = o.value && c.value
        ? (o.value === c.value ? t("24시간", "24 hours") : toMinutes(c.value) < toMinutes(o.value) ? t("다음 날", "next day") : "")
        : "";
    };
    const row = h("div", { class: "interval", oninput: update },
      input(`open_at_${suffix}`, t("여는 시간", "Opens"), { type: "time", value: open }),
      input(`close_at_${suffix}`, t("닫는 시간", "Closes"), { type: "time", value: close }),
      hint,
      count === 1 ? "" : button(t("구간 삭제", "Remove interval"), "remove-interval", () => row.remove(),
        { "aria-label": t(`${dayName(day)} 구간 삭제`, `Remove this ${dayName(day)} interval`) }));
    rows.append(row);
    update();
  };
  const list = intervals.length && !allDay ? intervals : [{ open: "09:00", close: "21:00" }];
  for (const b of list) addRow(b.open, b.close);
  const more = button(t("구간 추가", "Add an interval"), "add-interval", () => addRow("", ""),
    { "aria-label": t(`${dayName(day)} 구간 추가`, `Add a ${dayName(day)} interval`) });
  const allDayBox = h("input", { type: "checkbox", name: `allday_${day}`, checked: allDay,
    onchange: (e) => { rows.hidden = e.target.checked; more.hidden = e.target.checked; } });
  rows.hidden = allDay;
  more.hidden = allDay;
  return h("fieldset", { class: "day", "data-weekday": day }, h("legend", {}, dayName(day)),
    h("div", { class: "day-flags" },
      h("label", { class: "check" }, h("input", { type: "checkbox", name: `open_${day}`, checked: intervals.length > 0 }), t("영업", "Open")),
      h("label", { class: "check" }, allDayBox, t("24시간", "24 hours"))),
    rows, more);
}

export function closuresSection(storeId, closures) {
  const box = h("div", { id: "closures" });
  const render = (list) => box.replaceChildren(
    table([t("시작", "From"), t("끝", "To"), t("사유", "Reason"), ""], list.map((c) => h("tr", { "data-closure-id": c.id },
      h("td", {}, c.starts_on), h("td", {}, c.ends_on), h("td", {}, c.reason || "-"),
      h("td", {}, button(t("삭제", "Delete"), "danger delete-closure", (e) => act(e.currentTarget, box, t(`${c.starts_on}–${c.ends_on} 휴무를 지울까요?`, `Delete the closure ${c.starts_on}–${c.ends_on}?`),
        () => api("DELETE", `/admin/stores/${storeId}/closures/${c.id}`), () => render(list.filter((x) => x.id !== c.id))),
      { "aria-label": t(`${c.starts_on} 휴무 삭제`, `Delete the closure from ${c.starts_on}`) })))),
    t("정해진 휴무일이 없습니다.", "No closures.")),
    formBox("closure-form", [
      h("div", { class: "pair" },
        input("starts_on", t("휴무 시작일", "Closed from"), { type: "date", required: true, value: seoulDay() }),
        input("ends_on", t("휴무 마지막 날", "Closed until (inclusive)"), { type: "date", required: true, value: seoulDay() })),
      input("reason", t("사유 (예: 설 연휴)", "Reason (e.g. Lunar New Year)"), { maxlength: 100 }),
    ], t("휴무일 추가", "Add a closure"), async (data) => {
      const c = await api("POST", `/admin/stores/${storeId}/closures`,
        { starts_on: data.get("starts_on"), ends_on: data.get("ends_on"), reason: data.get("reason") || "" });
      render([...list, c].sort((a, b) => a.starts_on.localeCompare(b.starts_on)));
    }));
  render(closures);
  return box;
}

// Photos: uploaded from the phone's camera (presigned PUT), or by address ------------

export function imagesSection(s) {
  const box = h("div");
  const render = (images) => {
    const uploadBox = h("div", { class: "upload-message", id: "upload-message", "aria-live": "polite" });
    const upload = formBox("photo-form", [
      h("label", {}, t("사진 찍기 또는 고르기", "Take or choose a photo"),
        h("input", { type: "file", name: "photo", accept: "image/*", capture: "environment", required: true })),
    ], t("사진 올리기", "Upload the photo"), async (data) => {
      const file = data.get("photo");
      if (!file || !file.size) throw new Error(t("사진을 골라 주세요.", "Choose a photo."));
      const type = file.type || "image/jpeg";
      let ticket;
      try {
        ticket = await api("POST", `/admin/stores/${s.id}/images/uploads`, { content_type: type, size: file.size });
      } catch (e) {
        if (e.code !== "uploads_unavailable") throw e;
        // No bucket: the photo goes in by its address (the form below) from now on.
        upload.hidden = true;
        uploadBox.replaceChildren(failBox(e));
        return;
      }
      const put = await fetch(ticket.upload_url, { method: ticket.method || "PUT", headers: ticket.headers || { "Content-Type": type }, body: file });
      if (!put.ok) throw new Error(t(`사진을 올리지 못했습니다 (${put.status}). 다시 시도해 주세요.`, `The photo did not upload (${put.status}). Try again.`));
      const image = await api("POST", `/admin/stores/${s.id}/images`, { url: ticket.image_url });
      render([...images, image]);
    });
    box.replaceChildren(
      h("div", { class: "gallery admin" }, ...images.map((i) => h("figure", {},
        h("img", { src: i.url, alt: t(`${s.name} 사진`, `Photo of ${s.name}`), class: "store-image" }),
        button(t("삭제", "Delete"), "", (e) => act(e.currentTarget, box, t("이 사진을 지울까요?", "Delete this photo?"),
          () => api("DELETE", `/admin/stores/${s.id}/images/${i.id}`), () => render(images.filter((x) => x.id !== i.id))))))),
      upload, uploadBox,
      formBox("image-form", [input("url", t("사진 주소 (https://…)", "Photo address (https://…)"), { type: "url", required: true })],
        t("사진 추가", "Add the photo"), async (data) => {
          const image = await api("POST", `/admin/stores/${s.id}/images`, { url: data.get("url") });
          render([...images, image]);
        }));
  };
  render(s.images || []);
  return box;
}

export function umbrellaState(u) {
  if (u.missed) return t("분실", "Missing");
  if (u.rented) return t("대여 중", "Out");
  return u.rentable ? t("대여 가능", "Rentable") : t("쉬는 중", "Resting");
}

export function umbrellasSection(storeId, umbrellas, canAdd = true) {
  const box = h("div");
  const render = (list) => box.replaceChildren(
    table([t("번호", "Number"), t("상태", "State"), t("비고", "Note")], list.map((u) => h("tr", { "data-umbrella-id": u.id },
      h("td", {}, t(`${u.number}번`, `No. ${u.number}`)), h("td", {}, umbrellaState(u)), h("td", {}, u.note))),
    t("아직 우산이 없습니다.", "No umbrellas yet.")),
    canAdd ? formBox("umbrella-form", [input("number", t("우산 번호", "Umbrella number"), { type: "number", min: 1, required: true }),
      input("note", t("비고 (선택)", "Note (optional)"), { maxlength: 200 })], t("우산 추가", "Add an umbrella"), async (data) => {
      const u = await api("POST", "/admin/umbrellas", { store_id: storeId, number: number(data, "number"), note: data.get("note") || "" });
      render([...list, u]);
    }) : "");
  render(umbrellas);
  return box;
}

// The monthly per-store report: printable, and mailed to the café ----------------------
