//! What the service writes to people: Korean first, English beside it; plain text and
//! the same in simple HTML. Links carry their token after `#`, so it never reaches a
//! server log or a `Referer`.

use super::Mail;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One mail from its parts: a greeting, paragraphs (Korean), an optional button, the
/// English summary.
fn compose(
    kind: &'static str,
    to: &str,
    subject: &str,
    name: &str,
    paragraphs: &[String],
    button: Option<(&str, &str)>,
    english: &str,
) -> Mail {
    let mut text = format!("{name}님, 안녕하세요.\n\n");
    let mut html = format!(
        "<!doctype html><html lang=\"ko\"><body style=\"font-family:sans-serif;line-height:1.6;max-width:36rem\">\
         <p>{}님, 안녕하세요.</p>",
        escape(name)
    );
    for p in paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape(p)));
    }
    if let Some((label, link)) = button {
        text.push_str(&format!("{label}: {link}\n\n"));
        html.push_str(&format!(
            "<p><a href=\"{0}\" style=\"display:inline-block;padding:.6em 1.2em;background:#1565c0;color:#fff;border-radius:6px;text-decoration:none\">{1}</a></p>\
             <p style=\"font-size:.85em;color:#555\">{0}</p>",
            escape(link),
            escape(label)
        ));
    }
    text.push_str("업브렐라 우산 대여 드림\n\n---\n");
    text.push_str(english);
    text.push('\n');
    html.push_str("<p>업브렐라 우산 대여 드림</p><hr><p lang=\"en\" style=\"color:#555\">");
    html.push_str(&escape(english));
    html.push_str("</p></body></html>");
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
        kind,
    }
}

pub fn verify_email(to: &str, name: &str, link: &str, hours: u64) -> Mail {
    compose(
        "verify_email",
        to,
        "[업브렐라] 이메일 주소를 확인해 주세요 (Confirm your e-mail address)",
        name,
        &[
            "업브렐라에 가입해 주셔서 고맙습니다. 아래 버튼을 눌러 이 이메일 주소가 맞는지 확인해 주세요.".into(),
            format!("링크는 {hours}시간 동안 한 번 쓸 수 있습니다. 직접 가입하지 않으셨다면 이 메일을 지워 주세요."),
        ],
        Some(("이메일 주소 확인하기", link)),
        &format!("Confirm your e-mail address for upbrella: {link} (valid for {hours} hours, once). If you did not sign up, delete this mail."),
    )
}

pub fn change_email(to: &str, name: &str, link: &str, hours: u64) -> Mail {
    compose(
        "change_email",
        to,
        "[업브렐라] 새 이메일 주소를 확인해 주세요 (Confirm your new e-mail address)",
        name,
        &[
            "업브렐라 계정의 이메일 주소를 이 주소로 바꾸려는 요청을 받았습니다. 아래 버튼을 누르면 바뀝니다.".into(),
            format!("링크는 {hours}시간 동안 한 번 쓸 수 있습니다. 요청하지 않으셨다면 이 메일을 지워 주세요. 주소는 바뀌지 않습니다."),
        ],
        Some(("새 이메일 주소로 바꾸기", link)),
        &format!("Confirm this address as your upbrella e-mail: {link} (valid for {hours} hours, once). If you did not ask, delete this mail; nothing changes."),
    )
}

pub fn reset_password(to: &str, name: &str, link: &str, minutes: u64) -> Mail {
    compose(
        "reset_password",
        to,
        "[업브렐라] 비밀번호 재설정 (Reset your password)",
        name,
        &[
            "비밀번호 재설정을 요청하셨습니다. 아래 버튼을 눌러 새 비밀번호를 정해 주세요. 재설정하면 모든 기기에서 로그아웃됩니다.".into(),
            format!("링크는 {minutes}분 동안 한 번 쓸 수 있습니다. 요청하지 않으셨다면 이 메일을 지워 주세요. 비밀번호는 바뀌지 않습니다."),
        ],
        Some(("새 비밀번호 정하기", link)),
        &format!("Reset your upbrella password: {link} (valid for {minutes} minutes, once; every device is logged out). If you did not ask, delete this mail; nothing changes."),
    )
}

pub fn password_changed(to: &str, name: &str, reset_link: &str) -> Mail {
    compose(
        "password_changed",
        to,
        "[업브렐라] 비밀번호가 바뀌었습니다 (Your password was changed)",
        name,
        &[
            "업브렐라 계정의 비밀번호가 바뀌었고, 다른 모든 기기에서 로그아웃되었습니다.".into(),
            "직접 바꾸지 않으셨다면 아래 버튼으로 바로 비밀번호를 재설정해 주세요.".into(),
        ],
        Some(("비밀번호 재설정하기", reset_link)),
        &format!(
            "Your upbrella password was changed and every other device logged out. If this was not you, reset it now: {reset_link}"
        ),
    )
}

pub fn email_changed(to: &str, name: &str, new_email: &str) -> Mail {
    compose(
        "email_changed",
        to,
        "[업브렐라] 계정 이메일 주소가 바뀌었습니다 (Your e-mail address was changed)",
        name,
        &[
            format!(
                "업브렐라 계정의 이메일 주소가 {new_email}(으)로 바뀌었습니다. 이 주소로는 더 이상 메일을 보내지 않습니다."
            ),
            "직접 바꾸지 않으셨다면 운영진에게 바로 알려 주세요.".into(),
        ],
        None,
        &format!(
            "Your upbrella e-mail address was changed to {new_email}. If this was not you, tell the operators at once."
        ),
    )
}

/// A store's month, as the monthly report mail shows it.
pub struct MonthlyFigures<'a> {
    pub store: &'a str,
    pub year: i32,
    pub month: u8,
    pub rentals: i64,
    pub returns_here: i64,
    pub lost: i64,
    pub mean_duration_hours: Option<f64>,
    /// ISO weekday, 1 = Monday.
    pub busiest_weekday: Option<i32>,
    /// Every day: `YYYY-MM-DD`, rentals, returns.
    pub days: &'a [(String, i64, i64)],
}

const WEEKDAYS: [(&str, &str); 7] = [
    ("월요일", "Monday"),
    ("화요일", "Tuesday"),
    ("수요일", "Wednesday"),
    ("목요일", "Thursday"),
    ("금요일", "Friday"),
    ("토요일", "Saturday"),
    ("일요일", "Sunday"),
];

/// The monthly report a partner café receives: the month's figures, then every day's
/// rentals and returns as a table.
pub fn monthly_report(to: &str, f: &MonthlyFigures<'_>) -> Mail {
    let weekday = f
        .busiest_weekday
        .and_then(|d| usize::try_from(d - 1).ok())
        .and_then(|i| WEEKDAYS.get(i).copied());
    let duration = |h: Option<f64>, unit: &str| match h {
        Some(h) => format!("{h:.1}{unit}"),
        None => "-".to_owned(),
    };
    let summary = [
        format!("이 매장에서 빌려 간 우산: {}개", f.rentals),
        format!("이 매장으로 돌아온 우산: {}개", f.returns_here),
        format!("분실 처리된 우산: {}개", f.lost),
        format!(
            "평균 대여 시간: {}",
            duration(f.mean_duration_hours, "시간")
        ),
        format!(
            "가장 많이 빌려 간 요일: {}",
            weekday.map_or("-", |(ko, _)| ko)
        ),
    ];
    let english = format!(
        "{store}, {year}-{month:02}: {rentals} umbrellas rented here, {returns} returned here, {lost} lost; \
         mean rental {hours}; busiest day {day}. The table lists every day (date, rentals, returns). \
         Thank you for hosting upbrella.",
        store = f.store,
        year = f.year,
        month = f.month,
        rentals = f.rentals,
        returns = f.returns_here,
        lost = f.lost,
        hours = duration(f.mean_duration_hours, " h"),
        day = weekday.map_or("-", |(_, en)| en),
    );
    let intro = format!(
        "{}년 {}월 {} 우산 대여 보고서를 보내 드립니다. 우산 대여에 함께해 주셔서 고맙습니다.",
        f.year, f.month, f.store
    );
    let mut text = format!("{}님, 안녕하세요.\n\n{intro}\n\n", f.store);
    let mut html = format!(
        "<!doctype html><html lang=\"ko\"><body style=\"font-family:sans-serif;line-height:1.6;max-width:36rem\">\
         <p>{}님, 안녕하세요.</p><p>{}</p><ul>",
        escape(f.store),
        escape(&intro)
    );
    for line in &summary {
        text.push_str(&format!("- {line}\n"));
        html.push_str(&format!("<li>{}</li>", escape(line)));
    }
    html.push_str(
        "</ul><table style=\"border-collapse:collapse\"><thead><tr>\
         <th style=\"text-align:left;padding:0 .8em\">날짜 (date)</th>\
         <th style=\"text-align:right;padding:0 .8em\">대여 (rentals)</th>\
         <th style=\"text-align:right;padding:0 .8em\">반납 (returns)</th></tr></thead><tbody>",
    );
    text.push_str("\n날짜 (date) / 대여 (rentals) / 반납 (returns)\n");
    for (date, rentals, returns) in f.days {
        text.push_str(&format!("{date}  {rentals}  {returns}\n"));
        html.push_str(&format!(
            "<tr><td style=\"padding:0 .8em\">{}</td><td style=\"text-align:right;padding:0 .8em\">{rentals}</td>\
             <td style=\"text-align:right;padding:0 .8em\">{returns}</td></tr>",
            escape(date)
        ));
    }
    html.push_str("</tbody></table>");
    text.push_str("\n업브렐라 우산 대여 드림\n\n---\n");
    text.push_str(&english);
    text.push('\n');
    html.push_str("<p>업브렐라 우산 대여 드림</p><hr><p lang=\"en\" style=\"color:#555\">");
    html.push_str(&escape(&english));
    html.push_str("</p></body></html>");
    Mail {
        to: to.to_owned(),
        subject: format!(
            "[업브렐라] {} {}년 {}월 우산 대여 보고서 (Monthly umbrella report, {}-{:02})",
            f.store, f.year, f.month, f.year, f.month
        ),
        text,
        html,
        kind: "monthly_report",
    }
}

/// The day before the due date.
pub fn due_soon(to: &str, name: &str, umbrella: i64, due: &(String, String), page: &str) -> Mail {
    compose(
        "reminder_due_soon",
        to,
        &format!("[업브렐라] {umbrella}번 우산 반납일이 다가왔어요 (Your umbrella is due soon)"),
        name,
        &[
            format!("빌리신 {umbrella}번 우산의 반납 기한은 {}까지입니다. 가까운 협력 매장 어디에서나 반납할 수 있어요.", due.0),
            "매장에 있는 반납 QR 코드를 찍으면 바로 반납됩니다. 이 휴대폰에서 로그인해 두셨다면 비밀번호를 다시 입력할 필요가 없어요.".into(),
            "알림 메일을 그만 받으려면 내 정보에서 끌 수 있습니다.".into(),
        ],
        Some(("내 대여 보기", page)),
        &format!("Umbrella {umbrella} is due back by {} (Asia/Seoul). Return it at any partner store by scanning its return QR code. Turn these reminders off on your page: {page}", due.1),
    )
}

/// Once the due time has passed.
pub fn overdue(to: &str, name: &str, umbrella: i64, due: &(String, String), page: &str) -> Mail {
    compose(
        "reminder_overdue",
        to,
        &format!("[업브렐라] {umbrella}번 우산 반납 기한이 지났어요 (Your umbrella is overdue)"),
        name,
        &[
            format!("빌리신 {umbrella}번 우산의 반납 기한({})이 지났습니다. 다음 사람이 쓸 수 있도록 가까운 협력 매장에 반납해 주세요.", due.0),
            "반납이 어려운 사정이 있거나 우산을 잃어버리셨다면 내 정보에서 분실 신고를 하거나 운영진에게 알려 주세요.".into(),
            "알림 메일을 그만 받으려면 내 정보에서 끌 수 있습니다.".into(),
        ],
        Some(("내 대여 보기", page)),
        &format!("Umbrella {umbrella} was due back by {} (Asia/Seoul). Please return it at any partner store, or report it lost on your page: {page}", due.1),
    )
}

/// One overdue rental in the operators' weekly digest.
pub struct OverdueLine {
    pub rental_id: i64,
    pub umbrella: i64,
    pub renter: String,
    pub store: String,
    pub days_overdue: i64,
}

/// The weekly list of overdue rentals, for operators.
pub fn overdue_digest(to: &str, name: &str, lines: &[OverdueLine], console: &str) -> Mail {
    let mut paragraphs = vec![format!(
        "반납 기한이 지난 대여가 {}건 있습니다. 오래된 순서입니다.",
        lines.len()
    )];
    for l in lines {
        paragraphs.push(format!(
            "· 대여 {} · {}번 우산 · {} · {} 대여 · {}일 지남",
            l.rental_id, l.umbrella, l.renter, l.store, l.days_overdue
        ));
    }
    if lines.is_empty() {
        paragraphs = vec!["이번 주에는 반납 기한이 지난 대여가 없습니다.".into()];
    }
    compose(
        "overdue_digest",
        to,
        &format!(
            "[업브렐라] 이번 주 반납 지연 {}건 (Overdue rentals this week: {})",
            lines.len(),
            lines.len()
        ),
        name,
        &paragraphs,
        Some(("관리 화면에서 보기", console)),
        &format!(
            "{} rentals are overdue this week, oldest first (see the console: {console}).",
            lines.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html_and_links_appear_in_both_parts() {
        let m = reset_password(
            "kim@example.com",
            "<b>김</b>",
            "https://u.example/reset-password#t=abc",
            30,
        );
        assert!(m.html.contains("&lt;b&gt;김&lt;/b&gt;"));
        assert!(!m.html.contains("<b>김"));
        assert!(m.text.contains("https://u.example/reset-password#t=abc"));
        assert!(m.html.contains("https://u.example/reset-password#t=abc"));
        assert!(m.subject.starts_with("[업브렐라]"));
        assert!(m.text.contains("30분"));
    }

    #[test]
    fn the_monthly_report_escapes_the_store_name_and_lists_every_day() {
        let days = vec![
            ("2026-11-01".to_owned(), 3, 1),
            ("2026-11-02".to_owned(), 0, 2),
        ];
        let m = monthly_report(
            "cafe@example.com",
            &MonthlyFigures {
                store: "<카페>",
                year: 2026,
                month: 11,
                rentals: 3,
                returns_here: 3,
                lost: 0,
                mean_duration_hours: Some(26.04),
                busiest_weekday: Some(7),
                days: &days,
            },
        );
        assert!(m.subject.starts_with("[업브렐라] <카페> 2026년 11월"));
        assert!(m.html.contains("&lt;카페&gt;") && !m.html.contains("<카페>"));
        assert!(m.text.contains("평균 대여 시간: 26.0시간"));
        assert!(m.text.contains("일요일") && m.text.contains("Sunday"));
        assert!(m.text.contains("2026-11-02  0  2"));
        assert_eq!(m.html.matches("<tr>").count(), 3);
    }
}
