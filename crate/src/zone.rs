//! Time zones: the UTC offset of an instant in a zone and the instant of a zone's wall clock,
//! from the IANA database bundled in the crate (jiff), cached per span of constant offset so
//! that a stream of log times costs a database lookup only when the offset changes.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The zone of an IANA name (`Europe/Berlin`, `UTC`, `America/New_York`; any case), or `None`.
///
/// ```
/// assert!(loghour::zone::time_zone("Europe/Berlin").is_some());
/// assert!(loghour::zone::time_zone("Europe/Bern").is_none());
/// ```
pub fn time_zone(name: &str) -> Option<TimeZone> {
  // A fixed offset or POSIX rule string is not a zone name (jiff's db only holds names).
  jiff::tz::db().get(name).ok()
}

/// Every zone name of the bundled database, sorted.
pub fn zone_names() -> Vec<String> {
  let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
  names.sort();
  names
}

/// The day (since 1970-01-01) on the zone's calendar at an instant (seconds since the epoch);
/// the UTC day without a zone. `None` outside the years the zone database represents.
///
/// ```
/// let auckland = loghour::zone::time_zone("Pacific/Auckland");
/// // 2026-11-24T12:00:00Z is already 2026-11-25 01:00 in Auckland.
/// assert_eq!(loghour::zone::day_at(1_795_521_600, auckland.as_ref()), Some(20_782));
/// assert_eq!(loghour::zone::day_at(1_795_521_600, None), Some(20_781));
/// ```
pub fn day_at(instant: i64, tz: Option<&TimeZone>) -> Option<i64> {
  let offset = match tz {
    Some(tz) => ZoneClock::new(tz.clone()).offset_at(instant)? as i64,
    None => 0,
  };
  Some(instant.checked_add(offset)?.div_euclid(86_400))
}

/// The instant (seconds since the epoch) at which the zone's day `day` begins (the first
/// instant after midnight where clocks skip midnight); UTC midnight without a zone.
pub fn day_start(day: i64, tz: Option<&TimeZone>) -> Option<i64> {
  let local = day.checked_mul(86_400)?;
  match tz {
    Some(tz) => ZoneClock::new(tz.clone()).instant_of(local),
    None => Some(local),
  }
}

/// Instants `[from, until)` (seconds since the epoch) over which one offset applies.
#[derive(Debug, Clone, Copy)]
struct Span {
  from: i64,
  until: i64,
  offset: i32,
}

const EMPTY: Span = Span {
  from: 0,
  until: 0,
  offset: 0,
};

/// A zone with its last offset span (for instants) and its last wall-clock window (for local
/// times): both answers are exact, the caches only skip the database between offset changes.
pub struct ZoneClock {
  tz: TimeZone,
  /// The span of the last instant asked about.
  utc: Span,
  /// Local seconds `[from, until)` that all map to an instant with `offset`, unambiguously.
  local: Span,
}

impl ZoneClock {
  /// A clock for `tz`.
  ///
  /// ```
  /// let mut berlin = loghour::zone::ZoneClock::new(loghour::zone::time_zone("Europe/Berlin").unwrap());
  /// // 2026-03-29 01:00:00Z: summer time starts, +01:00 becomes +02:00.
  /// assert_eq!(berlin.offset_at(1_774_745_999), Some(3600));
  /// assert_eq!(berlin.offset_at(1_774_746_000), Some(7200));
  /// ```
  pub fn new(tz: TimeZone) -> Self {
    ZoneClock {
      tz,
      utc: EMPTY,
      local: EMPTY,
    }
  }

  /// The zone's UTC offset in seconds at an instant, or `None` outside the years the zone
  /// database can represent.
  #[inline]
  pub fn offset_at(&mut self, instant: i64) -> Option<i32> {
    if instant >= self.utc.from && instant < self.utc.until {
      return Some(self.utc.offset);
    }
    self.utc = self.span_at(instant)?;
    Some(self.utc.offset)
  }

  /// The instant at which the zone's clocks show `local` (seconds since 1970-01-01 00:00 on
  /// the zone's wall clock). A wall clock that occurs twice (clocks set back) is its earlier
  /// instant; one that never occurs (clocks set forward) is read with the offset before the
  /// change, so it lands after it by the gap's length (RFC 5545 and Temporal's "compatible").
  #[inline]
  pub fn instant_of(&mut self, local: i64) -> Option<i64> {
    if local >= self.local.from && local < self.local.until {
      return Some(local - self.local.offset as i64);
    }
    self.instant_of_new(local)
  }

  #[inline(never)]
  fn instant_of_new(&mut self, local: i64) -> Option<i64> {
    let wall: DateTime = TimeZone::UTC.to_datetime(Timestamp::from_second(local).ok()?);
    let instant = self.tz.to_ambiguous_timestamp(wall).compatible().ok()?.as_second();
    let span = self.span_at(instant)?;
    // Local times of this span that no neighbouring span also produces (no fold) and that are
    // not skipped (no gap) map with this span's offset alone.
    let before = self.offset_just_before(span.from).unwrap_or(span.offset);
    let after = self.offset_from(span.until).unwrap_or(span.offset);
    let window = Span {
      from: span.from.saturating_add(span.offset.max(before) as i64),
      until: span.until.saturating_add(span.offset.min(after) as i64),
      offset: span.offset,
    };
    if local >= window.from && local < window.until {
      self.local = window;
    }
    Some(instant)
  }

  /// The span of constant offset holding `instant`.
  fn span_at(&self, instant: i64) -> Option<Span> {
    let at = Timestamp::from_second(instant).ok()?;
    let from = Timestamp::from_second(instant.saturating_add(1))
      .ok()
      .and_then(|next| self.tz.preceding(next).next())
      .map_or(i64::MIN, |t| t.timestamp().as_second());
    let until = self.tz.following(at).next().map_or(i64::MAX, |t| t.timestamp().as_second());
    Some(Span {
      from,
      until,
      offset: self.tz.to_offset(at).seconds(),
    })
  }

  fn offset_just_before(&self, instant: i64) -> Option<i32> {
    (instant != i64::MIN).then(|| self.offset_from(instant - 1)).flatten()
  }

  fn offset_from(&self, instant: i64) -> Option<i32> {
    if instant == i64::MAX {
      return None;
    }
    Some(self.tz.to_offset(Timestamp::from_second(instant).ok()?).seconds())
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::calendar::days_from_civil;

  fn local(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60
  }

  fn clock(name: &str) -> ZoneClock {
    ZoneClock::new(time_zone(name).unwrap())
  }

  /// jiff's own answer, without any cache.
  fn uncached(name: &str, local: i64) -> i64 {
    let tz = time_zone(name).unwrap();
    let wall = TimeZone::UTC.to_datetime(Timestamp::from_second(local).unwrap());
    tz.to_ambiguous_timestamp(wall).compatible().unwrap().as_second()
  }

  #[test]
  fn the_2026_transitions_both_ways() {
    let mut berlin = clock("Europe/Berlin");
    let mut new_york = clock("America/New_York");
    // EU: 29 March 01:00Z forward, 25 October 01:00Z back.
    let eu_spring = local(2026, 3, 29, 1, 0);
    let eu_autumn = local(2026, 10, 25, 1, 0);
    assert_eq!(berlin.offset_at(eu_spring - 1), Some(3600));
    assert_eq!(berlin.offset_at(eu_spring), Some(7200));
    assert_eq!(berlin.offset_at(eu_autumn - 1), Some(7200));
    assert_eq!(berlin.offset_at(eu_autumn), Some(3600));
    // US: 8 March 07:00Z forward, 1 November 06:00Z back.
    let us_spring = local(2026, 3, 8, 7, 0);
    let us_autumn = local(2026, 11, 1, 6, 0);
    assert_eq!(new_york.offset_at(us_spring - 1), Some(-5 * 3600));
    assert_eq!(new_york.offset_at(us_spring), Some(-4 * 3600));
    assert_eq!(new_york.offset_at(us_autumn - 1), Some(-4 * 3600));
    assert_eq!(new_york.offset_at(us_autumn), Some(-5 * 3600));
    // Going back in time after the cache moved on is exact too.
    assert_eq!(berlin.offset_at(eu_spring - 1), Some(3600));
  }

  #[test]
  fn wall_clocks_in_gaps_and_folds() {
    let mut berlin = clock("Europe/Berlin");
    // 02:30 on 29 March 2026 never happens in Berlin: read at +01:00, it is 03:30 CEST.
    assert_eq!(berlin.instant_of(local(2026, 3, 29, 2, 30)), Some(local(2026, 3, 29, 1, 30)));
    // 02:30 on 25 October 2026 happens twice: the first one, at +02:00.
    assert_eq!(
      berlin.instant_of(local(2026, 10, 25, 2, 30)),
      Some(local(2026, 10, 25, 0, 30))
    );
    assert_eq!(berlin.instant_of(local(2026, 10, 25, 3, 0)), Some(local(2026, 10, 25, 2, 0)));
    assert_eq!(berlin.instant_of(local(2026, 7, 1, 12, 0)), Some(local(2026, 7, 1, 10, 0)));
  }

  #[test]
  fn the_cache_never_changes_an_answer() {
    // Every minute around four transitions, forwards and backwards, in zones with
    // half-hour and 45-minute offsets too: cached answers equal jiff's own.
    for name in [
      "Europe/Berlin",
      "America/New_York",
      "Australia/Lord_Howe",
      "Asia/Kathmandu",
      "UTC",
    ] {
      let mut clock = clock(name);
      for (y, m, d) in [(2026, 3, 8), (2026, 3, 29), (2026, 10, 25), (2026, 11, 1), (2026, 4, 5)] {
        let start = local(y, m, d, 0, 0) - 86_400;
        let minutes: Vec<i64> = (0..3 * 24 * 60).map(|k| start + k * 60).collect();
        for &t in minutes.iter().chain(minutes.iter().rev()) {
          assert_eq!(clock.instant_of(t), Some(uncached(name, t)), "{name} {t}");
          let tz = time_zone(name).unwrap();
          let want = tz.to_offset(Timestamp::from_second(t).unwrap()).seconds();
          assert_eq!(clock.offset_at(t), Some(want), "{name} {t}");
        }
      }
    }
  }

  #[test]
  fn names() {
    assert!(time_zone("utc").is_some());
    assert!(time_zone("+02:00").is_none());
    assert!(time_zone("").is_none());
    let names = zone_names();
    assert!(names.iter().any(|n| n == "Europe/Berlin") && names.len() > 300);
  }

  #[test]
  fn days_begin_at_local_midnight() {
    let berlin = time_zone("Europe/Berlin");
    let day = crate::calendar::days_from_civil(2026, 3, 29); // summer time starts at 02:00
    assert_eq!(day_start(day, berlin.as_ref()), Some(day * 86_400 - 3600));
    assert_eq!(day_start(day + 1, berlin.as_ref()), Some((day + 1) * 86_400 - 7200));
    assert_eq!(day_at(day * 86_400 - 3600, berlin.as_ref()), Some(day));
    assert_eq!(day_at(day * 86_400 - 3601, berlin.as_ref()), Some(day - 1));
    assert_eq!(day_start(day, None), Some(day * 86_400));
  }
}
