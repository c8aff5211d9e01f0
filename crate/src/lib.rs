//! loghour's native core: the N-API bindings over pure-Rust modules (one per concern).
//!
//! Everything here is a thin wrapper; the logic lives in the modules, which are tested with
//! `cargo test` on their own. Every export catches panics so none can cross into Node.
#![deny(clippy::all)]

pub mod calendar;
pub mod clf;
pub mod clock;
pub mod compact;
pub mod daily;
pub mod demo;
pub mod detect;
pub mod framing;
pub mod groups;
pub mod hll;
pub mod json_fields;
pub mod lines;
pub mod otlp;
pub mod otlp_json;
pub mod otlp_proto;
pub mod outcome;
pub mod record;
pub mod redis_sparse;
pub mod route;
pub mod sketch;
pub mod sparse;
pub mod swar;
pub mod zone;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{BigInt, BigUint64Array, Buffer, Uint8Array};
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::clock::TimeUnit;
use crate::detect::{AutoOptions, Candidate, Reading};
use crate::outcome::{LineCounts, Outcome, Reason};
use crate::record::{Format, Framing, RecordRule, RuleOptions};
use crate::sketch::{CountingSink, DedupCollector, HourlySketch, LineStream, OutcomeSink};

/// Dotted paths of the JSON fields to read (defaults: `time`, `ip`, `status_code`).
#[napi(object)]
pub struct NativeFieldNames {
  pub time: Option<String>,
  pub ip: Option<String>,
  pub status: Option<String>,
}

/// How records are read; every member is optional and defaults to the original service's rule.
#[napi(object)]
pub struct NativeRule {
  /// `json` or `clf`.
  pub format: Option<String>,
  /// `lines` or `json-stream`.
  pub framing: Option<String>,
  pub fields: Option<NativeFieldNames>,
  /// The original rule (default true): numbers only as statuses, ISO strings only as times.
  pub strict: Option<bool>,
  /// Unit of epoch times: `s`, `ms`, `us` or `ns`.
  pub time_unit: Option<String>,
  /// IANA zone the hours are counted in; none: wall clocks as written.
  pub timezone: Option<String>,
  /// IANA zone of wall clocks written without an offset (needs `timezone`).
  pub source_timezone: Option<String>,
  /// The record is the string value of this field of each JSON line.
  pub envelope: Option<String>,
  /// `--format auto`: each stream decides its reading from its first records; `framing`, when
  /// given, is fixed, and `format`, `fields`, `strict` and `timeUnit` are ignored.
  pub auto: Option<NativeAuto>,
  /// Also keep every user of each working-day hour, whatever the status (`--all-users`).
  pub all_users: Option<bool>,
  /// Group counted users by this field (`--group-by`): a dotted JSON path, or `path` and `method`.
  pub group_by: Option<String>,
  /// With `groupBy`: values kept before the rest go to `(other)` (default 1000).
  pub max_groups: Option<u32>,
}

/// A reading `--format auto` may choose.
#[napi(object)]
pub struct NativeCandidate {
  /// The name it is reported by (a schema's, `clf`).
  pub name: String,
  /// `json` or `clf`.
  pub format: Option<String>,
  pub fields: Option<NativeFieldNames>,
  pub strict: Option<bool>,
  pub time_unit: Option<String>,
}

/// What `--format auto` chooses from.
#[napi(object)]
pub struct NativeAuto {
  /// The readings to try, in order of preference (at least one).
  pub candidates: Vec<NativeCandidate>,
  /// Also a JSON reading from the usual field names.
  pub usual_names: Option<bool>,
  /// Fields of a JSON line whose string value may be the record (`message`, `log`).
  pub envelopes: Option<Vec<String>>,
}

/// How a stream is read, as `--format auto` decided it from its first records.
#[napi(object)]
pub struct NativeReading {
  /// A schema's name, `json` (the usual field names), `combined` or `common`.
  pub name: String,
  pub format: String,
  pub framing: String,
  pub envelope: Option<String>,
  /// The fields read (JSON only).
  pub fields: Option<NativeFieldNames>,
  pub time_unit: String,
  /// The original rule.
  pub strict: bool,
  /// Records sampled (not blank) and how many the reading reads.
  pub sampled: u32,
  pub readable: u32,
  /// The first sampled record it does not read (shortened), and why.
  pub unreadable: Option<String>,
  pub unreadable_reason: Option<String>,
  /// Records the stream sent before any reading read one (counted invalid meanwhile).
  pub unread_before: u32,
}

impl From<&Reading> for NativeReading {
  fn from(r: &Reading) -> Self {
    let o = &r.options;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    NativeReading {
      name: r.name.clone(),
      format: match o.format {
        Format::Json => "json",
        Format::Clf => "clf",
      }
      .into(),
      framing: match o.framing {
        Framing::Lines => "lines",
        Framing::JsonStream => "json-stream",
        Framing::JsonBatch => "json-batch",
      }
      .into(),
      envelope: o.envelope.as_deref().map(text),
      fields: (o.format == Format::Json).then(|| NativeFieldNames {
        time: Some(text(&o.names.time)),
        ip: Some(text(&o.names.ip)),
        status: Some(text(&o.names.status)),
      }),
      time_unit: match o.unit {
        TimeUnit::Seconds => "s",
        TimeUnit::Milliseconds => "ms",
        TimeUnit::Microseconds => "us",
        TimeUnit::Nanoseconds => "ns",
      }
      .into(),
      strict: o.strict,
      sampled: r.sampled,
      readable: r.readable,
      unreadable: r.unreadable.as_ref().map(|(line, _)| text(line)),
      unreadable_reason: r.unreadable.as_ref().map(|(_, reason)| reason.name().into()),
      unread_before: r.unread_before,
    }
  }
}

fn invalid(message: String) -> Error {
  Error::new(Status::InvalidArg, message)
}

fn zone_named(name: &str) -> Result<jiff::tz::TimeZone> {
  zone::time_zone(name).ok_or_else(|| invalid(format!("unknown time zone {name:?}")))
}

fn format_named(name: Option<&str>) -> Result<Format> {
  match name {
    None | Some("json") => Ok(Format::Json),
    Some("clf") => Ok(Format::Clf),
    Some(other) => Err(invalid(format!("format must be json or clf, got {other}"))),
  }
}

fn unit_named(name: Option<&str>) -> Result<TimeUnit> {
  match name {
    None | Some("s") => Ok(TimeUnit::Seconds),
    Some("ms") => Ok(TimeUnit::Milliseconds),
    Some("us") => Ok(TimeUnit::Microseconds),
    Some("ns") => Ok(TimeUnit::Nanoseconds),
    Some(other) => Err(invalid(format!("timeUnit must be s, ms, us or ns, got {other}"))),
  }
}

fn framing_named(name: &str) -> Result<Framing> {
  match name {
    "lines" => Ok(Framing::Lines),
    "json-stream" => Ok(Framing::JsonStream),
    "json-batch" => Ok(Framing::JsonBatch),
    other => Err(invalid(format!(
      "framing must be lines, json-stream or json-batch, got {other}"
    ))),
  }
}

fn apply_fields(names: &mut crate::json_fields::FieldNames, fields: Option<NativeFieldNames>) {
  let Some(o) = fields else { return };
  if let Some(t) = o.time {
    names.time = t.into_bytes();
  }
  if let Some(ip) = o.ip {
    names.ip = ip.into_bytes();
  }
  if let Some(s) = o.status {
    names.status = s.into_bytes();
  }
}

fn rule_options(rule: Option<NativeRule>) -> Result<RuleOptions> {
  let mut options = RuleOptions::default();
  let Some(rule) = rule else { return Ok(options) };
  options.format = format_named(rule.format.as_deref())?;
  options.framing = rule.framing.as_deref().map(framing_named).transpose()?.unwrap_or_default();
  options.unit = unit_named(rule.time_unit.as_deref())?;
  options.strict = rule.strict.unwrap_or(true);
  options.zone = rule.timezone.as_deref().map(zone_named).transpose()?;
  options.source_zone = match (&rule.source_timezone, &rule.timezone) {
    (None, _) => None,
    (Some(_), None) => return Err(invalid("sourceTimezone needs timezone".into())),
    // The same zone: wall clocks without an offset are already in it.
    (Some(source), Some(zone)) if source.eq_ignore_ascii_case(zone) => None,
    (Some(source), Some(_)) => Some(zone_named(source)?),
  };
  options.envelope = rule.envelope.map(String::into_bytes);
  options.all_users = rule.all_users == Some(true);
  options.group_by = match rule.group_by {
    Some(name) if name.is_empty() => return Err(invalid("groupBy must name a field".into())),
    name => name.map(String::into_bytes),
  };
  apply_fields(&mut options.names, rule.fields);
  if let Some(auto) = rule.auto {
    if auto.candidates.is_empty() {
      return Err(invalid("auto needs at least one candidate".into()));
    }
    let mut candidates = Vec::with_capacity(auto.candidates.len());
    for c in auto.candidates {
      let mut names = crate::json_fields::FieldNames::default();
      apply_fields(&mut names, c.fields);
      candidates.push(Candidate {
        name: c.name,
        options: RuleOptions {
          format: format_named(c.format.as_deref())?,
          names,
          strict: c.strict.unwrap_or(false),
          unit: unit_named(c.time_unit.as_deref())?,
          ..options.clone()
        },
      });
    }
    options.detect = Some(Arc::new(AutoOptions {
      framing: rule.framing.is_some().then_some(options.framing),
      candidates,
      usual_names: (auto.usual_names == Some(true)).then(|| options.clone()),
      envelopes: auto
        .envelopes
        .unwrap_or_default()
        .into_iter()
        .map(String::into_bytes)
        .collect(),
    }));
  }
  Ok(options)
}

/// Every time zone name of the bundled IANA database, sorted.
#[napi(catch_unwind)]
pub fn time_zone_names() -> Vec<String> {
  zone::zone_names()
}

/// Whether `name` is a time zone of the bundled IANA database (any case).
#[napi(catch_unwind)]
pub fn is_time_zone(name: String) -> bool {
  zone::time_zone(&name).is_some()
}

/// Line counts by outcome; `invalid[i]` counts lines invalid for `invalidReasons()[i]`, and
/// `total` every non-blank line (`counted + skipped + sum(invalid)`).
#[napi(object)]
pub struct NativeLineCounts {
  pub total: f64,
  pub counted: f64,
  pub skipped: f64,
  pub blank: f64,
  pub invalid: Vec<f64>,
}

impl From<&LineCounts> for NativeLineCounts {
  fn from(c: &LineCounts) -> Self {
    NativeLineCounts {
      total: c.total() as f64,
      counted: c.counted() as f64,
      skipped: c.skipped() as f64,
      blank: c.blank() as f64,
      invalid: Reason::ALL.iter().map(|&r| c.invalid(r) as f64).collect(),
    }
  }
}

impl From<&NativeLineCounts> for LineCounts {
  /// `total` is derived from the parts, never taken as given.
  fn from(c: &NativeLineCounts) -> Self {
    let mut invalid = [0; Reason::ALL.len()];
    for (slot, &n) in invalid.iter_mut().zip(c.invalid.iter()) {
      *slot = n as u64;
    }
    LineCounts::from_parts(c.counted as u64, c.skipped as u64, c.blank as u64, invalid)
  }
}

/// Hours in a day: one HyperLogLog each, hours 0..23.
#[napi]
pub const HOURS: u32 = sketch::HOURS as u32;

/// Bytes of a dense Redis HyperLogLog value (16-byte header + 16384 six-bit registers).
#[napi]
pub const DENSE_SIZE: u32 = hll::DENSE_SIZE as u32;

/// Names of the invalid-line reasons, in the order of `NativeLineCounts.invalid`.
#[napi(catch_unwind)]
pub fn invalid_reasons() -> Vec<String> {
  Reason::ALL.iter().map(|r| r.name().to_string()).collect()
}

fn hour_index(hour: u32) -> Result<usize> {
  if hour < HOURS {
    Ok(hour as usize)
  } else {
    Err(Error::new(Status::InvalidArg, format!("hour must be 0..23, got {hour}")))
  }
}

/// Hours of one day that changed (or are held): `day` counts days since 1970-01-01, bit `h` of
/// `hours` stands for hour `h`.
#[napi(object)]
pub struct NativeDayHours {
  pub day: i32,
  pub hours: u32,
}

/// What the per-day sketches hold.
#[napi(object)]
pub struct NativeDailyInfo {
  /// Days with at least one sketch.
  pub days: u32,
  /// Bytes of registers (sparse words or dense registers).
  pub bytes: f64,
  /// Counted elements whose day was outside the window (counted all-time only).
  pub outside: f64,
}

fn day_pairs(pairs: Vec<(i64, u32)>) -> Vec<NativeDayHours> {
  pairs
    .into_iter()
    .map(|(day, hours)| NativeDayHours { day: day as i32, hours })
    .collect()
}

fn optional_zone(name: Option<String>) -> Result<Option<jiff::tz::TimeZone>> {
  name.as_deref().map(zone_named).transpose()
}

/// The day (since 1970-01-01) on the zone's calendar (UTC without one) at `epochMs`: "today".
#[napi(catch_unwind)]
pub fn local_day(epoch_ms: f64, timezone: Option<String>) -> Result<i32> {
  let zone = optional_zone(timezone)?;
  zone::day_at((epoch_ms / 1000.0).floor() as i64, zone.as_ref())
    .and_then(|d| i32::try_from(d).ok())
    .ok_or_else(|| invalid(format!("no day at {epoch_ms} ms")))
}

/// The instant (Unix ms) at which day `day` begins on the zone's calendar (UTC without one).
#[napi(catch_unwind)]
pub fn day_start_ms(day: i32, timezone: Option<String>) -> Result<f64> {
  let zone = optional_zone(timezone)?;
  zone::day_start(day as i64, zone.as_ref())
    .map(|s| s as f64 * 1000.0)
    .ok_or_else(|| invalid(format!("day {day} is outside the zone database")))
}

/// The 24 hourly HyperLogLogs and line counters shared by every stream of a consumer, and with
/// `daily` a sketch per (day, hour) as well.
#[napi]
pub struct NativeSketchSet {
  sketch: Rc<RefCell<HourlySketch>>,
  /// Which of the set's sketches the hour and day methods read: the 5xx users, or all users.
  view: View,
  rule: RuleOptions,
  /// `--format auto`: streams by the reading they decided on.
  readings: Rc<RefCell<ReadingTally>>,
  /// The rule applied to finished requests (`countRequest`), made on first use.
  requests: RefCell<Option<RecordRule>>,
}

/// The sketches a [`NativeSketchSet`] object's hour and day methods read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
  /// The users who met a 5xx (the counted hours).
  Errors,
  /// Every user (`allUsers`).
  Users,
}

impl NativeSketchSet {
  /// The sketches this object's hour and day methods read.
  fn part(&self) -> std::cell::Ref<'_, HourlySketch> {
    std::cell::Ref::map(self.sketch.borrow(), |s| match self.view {
      View::Errors => s,
      View::Users => s.users().expect("a users view is made only when users are kept"),
    })
  }

  /// The same, to change.
  fn part_mut(&self) -> std::cell::RefMut<'_, HourlySketch> {
    std::cell::RefMut::map(self.sketch.borrow_mut(), |s| match self.view {
      View::Errors => s,
      View::Users => s.users_mut().expect("a users view is made only when users are kept"),
    })
  }
}

/// One group value's counts.
#[napi(object)]
pub struct NativeGroupCounts {
  pub value: String,
  /// Distinct 5xx users of each hour, 0..23.
  pub hours: Vec<f64>,
  /// Distinct (day, user) elements over the 24 hours.
  pub users: f64,
}

/// The counts by group value.
#[napi(object)]
pub struct NativeGroups {
  /// The values with the most users first.
  pub groups: Vec<NativeGroupCounts>,
  /// Values held (with `(none)` and `(other)`).
  pub values: u32,
  /// Records that went to `(other)` past `maxGroups`.
  pub other_records: f64,
  /// Memory the values and their sketches take.
  pub bytes: f64,
}

/// What the group sketches hold.
#[napi(object)]
pub struct NativeGroupInfo {
  pub values: u32,
  pub other_records: f64,
  pub bytes: f64,
}

/// A group value's hour as Redis holds it (read back from the group keys).
#[napi(object)]
pub struct NativeGroupValue {
  pub value: String,
  pub hour: u32,
  pub sketch: Buffer,
}

/// The counts by group value of the values Redis holds (every server's): most users first, at
/// most `top` of them.
#[napi(catch_unwind)]
pub fn group_counts_of(values: Vec<NativeGroupValue>, top: Option<u32>) -> Result<NativeGroups> {
  let mut groups = crate::groups::GroupSketch::new(usize::MAX);
  for v in &values {
    let hour = hour_index(v.hour)? as u8;
    groups
      .merge_redis(v.value.as_bytes(), hour, &v.sketch)
      .map_err(|e| invalid(format!("the group key of {:?} at hour {hour} holds {e}", v.value)))?;
  }
  let counts = groups.counts();
  Ok(NativeGroups {
    values: counts.len() as u32,
    other_records: 0.0,
    bytes: groups.bytes() as f64,
    groups: top_groups(counts, top),
  })
}

/// The first `top` (all without) of values ranked by users, as JavaScript sees them.
fn top_groups(counts: Vec<crate::groups::GroupCounts>, top: Option<u32>) -> Vec<NativeGroupCounts> {
  counts
    .into_iter()
    .take(top.map_or(usize::MAX, |t| t as usize))
    .map(|g| NativeGroupCounts {
      value: String::from_utf8_lossy(&g.value).into_owned(),
      hours: g.hours.iter().map(|&n| n as f64).collect(),
      users: g.users as f64,
    })
    .collect()
}

/// A group value's hours (bit mask) changed since a store last took them.
#[napi(object)]
pub struct NativeGroupHours {
  /// The value's index in the set (stable for the set's life).
  pub index: u32,
  pub value: String,
  pub hours: u32,
}

fn daily_off() -> Error {
  invalid("daily sketches are off (create the set with daily: true)".into())
}

#[napi]
impl NativeSketchSet {
  #[napi(constructor, catch_unwind)]
  pub fn new(rule: Option<NativeRule>, daily: Option<bool>) -> Result<Self> {
    let max_groups = rule.as_ref().and_then(|r| r.max_groups).unwrap_or(1000) as usize;
    let rule = rule_options(rule)?;
    let mut sketch = if daily == Some(true) {
      HourlySketch::with_daily()
    } else {
      HourlySketch::new()
    };
    if rule.all_users {
      sketch = sketch.with_users();
    }
    if rule.group_by.is_some() {
      sketch = sketch.with_groups(max_groups);
    }
    Ok(NativeSketchSet {
      sketch: Rc::new(RefCell::new(sketch)),
      view: View::Errors,
      rule,
      readings: Rc::default(),
      requests: RefCell::new(None),
    })
  }

  /// What the per-day sketches hold, or null when they are off.
  #[napi(catch_unwind)]
  pub fn daily_info(&self) -> Option<NativeDailyInfo> {
    let sketch = self.part();
    sketch.daily().map(|d| NativeDailyInfo {
      days: d.days() as u32,
      bytes: d.bytes() as f64,
      outside: d.outside() as f64,
    })
  }

  /// Keeps days `first..=last` only: earlier days are dropped, elements of days outside are
  /// counted all-time only. Returns the days dropped.
  #[napi(catch_unwind)]
  pub fn set_day_window(&self, first: i32, last: i32) -> Result<u32> {
    let mut sketch = self.part_mut();
    let daily = sketch.daily_mut().ok_or_else(daily_off)?;
    Ok(daily.set_window(first as i64, last as i64) as u32)
  }

  /// The (day, hours) pairs changed since the last call, now marked clean (none when off).
  #[napi(catch_unwind)]
  pub fn take_dirty_days(&self) -> Vec<NativeDayHours> {
    day_pairs(self.part_mut().daily_mut().map(|d| d.take_dirty()).unwrap_or_default())
  }

  /// Whether a (day, hour) changed since the last `takeDirtyDays`.
  #[napi(catch_unwind)]
  pub fn has_dirty_days(&self) -> bool {
    self.part().daily().is_some_and(|d| d.has_dirty())
  }

  /// Marks (day, hours) pairs changed again (not confirmed by the store); pairs not held are ignored.
  #[napi(catch_unwind)]
  pub fn mark_dirty_days(&self, pairs: Vec<NativeDayHours>) {
    if let Some(daily) = self.part_mut().daily_mut() {
      daily.mark_dirty(&pairs.iter().map(|p| (p.day as i64, p.hours)).collect::<Vec<_>>());
    }
  }

  /// Every (day, hours) pair held (none when off).
  #[napi(catch_unwind)]
  pub fn day_hours(&self) -> Vec<NativeDayHours> {
    day_pairs(self.part().daily().map(|d| d.pairs()).unwrap_or_default())
  }

  /// A day and hour's registers as a value Redis holds: sparse (a few hundred bytes) while at
  /// most 512 registers are set and none is above 32, else the 12304-byte dense value.
  #[napi(catch_unwind)]
  pub fn export_day_hour(&self, day: i32, hour: u32) -> Result<Buffer> {
    let hour = hour_index(hour)? as u8;
    let sketch = self.part();
    Ok(sketch.daily().ok_or_else(daily_off)?.export(day as i64, hour).into())
  }

  /// `PFCOUNT` of each hour over days `from..=to` (24 numbers): a window's distinct users.
  #[napi(catch_unwind)]
  pub fn window_counts(&self, from: i32, to: i32) -> Result<Vec<f64>> {
    let sketch = self.part();
    let daily = sketch.daily().ok_or_else(daily_off)?;
    Ok(
      (0..sketch::HOURS as u8)
        .map(|h| daily.union_count(from as i64, to as i64, h) as f64)
        .collect(),
    )
  }

  /// The Monday–Friday × 24 table of days `from..=to`: `[weekday][hour]`, Monday first.
  #[napi(catch_unwind)]
  pub fn weekday_counts(&self, from: i32, to: i32) -> Result<Vec<Vec<f64>>> {
    let sketch = self.part();
    let daily = sketch.daily().ok_or_else(daily_off)?;
    let table = daily.weekday_table(from as i64, to as i64);
    Ok(table.iter().map(|row| row.iter().map(|&n| n as f64).collect()).collect())
  }

  /// Every per-day sketch as bytes, for the snapshot file.
  #[napi(catch_unwind)]
  pub fn encode_days(&self) -> Result<Buffer> {
    Ok(self.part().daily().ok_or_else(daily_off)?.encode().into())
  }

  /// Merges per-day sketches written by `encodeDays` (all or nothing).
  #[napi(catch_unwind)]
  pub fn merge_encoded_days(&self, data: &[u8]) -> Result<()> {
    let mut sketch = self.part_mut();
    let daily = sketch.daily_mut().ok_or_else(daily_off)?;
    daily
      .merge_encoded(data)
      .map_err(|e| invalid(format!("malformed day sketches: {}", e.0)))
  }

  /// A new input stream (connection, file, HTTP body) feeding this set. `framing` overrides the
  /// set's: `json-batch` reads top-level arrays as batches of records (an HTTP body of them).
  /// With `ownCounts` the stream also keeps its own line counts (`lineCounts()`).
  #[napi(catch_unwind)]
  pub fn open_stream(&self, max_line_bytes: u32, framing: Option<String>, own_counts: Option<bool>) -> Result<NativeLineStream> {
    let mut rule = self.rule.clone();
    if let Some(framing) = framing.as_deref().map(framing_named).transpose()? {
      rule.framing = framing;
      if let Some(auto) = &rule.detect {
        rule.detect = Some(Arc::new(AutoOptions {
          framing: Some(framing),
          ..AutoOptions::clone(auto)
        }));
      }
    }
    Ok(NativeLineStream {
      sketch: Rc::clone(&self.sketch),
      tally: rule.detect.is_some().then(|| Rc::clone(&self.readings)),
      stream: LineStream::new(max_line_bytes as usize, rule),
      counts: (own_counts == Some(true)).then(LineCounts::default),
    })
  }

  /// Counts an OTLP logs request (`ExportLogsServiceRequest`, `encoding` `protobuf` or `json`)
  /// in one call, each record by the mapping of docs/contract.md ([`otlp`]): one outcome per
  /// record, in the set's and the returned counts. A body that does not decode counts nothing
  /// and is an error.
  #[napi(catch_unwind)]
  pub fn count_otlp(&self, body: &[u8], encoding: String, max_line_bytes: u32) -> Result<NativeOtlpCounts> {
    let keys = otlp::Keys::new(self.rule.group_by.as_deref());
    let mut arena = Vec::new();
    let parsed: otlp_json::Request;
    let decoded = match encoding.as_str() {
      "protobuf" => otlp_proto::decode(body, &keys, &mut arena)
        .map_err(|e| invalid(format!("the body is not an OTLP logs request in protobuf: {}", e.0)))?,
      "json" => {
        parsed = otlp_json::parse(body).map_err(|e| invalid(format!("the body is not an OTLP logs request in JSON: {}", e.0)))?;
        otlp_json::decode(&parsed, &keys, &mut arena)
      }
      other => return Err(invalid(format!("unknown OTLP encoding {other:?}"))),
    };
    let mut counts = LineCounts::default();
    let counted = {
      let sketch = &mut *self.sketch.borrow_mut();
      let mut sink = CountingSink {
        sketch,
        counts: &mut counts,
      };
      otlp::count(&decoded, &arena, &self.rule, max_line_bytes as usize, &mut sink)
    };
    if self.rule.detect.is_some() {
      let mut tally = self.readings.borrow_mut();
      for reading in &counted.readings {
        let entry = tally.entry(reading.key()).or_default();
        entry.0 += 1;
        entry.1 += reading.mostly_unreadable() as u32;
      }
    }
    Ok(NativeOtlpCounts {
      line_counts: (&counts).into(),
      readings: counted.readings.iter().map(Into::into).collect(),
    })
  }

  /// `--format auto`: how many streams decided on each reading, and how many of them found their
  /// first records mostly unreadable.
  #[napi(catch_unwind)]
  pub fn readings(&self) -> Vec<NativeReadingCount> {
    self
      .readings
      .borrow()
      .iter()
      .map(|(reading, &(streams, unreadable))| NativeReadingCount {
        reading: reading.clone(),
        streams,
        unreadable,
      })
      .collect()
  }

  /// Counts one finished request (request middleware) by the set's rule: its time in
  /// milliseconds since the epoch, client address and status; no log line is made or read.
  /// Returns whether it counted (a working-day 5xx). It shows in the line counts like a line.
  /// With `groupBy`, `group` is the request's value (a route, a method; one starting with `/` is
  /// grouped as its route); none: `(none)`.
  #[napi(catch_unwind)]
  pub fn count_request(&self, epoch_ms: f64, ip: String, status: u32, group: Option<String>) -> bool {
    let mut requests = self.requests.borrow_mut();
    let rule = requests.get_or_insert_with(|| RecordRule::new(self.rule.clone()));
    let outcome = rule.classify_request(epoch_ms, ip.as_bytes(), status);
    let mut sketch = self.sketch.borrow_mut();
    if let Outcome::Counted { hour, hash, .. } = outcome {
      if rule.groups() {
        rule.set_request_group(group.as_deref().map(str::as_bytes));
        sketch.group(rule.group_value(), hour, hash);
      }
    }
    sketch.outcome(outcome);
    matches!(outcome, Outcome::Counted { .. })
  }

  /// The same set seen through its every-user sketches (`allUsers`): the hour and day methods
  /// of the returned object read and change those. Null when all users are not kept.
  #[napi(catch_unwind)]
  pub fn users(&self) -> Option<NativeSketchSet> {
    self.sketch.borrow().users()?;
    Some(NativeSketchSet {
      sketch: Rc::clone(&self.sketch),
      view: View::Users,
      rule: self.rule.clone(),
      readings: Rc::clone(&self.readings),
      requests: RefCell::new(None),
    })
  }

  /// With `groupBy`: every value's counts, most users first (at most `top` of them), the number
  /// of values held, and the records that went to `(other)`. Null when grouping is off.
  #[napi(catch_unwind)]
  pub fn group_counts(&self, top: Option<u32>) -> Option<NativeGroups> {
    let sketch = self.sketch.borrow();
    let groups = sketch.groups()?;
    let counts = groups.counts();
    Some(NativeGroups {
      values: counts.len() as u32,
      other_records: groups.other_records() as f64,
      bytes: groups.bytes() as f64,
      groups: top_groups(counts, top),
    })
  }

  /// With `groupBy`: the values held, the records that went to `(other)` and the memory they take,
  /// without counting any (cheap); null when grouping is off.
  #[napi(catch_unwind)]
  pub fn group_info(&self) -> Option<NativeGroupInfo> {
    let sketch = self.sketch.borrow();
    let groups = sketch.groups()?;
    Some(NativeGroupInfo {
      values: groups.len() as u32,
      other_records: groups.other_records() as f64,
      bytes: groups.bytes() as f64,
    })
  }

  /// With `groupBy`: the (value, hours) pairs changed since the last call, now marked clean.
  #[napi(catch_unwind)]
  pub fn take_dirty_groups(&self) -> Vec<NativeGroupHours> {
    let mut sketch = self.sketch.borrow_mut();
    let Some(groups) = sketch.groups_mut() else {
      return Vec::new();
    };
    let taken = groups.take_dirty();
    taken
      .into_iter()
      .map(|(index, hours)| NativeGroupHours {
        index,
        value: String::from_utf8_lossy(groups.value(index).unwrap_or_default()).into_owned(),
        hours,
      })
      .collect()
  }

  /// Whether a value's hour changed since the last `takeDirtyGroups`.
  #[napi(catch_unwind)]
  pub fn has_dirty_groups(&self) -> bool {
    self.sketch.borrow().groups().is_some_and(|g| g.has_dirty())
  }

  /// Marks (value, hours) pairs changed again (the store did not confirm them).
  #[napi(catch_unwind)]
  pub fn mark_dirty_groups(&self, pairs: Vec<NativeGroupHours>) {
    if let Some(groups) = self.sketch.borrow_mut().groups_mut() {
      groups.mark_dirty(&pairs.iter().map(|p| (p.index, p.hours)).collect::<Vec<_>>());
    }
  }

  /// Marks every value's hours changed (the store lost them).
  #[napi(catch_unwind)]
  pub fn mark_all_groups_dirty(&self) {
    if let Some(groups) = self.sketch.borrow_mut().groups_mut() {
      groups.mark_all_dirty();
    }
  }

  /// A value's hour as a value Redis holds (sparse while small); empty when it has none.
  #[napi(catch_unwind)]
  pub fn export_group_hour(&self, index: u32, hour: u32) -> Result<Buffer> {
    let hour = hour_index(hour)? as u8;
    let sketch = self.sketch.borrow();
    Ok(sketch.groups().map_or_else(Vec::new, |g| g.export(index, hour)).into())
  }

  /// Line counts of every stream of this set.
  #[napi(catch_unwind)]
  pub fn line_counts(&self) -> NativeLineCounts {
    (&self.sketch.borrow().line_counts()).into()
  }

  /// Adds line counts (restored from a snapshot).
  #[napi(catch_unwind)]
  pub fn add_line_counts(&self, counts: NativeLineCounts) {
    self.sketch.borrow_mut().add_line_counts(&(&counts).into());
  }

  /// `PFCOUNT` of each hour, 0..23.
  #[napi(catch_unwind)]
  pub fn hour_counts(&self) -> Vec<f64> {
    let sketch = self.part();
    (0..sketch::HOURS).map(|h| sketch.count(h) as f64).collect()
  }

  /// The hour's registers as the 12304-byte dense value Redis would hold.
  #[napi(catch_unwind)]
  pub fn export_hour(&self, hour: u32) -> Result<Buffer> {
    Ok(self.part().hour(hour_index(hour)?).to_dense().into())
  }

  /// The hours changed since the last call (bit mask), now marked clean: what a store sends.
  #[napi(catch_unwind)]
  pub fn take_dirty(&self) -> u32 {
    self.part_mut().take_dirty()
  }

  /// Marks the non-empty hours of `mask` changed again (not received, or lost by the store).
  #[napi(catch_unwind)]
  pub fn mark_dirty(&self, mask: u32) {
    self.part_mut().mark_dirty(mask);
  }

  /// Merges a dense value into an hour (register-wise max).
  #[napi(catch_unwind)]
  pub fn merge_hour(&self, hour: u32, dense: &[u8]) -> Result<()> {
    self
      .part_mut()
      .merge_dense(hour_index(hour)?, dense)
      .map_err(|e| Error::new(Status::InvalidArg, format!("not a dense Redis HyperLogLog value: {e:?}")))
  }

  /// Bit mask of hours changed since last taken.
  #[napi(catch_unwind)]
  pub fn dirty_hours(&self) -> u32 {
    self.part().dirty_hours()
  }
}

/// One input stream: its partial line, feeding a shared sketch set.
#[napi]
pub struct NativeLineStream {
  sketch: Rc<RefCell<HourlySketch>>,
  stream: LineStream,
  /// Where the stream's reading is counted once decided (`--format auto`); taken then.
  tally: Option<Rc<RefCell<ReadingTally>>>,
  /// This stream's own line counts, when asked for at its opening.
  counts: Option<LineCounts>,
}

#[napi]
impl NativeLineStream {
  /// Reads a chunk (any split); lines are counted before this returns. Returns the buffered
  /// bytes (of the unfinished line) now, so a server can budget them without another call.
  #[napi(catch_unwind)]
  pub fn write(&mut self, chunk: &[u8]) -> u32 {
    {
      let sketch = &mut *self.sketch.borrow_mut();
      match &mut self.counts {
        Some(counts) => self.stream.feed(chunk, &mut CountingSink { sketch, counts }),
        None => self.stream.feed(chunk, sketch),
      }
    }
    self.tally_reading();
    self.stream.buffered_bytes() as u32
  }

  /// Ends the stream; an unterminated final line counts.
  #[napi(catch_unwind)]
  pub fn end(&mut self) {
    {
      let sketch = &mut *self.sketch.borrow_mut();
      match &mut self.counts {
        Some(counts) => self.stream.end(&mut CountingSink { sketch, counts }),
        None => self.stream.end(sketch),
      }
    }
    self.tally_reading();
  }

  /// This stream's own line counts (opened with `ownCounts`), else null.
  #[napi(catch_unwind)]
  pub fn line_counts(&self) -> Option<NativeLineCounts> {
    self.counts.as_ref().map(Into::into)
  }

  /// Bytes of the unfinished line held until its `\n`.
  #[napi(catch_unwind)]
  pub fn buffered_bytes(&self) -> u32 {
    self.stream.buffered_bytes() as u32
  }

  /// Drops the partial line and frees its memory at once (the connection was cut off).
  #[napi(catch_unwind)]
  pub fn discard(&mut self) {
    self.stream.discard();
  }

  /// How the stream is read, once `--format auto` decided it (null before, and for a stream of
  /// an explicit format).
  #[napi(catch_unwind)]
  pub fn reading(&self) -> Option<NativeReading> {
    self.stream.reading().map(Into::into)
  }
}

impl NativeLineStream {
  /// Counts the stream's reading in its set's tally, once, when it is decided.
  fn tally_reading(&mut self) {
    if self.tally.is_none() || self.stream.deciding() {
      return;
    }
    if let (Some(tally), Some(reading)) = (self.tally.take(), self.stream.reading()) {
      let mut tally = tally.borrow_mut();
      let entry = tally.entry(reading.key()).or_default();
      entry.0 += 1;
      entry.1 += reading.mostly_unreadable() as u32;
    }
  }
}

/// Streams per reading (its [`Reading::key`]): how many, and how many mostly unreadable.
type ReadingTally = std::collections::BTreeMap<String, (u32, u32)>;

/// Streams that decided on one reading.
#[napi(object)]
pub struct NativeReadingCount {
  /// The reading's name, with ` in <envelope>` and ` (json-stream)` when they apply.
  pub reading: String,
  pub streams: u32,
  /// Of them, those whose sampled records were mostly unreadable.
  pub unreadable: u32,
}

/// What one OTLP request counted.
#[napi(object)]
pub struct NativeOtlpCounts {
  /// One outcome per log record.
  pub line_counts: NativeLineCounts,
  /// How its string bodies and its map bodies were read (`--format auto`), when decided.
  pub readings: Vec<NativeReading>,
}

/// An OTLP `ExportLogsServiceResponse` in protobuf: empty when nothing was rejected, else its
/// `partial_success` (records rejected, why).
#[napi(catch_unwind)]
pub fn otlp_export_response(rejected: u32, message: String) -> Buffer {
  otlp_proto::export_response(u64::from(rejected), &message).into()
}

/// A `google.rpc.Status` in protobuf (the body of an OTLP/HTTP error answer).
#[napi(catch_unwind)]
pub fn otlp_status(code: u32, message: String) -> Buffer {
  otlp_proto::status(code, &message).into()
}

/// Hour and element hash of each counted line of a chunk.
#[napi(object)]
pub struct NativeScanResult {
  pub hours: Uint8Array,
  pub hashes: BigUint64Array,
}

/// A stream that returns "dedup-ready" results instead of updating sketches.
#[napi]
pub struct NativeScanner {
  stream: LineStream,
  collected: DedupCollector,
}

#[napi]
impl NativeScanner {
  #[napi(constructor, catch_unwind)]
  pub fn new(max_line_bytes: u32, rule: Option<NativeRule>) -> Result<Self> {
    Ok(NativeScanner {
      stream: LineStream::new(max_line_bytes as usize, rule_options(rule)?),
      collected: DedupCollector::default(),
    })
  }

  #[napi(catch_unwind)]
  pub fn scan(&mut self, chunk: &[u8]) -> NativeScanResult {
    self.stream.feed(chunk, &mut self.collected);
    self.drain()
  }

  /// Ends the stream: scans an unterminated final line.
  #[napi(catch_unwind)]
  pub fn end(&mut self) -> NativeScanResult {
    self.stream.end(&mut self.collected);
    self.drain()
  }

  /// Line counts so far.
  #[napi(catch_unwind)]
  pub fn line_counts(&self) -> NativeLineCounts {
    (&self.collected.counts).into()
  }

  /// How the stream is read, once `--format auto` decided it.
  #[napi(catch_unwind)]
  pub fn reading(&self) -> Option<NativeReading> {
    self.stream.reading().map(Into::into)
  }
}

impl NativeScanner {
  fn drain(&mut self) -> NativeScanResult {
    NativeScanResult {
      hours: Uint8Array::new(std::mem::take(&mut self.collected.hours)),
      hashes: BigUint64Array::new(std::mem::take(&mut self.collected.hashes)),
    }
  }
}

/// MurmurHash64A (Redis seed) of an element, as `PFADD` hashes it.
#[napi(catch_unwind)]
pub fn element_hash(element: &[u8]) -> BigInt {
  BigInt::from(hll::murmur64a(element))
}

/// Most lines one `generateDemo` call returns (about 720 MB): larger requests are refused
/// rather than risking an allocation that aborts the process.
#[napi]
pub const MAX_DEMO_LINES: u32 = demo::MAX_LINES_PER_CALL as u32;

/// Lines `start .. start + count` of the original service's demo stream `pattern` (1 or 2), or of
/// the shop (3).
#[napi(catch_unwind)]
pub fn generate_demo(pattern: u32, start: i64, count: u32) -> Result<Buffer> {
  let pattern = match pattern {
    1 => demo::Pattern::One,
    2 => demo::Pattern::Two,
    3 => demo::Pattern::Shop,
    _ => {
      return Err(Error::new(
        Status::InvalidArg,
        format!("pattern must be 1, 2 or 3, got {pattern}"),
      ))
    }
  };
  if start < 1 {
    return Err(Error::new(Status::InvalidArg, format!("start must be >= 1, got {start}")));
  }
  let mut out = Vec::new();
  demo::generate(pattern, start as u64, count as u64, &mut out).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
  Ok(out.into())
}
