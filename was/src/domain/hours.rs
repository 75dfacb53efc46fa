//! Business hours and "open now", in Asia/Seoul time (UTC+9 all year: Korea has no DST).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, Time, UtcOffset};

use crate::error::Error;

pub const SEOUL: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("+09:00 is a valid offset"),
};

/// Korean weekday names by ISO number (index 0 unused).
const WEEKDAYS: [&str; 8] = ["", "월", "화", "수", "목", "금", "토", "일"];

/// One opening interval of a weekday. `weekday` is ISO: 1 = Monday … 7 = Sunday. A
/// weekday may have several (a break time is two). An interval whose `close` is at or
/// before its `open` runs past midnight into the next day (a bar's 11:00–02:00);
/// one whose `open` equals its `close` lasts 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BusinessHour {
    pub weekday: i16,
    /// Local opening time, `HH:MM`.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "11:00")]
    pub open: Time,
    /// Local closing time, `HH:MM`: at or before `open` means the next day.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "02:00")]
    pub close: Time,
}

const DAY: i32 = 24 * 60;
const WEEK: i32 = 7 * DAY;

fn minutes(t: Time) -> i32 {
    i32::from(t.hour()) * 60 + i32::from(t.minute())
}

impl BusinessHour {
    /// The interval as minutes of the week from Monday 00:00, `[start, end)`; `end` may
    /// pass the week's end (Sunday night into Monday).
    fn span(&self) -> (i32, i32) {
        let start = (i32::from(self.weekday) - 1) * DAY + minutes(self.open);
        let length = match minutes(self.close) - minutes(self.open) {
            0 => DAY,
            d if d < 0 => d + DAY,
            d => d,
        };
        (start, start + length)
    }

    /// Runs past midnight (or lasts 24 hours).
    pub fn overnight(&self) -> bool {
        self.close <= self.open
    }

    pub fn validate_week(hours: &[BusinessHour]) -> Result<(), Error> {
        for h in hours {
            if !(1..=7).contains(&h.weekday) {
                return Err(Error::invalid(
                    "invalid_weekday",
                    "요일은 1(월요일)부터 7(일요일)까지입니다. (weekday is 1 = Monday to 7 = Sunday.)",
                ));
            }
        }
        for (i, a) in hours.iter().enumerate() {
            for b in &hours[i + 1..] {
                let (a0, a1) = a.span();
                let (b0, b1) = b.span();
                let overlaps = [-WEEK, 0, WEEK]
                    .iter()
                    .any(|k| a0.max(b0 + k) < a1.min(b1 + k));
                if overlaps {
                    let day = |h: &BusinessHour| WEEKDAYS[usize::try_from(h.weekday).unwrap_or(0)];
                    return Err(Error::invalid(
                        "overlapping_hours",
                        format!(
                            "{}요일 {}–{}과 {}요일 {}–{}이 겹칩니다. (Two intervals overlap.)",
                            day(a),
                            hhmm::text(a.open),
                            hhmm::text(a.close),
                            day(b),
                            hhmm::text(b.open),
                            hhmm::text(b.close)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A holiday or temporary closure: closed on these local dates, inclusive. An interval
/// that starts on a closed date does not open (nor its part after midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closure {
    pub starts_on: Date,
    pub ends_on: Date,
}

/// Whether a store with these hours and closures is open at `now` (Asia/Seoul).
pub fn is_open(hours: &[BusinessHour], closures: &[Closure], now: OffsetDateTime) -> bool {
    let local = now.to_offset(SEOUL);
    let m = (i32::from(local.weekday().number_from_monday()) - 1) * DAY
        + i32::from(local.hour()) * 60
        + i32::from(local.minute());
    let closed = |date: Date| {
        closures
            .iter()
            .any(|c| c.starts_on <= date && date <= c.ends_on)
    };
    hours.iter().any(|h| {
        let (start, end) = h.span();
        // This week's minute, or the same minute seen from the week before (an
        // interval of Sunday night reaching into Monday).
        [m, m + WEEK].into_iter().any(|at| {
            start <= at && at < end && {
                let back = time::Duration::minutes(i64::from(at - start));
                !closed((local - back).date())
            }
        })
    })
}

mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Time;
    use time::macros::format_description;

    pub fn text(t: Time) -> String {
        format!("{:02}:{:02}", t.hour(), t.minute())
    }

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*t))
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
        assert!(is_open(&weekdays(), &[], datetime!(2026-11-23 00:30 UTC)));
        // 09:30 UTC is 18:30 in Seoul: closed.
        assert!(!is_open(&weekdays(), &[], datetime!(2026-11-23 09:30 UTC)));
        // Sunday 2026-11-22 15:30 UTC is Monday 00:30 in Seoul: closed.
        assert!(!is_open(&weekdays(), &[], datetime!(2026-11-22 15:30 UTC)));
        // Saturday in Seoul: no hours.
        assert!(!is_open(&weekdays(), &[], datetime!(2026-11-28 01:00 UTC)));
    }

    fn hour(weekday: i16, open: Time, close: Time) -> BusinessHour {
        BusinessHour {
            weekday,
            open,
            close,
        }
    }

    /// Seoul local time as UTC.
    fn seoul(t: time::PrimitiveDateTime) -> OffsetDateTime {
        t.assume_offset(SEOUL)
    }

    #[test]
    fn a_bar_open_past_midnight_is_open_at_half_past_one() {
        // Friday 11:00 to Saturday 02:00 (2026-12-04 is a Friday).
        let bar = [hour(5, time!(11:00), time!(02:00))];
        assert!(is_open(&bar, &[], seoul(datetime!(2026-12-04 11:00))));
        assert!(is_open(&bar, &[], seoul(datetime!(2026-12-04 23:59))));
        assert!(is_open(&bar, &[], seoul(datetime!(2026-12-05 01:30))));
        assert!(!is_open(&bar, &[], seoul(datetime!(2026-12-05 02:00))));
        assert!(!is_open(&bar, &[], seoul(datetime!(2026-12-04 10:59))));
        // Sunday night into Monday wraps the week.
        let sunday = [hour(7, time!(20:00), time!(03:00))];
        assert!(is_open(&sunday, &[], seoul(datetime!(2026-12-07 02:59))));
        assert!(!is_open(&sunday, &[], seoul(datetime!(2026-12-07 03:00))));
    }

    #[test]
    fn twenty_four_hours_break_times_and_closures() {
        let always: Vec<_> = (1..=7)
            .map(|d| hour(d, time!(00:00), time!(00:00)))
            .collect();
        assert!(BusinessHour::validate_week(&always).is_ok());
        assert!(is_open(&always, &[], seoul(datetime!(2026-12-05 03:17))));
        let lunch_break = [
            hour(6, time!(09:00), time!(12:00)),
            hour(6, time!(13:00), time!(18:00)),
        ];
        assert!(BusinessHour::validate_week(&lunch_break).is_ok());
        assert!(is_open(
            &lunch_break,
            &[],
            seoul(datetime!(2026-12-05 11:59))
        ));
        assert!(!is_open(
            &lunch_break,
            &[],
            seoul(datetime!(2026-12-05 12:30))
        ));
        assert!(is_open(
            &lunch_break,
            &[],
            seoul(datetime!(2026-12-05 13:00))
        ));
        // Closed on Friday the 4th: Friday's interval does not open, nor its part
        // after midnight; Saturday's opens as usual.
        let bar = [
            hour(5, time!(11:00), time!(02:00)),
            hour(6, time!(11:00), time!(02:00)),
        ];
        let friday = [Closure {
            starts_on: time::macros::date!(2026 - 12 - 04),
            ends_on: time::macros::date!(2026 - 12 - 04),
        }];
        assert!(!is_open(&bar, &friday, seoul(datetime!(2026-12-04 20:00))));
        assert!(!is_open(&bar, &friday, seoul(datetime!(2026-12-05 01:30))));
        assert!(is_open(&bar, &friday, seoul(datetime!(2026-12-05 12:00))));
    }

    #[test]
    fn week_validation_rejects_bad_days_and_overlaps() {
        assert!(BusinessHour::validate_week(&weekdays()).is_ok());
        assert!(BusinessHour::validate_week(&[hour(8, time!(9:00), time!(10:00))]).is_err());
        let twice = [weekdays()[0], weekdays()[0]];
        assert!(BusinessHour::validate_week(&twice).is_err());
        // Monday's night runs into Tuesday's morning.
        let spill = [
            hour(1, time!(22:00), time!(03:00)),
            hour(2, time!(02:00), time!(10:00)),
        ];
        assert!(BusinessHour::validate_week(&spill).is_err());
        // Sunday's night runs into Monday's morning (the week wraps).
        let wrap = [
            hour(7, time!(22:00), time!(03:00)),
            hour(1, time!(01:00), time!(10:00)),
        ];
        assert!(BusinessHour::validate_week(&wrap).is_err());
        // Back to back is fine.
        let adjacent = [
            hour(1, time!(22:00), time!(03:00)),
            hour(2, time!(03:00), time!(10:00)),
        ];
        assert!(BusinessHour::validate_week(&adjacent).is_ok());
    }
}
