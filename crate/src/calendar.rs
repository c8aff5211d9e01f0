//! Strict timestamp validation and the weekday of a date, without allocation.
//!
//! Accepted: `YYYY-MM-DD HH:MM:SS`, or with a `T` separator, optional fractional seconds
//! (`.` and one or more digits) and an optional `Z` or `±HH:MM` offset. The offset is validated
//! but not applied: date and hour are taken as written.

use crate::swar::{load8, non_digits};

/// A validated timestamp's date and hour, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
  pub year: u16,
  pub month: u8,
  pub day: u8,
  pub hour: u8,
}

impl Timestamp {
  /// ISO weekday of the date: 1 = Monday … 7 = Sunday (proleptic Gregorian calendar).
  pub fn weekday(&self) -> u8 {
    weekday(self.year as i64, self.month as u32, self.day as u32)
  }
}

#[inline]
fn digit(b: u8) -> Option<u32> {
  let d = b.wrapping_sub(b'0');
  if d < 10 {
    Some(d as u32)
  } else {
    None
  }
}

#[inline]
fn two(s: &[u8], at: usize) -> Option<u32> {
  Some(digit(*s.get(at)?)? * 10 + digit(*s.get(at + 1)?)?)
}

/// Parses and validates a timestamp; `None` when it is malformed or names an impossible date or
/// time (`2019-02-30`, hour 24, minute 60, second 60, offset hour 24).
///
/// ```
/// use loghour::calendar::parse_timestamp;
/// let t = parse_timestamp(b"2019-05-06 17:24:53").unwrap();
/// assert_eq!((t.hour, t.weekday()), (17, 1)); // a Monday
/// assert!(parse_timestamp(b"2019-02-29T10:00:00Z").is_none());
/// ```
pub fn parse_timestamp(s: &[u8]) -> Option<Timestamp> {
  let date: &[u8; 10] = s.get(..10)?.try_into().ok()?;
  date_weekday(date)?;
  let hour = parse_time_of_day(s)?;
  Some(Timestamp {
    year: (two(s, 0)? * 100 + two(s, 2)?) as u16,
    month: two(s, 5)? as u8,
    day: two(s, 8)? as u8,
    hour,
  })
}

/// Parses timestamps like [`parse_timestamp`], remembering the last date seen: log lines come
/// in time order, so the date's validation and weekday are usually computed once per day.
#[derive(Default)]
pub struct TimestampParser {
  /// The last date (its first 8 bytes and last 2), its weekday (0 for an invalid date) and day.
  last: Option<(u64, u16, u8, i32)>,
  /// The last valid `YYYY-MM-DD?HH:MM` (bytes 0..8 and 8..16) with its hour and weekday: lines
  /// of the same minute only need their seconds checked.
  minute: Option<(u64, u64, HourAndWeekday)>,
}

/// Hour, ISO weekday (1 = Monday … 7 = Sunday) and day (since 1970-01-01) of a valid timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourAndWeekday {
  pub hour: u8,
  pub weekday: u8,
  /// Days since 1970-01-01 of the date as written: the per-day sketch it belongs to.
  pub day: i32,
}

#[inline(always)]
fn le8(s: &[u8], at: usize) -> u64 {
  load8(s, at).unwrap_or(0)
}

/// `YYYY-MM-DD?HH:MM:SS` digits and `-`/`:` separators, checked eight bytes at a time
/// (the date/time separator at byte 10 is checked by the caller).
#[inline(always)]
fn core_shape_ok(a: u64, b: u64, c: u64) -> bool {
  // a = bytes 0..8 "YYYY-MM-", b = bytes 8..16 "DD?HH:MM", c = bytes 11..19 "HH:MM:SS".
  const A_DIGITS: u64 = 0x00ff_ff00_ffff_ffff;
  const B_DIGITS: u64 = 0xffff_00ff_ff00_ffff;
  const C_DIGITS: u64 = 0xffff_00ff_ff00_ffff;
  non_digits(a, A_DIGITS) | non_digits(b, B_DIGITS) | non_digits(c, C_DIGITS) == 0
    && a & !A_DIGITS == 0x2d00_002d_0000_0000
    && c & !C_DIGITS == 0x0000_3a00_003a_0000
}

impl TimestampParser {
  /// The hour and weekday of a valid timestamp; `None` exactly when [`parse_timestamp`] says so.
  ///
  /// ```
  /// let mut p = loghour::calendar::TimestampParser::default();
  /// let t = p.parse(b"2019-05-06T17:24:53Z").unwrap();
  /// assert_eq!((t.hour, t.weekday), (17, 1));
  /// ```
  #[inline(always)]
  pub fn parse(&mut self, s: &[u8]) -> Option<HourAndWeekday> {
    if s.len() < 19 {
      return None;
    }
    let (a, b, c) = (le8(s, 0), le8(s, 8), le8(s, 11));
    if let Some((ma, mb, known)) = self.minute {
      // Same minute as the last line: only ":SS" (bytes 16..19) is new.
      if ma == a && mb == b {
        let secs = c >> 40; // bytes 16, 17, 18
        let tens = ((secs >> 8) & 0xff) as u8;
        let ones = ((secs >> 16) & 0xff) as u8;
        if secs & 0xff == b':' as u64
          && (b'0'..=b'5').contains(&tens)
          && ones.is_ascii_digit()
          && (s.len() == 19 || zone_ok(&s[19..]))
        {
          return Some(known);
        }
        return None;
      }
    }
    self.parse_new_minute(s, a, b, c)
  }

  #[inline(never)]
  fn parse_new_minute(&mut self, s: &[u8], a: u64, b: u64, c: u64) -> Option<HourAndWeekday> {
    if !core_shape_ok(a, b, c) || !matches!(s[10], b' ' | b'T') {
      return None;
    }
    let tail = u16::from_le_bytes([s[8], s[9]]);
    let (weekday, day) = match self.last {
      Some((la, lt, weekday, day)) if la == a && lt == tail => (weekday, day),
      _ => {
        let day = date_day(s[..10].try_into().ok()?);
        let (weekday, day) = day.map_or((0, 0), |d| (weekday_of_day(d), d as i32));
        self.last = Some((a, tail, weekday, day));
        (weekday, day)
      }
    };
    // c = "HH:MM:SS", one digit per byte (validated above).
    let digit = |k: u32| ((c >> (8 * k)) & 0x0f) as u32;
    let hour = digit(0) * 10 + digit(1);
    if weekday == 0 || hour > 23 || digit(3) > 5 || digit(6) > 5 {
      return None;
    }
    let known = HourAndWeekday {
      hour: hour as u8,
      weekday,
      day,
    };
    self.minute = Some((a, b, known));
    if s.len() > 19 && !zone_ok(&s[19..]) {
      return None;
    }
    Some(known)
  }
}

/// Optional fraction (`.` and digits) then optional `Z` or `±HH:MM`.
fn zone_ok(mut rest: &[u8]) -> bool {
  if let Some((b'.', frac)) = rest.split_first() {
    let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
      return false;
    }
    rest = &frac[digits..];
  }
  match rest {
    [] | [b'Z'] => true,
    [b'+' | b'-', _, _, b':', _, _] => matches!((two(rest, 1), two(rest, 4)), (Some(h), Some(m)) if h <= 23 && m <= 59),
    _ => false,
  }
}

/// Weekday of a valid `YYYY-MM-DD`, or `None`.
fn date_weekday(d: &[u8; 10]) -> Option<u8> {
  date_day(d).map(weekday_of_day)
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD`, or `None`.
fn date_day(d: &[u8; 10]) -> Option<i64> {
  if d[4] != b'-' || d[7] != b'-' {
    return None;
  }
  let year = two(d, 0)? * 100 + two(d, 2)?;
  let month = two(d, 5)?;
  let day = two(d, 8)?;
  if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
    return None;
  }
  Some(days_from_civil(year as i64, month, day))
}

/// Validates everything after the date (`THH:MM:SS[.f][Z|±HH:MM]`); returns the hour.
fn parse_time_of_day(s: &[u8]) -> Option<u8> {
  if s.len() < 19 || !matches!(s[10], b' ' | b'T') || s[13] != b':' || s[16] != b':' {
    return None;
  }
  let hour = two(s, 11)?;
  if hour > 23 || two(s, 14)? > 59 || two(s, 17)? > 59 || !zone_ok(&s[19..]) {
    return None;
  }
  Some(hour as u8)
}

/// Gregorian leap year.
pub fn is_leap_year(year: u32) -> bool {
  year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in a month (1..=12) of a year.
pub fn days_in_month(year: u32, month: u32) -> u32 {
  match month {
    2 if is_leap_year(year) => 29,
    2 => 28,
    4 | 6 | 9 | 11 => 30,
    _ => 31,
  }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
  let y = if month <= 2 { year - 1 } else { year };
  let era = y.div_euclid(400);
  let yoe = y - era * 400;
  let m = month as i64;
  let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
  let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  era * 146_097 + doe - 719_468
}

/// The date (year, month, day) `days` after 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z - era * 146_097;
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
  let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
  let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
  (year, month, day)
}

/// ISO weekday (1 = Monday … 7 = Sunday) of a proleptic Gregorian date.
pub fn weekday(year: i64, month: u32, day: u32) -> u8 {
  weekday_of_day(days_from_civil(year, month, day))
}

/// ISO weekday (1 = Monday … 7 = Sunday) of a day number (1970-01-01, a Thursday, is day 0).
pub fn weekday_of_day(day: i64) -> u8 {
  ((day + 3).rem_euclid(7) + 1) as u8
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reference_dates() {
    assert_eq!(weekday(2019, 5, 6), 1);
    assert_eq!(weekday(2019, 5, 11), 6);
    assert_eq!(weekday(2019, 5, 12), 7);
    assert_eq!(weekday(2020, 1, 1), 3);
    assert_eq!(weekday(2000, 2, 29), 2);
    assert_eq!(weekday(0, 1, 1), 6); // proleptic 0000-01-01 (1 BC) was a Saturday
    assert_eq!(weekday(9999, 12, 31), 5);
  }

  #[test]
  fn civil_round_trip_over_the_whole_range() {
    let mut days = days_from_civil(0, 1, 1);
    let end = days_from_civil(9999, 12, 31);
    let mut expected_weekday = 6;
    while days <= end {
      let (y, m, d) = civil_from_days(days);
      assert_eq!(days_from_civil(y, m, d), days);
      assert!(d >= 1 && d <= days_in_month(y as u32, m));
      assert_eq!(weekday(y, m, d), expected_weekday);
      expected_weekday = expected_weekday % 7 + 1;
      days += 1;
    }
  }

  #[test]
  fn accepts_iso_variants() {
    for s in [
      "2019-05-06 17:24:53",
      "2019-05-06T17:24:53",
      "2019-05-06T17:24:53Z",
      "2019-05-06T17:24:53.5",
      "2019-05-06 17:24:53.123456789+02:00",
      "2019-05-06T17:24:53-23:59",
      "2000-02-29 00:00:00",
      "0000-01-01 00:00:00",
    ] {
      assert!(parse_timestamp(s.as_bytes()).is_some(), "{s}");
    }
    assert_eq!(parse_timestamp(b"2019-05-06T17:24:53+05:30").unwrap().hour, 17);
  }

  #[test]
  fn the_caching_parser_agrees_with_parse_timestamp() {
    let mut p = TimestampParser::default();
    let cases = [
      "2019-05-06 17:24:53",
      "2019-05-06 18:00:00",
      "2019-05-06 1a:00:00",
      "2019-05-06 18:00:0:",
      "2019-05-06 18:00;00",
      "2019-05-06 18:00:00 ",
      "2019/05-06 18:00:00",
      "2019-05-06 18:00:01",
      "2019-05-06 18:00:60",
      "2019-05-06 18:00:5a",
      "2019-05-06 18:00;59",
      "2019-05-06 18:00:59.1",
      "2019-05-06 18:00:59.",
      "2019-05-06 18:00:59Z",
      "2019-05-06X18:00:00",
      "2019-05-06 18-00:00",
      "201\u{0}-05-06 18:00:00",
      "2019-02-29 10:00:00",
      "2019-02-29 10:00:00",
      "2019-05-06 24:00:00",
      "2019-05-11T10:24:57Z",
      "2019-05-11T10:24:57+99:00",
      "2020-02-29 10:00:00.5",
      "2019-05-0x 10:00:00",
      "2019-05-06",
    ];
    for s in cases {
      let want = parse_timestamp(s.as_bytes()).map(|t| HourAndWeekday {
        hour: t.hour,
        weekday: t.weekday(),
        day: days_from_civil(t.year as i64, t.month as u32, t.day as u32) as i32,
      });
      assert_eq!(p.parse(s.as_bytes()), want, "{s}");
    }
  }

  #[test]
  fn rejects_impossible_or_malformed() {
    for s in [
      "2019-02-29 10:00:00",
      "1900-02-29 10:00:00",
      "2019-04-31 10:00:00",
      "2019-13-01 10:00:00",
      "2019-00-01 10:00:00",
      "2019-01-00 10:00:00",
      "2019-05-06 24:00:00",
      "2019-05-06 17:60:00",
      "2019-05-06 17:00:60",
      "2019-05-06 17:00:00.",
      "2019-05-06 17:00:00+24:00",
      "2019-05-06 17:00:00+02:60",
      "2019-05-06 17:00:00+0200",
      "2019-05-06 17:00:00 ",
      " 2019-05-06 17:00:00",
      "2019-05-06t17:00:00",
      "2019-05-06 17:00:00z",
      "2019-5-06 17:00:00",
      "2019/05/06 17:00:00",
      "2019-05-06 17:00",
      "+019-05-06 17:00:00",
      "2019-05-06 17:00:00ZZ",
      "",
    ] {
      assert!(parse_timestamp(s.as_bytes()).is_none(), "{s}");
    }
  }
}
