//! `--group-by`: the distinct 5xx users of each hour for each value of one field (a route, a
//! virtual host, a service), with the number of values bounded.
//!
//! [`GroupReader`] finds a counted record's value: a dotted JSON path, or for Combined lines the
//! pseudo-fields `path` (the request's route, [`crate::route`]) and `method`. [`GroupSketch`] keeps
//! a small HyperLogLog per (value, hour) seen, sparse while few users are in it, so a thousand
//! quiet values cost kilobytes; past `max_groups` values, records go to [`OTHER`].

use std::collections::HashMap;

use crate::hll::{Hll, REGISTERS};
use crate::json_fields::{FieldExtractor, FieldValue};
use crate::record::text;
use crate::redis_sparse;
use crate::route::{request_parts, route_of};
use crate::sketch::HOURS;
use crate::sparse::SmallHll;

/// The group of records without the field.
pub const NONE: &[u8] = b"(none)";
/// The group of records whose value came after `max_groups` others.
pub const OTHER: &[u8] = b"(other)";
/// A value is cut to this many bytes (at a character boundary): the memory of a group is bounded
/// whatever a client writes in the field.
pub const MAX_VALUE_BYTES: usize = 200;

/// Reads the group value of counted records.
pub struct GroupReader {
  name: Vec<u8>,
  extractor: FieldExtractor<1>,
  value: Vec<u8>,
  found: bool,
  scratch: Vec<u8>,
}

impl GroupReader {
  /// A reader of the field `name` (a dotted JSON path; `path` and `method` for Combined lines).
  pub fn new(name: Vec<u8>) -> Self {
    GroupReader {
      extractor: FieldExtractor::new([name.clone()]),
      name,
      value: Vec::new(),
      found: false,
      scratch: Vec::new(),
    }
  }

  /// The value read last, `None` when the record had no such field.
  pub fn value(&self) -> Option<&[u8]> {
    self.found.then_some(&self.value[..])
  }

  /// Reads the value from a JSON record (out of line: the rule's own path stays small): a string (a path-like one, starting with `/`, as its
  /// route) or a number as written; anything else is no value.
  #[inline(never)]
  pub fn read_json(&mut self, record: &[u8]) {
    self.found = false;
    let GroupReader {
      extractor,
      value,
      scratch,
      ..
    } = self;
    let Ok([field]) = extractor.extract(record) else { return };
    match field {
      FieldValue::Str { raw, escaped } => {
        let Some(text) = text(raw, escaped, scratch) else { return };
        set_text(value, text);
      }
      FieldValue::Number(n) => {
        value.clear();
        value.extend_from_slice(n);
      }
      _ => return,
    }
    self.settle();
  }

  /// Takes a value given as text (a request's route from a framework, a header): read like a JSON
  /// string value (`None`: no value).
  pub fn read_text(&mut self, text: Option<&[u8]>) {
    self.found = false;
    let Some(text) = text else { return };
    set_text(&mut self.value, text);
    self.settle();
  }

  /// Reads the value from a Combined line's request (`GET /a?b HTTP/1.1`), out of line.
  #[inline(never)]
  pub fn read_request(&mut self, request: &[u8]) {
    self.found = false;
    let (method, target) = request_parts(request);
    match (&self.name[..], method, target) {
      (b"path", _, Some(target)) => route_of(target, &mut self.value),
      (b"method", Some(method), _) => {
        self.value.clear();
        self.value.extend_from_slice(method);
      }
      _ => return,
    }
    self.settle();
  }

  /// An empty value is no value; a long one is cut.
  fn settle(&mut self) {
    if self.value.len() > MAX_VALUE_BYTES {
      let mut end = MAX_VALUE_BYTES;
      while end > 0 && self.value[end] & 0xC0 == 0x80 {
        end -= 1;
      }
      self.value.truncate(end);
    }
    self.found = !self.value.is_empty();
  }
}

/// A text value as a group: one starting with `/` is a request target, grouped as its route.
fn set_text(value: &mut Vec<u8>, text: &[u8]) {
  if text.starts_with(b"/") {
    route_of(text, value);
  } else {
    value.clear();
    value.extend_from_slice(text);
  }
}

/// One value's hours: a sketch per hour that saw a user.
struct Group {
  value: Box<[u8]>,
  hours: Vec<(u8, SmallHll)>,
  /// Bit `h`: hour `h` grew since it was last taken (what a store must receive).
  dirty: u32,
}

/// A value's counts: distinct users per hour and over its 24 hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCounts {
  pub value: Vec<u8>,
  pub hours: [u64; HOURS],
  /// `PFCOUNT` of the union of the 24 hours: the value's distinct (day, user) elements.
  pub users: u64,
}

/// Distinct users per hour for each value, with at most `max_groups` values besides [`NONE`] and
/// [`OTHER`].
pub struct GroupSketch {
  max_groups: usize,
  index: HashMap<Box<[u8]>, u32>,
  groups: Vec<Group>,
  /// Values other than [`NONE`] and [`OTHER`].
  named: usize,
  /// Records that went to [`OTHER`].
  other_records: u64,
}

impl GroupSketch {
  /// An empty sketch keeping at most `max_groups` values.
  ///
  /// ```
  /// use loghour::groups::GroupSketch;
  /// let mut groups = GroupSketch::new(1);
  /// groups.add(Some(b"/a"), 9, loghour::hll::murmur64a(b"2026-11-23 09_10.0.0.1"));
  /// groups.add(Some(b"/b"), 9, loghour::hll::murmur64a(b"2026-11-23 09_10.0.0.2"));
  /// let counts = groups.counts();
  /// // Most users first, then by value.
  /// assert_eq!(counts.iter().map(|g| (&g.value[..], g.users)).collect::<Vec<_>>(), [(&b"(other)"[..], 1), (&b"/a"[..], 1)]);
  /// assert_eq!(groups.other_records(), 1);
  /// ```
  pub fn new(max_groups: usize) -> Self {
    GroupSketch {
      max_groups,
      index: HashMap::new(),
      groups: Vec::new(),
      named: 0,
      other_records: 0,
    }
  }

  /// Adds a counted record's element hash to its value's hour (`None`: to [`NONE`]); true when a
  /// register grew.
  #[inline]
  pub fn add(&mut self, value: Option<&[u8]>, hour: u8, hash: u64) -> bool {
    let value = value.unwrap_or(NONE);
    let at = match self.index.get(value) {
      Some(&at) => at,
      None => self.insert(value),
    } as usize;
    self.groups[at].add(hour, |h| h.add_hash(hash))
  }

  /// Raises an hour of a value to the registers of a Redis value (a store's own) without marking
  /// it changed; the value is added like a record's, so the bound holds.
  pub fn merge_registers(&mut self, value: &[u8], hour: u8, registers: &[(u32, u8)]) {
    let at = match self.index.get(value) {
      Some(&at) => at,
      None => self.insert(value),
    } as usize;
    let group = &mut self.groups[at];
    let was = group.dirty;
    group.add(hour, |h| {
      registers.iter().fold(false, |grew, &(i, r)| h.raise(i as usize, r) | grew)
    });
    group.dirty = was;
  }

  /// Raises a value's hour to the registers of a value Redis holds (sparse or dense), as read back
  /// from the group keys; nothing is marked changed.
  pub fn merge_redis(&mut self, value: &[u8], hour: u8, redis: &[u8]) -> Result<(), &'static str> {
    let registers = match redis.get(..5) {
      Some(b"HYLL\x01") => redis_sparse::decode(redis).ok_or("a malformed sparse HyperLogLog")?,
      _ => {
        let hll = Hll::from_dense(redis).map_err(|_| "not a Redis HyperLogLog")?;
        (0..REGISTERS).map(|i| hll.register(i)).collect()
      }
    };
    let set: Vec<(u32, u8)> = registers
      .iter()
      .enumerate()
      .filter(|(_, &r)| r > 0)
      .map(|(i, &r)| (i as u32, r))
      .collect();
    self.merge_registers(value, hour % HOURS as u8, &set);
    Ok(())
  }

  /// The index of a new value, or of [`OTHER`] past the bound.
  #[cold]
  #[inline(never)]
  fn insert(&mut self, value: &[u8]) -> u32 {
    let special = value == NONE || value == OTHER;
    let value = if special || self.named < self.max_groups {
      value
    } else {
      self.other_records += 1;
      if let Some(&at) = self.index.get(OTHER) {
        return at;
      }
      OTHER
    };
    self.named += usize::from(value != NONE && value != OTHER);
    let at = self.groups.len() as u32;
    self.groups.push(Group {
      value: value.into(),
      hours: Vec::new(),
      dirty: 0,
    });
    self.index.insert(value.into(), at);
    at
  }

  /// Records that went to [`OTHER`] because `max_groups` values came before theirs.
  pub fn other_records(&self) -> u64 {
    self.other_records
  }

  /// Values held (with [`NONE`] and [`OTHER`] when they occurred).
  pub fn len(&self) -> usize {
    self.groups.len()
  }

  /// True when no record was grouped.
  pub fn is_empty(&self) -> bool {
    self.groups.is_empty()
  }

  /// Every value's counts, by users (most first), then value.
  pub fn counts(&self) -> Vec<GroupCounts> {
    let mut counts: Vec<GroupCounts> = self.groups.iter().map(Group::counts).collect();
    counts.sort_by(|a, b| b.users.cmp(&a.users).then_with(|| a.value.cmp(&b.value)));
    counts
  }

  /// The (value index, hours) pairs changed since the last call, now marked clean.
  pub fn take_dirty(&mut self) -> Vec<(u32, u32)> {
    let mut taken = Vec::new();
    for (at, group) in self.groups.iter_mut().enumerate() {
      if group.dirty != 0 {
        taken.push((at as u32, std::mem::take(&mut group.dirty)));
      }
    }
    taken
  }

  /// Marks (value index, hours) pairs changed again (the store did not confirm them); hours
  /// without a sketch are ignored.
  pub fn mark_dirty(&mut self, pairs: &[(u32, u32)]) {
    for &(at, mask) in pairs {
      if let Some(group) = self.groups.get_mut(at as usize) {
        group.dirty |= mask & group.held();
      }
    }
  }

  /// Marks every hour held changed (a store lost everything and must receive it again).
  pub fn mark_all_dirty(&mut self) {
    for group in &mut self.groups {
      group.dirty = group.held();
    }
  }

  /// Whether a value's hour changed since it was last taken.
  pub fn has_dirty(&self) -> bool {
    self.groups.iter().any(|g| g.dirty != 0)
  }

  /// The value at an index (from [`GroupSketch::take_dirty`]).
  pub fn value(&self, at: u32) -> Option<&[u8]> {
    self.groups.get(at as usize).map(|g| &g.value[..])
  }

  /// A value's hour as a value Redis holds (sparse while small), empty when it has no users.
  pub fn export(&self, at: u32, hour: u8) -> Vec<u8> {
    self
      .groups
      .get(at as usize)
      .and_then(|g| g.hour(hour))
      .map_or_else(Vec::new, SmallHll::to_redis)
  }

  /// Memory the values and their registers take, in bytes (the map's own slots included).
  pub fn bytes(&self) -> usize {
    let per_entry = std::mem::size_of::<Group>() + std::mem::size_of::<(Box<[u8]>, u32)>() + 8;
    self
      .groups
      .iter()
      .map(|g| {
        per_entry
          + 2 * g.value.len()
          + g.hours.capacity() * std::mem::size_of::<(u8, SmallHll)>()
          + g.hours.iter().map(|(_, h)| h.bytes()).sum::<usize>()
      })
      .sum()
  }
}

impl Group {
  /// Applies `change` to the hour's sketch (made if new); marks the hour when it grew.
  #[inline]
  fn add(&mut self, hour: u8, change: impl FnOnce(&mut SmallHll) -> bool) -> bool {
    let hour = hour % HOURS as u8;
    let at = match self.hours.iter().position(|(h, _)| *h == hour) {
      Some(at) => at,
      None => {
        self.hours.push((hour, SmallHll::default()));
        self.hours.len() - 1
      }
    };
    let grew = change(&mut self.hours[at].1);
    if grew {
      self.dirty |= 1 << hour;
    }
    grew
  }

  fn hour(&self, hour: u8) -> Option<&SmallHll> {
    self.hours.iter().find(|(h, _)| *h == hour).map(|(_, s)| s)
  }

  /// Hours with a sketch (bit mask).
  fn held(&self) -> u32 {
    self.hours.iter().fold(0, |m, (h, _)| m | 1 << h)
  }

  fn counts(&self) -> GroupCounts {
    let mut hours = [0; HOURS];
    let mut union = SmallHll::default();
    for (h, sketch) in &self.hours {
      hours[*h as usize] = sketch.count();
      match sketch {
        SmallHll::Sparse(registers) => registers.words().for_each(|w| {
          union.raise((w >> 6) as usize, (w & 63) as u8);
        }),
        SmallHll::Dense(hll) => (0..REGISTERS).filter(|&i| hll.register(i) > 0).for_each(|i| {
          union.raise(i, hll.register(i));
        }),
      }
    }
    GroupCounts {
      value: self.value.to_vec(),
      hours,
      users: union.count(),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::hll::murmur64a;

  #[test]
  fn hours_and_unions_equal_plain_hyperloglogs_of_the_same_elements() {
    let mut groups = GroupSketch::new(10);
    let mut plain: Vec<(Vec<u8>, [Hll; 2])> = Vec::new();
    for (value, users) in [(&b"/a"[..], 3000), (b"/b", 40), (b"/c", 1)] {
      let mut hours = [Hll::new(), Hll::new()];
      for u in 0..users {
        for (k, hour) in [9u8, 17].into_iter().enumerate() {
          let element = format!("2026-11-23 {hour:02}_10.{}.{}.{}", u >> 16, (u >> 8) & 255, u & 255);
          groups.add(Some(value), hour, murmur64a(element.as_bytes()));
          hours[k].add(element.as_bytes());
        }
      }
      plain.push((value.to_vec(), hours));
    }
    let counts = groups.counts();
    assert_eq!(
      counts.iter().map(|g| &g.value[..]).collect::<Vec<_>>(),
      [&b"/a"[..], b"/b", b"/c"]
    );
    for (g, (value, hours)) in counts.iter().zip(&plain) {
      assert_eq!(&g.value, value);
      assert_eq!((g.hours[9], g.hours[17]), (hours[0].count(), hours[1].count()));
      let mut union = hours[0].clone();
      union.merge(&hours[1]);
      assert_eq!(g.users, union.count());
    }
  }

  #[test]
  fn values_past_the_bound_go_to_other_and_missing_ones_to_none() {
    let mut groups = GroupSketch::new(2);
    for (k, value) in [Some(&b"a"[..]), Some(b"b"), None, Some(b"c"), Some(b"d"), Some(b"a")]
      .iter()
      .enumerate()
    {
      groups.add(*value, 10, murmur64a(&[k as u8]));
    }
    let values: Vec<_> = groups.counts().into_iter().map(|g| (g.value, g.users)).collect();
    assert_eq!(
      values,
      [
        (b"(other)".to_vec(), 2),
        (b"a".to_vec(), 2),
        (b"(none)".to_vec(), 1),
        (b"b".to_vec(), 1)
      ]
    );
    assert_eq!(groups.other_records(), 2);
    assert_eq!(groups.len(), 4);
  }

  #[test]
  fn a_thousand_quiet_values_cost_kilobytes() {
    let mut groups = GroupSketch::new(1000);
    for k in 0..1000u32 {
      groups.add(
        Some(format!("/shop/s{k}/items/:id").as_bytes()),
        (k % 24) as u8,
        murmur64a(&k.to_le_bytes()),
      );
    }
    assert_eq!(groups.len(), 1000);
    // One user in one hour each: the value, its entry and an 8-slot table.
    assert!(groups.bytes() < 1000 * 512, "{} bytes", groups.bytes());
  }

  #[test]
  fn dirty_hours_are_taken_once_and_marked_again() {
    let mut groups = GroupSketch::new(10);
    groups.add(Some(b"x"), 3, murmur64a(b"1"));
    groups.add(Some(b"y"), 4, murmur64a(b"2"));
    let taken = groups.take_dirty();
    assert_eq!(taken, [(0, 1 << 3), (1, 1 << 4)]);
    assert!(groups.take_dirty().is_empty());
    groups.mark_dirty(&[(0, u32::MAX)]);
    assert_eq!(groups.take_dirty(), [(0, 1 << 3)]);
    assert_eq!(groups.export(1, 4), {
      let mut one = SmallHll::default();
      one.add(b"2");
      one.to_redis()
    });
    assert!(groups.export(1, 5).is_empty());
  }

  #[test]
  fn values_read_back_from_redis_count_as_the_sketches_that_wrote_them() {
    let mut written = GroupSketch::new(10);
    for u in 0..2000u32 {
      written.add(Some(b"/big"), 9, murmur64a(&u.to_le_bytes()));
      if u < 5 {
        written.add(Some(b"/small"), 14, murmur64a(&u.to_le_bytes()));
      }
    }
    let mut read = GroupSketch::new(usize::MAX);
    for (at, mask) in written.take_dirty() {
      for hour in (0..24).filter(|h| mask & 1 << h != 0) {
        let value = written.value(at).unwrap().to_vec();
        read.merge_redis(&value, hour, &written.export(at, hour)).unwrap();
      }
    }
    assert_eq!(read.counts(), written.counts());
    assert!(read.take_dirty().is_empty());
    assert!(read.merge_redis(b"x", 1, b"HYLL\x01junk").is_err());
    assert!(read.merge_redis(b"x", 1, b"nope").is_err());
  }

  #[test]
  fn readers_take_routes_methods_and_json_values() {
    let mut path = GroupReader::new(b"path".to_vec());
    path.read_request(b"GET /users/42?x=1 HTTP/1.1");
    assert_eq!(path.value(), Some(&b"/users/:id"[..]));
    path.read_request(b"-");
    assert_eq!(path.value(), None);
    let mut method = GroupReader::new(b"method".to_vec());
    method.read_request(b"DELETE /a HTTP/1.1");
    assert_eq!(method.value(), Some(&b"DELETE"[..]));
    let mut other = GroupReader::new(b"host".to_vec());
    other.read_request(b"GET / HTTP/1.1");
    assert_eq!(other.value(), None);
    let mut json = GroupReader::new(b"url.path".to_vec());
    json.read_json(br#"{"url":{"path":"/o/6f1c2a9e-3b7d-4c1e-9a2b-0c4d5e6f7a8b"}}"#);
    assert_eq!(json.value(), Some(&b"/o/:id"[..]));
    json.read_json(br#"{"url.path":"\u002fa\/7"}"#);
    assert_eq!(json.value(), Some(&b"/a/:id"[..]));
    json.read_json(br#"{"url":{"path":""}}"#);
    assert_eq!(json.value(), None);
    json.read_json(br#"{"url":{"path":null}}"#);
    assert_eq!(json.value(), None);
    let mut upstream = GroupReader::new(b"upstream_status".to_vec());
    upstream.read_json(br#"{"upstream_status":502}"#);
    assert_eq!(upstream.value(), Some(&b"502"[..]));
    let long = format!(r#"{{"upstream_status":"{}"}}"#, "é".repeat(150));
    upstream.read_json(long.as_bytes());
    assert_eq!(upstream.value().map(|v| v.len()), Some(200));
    assert!(std::str::from_utf8(upstream.value().unwrap()).is_ok());
  }
}
