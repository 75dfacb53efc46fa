//! Parse-don't-validate newtypes for what users type in.

use crate::error::Error;

/// A lower-cased e-mail address with one `@`, a dotted domain and no spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(Error::invalid(
                "invalid_email",
                "올바른 이메일 주소를 입력해 주세요.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's display name: 1 to 50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let name = raw.trim();
        let len = name.chars().count();
        if (1..=50).contains(&len) && !name.chars().any(char::is_control) {
            Ok(Self(name.to_owned()))
        } else {
            Err(Error::invalid(
                "invalid_name",
                "이름은 1자 이상 50자 이하로 입력해 주세요.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mobile number: a Korean one stored as digits only (`01012345678`, also given as
/// `+82 10-1234-5678`), any other in E.164 (`+447911123456`). Hyphens, spaces, dots and
/// parentheses are accepted on input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '.' | '(' | ')'))
            .collect();
        let korean = |digits: &str| {
            digits.chars().all(|c| c.is_ascii_digit())
                && digits.starts_with("01")
                && (10..=11).contains(&digits.len())
        };
        let parsed = match compact.strip_prefix('+') {
            // Korea's country code: the same number written for abroad.
            Some(rest) if rest.starts_with("82") => {
                let local = format!("0{}", rest.trim_start_matches("82").trim_start_matches('0'));
                korean(&local).then_some(local)
            }
            // E.164: a country code that does not start with 0, at most 15 digits.
            Some(rest) => (rest.chars().all(|c| c.is_ascii_digit())
                && !rest.starts_with('0')
                && (7..=15).contains(&rest.len()))
            .then(|| format!("+{rest}")),
            None => korean(&compact).then_some(compact),
        };
        parsed.map(Self).ok_or_else(|| {
            Error::invalid(
                "invalid_phone",
                "휴대폰 번호를 확인해 주세요. 예: 010-1234-5678, 해외 번호는 +44 7911 123456 (Check the phone number: a Korean mobile, or an international number starting with +.)",
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text a user writes about an umbrella (condition on rent, improvements on return):
/// at most 400 characters; blank means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report(Option<String>);

impl Report {
    pub const MAX_CHARS: usize = 400;

    pub fn parse(raw: Option<&str>, what: &str) -> Result<Self, Error> {
        let text = raw.map(str::trim).filter(|t| !t.is_empty());
        match text {
            Some(t) if t.chars().count() > Self::MAX_CHARS => Err(Error::invalid(
                "too_long",
                format!("{what}: {}자 이하로 입력해 주세요.", Self::MAX_CHARS),
            )),
            Some(t) if has_hidden_control(t) => Err(control_characters(what)),
            Some(t) => Ok(Self(Some(t.to_owned()))),
            None => Ok(Self(None)),
        }
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Control characters other than line breaks and tabs: never meant, never shown, and
/// NUL is refused by PostgreSQL (which made them a 500 before this check).
fn control_characters(what: &str) -> Error {
    Error::invalid(
        "control_characters",
        format!("{what}: 보이지 않는 제어 문자는 쓸 수 없습니다."),
    )
}

fn has_hidden_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A short required label (store name, category, region name): 1 to `max` characters,
/// no control characters.
pub fn label(raw: &str, what: &str, max: usize) -> Result<String, Error> {
    let t = raw.trim();
    let len = t.chars().count();
    if t.chars().any(char::is_control) {
        return Err(control_characters(what));
    }
    if (1..=max).contains(&len) {
        Ok(t.to_owned())
    } else {
        Err(Error::invalid(
            "invalid_length",
            format!("{what}: 1자 이상 {max}자 이하로 입력해 주세요."),
        ))
    }
}

/// A free text field with an upper bound on its length; line breaks and tabs allowed,
/// other control characters not.
pub fn text(raw: &str, what: &str, max: usize) -> Result<String, Error> {
    let t = raw.trim();
    if has_hidden_control(t) {
        return Err(control_characters(what));
    }
    if t.chars().count() <= max {
        Ok(t.to_owned())
    } else {
        Err(Error::invalid(
            "too_long",
            format!("{what}: {max}자 이하로 입력해 주세요."),
        ))
    }
}

/// A latitude/longitude pair within range.
pub fn coordinates(latitude: f64, longitude: f64) -> Result<(f64, f64), Error> {
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(Error::invalid(
            "invalid_coordinates",
            "위도는 -90~90, 경도는 -180~180 사이여야 합니다.",
        ));
    }
    Ok((latitude, longitude))
}

/// An absolute http(s) URL (store images, Instagram).
pub fn http_url(raw: &str, what: &str) -> Result<String, Error> {
    match url::Url::parse(raw.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u.to_string()),
        _ => Err(Error::invalid(
            "invalid_url",
            format!("{what}: http:// 또는 https://로 시작하는 전체 주소를 입력해 주세요."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Kim@Example.COM ").expect("valid").as_str(),
            "kim@example.com"
        );
        for bad in [
            "",
            "kim",
            "kim@",
            "@example.com",
            "kim@example",
            "k im@example.com",
            "a@b@c.com",
            "kim@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn phones_keep_digits_only() {
        assert_eq!(
            Phone::parse("010-1234-5678").expect("valid").as_str(),
            "01012345678"
        );
        assert!(Phone::parse("02-123-4567").is_err());
        assert!(Phone::parse("010-1234-567a").is_err());
        assert!(Phone::parse("0101234567890").is_err());
    }

    #[test]
    fn international_numbers_are_e164() {
        let ok = |raw: &str| Phone::parse(raw).expect(raw).as_str().to_owned();
        assert_eq!(ok("+44 7911 123456"), "+447911123456");
        assert_eq!(ok("+1 (415) 555-2671"), "+14155552671");
        assert_eq!(ok("+86 138 0013 8000"), "+8613800138000");
        // A Korean number written for abroad is the same number.
        assert_eq!(ok("+82 10-1234-5678"), "01012345678");
        assert_eq!(ok("+82 010 1234 5678"), "01012345678");
        for bad in [
            "+0441234567",
            "+12345",
            "+1234567890123456",
            "+44 79a1",
            "+82 2 123 4567",
            "+",
            "++447911123456",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn reports_are_bounded_in_characters_not_bytes() {
        let korean = "우".repeat(400);
        assert!(Report::parse(Some(&korean), "report").is_ok());
        let long = "우".repeat(401);
        assert!(Report::parse(Some(&long), "report").is_err());
        assert_eq!(
            Report::parse(Some("   "), "report")
                .expect("blank ok")
                .as_deref(),
            None
        );
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_kept() {
        assert!(Email::parse("a\u{0}@example.com").is_err());
        assert!(label("우산\u{0}카페", "name", 50).is_err());
        assert!(label("우산\n카페", "name", 50).is_err());
        assert!(text("a\u{0}b", "description", 100).is_err());
        assert_eq!(
            text("first line\nsecond\tline", "description", 100).expect("kept"),
            "first line\nsecond\tline"
        );
        assert!(Report::parse(Some("a\u{0}b"), "report").is_err());
        assert!(Report::parse(Some("젖음\n손잡이 헐거움"), "report").is_ok());
    }

    #[test]
    fn only_http_urls_are_images() {
        assert!(http_url("https://cdn.example.com/a.jpg", "image").is_ok());
        assert!(http_url("javascript:alert(1)", "image").is_err());
        assert!(http_url("/relative.png", "image").is_err());
    }
}
