//! The counting rule: what one record means.
//!
//! A record counts when its status is an integer in 500..=599 and its time falls on
//! Monday–Friday; its element `"YYYY-MM-DD HH_<ip>"` goes to the hour's HLL. Everything else is
//! blank, skipped (well-formed but not a working-day 5xx) or invalid by reason.

use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::clf::{parse_clf, ClfError};
use crate::clock::{Clock, ClockOptions, LocalHour, TimeUnit};
use crate::compact::CompactLayout;
use crate::detect::AutoOptions;
use crate::groups::GroupReader;
use crate::json_fields::{unescape, ExtractError, FieldExtractor, FieldNames, FieldValue};
use crate::outcome::{element_hash, kept, kept_outcome, Outcome, Reason};

/// How records are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
  /// One JSON object per record (the original service's).
  #[default]
  Json,
  /// NCSA Common or Combined log lines ([`crate::clf`]).
  Clf,
}

/// How records are delimited in a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Framing {
  /// One record per line (`\n`).
  #[default]
  Lines,
  /// JSON values back to back, with or without whitespace between them ([`crate::framing`]).
  JsonStream,
  /// The same, with top-level arrays read as batches of records (HTTP bodies: Logstash's
  /// `json_batch`, Vector's and Fluent Bit's JSON arrays).
  JsonBatch,
}

/// What the rule reads: format, framing, field paths, envelope and how times are read.
#[derive(Debug, Clone)]
pub struct RuleOptions {
  pub format: Format,
  pub framing: Framing,
  /// Dotted paths of the time, address and status fields.
  pub names: FieldNames,
  /// The original service's rule (its layout used as is): a status must be a JSON number, a time
  /// an ISO string with `Z` or `±HH:MM` if any offset.
  pub strict: bool,
  /// The unit of epoch times.
  pub unit: TimeUnit,
  /// The team's zone (`None`: wall clocks as written).
  pub zone: Option<TimeZone>,
  /// The zone of wall clocks written without an offset, when it is not `zone`.
  pub source_zone: Option<TimeZone>,
  /// The record is the string value of this field of a JSON line (Vector, Docker).
  pub envelope: Option<Vec<u8>>,
  /// `--format auto`: each stream decides its reading from its first records ([`crate::detect`]);
  /// the rest of these options are then the base (zone) only.
  pub detect: Option<Arc<AutoOptions>>,
  /// Working-day records of any status give their element too ([`Outcome::Seen`]): every user
  /// of an hour, beside those who met a 5xx (`--all-users`).
  pub all_users: bool,
  /// The field whose value groups counted records (`--group-by`): a dotted JSON path, or for
  /// Combined lines `path` (the request's route) and `method` ([`GroupReader`]).
  pub group_by: Option<Vec<u8>>,
}

impl Default for RuleOptions {
  /// The original service's rule.
  fn default() -> Self {
    RuleOptions {
      format: Format::Json,
      framing: Framing::Lines,
      names: FieldNames::default(),
      strict: true,
      unit: TimeUnit::Seconds,
      zone: None,
      source_zone: None,
      envelope: None,
      detect: None,
      all_users: false,
      group_by: None,
    }
  }
}

/// Applies the counting rule to lines; reusable scratch buffers make it allocation-free after
/// warm-up.
pub struct RecordRule {
  format: Format,
  strict: bool,
  /// The fast path, when the field names and time reading allow one.
  compact: Option<CompactLayout>,
  extractor: FieldExtractor<3>,
  envelope: Option<(FieldExtractor<1>, Vec<u8>)>,
  clock: Clock,
  time_buf: Vec<u8>,
  ip_buf: Vec<u8>,
  element: Vec<u8>,
  all_users: bool,
  /// With `--group-by`: the group of the last counted record.
  group: Option<Box<GroupReader>>,
}

impl RecordRule {
  /// A rule reading records as `options` say.
  pub fn new(options: RuleOptions) -> Self {
    let clock = Clock::new(ClockOptions {
      strict: options.strict,
      unit: options.unit,
      zone: options.zone,
      source_zone: options.source_zone,
    });
    let names = options.names;
    let top_level = ![&names.time, &names.ip, &names.status].iter().any(|n| n.contains(&b'.'));
    RecordRule {
      format: options.format,
      strict: options.strict,
      compact: match options.format {
        Format::Json if top_level && options.envelope.is_none() && clock.plain_is_as_written() => {
          CompactLayout::new(&names).map(|mut layout| {
            layout.all_users = options.all_users;
            layout
          })
        }
        _ => None,
      },
      extractor: FieldExtractor::new(names.paths()),
      envelope: options.envelope.map(|path| (FieldExtractor::new([path]), Vec::new())),
      clock,
      time_buf: Vec::new(),
      ip_buf: Vec::new(),
      element: Vec::new(),
      all_users: options.all_users,
      group: options.group_by.map(|name| Box::new(GroupReader::new(name))),
    }
  }

  /// Whether counted records are grouped (`--group-by`).
  #[inline]
  pub fn groups(&self) -> bool {
    self.group.is_some()
  }

  /// Sets the group of the next request classified (`classify_request`): a framework's route or
  /// a header, read like a JSON string value.
  pub fn set_request_group(&mut self, value: Option<&[u8]>) {
    if let Some(group) = &mut self.group {
      group.read_text(value);
    }
  }

  /// The group of the last counted record: `None` when it has no such field (or grouping is off).
  #[inline]
  pub fn group_value(&self) -> Option<&[u8]> {
    self.group.as_ref().and_then(|g| g.value())
  }

  /// Classifies one line (without its `\n`) or one framed record.
  ///
  /// ```
  /// use loghour::outcome::Outcome;
  /// use loghour::record::RecordRule;
  /// let mut rule = RecordRule::new(Default::default());
  /// let line = br#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}"#;
  /// assert_eq!(
  ///   rule.classify(line),
  ///   Outcome::Counted { hour: 17, day: 18_022, hash: loghour::hll::murmur64a(b"2019-05-06 17_10.0.121.67") }
  /// );
  /// ```
  #[inline]
  pub fn classify(&mut self, line: &[u8]) -> Outcome {
    if self.envelope.is_some() {
      return self.classify_envelope(line);
    }
    match self.format {
      Format::Json => self.classify_json(line),
      Format::Clf => self.classify_clf(line),
    }
  }

  /// The record inside a JSON line's envelope field.
  fn classify_envelope(&mut self, line: &[u8]) -> Outcome {
    if is_blank(line) {
      return Outcome::Blank;
    }
    let Some((mut extractor, mut buf)) = self.envelope.take() else {
      return Outcome::Blank;
    };
    let outcome = match extractor.extract(line) {
      Err(error) => syntax_outcome(error, line),
      Ok([FieldValue::Missing]) => Outcome::Invalid(Reason::MissingField),
      Ok([FieldValue::Str { raw, escaped }]) => match text(raw, escaped, &mut buf) {
        None => Outcome::Invalid(Reason::Utf8),
        Some(record) => {
          // Docker's json-file keeps the line's own `\n` in the record.
          let record = record.strip_suffix(b"\n").unwrap_or(record);
          match self.format {
            Format::Json => self.classify_json(record),
            Format::Clf => self.classify_clf(record),
          }
        }
      },
      Ok(_) => Outcome::Invalid(Reason::WrongType),
    };
    self.envelope = Some((extractor, buf));
    outcome
  }

  #[inline]
  fn classify_json(&mut self, line: &[u8]) -> Outcome {
    if let Some(compact) = &mut self.compact {
      if let Some(outcome) = compact.classify(line, self.clock.parser(), &mut self.element) {
        return self.grouped_json(outcome, line);
      }
    }
    let outcome = self.classify_json_fields(line);
    self.grouped_json(outcome, line)
  }

  /// With `--group-by`, a counted JSON record's group is read from it.
  #[inline(always)]
  fn grouped_json(&mut self, outcome: Outcome, line: &[u8]) -> Outcome {
    if let (Some(group), Outcome::Counted { .. }) = (&mut self.group, outcome) {
      group.read_json(line);
    }
    outcome
  }

  /// The full scan of a JSON record (the fast path declined it).
  fn classify_json_fields(&mut self, line: &[u8]) -> Outcome {
    if is_blank(line) {
      return Outcome::Blank;
    }
    let [time, ip, status] = match self.extractor.extract(line) {
      Ok(fields) => fields,
      Err(error) => return syntax_outcome(error, line),
    };
    if [time, ip, status].contains(&FieldValue::Missing) {
      return Outcome::Invalid(Reason::MissingField);
    }
    let FieldValue::Str {
      raw: ip,
      escaped: ip_esc,
    } = ip
    else {
      return Outcome::Invalid(Reason::WrongType);
    };
    let status = match status {
      FieldValue::Number(n) => integer_value(n),
      FieldValue::Str { raw, escaped } if !self.strict => match text(raw, escaped, &mut self.time_buf) {
        Some(digits) => digit_string_status(digits),
        None => None,
      },
      _ => None,
    };
    let Some(status) = status else {
      return Outcome::Invalid(Reason::WrongType);
    };
    let when = match time {
      FieldValue::Str { raw, escaped } => {
        let time = if escaped {
          match text(raw, true, &mut self.time_buf) {
            Some(decoded) => decoded,
            None => return Outcome::Invalid(Reason::Utf8),
          }
        } else {
          raw
        };
        // A time that parses is ASCII, so its UTF-8 check is only needed when parsing fails.
        match self.clock.read_text(time) {
          Some(when) => Ok(when),
          None if std::str::from_utf8(time).is_err() => Err(Reason::Utf8),
          None => Err(Reason::BadTime),
        }
      }
      FieldValue::Number(n) if !self.strict => self.clock.read_number(n).ok_or(Reason::BadTime),
      _ => return Outcome::Invalid(Reason::WrongType),
    };
    let Some(ip) = text(ip, ip_esc, &mut self.ip_buf) else {
      return Outcome::Invalid(Reason::Utf8);
    };
    let when = match when {
      Ok(when) => when,
      Err(reason) => return Outcome::Invalid(reason),
    };
    outcome(status, &when, ip, &mut self.element, self.all_users)
  }

  /// Classifies a request as it finished (request middleware): no line, just its time in
  /// milliseconds since the epoch, its client address and its status, under the same rule.
  ///
  /// ```
  /// use loghour::outcome::Outcome;
  /// use loghour::record::RecordRule;
  /// let mut rule = RecordRule::new(Default::default());
  /// // 2019-05-06 17:25:54 UTC, a Monday.
  /// assert!(matches!(rule.classify_request(1_557_163_554_000.0, b"10.0.121.67", 500), Outcome::Counted { hour: 17, .. }));
  /// ```
  pub fn classify_request(&mut self, epoch_ms: f64, ip: &[u8], status: u32) -> Outcome {
    if ip.is_empty() {
      return Outcome::Invalid(Reason::MissingField);
    }
    let Some(when) = self.clock.read_epoch_ms(epoch_ms) else {
      return Outcome::Invalid(Reason::BadTime);
    };
    outcome(status as f64, &when, ip, &mut self.element, self.all_users)
  }

  /// Classifies a Common or Combined line: the client as written, the bracketed time, the status.
  fn classify_clf(&mut self, line: &[u8]) -> Outcome {
    if is_blank(line) {
      return Outcome::Blank;
    }
    let fields = match parse_clf(line) {
      Ok(fields) => fields,
      Err(ClfError::Shape) => return Outcome::Invalid(Reason::Clf),
      Err(ClfError::BadTime) => return Outcome::Invalid(Reason::BadTime),
    };
    if std::str::from_utf8(fields.client).is_err() {
      return Outcome::Invalid(Reason::Utf8);
    }
    let Some(when) = self.clock.read_wall(&fields.time, Some(fields.offset_minutes as i32 * 60)) else {
      return Outcome::Invalid(Reason::BadTime);
    };
    let outcome = outcome(fields.status as f64, &when, fields.client, &mut self.element, self.all_users);
    if let (Some(group), Outcome::Counted { .. }) = (&mut self.group, outcome) {
      group.read_request(fields.request);
    }
    outcome
  }
}

/// A valid record's outcome: counted when it is a working-day 5xx ([`kept`]).
#[inline]
fn outcome(status: f64, when: &LocalHour, ip: &[u8], element: &mut Vec<u8>, all_users: bool) -> Outcome {
  let error = (500.0..=599.0).contains(&status);
  if !kept(error, all_users, when.weekday) {
    return Outcome::Skipped;
  }
  kept_outcome(error, when.hour, when.day, element_hash(&when.date_hour, ip, element))
}

/// The outcome of a line that is not a JSON object.
fn syntax_outcome(error: ExtractError, line: &[u8]) -> Outcome {
  match error {
    ExtractError::NotObject => Outcome::Invalid(Reason::NotObject),
    ExtractError::Syntax if std::str::from_utf8(line).is_err() => Outcome::Invalid(Reason::Utf8),
    ExtractError::Syntax => Outcome::Invalid(Reason::Json),
  }
}

/// The value of a status written as a string of ASCII digits (`"502"`), or `None`.
#[inline]
fn digit_string_status(s: &[u8]) -> Option<f64> {
  if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
    return None;
  }
  Some(
    s.iter()
      .fold(0u64, |v, &d| v.saturating_mul(10).saturating_add((d - b'0') as u64)) as f64,
  )
}

/// Only spaces, tabs and carriage returns (or nothing).
#[inline]
fn is_blank(line: &[u8]) -> bool {
  line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// The decoded text of a string value, or `None` if it is not valid UTF-8 (raw bytes or lone
/// surrogate escapes).
#[inline]
pub(crate) fn text<'a>(raw: &'a [u8], escaped: bool, buf: &'a mut Vec<u8>) -> Option<&'a [u8]> {
  if !raw.is_ascii() && std::str::from_utf8(raw).is_err() {
    return None;
  }
  if !escaped {
    return Some(raw);
  }
  if unescape(raw, buf) {
    Some(buf)
  } else {
    None
  }
}

/// The value of a JSON number if it is an integer (as `Number.isInteger(JSON.parse(text))`
/// decides: `5e2` and `500.0` are integers, `1e400` is not).
#[inline]
fn integer_value(text: &[u8]) -> Option<f64> {
  // Fast path: up to 15 plain digits are exact in an f64.
  if text.len() <= 15 && text.iter().all(u8::is_ascii_digit) {
    return Some(text.iter().fold(0u64, |v, &d| v * 10 + (d - b'0') as u64) as f64);
  }
  // The scan guarantees the JSON number grammar, which Rust's float parser accepts and rounds
  // correctly, like V8.
  let v: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
  if v.is_finite() && v.fract() == 0.0 {
    Some(v)
  } else {
    None
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::hll::murmur64a;

  fn classify(line: &str) -> Outcome {
    RecordRule::new(RuleOptions::default()).classify(line.as_bytes())
  }

  fn classify_clf(line: &str) -> Outcome {
    let options = RuleOptions {
      format: Format::Clf,
      ..Default::default()
    };
    RecordRule::new(options).classify(line.as_bytes())
  }

  #[test]
  fn clf_lines_count_like_json_records() {
    let line = r#"127.0.0.4 - - [23/Nov/2026:09:15:00 -0500] "GET /e500 HTTP/1.1" 500 177 "-" "agent \x22q\x22""#;
    assert_eq!(classify_clf(line), counted("2026-11-23 09_127.0.0.4", 9));
    // The same request in JSON: the same element.
    assert_eq!(
      classify(r#"{"time":"2026-11-23 09:15:00","ip":"127.0.0.4","status_code":500}"#),
      counted("2026-11-23 09_127.0.0.4", 9)
    );
    let weekend = r#"127.0.0.4 - - [22/Nov/2026:09:15:00 -0500] "GET / HTTP/1.1" 502 0"#;
    assert_eq!(classify_clf(weekend), Outcome::Skipped);
    assert_eq!(
      classify_clf(r#"h - - [30/Feb/2026:09:15:00 +0000] "GET /" 500 0"#),
      Outcome::Invalid(Reason::BadTime)
    );
    assert_eq!(
      classify_clf(r#"{"time":"2026-11-23 09:15:00","ip":"a","status_code":500}"#),
      Outcome::Invalid(Reason::Clf)
    );
    assert_eq!(classify_clf(" \t"), Outcome::Blank);
    // A JSON rule never says "clf".
    assert_eq!(classify(line), Outcome::Invalid(Reason::Json));
  }

  fn lenient(names: [&str; 3]) -> RuleOptions {
    RuleOptions {
      strict: false,
      names: FieldNames {
        time: names[0].into(),
        ip: names[1].into(),
        status: names[2].into(),
      },
      ..Default::default()
    }
  }

  #[test]
  fn ecs_records_nested_flattened_or_mixed() {
    let mut rule = RecordRule::new(lenient(["@timestamp", "source.ip", "http.response.status_code"]));
    let want = counted("2026-11-23 14_10.0.0.1", 14);
    for line in [
      r#"{"@timestamp":"2026-11-23T14:15:00.123Z","source":{"ip":"10.0.0.1"},"http":{"response":{"status_code":503}}}"#,
      r#"{"@timestamp":"2026-11-23T14:15:00.123Z","source.ip":"10.0.0.1","http.response.status_code":503}"#,
      r#"{"@timestamp":"2026-11-23T14:15:00.123Z","source":{"ip":"10.0.0.1"},"http.response":{"status_code":"503"}}"#,
      // Both: the longest key wins, whatever the order.
      r#"{"source.ip":"10.0.0.1","source":{"ip":"x"},"@timestamp":"2026-11-23T14:15:00Z","http":{"response":{"status_code":503}}}"#,
      r#"{"source":{"ip":"x"},"source.ip":"10.0.0.1","@timestamp":"2026-11-23T14:15:00Z","http":{"response":{"status_code":503}}}"#,
      // A longer key that leads nowhere gives way to a shorter one that does.
      r#"{"source.ip":"10.0.0.1","http.response":5,"http":{"response":{"status_code":503}},"@timestamp":"2026-11-23T14:15:00Z"}"#,
    ] {
      assert_eq!(rule.classify(line.as_bytes()), want, "{line}");
    }
    // A repeated key replaces everything under it, as JSON.parse does.
    let replaced =
      r#"{"source":{"ip":"10.0.0.1"},"source":{"port":1},"@timestamp":"2026-11-23T14:15:00Z","http.response.status_code":503}"#;
    assert_eq!(rule.classify(replaced.as_bytes()), Outcome::Invalid(Reason::MissingField));
    let object = r#"{"source":{"ip":{"v":1}},"@timestamp":"2026-11-23T14:15:00Z","http.response.status_code":503}"#;
    assert_eq!(rule.classify(object.as_bytes()), Outcome::Invalid(Reason::WrongType));
  }

  #[test]
  fn string_statuses_and_epoch_times_outside_the_original_rule() {
    let mut rule = RecordRule::new(lenient(["ts", "ip", "status"]));
    assert_eq!(
      rule.classify(br#"{"ts":1795443300.5241024,"ip":"a","status":"502"}"#),
      counted("2026-11-23 14_a", 14)
    );
    assert_eq!(
      rule.classify(br#"{"ts":"1795443300","ip":"a","status":"\u0035\u00302"}"#),
      counted("2026-11-23 14_a", 14)
    );
    for bad in [r#""5xx""#, r#""""#, r#"" 502""#, "true", "502.5"] {
      let line = format!(r#"{{"ts":1795443300,"ip":"a","status":{bad}}}"#);
      assert_eq!(rule.classify(line.as_bytes()), Outcome::Invalid(Reason::WrongType), "{line}");
    }
    assert_eq!(
      rule.classify(br#"{"ts":1e300,"ip":"a","status":502}"#),
      Outcome::Invalid(Reason::BadTime)
    );
    // The original rule as is: strings are not statuses, numbers are not times.
    let mut original = RecordRule::new(RuleOptions::default());
    assert_eq!(
      original.classify(br#"{"time":1795443300,"ip":"a","status_code":502}"#),
      Outcome::Invalid(Reason::WrongType)
    );
  }

  #[test]
  fn envelopes_carry_records_of_either_format() {
    let mut rule = RecordRule::new(RuleOptions {
      format: Format::Clf,
      envelope: Some(b"message".to_vec()),
      ..Default::default()
    });
    let vector = r#"{"host":"web1","message":"127.0.0.4 - - [23/Nov/2026:09:15:00 -0500] \"GET /e500 HTTP/1.1\" 500 177 \"-\" \"curl\"\n","timestamp":"2026-11-23T14:15:01Z"}"#;
    assert_eq!(rule.classify(vector.as_bytes()), counted("2026-11-23 09_127.0.0.4", 9));
    assert_eq!(rule.classify(br#"{"message":5}"#), Outcome::Invalid(Reason::WrongType));
    assert_eq!(rule.classify(br#"{"msg":"x"}"#), Outcome::Invalid(Reason::MissingField));
    assert_eq!(rule.classify(br#"{"message":"x"}"#), Outcome::Invalid(Reason::Clf));
    assert_eq!(rule.classify(br#"{"message":" "}"#), Outcome::Blank);
    assert_eq!(rule.classify(b"[1]"), Outcome::Invalid(Reason::NotObject));
    let mut json = RecordRule::new(RuleOptions {
      envelope: Some(b"log".to_vec()),
      ..Default::default()
    });
    let docker = r#"{"log":"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n","stream":"stdout"}"#;
    assert_eq!(json.classify(docker.as_bytes()), counted("2019-05-06 17_a", 17));
  }

  #[test]
  fn zones_apply_to_every_format() {
    let berlin = crate::zone::time_zone("Europe/Berlin");
    let mut clf = RecordRule::new(RuleOptions {
      format: Format::Clf,
      zone: berlin.clone(),
      ..Default::default()
    });
    // Friday 19:30 in New York is Saturday 01:30 in Berlin: skipped there.
    let friday = r#"h - - [27/Nov/2026:19:30:00 -0500] "GET /" 500 0"#;
    assert_eq!(clf.classify(friday.as_bytes()), Outcome::Skipped);
    let monday = r#"h - - [23/Nov/2026:09:15:00 -0500] "GET /" 500 0"#;
    assert_eq!(clf.classify(monday.as_bytes()), counted("2026-11-23 15_h", 15));
    let mut json = RecordRule::new(RuleOptions {
      zone: berlin,
      ..Default::default()
    });
    // The original layout has no offsets: its times are taken as written, fast path or not.
    assert_eq!(
      json.classify(br#"{"time":"2019-05-06 17:25:54","ip":"a","status_code":500}"#),
      counted("2019-05-06 17_a", 17)
    );
    assert_eq!(
      json.classify(br#"{"time":"2019-05-06T17:25:54Z","ip":"a","status_code":500}"#),
      counted("2019-05-06 19_a", 19)
    );
  }

  /// The outcome of a counted element `YYYY-MM-DD HH_ip`.
  fn counted(element: &str, hour: u8) -> Outcome {
    let n = |r: std::ops::Range<usize>| element[r].parse::<u32>().unwrap();
    Outcome::Counted {
      hour,
      day: crate::calendar::days_from_civil(n(0..4) as i64, n(5..7), n(8..10)) as i32,
      hash: murmur64a(element.as_bytes()),
    }
  }

  #[test]
  fn counts_working_day_5xx() {
    assert_eq!(
      classify(r#" {"time":"2019-05-07T16:59:55.5+02:00","ip":"10.0.121.67","status_code":5.02e2}"#),
      counted("2019-05-07 16_10.0.121.67", 16)
    );
    assert_eq!(
      classify(r#"{"time":"2019-05-06 09:00:00","ip":"\u0031.2","status_code":599}"#),
      counted("2019-05-06 09_1.2", 9)
    );
  }

  #[test]
  fn skips_weekends_and_other_statuses() {
    for line in [
      r#"{"time":"2019-05-11 10:24:57","ip":"a","status_code":502}"#,
      r#"{"time":"2019-05-06 10:24:57","ip":"a","status_code":499}"#,
      r#"{"time":"2019-05-06 10:24:57","ip":"a","status_code":600}"#,
      r#"{"time":"2019-05-06 10:24:57","ip":"a","status_code":-0}"#,
    ] {
      assert_eq!(classify(line), Outcome::Skipped, "{line}");
    }
  }

  #[test]
  fn invalid_reasons() {
    use Reason::*;
    let cases = [
      ("{", Json),
      ("[1]", NotObject),
      (r#"{"time":"2019-05-06 10:00:00","ip":"a"}"#, MissingField),
      (r#"{"time":"2019-05-06 10:00:00","ip":1,"status_code":500}"#, WrongType),
      (r#"{"time":"2019-05-06 10:00:00","ip":"a","status_code":"500"}"#, WrongType),
      (r#"{"time":"2019-05-06 10:00:00","ip":"a","status_code":500.5}"#, WrongType),
      (r#"{"time":"2019-05-06 10:00:00","ip":"a","status_code":1e400}"#, WrongType),
      (r#"{"time":"2019-05-06 10:00:00","ip":"\ud800","status_code":500}"#, Utf8),
      (r#"{"time":"2019-02-29 10:00:00","ip":"a","status_code":200}"#, BadTime),
    ];
    for (line, reason) in cases {
      assert_eq!(classify(line), Outcome::Invalid(reason), "{line}");
    }
  }

  #[test]
  fn invalid_utf8_only_matters_in_used_strings() {
    let mut rule = RecordRule::new(RuleOptions::default());
    let ok = b"{\"ua\":\"caf\xe9\",\"time\":\"2019-05-06 10:00:00\",\"ip\":\"a\",\"status_code\":500}";
    assert_eq!(rule.classify(ok), counted("2019-05-06 10_a", 10));
    let bad_ip = b"{\"time\":\"2019-05-06 10:00:00\",\"ip\":\"a\xff\",\"status_code\":500}";
    assert_eq!(rule.classify(bad_ip), Outcome::Invalid(Reason::Utf8));
    assert_eq!(rule.classify(b"\xff{}"), Outcome::Invalid(Reason::Utf8));
    assert_eq!(rule.classify(b" \t\r"), Outcome::Blank);
  }
}
