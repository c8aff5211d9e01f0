//! Reading a record's time as the date and hour the counting rule uses: the wall clock as
//! written, or, with a time zone, the instant converted to that zone's wall clock.
//!
//! Times are ISO 8601 strings (`YYYY-MM-DD HH:MM:SS`, `T` or space, optional fraction, optional
//! `Z`, `±HH:MM` or `±HHMM`), the CLF time `dd/Mon/yyyy:HH:MM:SS ±hhmm`, or epoch numbers (JSON
//! numbers or numeric strings) in seconds, milliseconds, microseconds or nanoseconds. The strict
//! rule (the original service's) accepts only the first form with `Z` or `±HH:MM`.

use jiff::tz::TimeZone;

use crate::calendar::{civil_from_days, days_from_civil, weekday, HourAndWeekday, TimestampParser};
use crate::clf::clf_time;
use crate::zone::ZoneClock;

/// The date and hour a time counts under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHour {
  /// `YYYY-MM-DD HH`: the element's prefix.
  pub date_hour: [u8; 13],
  pub hour: u8,
  /// ISO weekday, 1 = Monday … 7 = Sunday.
  pub weekday: u8,
  /// Days since 1970-01-01 of the date: the per-day sketch the element goes to.
  pub day: i32,
}

/// The unit of epoch times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeUnit {
  #[default]
  Seconds,
  Milliseconds,
  Microseconds,
  Nanoseconds,
}

impl TimeUnit {
  /// Decimal digits below one second.
  fn digits(self) -> i64 {
    match self {
      TimeUnit::Seconds => 0,
      TimeUnit::Milliseconds => 3,
      TimeUnit::Microseconds => 6,
      TimeUnit::Nanoseconds => 9,
    }
  }
}

/// How times are read.
#[derive(Debug, Clone, Default)]
pub struct ClockOptions {
  /// The original service's rule: ISO strings only, `Z` or `±HH:MM`.
  pub strict: bool,
  pub unit: TimeUnit,
  /// The team's zone: instants are converted to its wall clock. `None`: wall clocks as written
  /// (offsets ignored), epoch times in UTC.
  pub zone: Option<TimeZone>,
  /// The zone of wall clocks written without an offset, when it is not `zone`.
  pub source_zone: Option<TimeZone>,
}

/// Reads times; caches the last date and the zones' offset spans.
pub struct Clock {
  strict: bool,
  unit: TimeUnit,
  zone: Option<ZoneClock>,
  source_zone: Option<ZoneClock>,
  parser: TimestampParser,
  /// The last local day converted to a date (days since the epoch, `YYYY-MM-DD`, weekday).
  day: Option<(i64, [u8; 10], u8)>,
  /// The last written date converted to days since the epoch.
  wall_day: Option<([u8; 10], i64)>,
  /// The last written minute (`YYYY-MM-DD?HH:MM` as two words) and offset whose whole minute
  /// counts under one local hour, with that hour.
  minute: Option<(MinuteKey, LocalHour)>,
}

const SECONDS_PER_DAY: i64 = 86_400;

/// A written minute (`YYYY-MM-DD?HH:MM` as two little-endian words) and its offset, if written.
type MinuteKey = (u64, u64, Option<i32>);

impl Clock {
  /// A clock reading times as `options` say.
  ///
  /// ```
  /// use loghour::clock::{Clock, ClockOptions};
  /// let berlin = loghour::zone::time_zone("Europe/Berlin");
  /// let mut clock = Clock::new(ClockOptions { zone: berlin, ..Default::default() });
  /// let t = clock.read_text(b"2026-11-23T14:15:00.123Z").unwrap();
  /// assert_eq!((&t.date_hour, t.hour, t.weekday), (b"2026-11-23 15", 15, 1));
  /// ```
  pub fn new(options: ClockOptions) -> Self {
    Clock {
      strict: options.strict,
      unit: options.unit,
      zone: options.zone.map(ZoneClock::new),
      source_zone: options.source_zone.map(ZoneClock::new),
      parser: TimestampParser::default(),
      day: None,
      wall_day: None,
      minute: None,
    }
  }

  /// Whether a plain `YYYY-MM-DD HH:MM:SS` (no offset) is taken as written: the compact fast
  /// path relies on it.
  pub fn plain_is_as_written(&self) -> bool {
    self.source_zone.is_none()
  }

  /// Whether numbers and other forms are refused (the original rule).
  pub fn is_strict(&self) -> bool {
    self.strict
  }

  /// The parser of plain timestamps, for the compact fast path.
  pub fn parser(&mut self) -> &mut TimestampParser {
    &mut self.parser
  }

  /// A time written as a string; `None` when it is not a valid time.
  #[inline]
  pub fn read_text(&mut self, s: &[u8]) -> Option<LocalHour> {
    if let Some(known) = self.parser.parse(s) {
      if self.zone.is_none() {
        let mut date_hour: [u8; 13] = s[..13].try_into().ok()?;
        date_hour[10] = b' ';
        return Some(LocalHour {
          date_hour,
          hour: known.hour,
          weekday: known.weekday,
          day: known.day,
        });
      }
      let wall: &[u8; 19] = s[..19].try_into().ok()?;
      return self.place(wall, known, iso_offset(&s[19..]));
    }
    if self.strict {
      return None;
    }
    self.read_other_text(s)
  }

  #[inline(never)]
  fn read_other_text(&mut self, s: &[u8]) -> Option<LocalHour> {
    if let Ok(clf) = <&[u8; 26]>::try_from(s) {
      if let Some((wall, minutes)) = clf_time(clf) {
        return self.read_wall(&wall, Some(minutes as i32 * 60));
      }
    }
    if is_decimal(s) {
      return self.read_number(s);
    }
    // ISO with a `±HHMM` offset.
    let wall: &[u8; 19] = s.get(..19)?.try_into().ok()?;
    let offset = compact_offset(&s[19..])?;
    let known = self.parser.parse(wall)?;
    self.place(wall, known, Some(offset))
  }

  /// A wall clock `YYYY-MM-DD?HH:MM:SS` with its UTC offset in seconds, if written.
  pub fn read_wall(&mut self, wall: &[u8; 19], offset: Option<i32>) -> Option<LocalHour> {
    let known = self.parser.parse(wall)?;
    self.place(wall, known, offset)
  }

  /// The date and hour a validated wall clock counts under.
  #[inline]
  fn place(&mut self, wall: &[u8; 19], known: HourAndWeekday, offset: Option<i32>) -> Option<LocalHour> {
    let as_written = || {
      let mut date_hour: [u8; 13] = wall[..13].try_into().ok()?;
      date_hour[10] = b' ';
      Some(LocalHour {
        date_hour,
        hour: known.hour,
        weekday: known.weekday,
        day: known.day,
      })
    };
    if self.zone.is_none() {
      return as_written();
    }
    if offset.is_none() && self.source_zone.is_none() {
      return as_written();
    }
    // Lines of the same written minute and offset land in the same local hour, unless the zone
    // changes its offset within that minute: then every line is converted on its own.
    let key = (
      u64::from_le_bytes(wall[..8].try_into().ok()?),
      u64::from_le_bytes(wall[8..16].try_into().ok()?),
      offset,
    );
    if let Some((last, result)) = self.minute {
      if last == key {
        return Some(result);
      }
    }
    let local = self.wall_seconds(wall);
    let result = self.converted(local, offset)?;
    let start = local - local.rem_euclid(60);
    if let (Some(first), Some(last)) = (self.converted(start, offset), self.converted(start + 59, offset)) {
      if first == result && last == result && self.one_offset(start, start + 59, offset) {
        self.minute = Some((key, result));
      }
    }
    Some(result)
  }

  /// The local hour of a written wall clock (local seconds) with its offset, if any.
  fn converted(&mut self, local: i64, offset: Option<i32>) -> Option<LocalHour> {
    let instant = match (offset, &mut self.source_zone) {
      (Some(offset), _) => local - offset as i64,
      (None, Some(source)) => source.instant_of(local)?,
      (None, None) => return None,
    };
    self.at_instant(instant)
  }

  /// Whether no offset changes between two written wall clocks, in the source and target zones.
  fn one_offset(&mut self, from: i64, to: i64, offset: Option<i32>) -> bool {
    let instants = match (offset, &mut self.source_zone) {
      (Some(offset), _) => Some((from - offset as i64, to - offset as i64)),
      (None, Some(source)) => match (source.instant_of(from), source.instant_of(to)) {
        (Some(a), Some(b)) if b - a == to - from => Some((a, b)),
        _ => None,
      },
      (None, None) => None,
    };
    match (instants, &mut self.zone) {
      (Some((a, b)), Some(zone)) => zone.offset_at(a).is_some() && zone.offset_at(a) == zone.offset_at(b),
      _ => false,
    }
  }

  /// Seconds since 1970-01-01 00:00 of a validated `YYYY-MM-DD?HH:MM:SS` (the day remembered).
  #[inline]
  fn wall_seconds(&mut self, w: &[u8; 19]) -> i64 {
    let date: [u8; 10] = w[..10].try_into().expect("ten bytes");
    let days = match self.wall_day {
      Some((d, days)) if d == date => days,
      _ => {
        let days = days_from_civil(
          digits_value(&w[0..4]),
          digits_value(&w[5..7]) as u32,
          digits_value(&w[8..10]) as u32,
        );
        self.wall_day = Some((date, days));
        days
      }
    };
    days * SECONDS_PER_DAY + digits_value(&w[11..13]) * 3600 + digits_value(&w[14..16]) * 60 + digits_value(&w[17..19])
  }

  /// An epoch time written as a JSON number or a numeric string, in the clock's unit.
  pub fn read_number(&mut self, n: &[u8]) -> Option<LocalHour> {
    let instant = epoch_seconds(n, self.unit.digits())?;
    self.at_instant(instant)
  }

  /// The local date and hour of an instant given as milliseconds since the epoch (a request that
  /// just finished): in the zone, or in UTC without one. `None` when not finite or out of range.
  pub fn read_epoch_ms(&mut self, ms: f64) -> Option<LocalHour> {
    if !ms.is_finite() || ms.abs() > 1e17 {
      return None;
    }
    self.at_instant((ms / 1000.0).floor() as i64)
  }

  /// The local date and hour of an instant: in the zone, or in UTC without one.
  #[inline]
  fn at_instant(&mut self, instant: i64) -> Option<LocalHour> {
    let offset = match &mut self.zone {
      Some(zone) => zone.offset_at(instant)?,
      None => 0,
    };
    self.local_hour(instant.checked_add(offset as i64)?)
  }

  /// The date and hour of local seconds since the epoch; `None` outside years 0000–9999.
  #[inline]
  fn local_hour(&mut self, local: i64) -> Option<LocalHour> {
    let days = local.div_euclid(SECONDS_PER_DAY);
    let hour = (local.rem_euclid(SECONDS_PER_DAY) / 3600) as u8;
    let (date, weekday) = match self.day {
      Some((d, date, weekday)) if d == days => (date, weekday),
      _ => {
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
          return None;
        }
        let mut date = *b"0000-00-00";
        date[..4].copy_from_slice(format!("{y:04}").as_bytes());
        date[5..7].copy_from_slice(&two_digits(m));
        date[8..10].copy_from_slice(&two_digits(d));
        let wd = weekday(y, m, d);
        self.day = Some((days, date, wd));
        (date, wd)
      }
    };
    let mut date_hour = [b' '; 13];
    date_hour[..10].copy_from_slice(&date);
    date_hour[11..13].copy_from_slice(&two_digits(hour as u32));
    Some(LocalHour {
      date_hour,
      hour,
      weekday,
      day: days as i32,
    })
  }
}

fn two_digits(v: u32) -> [u8; 2] {
  [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
}

fn digits_value(s: &[u8]) -> i64 {
  s.iter().fold(0, |v, &d| v * 10 + (d - b'0') as i64)
}

/// The offset of a validated ISO suffix (`[.fraction][Z|±HH:MM]`), in seconds.
fn iso_offset(rest: &[u8]) -> Option<i32> {
  let digits = rest.iter().skip(1).take_while(|b| b.is_ascii_digit()).count();
  let zone = if rest.first() == Some(&b'.') {
    &rest[1 + digits..]
  } else {
    rest
  };
  match zone {
    [b'Z'] => Some(0),
    [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => Some(signed(*sign, &[*h1, *h2], &[*m1, *m2])),
    _ => None,
  }
}

/// `[.fraction]±HHMM` (hours 00–23, minutes 00–59), in seconds.
fn compact_offset(rest: &[u8]) -> Option<i32> {
  let rest = match rest.split_first() {
    Some((b'.', frac)) => {
      let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
      if digits == 0 {
        return None;
      }
      &frac[digits..]
    }
    _ => rest,
  };
  match rest {
    [sign @ (b'+' | b'-'), h1, h2, m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
      let (h, m) = (digits_value(&[*h1, *h2]), digits_value(&[*m1, *m2]));
      (h <= 23 && m <= 59).then(|| signed(*sign, &[*h1, *h2], &[*m1, *m2]))
    }
    _ => None,
  }
}

fn signed(sign: u8, hours: &[u8], minutes: &[u8]) -> i32 {
  let seconds = (digits_value(hours) * 3600 + digits_value(minutes) * 60) as i32;
  if sign == b'-' {
    -seconds
  } else {
    seconds
  }
}

/// `-?digits[.digits]`: a numeric string read as an epoch time.
fn is_decimal(s: &[u8]) -> bool {
  let s = s.strip_prefix(b"-").unwrap_or(s);
  let int = s.iter().take_while(|b| b.is_ascii_digit()).count();
  match &s[int..] {
    [] => int > 0,
    [b'.', frac @ ..] => int > 0 && !frac.is_empty() && frac.iter().all(u8::is_ascii_digit),
    _ => false,
  }
}

/// Whole seconds (rounded down) of a decimal number in units of `10^-unit_digits` seconds,
/// computed exactly from its digits (a float would misplace instants at nanosecond scale).
/// `n` is a JSON number or a numeric string; `None` when it is too large for any date.
fn epoch_seconds(n: &[u8], unit_digits: i64) -> Option<i64> {
  let (negative, n) = match n.split_first()? {
    (b'-', rest) => (true, rest),
    _ => (false, n),
  };
  let int = n.iter().take_while(|b| b.is_ascii_digit()).count();
  let mut rest = &n[int..];
  let mut frac: &[u8] = &[];
  if let Some((b'.', after)) = rest.split_first() {
    let len = after.iter().take_while(|b| b.is_ascii_digit()).count();
    frac = &after[..len];
    rest = &after[len..];
  }
  let mut exponent: i64 = 0;
  if let Some((b'e' | b'E', after)) = rest.split_first() {
    let (sign, digits) = match after.split_first()? {
      (b'-', d) => (-1, d),
      (b'+', d) => (1, d),
      _ => (1, after),
    };
    // Beyond this the value is 0 or far beyond year 9999 either way.
    exponent = sign * digits.iter().fold(0i64, |v, &d| (v * 10 + (d - b'0') as i64).min(100_000));
  }
  // The digits of the number and where the decimal point of whole seconds falls among them.
  let digits = n[..int].iter().chain(frac.iter());
  let point = int as i64 + exponent - unit_digits;
  let mut whole: i64 = 0;
  let mut remainder = false;
  let mut count = 0i64;
  for &d in digits {
    if count < point {
      whole = whole.checked_mul(10)?.checked_add((d - b'0') as i64)?;
    } else if d != b'0' {
      remainder = true;
    }
    count += 1;
  }
  for _ in count..point.max(count) {
    whole = whole.checked_mul(10)?;
  }
  Some(if negative { -whole - remainder as i64 } else { whole })
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::zone::time_zone;

  fn clock(zone: Option<&str>, source: Option<&str>, unit: TimeUnit) -> Clock {
    Clock::new(ClockOptions {
      strict: false,
      unit,
      zone: zone.map(|z| time_zone(z).unwrap()),
      source_zone: source.map(|z| time_zone(z).unwrap()),
    })
  }

  fn shown(t: Option<LocalHour>) -> Option<(String, u8)> {
    t.map(|t| (String::from_utf8(t.date_hour.to_vec()).unwrap(), t.weekday))
  }

  #[test]
  fn epoch_seconds_are_exact() {
    assert_eq!(epoch_seconds(b"1795443300.5241024", 0), Some(1_795_443_300));
    assert_eq!(epoch_seconds(b"1795443300068", 3), Some(1_795_443_300));
    assert_eq!(epoch_seconds(b"1795443300999999999", 9), Some(1_795_443_300));
    assert_eq!(epoch_seconds(b"1.7954433e9", 0), Some(1_795_443_300));
    assert_eq!(epoch_seconds(b"17954433e2", 0), Some(1_795_443_300));
    assert_eq!(epoch_seconds(b"-1.5", 0), Some(-2));
    assert_eq!(epoch_seconds(b"-1000", 3), Some(-1));
    assert_eq!(epoch_seconds(b"0.000001", 0), Some(0));
    assert_eq!(epoch_seconds(b"1e-99999999", 0), Some(0));
    assert_eq!(epoch_seconds(b"1e400", 0), None);
    assert_eq!(epoch_seconds(b"99999999999999999999", 0), None);
  }

  #[test]
  fn every_form_without_a_zone_is_as_written() {
    let mut c = clock(None, None, TimeUnit::Seconds);
    let monday_09 = Some(("2026-11-23 09".to_string(), 1));
    assert_eq!(shown(c.read_text(b"2026-11-23T09:15:00-05:00")), monday_09);
    assert_eq!(shown(c.read_text(b"2026-11-23T09:15:00.25-0500")), monday_09);
    assert_eq!(shown(c.read_text(b"23/Nov/2026:09:15:00 -0500")), monday_09);
    // Epoch times are UTC: 1795443300 is 2026-11-23 14:15:00Z.
    assert_eq!(shown(c.read_text(b"1795443300.068")), Some(("2026-11-23 14".to_string(), 1)));
    assert_eq!(shown(c.read_number(b"1795443300")), Some(("2026-11-23 14".to_string(), 1)));
    for bad in [
      &b"2026-11-23T09:15:00-2500"[..],
      b"23/Nov/2026:09:15:00 -05:00",
      b"1.",
      b"-",
      b"12a",
      b"",
    ] {
      assert_eq!(c.read_text(bad), None, "{}", String::from_utf8_lossy(bad));
    }
  }

  #[test]
  fn the_strict_rule_reads_only_iso_with_colon_offsets() {
    let mut c = Clock::new(ClockOptions {
      strict: true,
      ..Default::default()
    });
    assert!(c.read_text(b"2019-05-06T17:24:53+05:30").is_some());
    assert!(c.read_text(b"2019-05-06 17:24:53+0530").is_none());
    assert!(c.read_text(b"1795443300").is_none());
    assert!(c.read_text(b"06/May/2019:17:24:53 +0530").is_none());
  }

  #[test]
  fn zones_convert_instants_across_the_2026_changes() {
    let mut berlin = clock(Some("Europe/Berlin"), None, TimeUnit::Milliseconds);
    // 29 March 2026, 00:59:59Z is 01:59:59 CET; 01:00:00Z is 03:00:00 CEST.
    assert_eq!(shown(berlin.read_text(b"2026-03-29T00:59:59Z")).unwrap().0, "2026-03-29 01");
    assert_eq!(shown(berlin.read_text(b"2026-03-29T01:00:00Z")).unwrap().0, "2026-03-29 03");
    // 25 October 2026, 00:59:59Z is 02:59:59 CEST; 01:00:00Z is 02:00:00 CET.
    assert_eq!(shown(berlin.read_text(b"2026-10-25T00:59:59Z")).unwrap().0, "2026-10-25 02");
    assert_eq!(shown(berlin.read_text(b"2026-10-25T01:00:00Z")).unwrap().0, "2026-10-25 02");
    // Epoch milliseconds: 2026-11-24 22:00Z.
    assert_eq!(
      shown(berlin.read_number(b"1795557600000")),
      Some(("2026-11-24 23".to_string(), 2))
    );
    let mut c = clock(Some("Europe/Berlin"), None, TimeUnit::Seconds);
    // A Friday evening in New York is Saturday in Berlin.
    assert_eq!(
      shown(c.read_text(b"2026-11-27T19:30:00-05:00")),
      Some(("2026-11-28 01".to_string(), 6))
    );
    // A wall clock without an offset is taken as written when it is in the same zone.
    assert_eq!(
      shown(c.read_text(b"2026-11-27 19:30:00")),
      Some(("2026-11-27 19".to_string(), 5))
    );
  }

  #[test]
  fn a_source_zone_places_plain_wall_clocks() {
    let mut c = clock(Some("Europe/Berlin"), Some("America/New_York"), TimeUnit::Seconds);
    // 8 March 2026 is New York's change (02:00 → 03:00), Berlin is still on CET (+01:00).
    assert_eq!(shown(c.read_text(b"2026-03-08 01:30:00")).unwrap().0, "2026-03-08 07");
    assert_eq!(shown(c.read_text(b"2026-03-08 03:30:00")).unwrap().0, "2026-03-08 08");
    // 02:30 does not exist in New York that night: read at -05:00, it is 07:30Z.
    assert_eq!(shown(c.read_text(b"2026-03-08 02:30:00")).unwrap().0, "2026-03-08 08");
    // 1 November 01:30 happens twice in New York: the first, at -04:00, is 05:30Z.
    assert_eq!(shown(c.read_text(b"2026-11-01 01:30:00")).unwrap().0, "2026-11-01 06");
    // An offset wins over the source zone.
    assert_eq!(shown(c.read_text(b"2026-03-08T01:30:00Z")).unwrap().0, "2026-03-08 02");
  }

  #[test]
  fn an_hour_that_changes_within_a_written_minute() {
    // Monrovia kept -00:44:30 until 1972: its local hours begin at :44:30 past UTC hours, so one
    // written minute holds two local hours and is never cached as one.
    let mut c = clock(Some("Africa/Monrovia"), None, TimeUnit::Seconds);
    assert_eq!(shown(c.read_text(b"1971-06-01T10:44:10Z")).unwrap().0, "1971-06-01 09");
    assert_eq!(shown(c.read_text(b"1971-06-01T10:44:40Z")).unwrap().0, "1971-06-01 10");
    assert_eq!(shown(c.read_text(b"1971-06-01T10:44:10Z")).unwrap().0, "1971-06-01 09");
    // An ordinary minute is cached, and a new offset is a new minute.
    let mut b = clock(Some("Europe/Berlin"), None, TimeUnit::Seconds);
    assert_eq!(shown(b.read_text(b"2026-11-23T14:15:00Z")).unwrap().0, "2026-11-23 15");
    assert_eq!(shown(b.read_text(b"2026-11-23T14:15:59Z")).unwrap().0, "2026-11-23 15");
    assert_eq!(shown(b.read_text(b"2026-11-23T14:15:30-05:00")).unwrap().0, "2026-11-23 20");
  }

  #[test]
  fn dates_outside_the_years_are_refused() {
    let mut c = clock(Some("Europe/Berlin"), None, TimeUnit::Seconds);
    assert!(c.read_text(b"9999-12-31T23:30:00-01:00").is_none());
    assert!(c.read_number(b"-62167219201").is_some()); // 1 s before 0000-01-01 00:00Z is in year 0 in Berlin…
    let mut utc = clock(None, None, TimeUnit::Seconds);
    assert!(utc.read_number(b"-62167219201").is_none()); // …but not in UTC.
    assert!(utc.read_number(b"-62167219200").is_some());
    assert!(utc.read_number(b"253402300800").is_none());
  }
}
