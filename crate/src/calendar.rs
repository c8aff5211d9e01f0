//! Strict timestamp validation and the weekday of a date, without allocation.
//!
//! Accepted: `YYYY-MM-DD HH:MM:SS`, or with a `T` separator, optional fractional seconds
//! (`.` and one or more digits) and an optional `Z` or `±HH:MM` offset. The offset is validated
//! but not applied: date and hour are taken as written.

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

  /// True for Monday to Friday.
  pub fn is_working_day(&self) -> bool {
    self.weekday() <= 5
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
  if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b' ' | b'T') || s[13] != b':' || s[16] != b':' {
    return None;
  }
  let year = two(s, 0)? * 100 + two(s, 2)?;
  let month = two(s, 5)?;
  let day = two(s, 8)?;
  let hour = two(s, 11)?;
  let minute = two(s, 14)?;
  let second = two(s, 17)?;
  if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 {
    return None;
  }
  let mut rest = &s[19..];
  if let Some((b'.', frac)) = rest.split_first() {
    let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
      return None;
    }
    rest = &frac[digits..];
  }
  match rest {
    [] | [b'Z'] => {}
    [b'+' | b'-', _, _, b':', _, _] => {
      if two(rest, 1)? > 23 || two(rest, 4)? > 59 {
        return None;
      }
    }
    _ => return None,
  }
  Some(Timestamp {
    year: year as u16,
    month: month as u8,
    day: day as u8,
    hour: hour as u8,
  })
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
  // 1970-01-01 was a Thursday (ISO 4).
  ((days_from_civil(year, month, day) + 3).rem_euclid(7) + 1) as u8
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
