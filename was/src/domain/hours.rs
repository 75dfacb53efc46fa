//! Business hours and "open now", in Asia/Seoul time (UTC+9 all year: Korea has no DST).

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, Time, UtcOffset};

use crate::error::Error;

pub const SEOUL: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("+09:00 is a valid offset"),
};

/// Korean weekday names by ISO number (index 0 unused).
const WEEKDAYS: [&str; 8] = ["", "월", "화", "수", "목", "금", "토", "일"];

/// One weekday's opening hours. `weekday` is ISO: 1 = Monday … 7 = Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BusinessHour {
    pub weekday: i16,
    /// Local opening time, `HH:MM`.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "09:00")]
    pub open: Time,
    /// Local closing time, `HH:MM`; later than `open`.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "21:00")]
    pub close: Time,
}

impl BusinessHour {
    pub fn validate_week(hours: &[BusinessHour]) -> Result<(), Error> {
        let mut seen = [false; 8];
        for h in hours {
            let day = usize::try_from(h.weekday)
                .ok()
                .filter(|d| (1..=7).contains(d));
            let Some(day) = day else {
                return Err(Error::invalid(
                    "invalid_weekday",
                    "요일은 1(월요일)부터 7(일요일)까지입니다.",
                ));
            };
            if seen[day] {
                return Err(Error::invalid(
                    "duplicate_weekday",
                    format!("{}요일이 두 번 들어 있습니다.", WEEKDAYS[day]),
                ));
            }
            seen[day] = true;
            if h.open >= h.close {
                return Err(Error::invalid(
                    "opening_after_closing",
                    format!(
                        "{}요일: 여는 시간이 닫는 시간보다 빨라야 합니다.",
                        WEEKDAYS[day]
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Whether a store with these hours is open at `now`.
pub fn is_open(hours: &[BusinessHour], now: OffsetDateTime) -> bool {
    let local = now.to_offset(SEOUL);
    let weekday = i16::from(local.weekday().number_from_monday());
    let t = local.time();
    hours
        .iter()
        .any(|h| h.weekday == weekday && h.open <= t && t < h.close)
}

mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Time;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", t.hour(), t.minute()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let s = String::deserialize(d)?;
        Time::parse(&s, format_description!("[hour]:[minute]"))
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a time of day as HH:MM")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    fn weekdays() -> Vec<BusinessHour> {
        (1..=5)
            .map(|d| BusinessHour {
                weekday: d,
                open: time!(9:00),
                close: time!(18:00),
            })
            .collect()
    }

    #[test]
    fn open_now_uses_seoul_time() {
        // Monday 2026-11-23 00:30 UTC is 09:30 in Seoul.
        assert!(is_open(&weekdays(), datetime!(2026-11-23 00:30 UTC)));
        // 09:30 UTC is 18:30 in Seoul: closed.
        assert!(!is_open(&weekdays(), datetime!(2026-11-23 09:30 UTC)));
        // Sunday 2026-11-22 15:30 UTC is Monday 00:30 in Seoul: closed.
        assert!(!is_open(&weekdays(), datetime!(2026-11-22 15:30 UTC)));
        // Saturday in Seoul: no hours.
        assert!(!is_open(&weekdays(), datetime!(2026-11-28 01:00 UTC)));
    }

    #[test]
    fn week_validation_rejects_bad_days_and_order() {
        assert!(BusinessHour::validate_week(&weekdays()).is_ok());
        let bad_day = [BusinessHour {
            weekday: 8,
            open: time!(9:00),
            close: time!(10:00),
        }];
        assert!(BusinessHour::validate_week(&bad_day).is_err());
        let reversed = [BusinessHour {
            weekday: 1,
            open: time!(10:00),
            close: time!(9:00),
        }];
        assert!(BusinessHour::validate_week(&reversed).is_err());
        let twice = [weekdays()[0], weekdays()[0]];
        assert!(BusinessHour::validate_week(&twice).is_err());
    }
}
