//! The per-day sketches of `--daily` (docs/daily.md): one [`SmallHll`] per (day, hour) that saw a
//! counted element, the (day, hour) pairs changed since a store last took them, and the unions
//! that answer date windows and the weekday table. Days are counted from 1970-01-01 in the
//! team's calendar (the element's written date).

use std::collections::BTreeMap;

use crate::calendar::civil_from_days;
use crate::hll::Hll;
use crate::sketch::HOURS;
use crate::sparse::SmallHll;

/// Working days of the weekday table, Monday first.
pub const WEEKDAYS: usize = 5;

/// ISO weekday (1 = Monday … 7 = Sunday) of a day number (1970-01-01, a Thursday, is day 0).
pub fn weekday_of(day: i64) -> u8 {
  ((day + 3).rem_euclid(7) + 1) as u8
}

/// `YYYY-MM-DD` of a day number.
pub fn date_of(day: i64) -> String {
  let (y, m, d) = civil_from_days(day);
  format!("{y:04}-{m:02}-{d:02}")
}

/// The (day, hour) sketches of a retention window.
#[derive(Default)]
pub struct DailySketch {
  days: BTreeMap<i64, [Option<SmallHll>; HOURS]>,
  /// (day, hour) pairs whose registers grew since [`DailySketch::take_dirty`].
  dirty: BTreeMap<i64, u32>,
}

impl DailySketch {
  /// Adds an element's hash to its day and hour; true when a register grew.
  ///
  /// ```
  /// use loghour::daily::DailySketch;
  /// let mut days = DailySketch::default();
  /// days.add_hash(20_415, 9, loghour::hll::murmur64a(b"2025-11-24 09_10.0.0.1"));
  /// assert_eq!(days.union_count(20_415, 20_415, 9), 1);
  /// assert_eq!(days.take_dirty(), vec![(20_415, 1 << 9)]);
  /// ```
  pub fn add_hash(&mut self, day: i64, hour: u8, hash: u64) -> bool {
    let hours = self.days.entry(day).or_insert_with(|| std::array::from_fn(|_| None));
    let grew = hours[hour as usize].get_or_insert_with(SmallHll::default).add_hash(hash);
    if grew {
      *self.dirty.entry(day).or_default() |= 1 << hour;
    }
    grew
  }

  /// The sketch of a day and hour, if it saw an element.
  pub fn get(&self, day: i64, hour: u8) -> Option<&SmallHll> {
    self.days.get(&day)?[hour as usize].as_ref()
  }

  /// The (day, hour-mask) pairs changed since the last call, now marked clean.
  pub fn take_dirty(&mut self) -> Vec<(i64, u32)> {
    std::mem::take(&mut self.dirty).into_iter().collect()
  }

  /// Marks (day, hour-mask) pairs changed again (a store did not confirm them); days since
  /// dropped stay dropped.
  pub fn mark_dirty(&mut self, pairs: &[(i64, u32)]) {
    for &(day, mask) in pairs {
      if self.days.contains_key(&day) {
        *self.dirty.entry(day).or_default() |= mask;
      }
    }
  }

  /// Drops the days before `first_kept` (retention); returns how many went.
  pub fn retain_from(&mut self, first_kept: i64) -> usize {
    let kept = self.days.split_off(&first_kept);
    let dropped = std::mem::replace(&mut self.days, kept).len();
    self.dirty = self.dirty.split_off(&first_kept);
    dropped
  }

  /// The union of hour `hour` over days `from..=to` whose weekday `keep` accepts.
  fn union(&self, from: i64, to: i64, hour: u8, keep: impl Fn(i64) -> bool) -> Hll {
    let mut union = Hll::new();
    for (&day, hours) in self.days.range(from..=to) {
      if !keep(day) {
        continue;
      }
      if let Some(sketch) = &hours[hour as usize] {
        sketch.merge_into(&mut union);
      }
    }
    union
  }

  /// `PFCOUNT` of hour `hour`'s day keys from `from` to `to` (inclusive): the distinct elements
  /// of that window, as one `PFADD` of them would count.
  pub fn union_count(&self, from: i64, to: i64, hour: u8) -> u64 {
    self.union(from, to, hour, |_| true).count()
  }

  /// The Monday–Friday × 24 table of a window: cell (weekday, hour) counts the union over the
  /// window's days with that weekday.
  pub fn weekday_table(&self, from: i64, to: i64) -> [[u64; HOURS]; WEEKDAYS] {
    std::array::from_fn(|w| {
      std::array::from_fn(|h| self.union(from, to, h as u8, |day| weekday_of(day) as usize == w + 1).count())
    })
  }

  /// Days held.
  pub fn days(&self) -> usize {
    self.days.len()
  }

  /// Bytes of registers held (sparse words or dense registers).
  pub fn bytes(&self) -> usize {
    self.days.values().flatten().flatten().map(SmallHll::bytes).sum()
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::calendar::days_from_civil;
  use crate::hll::murmur64a;

  #[test]
  fn weekdays_and_dates() {
    assert_eq!(weekday_of(0), 4); // 1970-01-01, a Thursday
    assert_eq!(weekday_of(days_from_civil(2026, 11, 23)), 1); // a Monday
    assert_eq!(weekday_of(-1), 3);
    assert_eq!(date_of(days_from_civil(2026, 11, 23)), "2026-11-23");
  }

  /// Windows and the weekday table are the counts of HLLs fed only that subset's elements.
  #[test]
  fn windows_equal_the_subsets_own_sketches() {
    let first = days_from_civil(2026, 10, 1);
    let mut days = DailySketch::default();
    let mut elements: Vec<(i64, u8, u64)> = Vec::new();
    for i in 0..30_000u64 {
      let (day, hour) = (first + (i * 7919 % 45) as i64, (i * 31 % 24) as u8);
      let hash = murmur64a(format!("{}_{}", i % 9_000, i % 13).as_bytes());
      days.add_hash(day, hour, hash);
      elements.push((day, hour, hash));
    }
    for (from, to) in [
      (first, first),
      (first + 3, first + 17),
      (first - 5, first + 100),
      (first + 44, first + 44),
    ] {
      for hour in [0u8, 9, 23] {
        let mut model = Hll::new();
        elements
          .iter()
          .filter(|e| e.0 >= from && e.0 <= to && e.1 == hour)
          .for_each(|e| {
            model.add_hash(e.2);
          });
        assert_eq!(days.union_count(from, to, hour), model.count(), "{from}..{to} hour {hour}");
      }
    }
    let table = days.weekday_table(first, first + 44);
    for (w, row) in table.iter().enumerate() {
      for (h, &count) in row.iter().enumerate() {
        let mut model = Hll::new();
        elements
          .iter()
          .filter(|e| weekday_of(e.0) as usize == w + 1 && e.1 as usize == h)
          .for_each(|e| {
            model.add_hash(e.2);
          });
        assert_eq!(count, model.count(), "weekday {w} hour {h}");
      }
    }
  }

  #[test]
  fn dirty_pairs_and_retention() {
    let mut days = DailySketch::default();
    let hash = |s: &str| murmur64a(s.as_bytes());
    days.add_hash(10, 9, hash("a"));
    days.add_hash(10, 17, hash("b"));
    days.add_hash(12, 9, hash("a"));
    assert_eq!(days.take_dirty(), vec![(10, 1 << 9 | 1 << 17), (12, 1 << 9)]);
    assert!(!days.add_hash(10, 9, hash("a"))); // nothing grew: nothing to send
    assert_eq!(days.take_dirty(), vec![]);
    days.mark_dirty(&[(10, 1 << 9), (11, 1)]); // day 11 was never seen: nothing to resend
    assert_eq!(days.take_dirty(), vec![(10, 1 << 9)]);
    days.add_hash(12, 10, hash("c"));
    assert_eq!(days.retain_from(11), 1);
    assert_eq!(days.days(), 1);
    assert_eq!(days.take_dirty(), vec![(12, 1 << 10)]);
    assert_eq!(days.bytes(), 8); // two sparse sketches of one register each
  }
}
