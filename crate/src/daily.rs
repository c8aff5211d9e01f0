//! The per-day sketches of `--daily` (docs/daily.md): one [`SmallHll`] per (day, hour) that saw a
//! counted element, the (day, hour) pairs changed since a store last took them, and the unions
//! that answer date windows and the weekday table. Days are counted from 1970-01-01 in the
//! team's calendar (the element's written date).

use crate::calendar::civil_from_days;
use crate::hll::{Hll, DENSE_SIZE, REGISTERS};
use crate::sketch::HOURS;
use crate::sparse::{SmallHll, PROMOTE_AT};

/// Working days of the weekday table, Monday first.
pub const WEEKDAYS: usize = 5;

pub use crate::calendar::weekday_of_day as weekday_of;

/// `YYYY-MM-DD` of a day number.
pub fn date_of(day: i64) -> String {
  let (y, m, d) = civil_from_days(day);
  format!("{y:04}-{m:02}-{d:02}")
}

/// One day's sketches and which of its hours changed since a store last took them.
struct Day {
  day: i64,
  hours: [Option<SmallHll>; HOURS],
  dirty: u32,
}

impl Day {
  fn new(day: i64) -> Self {
    Day {
      day,
      hours: std::array::from_fn(|_| None),
      dirty: 0,
    }
  }

  /// Bit mask of the hours that saw an element.
  fn held(&self) -> u32 {
    (0..HOURS).filter(|&h| self.hours[h].is_some()).fold(0, |m, h| m | 1 << h)
  }
}

/// The (day, hour) sketches of a retention window.
pub struct DailySketch {
  /// Sorted by day; a few dozen at most, so a vector beats a tree, and the day of the last
  /// element (where the next one almost always goes) is found without a search.
  days: Vec<Day>,
  /// Index of the day the last element went to.
  last: usize,
  /// First and last day kept: elements of other days count all-time only, so memory stays
  /// bounded whatever dates clients send.
  window: (i64, i64),
  /// Elements refused for their day being outside the window.
  outside: u64,
}

impl Default for DailySketch {
  fn default() -> Self {
    DailySketch {
      days: Vec::new(),
      last: 0,
      window: (i64::MIN, i64::MAX),
      outside: 0,
    }
  }
}

/// Why a snapshot's day section cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

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
  #[inline]
  pub fn add_hash(&mut self, day: i64, hour: u8, hash: u64) -> bool {
    if day < self.window.0 || day > self.window.1 {
      self.outside += 1;
      return false;
    }
    let at = self.index_of(day);
    let entry = &mut self.days[at];
    let grew = entry.hours[hour as usize]
      .get_or_insert_with(SmallHll::default)
      .add_hash(hash);
    if grew {
      entry.dirty |= 1 << hour;
    }
    grew
  }

  /// The index of `day`, inserted if it is new.
  #[inline]
  fn index_of(&mut self, day: i64) -> usize {
    if self.days.get(self.last).is_some_and(|d| d.day == day) {
      return self.last;
    }
    self.locate(day)
  }

  /// Out of line: the hot path (the last element's day) keeps a small stack frame.
  #[cold]
  #[inline(never)]
  fn locate(&mut self, day: i64) -> usize {
    self.last = match self.days.binary_search_by_key(&day, |d| d.day) {
      Ok(at) => at,
      Err(at) => {
        self.days.insert(at, Day::new(day));
        at
      }
    };
    self.last
  }

  fn find(&self, day: i64) -> Option<&Day> {
    self.days.binary_search_by_key(&day, |d| d.day).ok().map(|at| &self.days[at])
  }

  /// The sketch of a day and hour, if it saw an element.
  pub fn get(&self, day: i64, hour: u8) -> Option<&SmallHll> {
    self.find(day)?.hours[hour as usize].as_ref()
  }

  /// Whether a (day, hour) changed since the last [`DailySketch::take_dirty`].
  pub fn has_dirty(&self) -> bool {
    self.days.iter().any(|d| d.dirty != 0)
  }

  /// The (day, hour-mask) pairs changed since the last call, now marked clean.
  pub fn take_dirty(&mut self) -> Vec<(i64, u32)> {
    self
      .days
      .iter_mut()
      .filter(|d| d.dirty != 0)
      .map(|d| (d.day, std::mem::take(&mut d.dirty)))
      .collect()
  }

  /// Marks (day, hour-mask) pairs changed again (a store did not confirm them); days since
  /// dropped, and hours never seen, stay out.
  pub fn mark_dirty(&mut self, pairs: &[(i64, u32)]) {
    for &(day, mask) in pairs {
      if let Ok(at) = self.days.binary_search_by_key(&day, |d| d.day) {
        let entry = &mut self.days[at];
        entry.dirty |= mask & entry.held();
      }
    }
  }

  /// Keeps only days `first..=last` from now on: days held outside are dropped (retention), and
  /// elements of days outside are refused. Returns how many days went.
  pub fn set_window(&mut self, first: i64, last: i64) -> usize {
    self.window = (first, last);
    let before = self.days.len();
    self.days.retain(|d| d.day >= first && d.day <= last);
    self.last = 0;
    before - self.days.len()
  }

  /// Elements refused because their day was outside the window.
  pub fn outside(&self) -> u64 {
    self.outside
  }

  /// Every (day, hour-mask) pair held: what a store that lost everything must receive again.
  pub fn pairs(&self) -> Vec<(i64, u32)> {
    self.days.iter().map(|d| (d.day, d.held())).collect()
  }

  /// The Redis value of a day and hour: sparse while it is small, else the 12,304-byte dense
  /// value (empty registers, sparse, if it saw nothing). `PFMERGE` of sparse values keeps a day
  /// key sparse, so a quiet day costs Redis bytes, not kilobytes.
  pub fn export(&self, day: i64, hour: u8) -> Vec<u8> {
    self
      .get(day, hour)
      .map_or_else(|| SmallHll::default().to_redis(), SmallHll::to_redis)
  }

  /// Drops the days before `first_kept` (retention); returns how many went.
  pub fn retain_from(&mut self, first_kept: i64) -> usize {
    let before = self.days.len();
    self.days.retain(|d| d.day >= first_kept);
    self.last = 0;
    before - self.days.len()
  }

  /// The union of hour `hour` over days `from..=to` whose weekday `keep` accepts.
  fn union(&self, from: i64, to: i64, hour: u8, keep: impl Fn(i64) -> bool) -> Hll {
    let mut union = Hll::new();
    for d in self.days.iter().filter(|d| d.day >= from && d.day <= to && keep(d.day)) {
      if let Some(sketch) = &d.hours[hour as usize] {
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
    self
      .days
      .iter()
      .flat_map(|d| d.hours.iter().flatten())
      .map(SmallHll::bytes)
      .sum()
  }

  /// Every sketch as bytes (little-endian): per (day, hour), `i32` day, `u8` hour, `u8` kind, and
  /// kind 0: `u32` n, then n sparse words `index << 6 | rank`; kind 1: the dense Redis value.
  ///
  /// ```
  /// use loghour::daily::DailySketch;
  /// let mut days = DailySketch::default();
  /// days.add_hash(20_415, 9, 42);
  /// let mut copy = DailySketch::default();
  /// copy.merge_encoded(&days.encode()).unwrap();
  /// assert_eq!(copy.union_count(20_415, 20_415, 9), 1);
  /// ```
  pub fn encode(&self) -> Vec<u8> {
    let mut out = Vec::new();
    for Day { day, hours, .. } in &self.days {
      let day = *day;
      for (hour, sketch) in hours.iter().enumerate() {
        let Some(sketch) = sketch else { continue };
        out.extend_from_slice(&(day as i32).to_le_bytes());
        out.push(hour as u8);
        match sketch {
          SmallHll::Sparse(registers) => {
            out.push(0);
            out.extend_from_slice(&(registers.len() as u32).to_le_bytes());
            registers.words().for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
          }
          SmallHll::Dense(hll) => {
            out.push(1);
            out.extend_from_slice(&hll.to_dense());
          }
        }
      }
    }
    out
  }

  /// Merges sketches written by [`DailySketch::encode`] (register-wise max) and marks them
  /// changed; nothing is merged unless all of `data` is well formed. Days outside the window are
  /// skipped.
  pub fn merge_encoded(&mut self, data: &[u8]) -> Result<(), DecodeError> {
    let mut decoded: Vec<(i64, u8, Hll)> = Vec::new();
    let mut rest = data;
    let take = |n: usize, rest: &mut &[u8]| -> Result<Vec<u8>, DecodeError> {
      if rest.len() < n {
        return Err(DecodeError("day sketches cut short"));
      }
      let (head, tail) = rest.split_at(n);
      *rest = tail;
      Ok(head.to_vec())
    };
    while !rest.is_empty() {
      let head = take(6, &mut rest)?;
      let day = i32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as i64;
      let (hour, kind) = (head[4], head[5]);
      if hour as usize >= HOURS {
        return Err(DecodeError("day sketch hour out of range"));
      }
      let hll = match kind {
        0 => {
          let n = u32::from_le_bytes(take(4, &mut rest)?.try_into().expect("4 bytes")) as usize;
          if n > PROMOTE_AT {
            return Err(DecodeError("sparse day sketch too long"));
          }
          let mut hll = Hll::new();
          let words = take(n * 4, &mut rest)?;
          for w in words.chunks_exact(4) {
            let w = u32::from_le_bytes(w.try_into().expect("4 bytes"));
            let (index, rank) = ((w >> 6) as usize, (w & 63) as u8);
            if index >= REGISTERS || rank == 0 || rank > 51 {
              return Err(DecodeError("sparse day sketch register out of range"));
            }
            hll.set_register(index, rank);
          }
          hll
        }
        1 => Hll::from_dense(&take(DENSE_SIZE, &mut rest)?).map_err(|_| DecodeError("dense day sketch malformed"))?,
        _ => return Err(DecodeError("unknown day sketch kind")),
      };
      decoded.push((day, hour, hll));
    }
    for (day, hour, hll) in decoded {
      for index in 0..REGISTERS {
        let rank = hll.register(index);
        if rank > 0 {
          self.raise(day, hour, index, rank);
        }
      }
    }
    Ok(())
  }

  /// Raises one register of a day and hour (see [`SmallHll::raise`]).
  fn raise(&mut self, day: i64, hour: u8, index: usize, rank: u8) {
    if day < self.window.0 || day > self.window.1 {
      return;
    }
    let at = self.index_of(day);
    let entry = &mut self.days[at];
    if entry.hours[hour as usize]
      .get_or_insert_with(SmallHll::default)
      .raise(index, rank)
    {
      entry.dirty |= 1 << hour;
    }
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
    assert_eq!(days.bytes(), 64); // two sparse sketches of one register each, 8 slots apiece
  }

  #[test]
  fn encoded_sketches_come_back_identical_and_malformed_ones_change_nothing() {
    let mut days = DailySketch::default();
    for i in 0..12_000u64 {
      // Day 5 hour 3 turns dense; the others stay sparse.
      let (day, hour) = if i < 10_000 {
        (5, 3)
      } else {
        (6 + (i % 3) as i64, (i % 24) as u8)
      };
      days.add_hash(day, hour, murmur64a(&i.to_le_bytes()));
    }
    assert!(matches!(days.get(5, 3), Some(SmallHll::Dense(_))));
    let data = days.encode();
    let mut copy = DailySketch::default();
    copy.merge_encoded(&data).unwrap();
    assert_eq!(copy.pairs(), days.pairs());
    for (day, mask) in days.pairs() {
      for hour in (0..24u8).filter(|h| mask & 1 << h != 0) {
        assert_eq!(copy.export(day, hour), days.export(day, hour), "{day} {hour}");
      }
    }
    assert_eq!(copy.take_dirty(), days.pairs()); // restored sketches go to the store again
    for cut in [1, 5, 6, 9, 100, data.len() - 1] {
      let mut empty = DailySketch::default();
      assert!(empty.merge_encoded(&data[..cut]).is_err(), "cut at {cut}");
      assert_eq!(empty.days(), 0);
    }
    let mut bad_rank = vec![0, 0, 0, 0, 1, 0, 1, 0, 0, 0];
    bad_rank.extend_from_slice(&(7u32 << 6 | 60).to_le_bytes());
    assert_eq!(
      DailySketch::default().merge_encoded(&bad_rank),
      Err(DecodeError("sparse day sketch register out of range"))
    );
    assert!(DailySketch::default()
      .merge_encoded(&[0, 0, 0, 0, 24, 0, 0, 0, 0, 0])
      .is_err());
    assert!(DailySketch::default().merge_encoded(&[0, 0, 0, 0, 1, 7]).is_err());
  }

  #[test]
  fn the_window_bounds_what_is_kept() {
    let mut days = DailySketch::default();
    for day in [1, 5, 9, 100] {
      days.add_hash(day, 0, murmur64a(b"a"));
    }
    assert_eq!(days.set_window(5, 9), 2);
    assert_eq!(days.pairs(), vec![(5, 1), (9, 1)]);
    assert!(!days.add_hash(4, 0, murmur64a(b"b")));
    assert!(!days.add_hash(10_000, 0, murmur64a(b"b")));
    assert_eq!(days.outside(), 2);
    assert_eq!(days.take_dirty(), vec![(5, 1), (9, 1)]);
  }
}
