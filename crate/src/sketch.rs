//! The 24 hourly HyperLogLogs with their line counts, and the per-stream state that feeds them.

use std::sync::Arc;

use crate::daily::DailySketch;
use crate::detect::{AutoOptions, Decision, Lookahead, Reading, Sampled};
use crate::framing::Framed;
use crate::groups::GroupSketch;
use crate::hll::{DenseError, Hll};
use crate::lines::{Line, Splitter};
use crate::outcome::{LineCounts, Outcome, Reason};
use crate::record::{Framing, RecordRule, RuleOptions};

/// Hours in a day: one HLL each.
pub const HOURS: usize = 24;

/// Receives the outcome of every line a [`LineStream`] reads.
pub trait OutcomeSink {
  /// One line's outcome.
  fn outcome(&mut self, outcome: Outcome);

  /// With `--group-by`, before a counted record's outcome: its group value (`None`: the record
  /// has no such field), hour and element hash.
  #[inline]
  fn group(&mut self, _value: Option<&[u8]>, _hour: u8, _hash: u64) {}
}

/// 24 HLLs (one per hour of the day) and the counts of every line that reached them.
pub struct HourlySketch {
  hours: Vec<Hll>,
  /// Bit `h` set: a register of hour `h` grew since the last [`HourlySketch::take_dirty`].
  dirty: u32,
  counts: LineCounts,
  /// With `--daily`: every counted element also goes to its (day, hour) sketch.
  daily: Option<DailySketch>,
  /// With `--all-users`: every user of a working-day hour, whatever the status (its own line
  /// counts are unused).
  users: Option<Box<HourlySketch>>,
  /// With `--group-by`: the counted users of each hour by group value.
  groups: Option<Box<GroupSketch>>,
}

impl Default for HourlySketch {
  fn default() -> Self {
    Self::new()
  }
}

impl HourlySketch {
  /// Empty sketches, zero line counts.
  ///
  /// ```
  /// use loghour::sketch::{HourlySketch, LineStream};
  /// let mut sketch = HourlySketch::new();
  /// let mut stream = LineStream::new(65536, Default::default());
  /// stream.feed(br#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}"#, &mut sketch);
  /// stream.end(&mut sketch);
  /// assert_eq!(sketch.count(17), 1);
  /// assert_eq!(sketch.line_counts().counted(), 1);
  /// ```
  pub fn new() -> Self {
    HourlySketch {
      hours: (0..HOURS).map(|_| Hll::new()).collect(),
      dirty: 0,
      counts: LineCounts::default(),
      daily: None,
      users: None,
      groups: None,
    }
  }

  /// Also keeps every user of each hour (`--all-users`), with per-day sketches when these have
  /// them (made before it).
  ///
  /// ```
  /// use loghour::sketch::{HourlySketch, LineStream};
  /// let mut sketch = HourlySketch::new().with_users();
  /// let mut stream = LineStream::new(65536, loghour::record::RuleOptions { all_users: true, ..Default::default() });
  /// stream.feed(b"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n", &mut sketch);
  /// stream.feed(b"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"b\",\"status_code\":200}\n", &mut sketch);
  /// assert_eq!((sketch.count(17), sketch.users().unwrap().count(17)), (1, 2));
  /// ```
  pub fn with_users(mut self) -> Self {
    let users = if self.daily.is_some() {
      HourlySketch::with_daily()
    } else {
      HourlySketch::new()
    };
    self.users = Some(Box::new(users));
    self
  }

  /// Also keeps the counted users of each hour by group value, at most `max_groups` values.
  pub fn with_groups(mut self, max_groups: usize) -> Self {
    self.groups = Some(Box::new(GroupSketch::new(max_groups)));
    self
  }

  /// Every user of each hour, when kept.
  pub fn users(&self) -> Option<&HourlySketch> {
    self.users.as_deref()
  }

  /// Every user of each hour, when kept, to change.
  pub fn users_mut(&mut self) -> Option<&mut HourlySketch> {
    self.users.as_deref_mut()
  }

  /// The counted users by group value, when kept.
  pub fn groups(&self) -> Option<&GroupSketch> {
    self.groups.as_deref()
  }

  /// The counted users by group value, when kept, to change.
  pub fn groups_mut(&mut self) -> Option<&mut GroupSketch> {
    self.groups.as_deref_mut()
  }

  /// Adds an element's hash to its hour (and day).
  #[inline(always)]
  fn add(&mut self, hour: u8, day: i32, hash: u64) {
    let h = hour as usize % HOURS;
    // Only a register that grew is a change a store must receive (a repeat user is not).
    if self.hours[h].add_hash(hash) {
      self.dirty |= 1 << h;
    }
    if let Some(daily) = &mut self.daily {
      daily.add_hash(day as i64, h as u8, hash);
    }
  }

  /// Empty sketches that also keep per-day sketches (docs/daily.md).
  ///
  /// ```
  /// use loghour::sketch::{HourlySketch, LineStream};
  /// let mut sketch = HourlySketch::with_daily();
  /// let mut stream = LineStream::new(65536, Default::default());
  /// stream.feed(br#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}"#, &mut sketch);
  /// stream.end(&mut sketch);
  /// let day = loghour::calendar::days_from_civil(2019, 5, 6);
  /// assert_eq!(sketch.daily().unwrap().union_count(day, day, 17), 1);
  /// ```
  pub fn with_daily() -> Self {
    HourlySketch {
      daily: Some(DailySketch::default()),
      ..Self::new()
    }
  }

  /// The per-day sketches, when kept.
  pub fn daily(&self) -> Option<&DailySketch> {
    self.daily.as_ref()
  }

  /// The per-day sketches, when kept, to change.
  pub fn daily_mut(&mut self) -> Option<&mut DailySketch> {
    self.daily.as_mut()
  }

  /// Line counts so far.
  pub fn line_counts(&self) -> LineCounts {
    self.counts
  }

  /// Adds line counts gathered elsewhere (e.g. restored from a snapshot).
  pub fn add_line_counts(&mut self, counts: &LineCounts) {
    self.counts.add(counts);
  }

  /// The HLL of an hour (0..24).
  pub fn hour(&self, hour: usize) -> &Hll {
    &self.hours[hour]
  }

  /// `PFCOUNT` of an hour.
  pub fn count(&self, hour: usize) -> u64 {
    self.hours[hour].count()
  }

  /// Bit mask of hours changed since they were last taken.
  pub fn dirty_hours(&self) -> u32 {
    self.dirty
  }

  /// The hours changed since the last call (bit mask), now marked clean: what a store ships.
  pub fn take_dirty(&mut self) -> u32 {
    std::mem::take(&mut self.dirty)
  }

  /// Marks the non-empty hours of `mask` changed again (a store did not receive them, or lost
  /// them and must receive everything again).
  pub fn mark_dirty(&mut self, mask: u32) {
    for h in 0..HOURS {
      if mask & (1 << h) != 0 && !self.hours[h].is_empty() {
        self.dirty |= 1 << h;
      }
    }
  }

  /// Merges a dense Redis value into an hour (register-wise max) and marks it changed if it is
  /// not empty.
  pub fn merge_dense(&mut self, hour: usize, dense: &[u8]) -> Result<(), DenseError> {
    self.hours[hour].merge_dense(dense)?;
    if !self.hours[hour].is_empty() {
      self.dirty |= 1 << hour;
    }
    Ok(())
  }
}

/// A sink that also keeps one stream's own line counts (an HTTP body's answer) besides the
/// shared sketch's, without a per-line branch for the streams that do not need them.
pub struct CountingSink<'a> {
  pub sketch: &'a mut HourlySketch,
  pub counts: &'a mut LineCounts,
}

impl OutcomeSink for CountingSink<'_> {
  #[inline]
  fn outcome(&mut self, outcome: Outcome) {
    self.counts.record(&outcome);
    self.sketch.outcome(outcome);
  }

  #[inline]
  fn group(&mut self, value: Option<&[u8]>, hour: u8, hash: u64) {
    self.sketch.group(value, hour, hash);
  }
}

impl OutcomeSink for HourlySketch {
  #[inline]
  fn outcome(&mut self, outcome: Outcome) {
    self.counts.record(&outcome);
    match outcome {
      Outcome::Counted { hour, day, hash } => {
        self.add(hour, day, hash);
        if let Some(users) = &mut self.users {
          users.add(hour, day, hash);
        }
      }
      Outcome::Seen { hour, day, hash } => {
        if let Some(users) = &mut self.users {
          users.add(hour, day, hash);
        }
      }
      _ => {}
    }
  }

  #[inline]
  fn group(&mut self, value: Option<&[u8]>, hour: u8, hash: u64) {
    if let Some(groups) = &mut self.groups {
      groups.add(value, hour, hash);
    }
  }
}

/// Collects the "dedup-ready" result of counted lines (hour and element hash) for embedders
/// that keep their own storage, plus the line counts.
#[derive(Default)]
pub struct DedupCollector {
  pub hours: Vec<u8>,
  pub hashes: Vec<u64>,
  pub counts: LineCounts,
}

impl OutcomeSink for DedupCollector {
  #[inline]
  fn outcome(&mut self, outcome: Outcome) {
    self.counts.record(&outcome);
    if let Outcome::Counted { hour, hash, .. } = outcome {
      self.hours.push(hour);
      self.hashes.push(hash);
    }
  }
}

/// One input stream (a connection, a file): its partial record and its rule scratch space.
pub struct LineStream {
  splitter: Framed,
  rule: RecordRule,
  max_line_bytes: usize,
  /// With `--format auto`: what the stream may be read as.
  auto: Option<Arc<AutoOptions>>,
  /// With `--format auto`, until the reading is decided: the first records.
  lookahead: Option<Box<Lookahead>>,
  /// With `--format auto`, while nothing the stream sent could be read: the reading its records
  /// were counted under so far (the next records may still show another).
  provisional: Option<Reading>,
  /// With `--format auto`, once decided: how the stream is read.
  reading: Option<Reading>,
}

impl LineStream {
  /// A stream with the given record limit, reading records as `options` say (or, with
  /// `options.detect`, as its first records show).
  pub fn new(max_line_bytes: usize, options: RuleOptions) -> Self {
    let lookahead = options
      .detect
      .as_ref()
      .map(|auto| Box::new(Lookahead::new(Arc::clone(auto), max_line_bytes)));
    LineStream {
      splitter: Framed::new(options.framing, max_line_bytes),
      max_line_bytes,
      auto: options.detect.clone(),
      rule: RecordRule::new(options),
      lookahead,
      provisional: None,
      reading: None,
    }
  }

  /// Reads a chunk; every completed record's outcome goes to `sink`.
  #[inline]
  pub fn feed(&mut self, chunk: &[u8], sink: &mut impl OutcomeSink) {
    let mut chunk = chunk;
    while let Some(lookahead) = &mut self.lookahead {
      // The look-ahead takes a bounded part at a time, until it decides or the chunk is used up.
      let decision = loop {
        let (taken, decision) = lookahead.feed(chunk);
        chunk = &chunk[taken..];
        match decision {
          Some(decision) => break decision,
          None if chunk.is_empty() => return,
          None if taken == 0 => break lookahead.decide(),
          None => {}
        }
      };
      // A decision on records nothing could read looks again at the rest (a fresh look-ahead).
      self.adopt(decision, sink, false);
    }
    let rule = &mut self.rule;
    // Two loops, so that the one without groups is exactly the plain one (no per-line check).
    if rule.groups() {
      self.splitter.feed(chunk, |line| {
        let outcome = outcome_of(rule, line);
        emit(rule, outcome, sink);
      });
    } else {
      self.splitter.feed(chunk, |line| sink.outcome(outcome_of(rule, line)));
    }
  }

  /// Ends the stream: an unterminated final record counts too.
  pub fn end(&mut self, sink: &mut impl OutcomeSink) {
    if let Some(lookahead) = self.lookahead.take() {
      self.adopt(lookahead.end(), sink, true);
    }
    let rule = &mut self.rule;
    self.splitter.end(|line| {
      let outcome = outcome_of(rule, line);
      emit(rule, outcome, sink);
    });
  }

  /// Counts the decision's records under its reading and goes on with its splitter. A reading that
  /// read none of them is provisional until the stream ends: the next records are looked at again.
  #[cold]
  fn adopt(&mut self, decision: Decision, sink: &mut impl OutcomeSink, ended: bool) {
    let mut reading = decision.reading;
    if let Some(earlier) = self.provisional.take() {
      if reading.readable == 0 {
        reading.sampled += earlier.sampled;
        reading.unreadable = earlier.unreadable.or(reading.unreadable);
      } else {
        reading.unread_before = earlier.unread_before + earlier.sampled;
      }
    }
    self.lookahead = None;
    self.rule = RecordRule::new(reading.options.clone());
    self.splitter = decision.splitter;
    for record in &decision.records {
      match record {
        Sampled::Blank(n) => (0..*n).for_each(|_| sink.outcome(Outcome::Blank)),
        Sampled::Text(text) => {
          let outcome = self.rule.classify(text);
          emit(&self.rule, outcome, sink);
        }
        Sampled::TooLong => sink.outcome(Outcome::Invalid(Reason::TooLong)),
      }
    }
    match &self.auto {
      Some(auto) if reading.readable == 0 && !ended => {
        // The partial record goes on in the new look-ahead, with the framing already decided.
        let splitter = std::mem::replace(&mut self.splitter, Framed::new(Framing::Lines, 0));
        let resumed = Lookahead::resume(
          Arc::clone(auto),
          self.max_line_bytes,
          splitter,
          reading.options.framing,
          decision.first,
        );
        self.lookahead = Some(Box::new(resumed));
        self.provisional = Some(reading);
      }
      _ => self.reading = Some(reading),
    }
  }

  /// How the stream is read, once decided (`--format auto` only).
  pub fn reading(&self) -> Option<&Reading> {
    self.reading.as_ref()
  }

  /// Whether the stream still holds its first records to decide its reading.
  pub fn deciding(&self) -> bool {
    self.lookahead.is_some()
  }

  /// Bytes of the unfinished record (and, while deciding, of the first records) held.
  pub fn buffered_bytes(&self) -> usize {
    match &self.lookahead {
      Some(lookahead) => lookahead.held_bytes(),
      None => self.splitter.buffered_bytes(),
    }
  }

  /// Drops the partial record and frees its memory (the stream was cut off).
  pub fn discard(&mut self) {
    if let Some(lookahead) = &mut self.lookahead {
      lookahead.discard();
    }
    self.splitter.discard();
  }
}

/// Gives a record's outcome to the sink, its group first when it counted and records are grouped.
#[inline(always)]
fn emit(rule: &RecordRule, outcome: Outcome, sink: &mut impl OutcomeSink) {
  if let Outcome::Counted { hour, hash, .. } = outcome {
    if rule.groups() {
      sink.group(rule.group_value(), hour, hash);
    }
  }
  sink.outcome(outcome);
}

#[inline]
fn outcome_of(rule: &mut RecordRule, line: Line<'_>) -> Outcome {
  match line {
    Line::Text(text) => rule.classify(text),
    Line::TooLong => Outcome::Invalid(Reason::TooLong),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn dirty_hours_are_taken_once_and_marked_again_only_when_not_empty() {
    let mut sketch = HourlySketch::new();
    let mut stream = LineStream::new(1024, RuleOptions::default());
    stream.feed(
      b"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n",
      &mut sketch,
    );
    assert_eq!(sketch.take_dirty(), 1 << 17);
    assert_eq!(sketch.take_dirty(), 0);
    stream.feed(
      b"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n",
      &mut sketch,
    );
    assert_eq!(sketch.dirty_hours(), 0); // the same user again changes no register
    sketch.mark_dirty(u32::MAX); // hour 17 is the only one with registers set
    assert_eq!(sketch.dirty_hours(), 1 << 17);
    assert_eq!(sketch.count(17), 1); // taking never empties an hour
  }

  #[test]
  fn a_discarded_partial_line_is_gone() {
    let mut sketch = HourlySketch::new();
    let mut stream = LineStream::new(1 << 20, RuleOptions::default());
    stream.feed(&[b'x'; 100_000], &mut sketch);
    assert_eq!(stream.buffered_bytes(), 100_000);
    stream.discard();
    assert_eq!(stream.buffered_bytes(), 0);
    stream.feed(
      b"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n",
      &mut sketch,
    );
    assert_eq!(sketch.line_counts().counted(), 1); // the next bytes start a new line
  }

  #[test]
  fn all_users_and_groups_hold_the_elements_an_independent_reading_gives() {
    use crate::hll::Hll;
    use crate::record::Format;
    // Monday 2026-11-23 and Saturday 2026-11-28; statuses 200, 404, 500, 503.
    let mut json = String::new();
    let mut clf = String::new();
    let (mut errors, mut users) = (Hll::new(), Hll::new());
    let mut by_route: std::collections::BTreeMap<String, Hll> = Default::default();
    for k in 0..400u32 {
      let (day, weekday) = if k % 5 == 4 { (28, 6) } else { (23, 1) };
      let hour = 8 + k % 3;
      let status = [200, 404, 500, 503][(k % 4) as usize];
      let ip = format!("10.0.{}.{}", k % 7, k % 61);
      let id = k % 9;
      let tail = ["a", "b"][(k % 2) as usize];
      let element = format!("2026-11-{day} {hour:02}_{ip}");
      if weekday <= 5 {
        users.add(element.as_bytes());
        if status >= 500 {
          errors.add(element.as_bytes());
          by_route
            .entry(format!("/items/:id/{}", tail))
            .or_default()
            .add(element.as_bytes());
        }
      }
      // Half the JSON records in the fast path's layout, half with the keys in another order.
      if k % 2 == 0 {
        json += &format!(
          r#"{{"time":"2026-11-{day} {hour:02}:00:01","ip":"{ip}","status_code":{status},"path":"/items/{id}/{tail}"}}"#
        );
      } else {
        json += &format!(
          r#"{{"path":"/items/{id}/{tail}?q=1","status_code":{status},"ip":"{ip}","time":"2026-11-{day} {hour:02}:00:01"}}"#
        );
      }
      json.push('\n');
      clf += &format!("{ip} - - [{day}/Nov/2026:{hour:02}:00:01 +0000] \"GET /items/{id}/{tail}?q=1 HTTP/1.1\" {status} 5\n");
    }
    for (format, input) in [(Format::Json, &json), (Format::Clf, &clf)] {
      let mut sketch = HourlySketch::new().with_users().with_groups(100);
      let options = RuleOptions {
        format,
        all_users: true,
        group_by: Some(b"path".to_vec()),
        ..Default::default()
      };
      let mut stream = LineStream::new(1024, options);
      for piece in input.as_bytes().chunks(777) {
        stream.feed(piece, &mut sketch);
      }
      stream.end(&mut sketch);
      let union = |s: &HourlySketch| {
        let mut all = Hll::new();
        (0..HOURS).for_each(|h| all.merge(s.hour(h)));
        all.count()
      };
      assert_eq!(union(&sketch), errors.count(), "{format:?}");
      assert_eq!(union(sketch.users().unwrap()), users.count(), "{format:?}");
      let groups: Vec<_> = sketch
        .groups()
        .unwrap()
        .counts()
        .into_iter()
        .map(|g| (String::from_utf8(g.value).unwrap(), g.users))
        .collect();
      let mut want: Vec<_> = by_route.iter().map(|(v, h)| (v.clone(), h.count())).collect();
      want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
      assert_eq!(groups, want, "{format:?}");
      assert_eq!(sketch.line_counts().counted() + sketch.line_counts().skipped(), 400);
    }
  }
}
