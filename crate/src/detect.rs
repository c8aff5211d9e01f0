//! `--format auto`: how a stream is read, decided from its first records.
//!
//! A stream opened with [`AutoOptions`] holds its input until it has a complete record that is
//! not blank (at most [`LOOKAHEAD_BYTES`] of input are taken per decision, and the first
//! [`SAMPLE_RECORDS`] records are scored); the reading is decided at the end of the chunk that
//! brought it, those records are counted under it, and the rest of the stream goes straight to
//! the chosen rule. The rules (docs/contract.md, "Automatic reading"):
//!
//! 1. Framing, unless fixed: a stream whose first non-space byte is not `{` or `[` is read by
//!    lines; one whose first line holds two JSON values or more (or whose first value is followed
//!    by another before any newline) is a JSON stream; otherwise lines.
//! 2. Readings, in this order: the candidates as given, then a JSON reading from the usual field
//!    names ([`USUAL_TIME`], [`USUAL_IP`], [`USUAL_STATUS`]: the first present in the first record
//!    that has all three, epoch units from the magnitude) unless those are the original layout's
//!    (`time`, `ip`, `status_code`, which only the original rule reads), then the same inside
//!    each envelope field the records carry as a string. Each is scored by the sampled records
//!    it reads (counted or skipped); the highest score wins, a tie goes to the earlier reading,
//!    and a reading that reads every record ends the search.
//! 3. A stream nothing reads gets the first candidate of its shape (JSON for `{`, else Combined).

use std::sync::Arc;

use memchr::memchr;

use crate::clock::TimeUnit;
use crate::framing::{Framed, JsonStreamSplitter};
use crate::json_fields::{FieldExtractor, FieldNames, FieldValue};
use crate::lines::{Line, Splitter};
use crate::outcome::{Outcome, Reason};
use crate::record::{Format, Framing, RecordRule, RuleOptions};

/// Input held at most before a stream's reading is decided.
pub const LOOKAHEAD_BYTES: usize = 64 * 1024;
/// Records sampled at most before a stream's reading is decided.
pub const SAMPLE_RECORDS: usize = 200;

/// Where records usually keep their time, in order of preference.
pub const USUAL_TIME: [&str; 11] = [
  "time",
  "timestamp",
  "@timestamp",
  "ts",
  "time_iso8601",
  "time_local",
  "date",
  "msec",
  "start_time",
  "datetime",
  "logtime",
];
/// Where records usually keep the client's address, in order of preference.
pub const USUAL_IP: [&str; 16] = [
  "remote_addr",
  "client_ip",
  "ip",
  "remote",
  "client",
  "clientip",
  "client.address",
  "client.ip",
  "source.ip",
  "source.address",
  "remote_ip",
  "remoteAddress",
  "clientIp",
  "client_addr",
  "src_ip",
  "c-ip",
];
/// Where records usually keep the status, in order of preference.
pub const USUAL_STATUS: [&str; 12] = [
  "status",
  "status_code",
  "code",
  "response",
  "http_status",
  "statusCode",
  "http.response.status_code",
  "http.status_code",
  "response_code",
  "responseStatus",
  "sc-status",
  "http_code",
];

/// A reading to try: its name (a schema, `clf`) and the options it reads with.
#[derive(Debug, Clone)]
pub struct Candidate {
  pub name: String,
  pub options: RuleOptions,
}

/// What may be guessed, and from what.
#[derive(Debug, Clone, Default)]
pub struct AutoOptions {
  /// Fixed framing; `None`: lines or a JSON stream, from the first record.
  pub framing: Option<Framing>,
  /// The readings to try, in order of preference (at least one).
  pub candidates: Vec<Candidate>,
  /// Also a JSON reading from the usual field names, with these options' zone.
  pub usual_names: Option<RuleOptions>,
  /// Fields of a JSON line whose string value may be the record (Vector's `message`, `log`).
  pub envelopes: Vec<Vec<u8>>,
}

/// The reading a stream got.
#[derive(Debug, Clone)]
pub struct Reading {
  /// The candidate's name; `json` for the usual field names, `combined` or `common` for CLF.
  pub name: String,
  /// What the stream is read with (framing included).
  pub options: RuleOptions,
  /// Records sampled (not blank) and how many of them the reading reads.
  pub sampled: u32,
  pub readable: u32,
  /// The first sampled record it does not read, and why.
  pub unreadable: Option<(Vec<u8>, Reason)>,
  /// Records the stream sent before any reading read one: counted invalid under the reading of
  /// its shape while it kept looking.
  pub unread_before: u32,
}

impl Reading {
  /// The name, with ` in <envelope>` and ` (json-stream)` when they apply: how streams are tallied.
  pub fn key(&self) -> String {
    let mut key = self.name.clone();
    if let Some(envelope) = &self.options.envelope {
      key.push_str(" in ");
      key.push_str(&String::from_utf8_lossy(envelope));
    }
    if self.options.framing != Framing::Lines {
      key.push_str(" (json-stream)");
    }
    key
  }

  /// Fewer than half of the sampled records read.
  pub fn mostly_unreadable(&self) -> bool {
    self.readable * 2 < self.sampled
  }
}

/// A record of the look-ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sampled {
  /// This many blank records in a row (held as a number: blank lines cost nothing).
  Blank(u64),
  Text(Vec<u8>),
  /// Longer than the limit.
  TooLong,
}

/// The decision: the reading, the held records to count under it (in order) and the splitter
/// that holds the rest of the stream's partial record.
pub struct Decision {
  pub reading: Reading,
  pub records: Vec<Sampled>,
  pub splitter: Framed,
  /// The stream's first byte that is not whitespace.
  pub first: Option<u8>,
}

/// A stream's first records, held until its reading is decided.
pub struct Lookahead {
  auto: Arc<AutoOptions>,
  max_record_bytes: usize,
  /// Input before the framing is known.
  head: Vec<u8>,
  /// The first line's JSON values so far, the splitter counting them, and the bytes it has seen.
  probe: Option<(JsonStreamSplitter, usize, usize)>,
  framed: Option<(Framed, Framing)>,
  records: Vec<Sampled>,
  /// Bytes of the held text records, and how many records are not blank.
  record_bytes: usize,
  texts: usize,
  /// Input taken since the last blank-only bound.
  taken: usize,
  /// The stream's first byte that is not whitespace.
  first: Option<u8>,
}

impl Lookahead {
  /// A stream's look-ahead for records of at most `max_record_bytes`.
  pub fn new(auto: Arc<AutoOptions>, max_record_bytes: usize) -> Self {
    Lookahead {
      auto,
      max_record_bytes,
      head: Vec::new(),
      probe: None,
      framed: None,
      records: Vec::new(),
      record_bytes: 0,
      texts: 0,
      taken: 0,
      first: None,
    }
  }

  /// A look-ahead that goes on with a stream already framed (its first reading read nothing).
  pub fn resume(auto: Arc<AutoOptions>, max_record_bytes: usize, splitter: Framed, framing: Framing, first: Option<u8>) -> Self {
    Lookahead {
      framed: Some((splitter, framing)),
      first,
      ..Lookahead::new(auto, max_record_bytes)
    }
  }

  /// Bytes held.
  pub fn held_bytes(&self) -> usize {
    self.head.len() + self.record_bytes + self.framed.as_ref().map_or(0, |(s, _)| s.buffered_bytes())
  }

  /// Takes what it can of `chunk` (up to the bound); returns how many bytes it took and the
  /// decision once made (the rest of the chunk then belongs to the decided stream).
  pub fn feed(&mut self, chunk: &[u8]) -> (usize, Option<Decision>) {
    let take = chunk.len().min(LOOKAHEAD_BYTES.saturating_sub(self.taken));
    self.taken += take;
    let part = &chunk[..take];
    if self.first.is_none() {
      self.first = part.iter().copied().find(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    }
    let full = self.taken >= LOOKAHEAD_BYTES;
    self.split(part, full, false);
    if full && self.texts == 0 && self.first.is_none() {
      // Only whitespace so far: nothing is held, so nothing bounds the wait.
      self.taken = 0;
      return (take, None);
    }
    let decide = self.framed.is_some() && (self.texts > 0 || full);
    (take, decide.then(|| self.decide()))
  }

  /// The stream ended: the decision, with every record of the stream.
  pub fn end(mut self) -> Decision {
    self.split(&[], false, true);
    if let Some((splitter, _)) = self.framed.as_mut() {
      splitter.end(|line| push(&mut self.records, &mut self.record_bytes, &mut self.texts, line));
    }
    self.decide()
  }

  /// Drops what is held (the stream was cut off); the look-ahead starts again.
  pub fn discard(&mut self) {
    *self = Lookahead::new(Arc::clone(&self.auto), self.max_record_bytes);
  }

  /// Splits `part` into records once the framing is known (keeping it in `head` until then).
  fn split(&mut self, part: &[u8], full: bool, ended: bool) {
    if let Some((splitter, _)) = self.framed.as_mut() {
      splitter.feed(part, |line| {
        push(&mut self.records, &mut self.record_bytes, &mut self.texts, line)
      });
      return;
    }
    self.head.extend_from_slice(part);
    let Some(framing) = self.framing(full, ended) else { return };
    let mut splitter = Framed::new(framing, self.max_record_bytes);
    let head = std::mem::take(&mut self.head);
    splitter.feed(&head, |line| {
      push(&mut self.records, &mut self.record_bytes, &mut self.texts, line)
    });
    self.framed = Some((splitter, framing));
    self.probe = None;
  }

  /// The framing, once the input shows it.
  fn framing(&mut self, full: bool, ended: bool) -> Option<Framing> {
    if let Some(framing) = self.auto.framing {
      return Some(framing);
    }
    let Some(start) = self.head.iter().position(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')) else {
      return (full || ended).then_some(Framing::Lines);
    };
    if !matches!(self.head[start], b'{' | b'[') {
      return Some(Framing::Lines);
    }
    let max = self.max_record_bytes;
    let (probe, values, seen) = self.probe.get_or_insert_with(|| (JsonStreamSplitter::new(max), 0, start));
    let newline = memchr(b'\n', &self.head[*seen..]).map(|i| *seen + i);
    let upto = newline.unwrap_or(self.head.len());
    Splitter::feed(probe, &self.head[*seen..upto], |_| *values += 1);
    *seen = upto;
    if newline.is_some() || ended {
      Splitter::end(probe, |_| *values += 1);
      return Some(if *values >= 2 { Framing::JsonStream } else { Framing::Lines });
    }
    if *values >= 2 || (*values == 1 && probe.buffered_bytes() > 0) {
      return Some(Framing::JsonStream);
    }
    full.then_some(Framing::Lines)
  }

  /// Decides now, on the records held (a stream that ended before any framing is lines).
  pub fn decide(&mut self) -> Decision {
    let (splitter, framing) = self
      .framed
      .take()
      .unwrap_or_else(|| (Framed::new(Framing::Lines, self.max_record_bytes), Framing::Lines));
    let candidates = candidates(&self.auto, &self.records);
    let mut reading = choose(candidates, &self.records, self.first);
    reading.options.framing = framing;
    Decision {
      reading,
      records: std::mem::take(&mut self.records),
      splitter,
      first: self.first,
    }
  }
}

fn push(records: &mut Vec<Sampled>, bytes: &mut usize, texts: &mut usize, line: Line<'_>) {
  match line {
    Line::Text(text) if is_blank(text) => match records.last_mut() {
      Some(Sampled::Blank(n)) => *n += 1,
      _ => records.push(Sampled::Blank(1)),
    },
    Line::Text(text) => {
      *bytes += text.len();
      *texts += 1;
      records.push(Sampled::Text(text.to_vec()));
    }
    Line::TooLong => {
      *texts += 1;
      records.push(Sampled::TooLong);
    }
  }
}

fn is_blank(record: &[u8]) -> bool {
  record.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// The first sampled records that are not blank (too long ones are left out: nothing reads them).
fn texts(records: &[Sampled]) -> Vec<&[u8]> {
  let texts = records.iter().filter_map(|r| match r {
    Sampled::Text(text) => Some(text.as_slice()),
    _ => None,
  });
  texts.take(SAMPLE_RECORDS).collect()
}

fn reads(rule: &mut RecordRule, record: &[u8]) -> bool {
  matches!(
    rule.classify(record),
    Outcome::Counted { .. } | Outcome::Seen { .. } | Outcome::Skipped
  )
}

/// Every reading to try for these records, in order of preference.
fn candidates(auto: &AutoOptions, records: &[Sampled]) -> Vec<Candidate> {
  let texts = texts(records);
  let mut list = auto.candidates.clone();
  if let Some(base) = &auto.usual_names {
    // With a fixed envelope, the usual names are looked for inside it.
    let usual = match &base.envelope {
      None => usual_reading(base, &texts),
      Some(field) => {
        let inner = envelope_texts(field, &texts);
        let inner: Vec<&[u8]> = inner.iter().map(Vec::as_slice).collect();
        usual_reading(base, &inner).map(|mut c| {
          c.options.envelope = Some(field.clone());
          c
        })
      }
    };
    list.extend(usual);
  }
  for field in &auto.envelopes {
    let inner = envelope_texts(field, &texts);
    if inner.is_empty() {
      continue;
    }
    let inner: Vec<&[u8]> = inner.iter().map(Vec::as_slice).collect();
    let unwrapped = auto.candidates.iter().filter(|c| c.options.envelope.is_none()).cloned();
    let usual = auto.usual_names.as_ref().and_then(|base| usual_reading(base, &inner));
    for mut candidate in unwrapped.chain(usual) {
      candidate.options.envelope = Some(field.clone());
      list.push(candidate);
    }
  }
  list
}

/// The string values of `field` in the records that have one (decoded, without a trailing `\n`).
fn envelope_texts(field: &[u8], texts: &[&[u8]]) -> Vec<Vec<u8>> {
  let mut extractor = FieldExtractor::new([field.to_vec()]);
  let mut out = Vec::new();
  for record in texts {
    if let Ok([FieldValue::Str { raw, escaped }]) = extractor.extract(record) {
      let mut decoded = Vec::new();
      let value = if escaped && crate::json_fields::unescape(raw, &mut decoded) {
        decoded.as_slice()
      } else {
        raw
      };
      out.push(value.strip_suffix(b"\n").unwrap_or(value).to_vec());
    }
  }
  out
}

/// A JSON reading from the usual field names of the first records that have all three.
fn usual_reading(base: &RuleOptions, texts: &[&[u8]]) -> Option<Candidate> {
  for record in texts.iter().take(10) {
    let time = first_present(&USUAL_TIME, record, |v| {
      matches!(v, FieldValue::Str { .. } | FieldValue::Number(_))
    });
    let ip = first_present(&USUAL_IP, record, |v| matches!(v, FieldValue::Str { .. }));
    let status = first_present(&USUAL_STATUS, record, |v| {
      matches!(v, FieldValue::Str { .. } | FieldValue::Number(_))
    });
    let (Some((time, epoch)), Some((ip, _)), Some((status, _))) = (time, ip, status) else {
      continue;
    };
    if (time, ip, status) == ("time", "ip", "status_code") {
      continue; // the original layout: only the original rule reads it
    }
    return Some(Candidate {
      name: "json".into(),
      options: RuleOptions {
        format: Format::Json,
        names: FieldNames {
          time: time.into(),
          ip: ip.into(),
          status: status.into(),
        },
        strict: false,
        unit: epoch.map_or(TimeUnit::Seconds, unit_of),
        envelope: None,
        ..base.clone()
      },
    });
  }
  None
}

/// The first name of `names` whose value `accept`s, with the value as a number if it is one.
fn first_present(
  names: &[&'static str],
  record: &[u8],
  accept: impl Fn(&FieldValue<'_>) -> bool,
) -> Option<(&'static str, Option<f64>)> {
  names.iter().find_map(|&name| {
    let Ok([value]) = FieldExtractor::new([name.as_bytes().to_vec()]).extract(record) else {
      return None;
    };
    if !accept(&value) {
      return None;
    }
    let number = match value {
      FieldValue::Number(raw) | FieldValue::Str { raw, escaped: false } => {
        std::str::from_utf8(raw).ok().and_then(|s| s.parse::<f64>().ok())
      }
      _ => None,
    };
    Some((name, number.filter(|n| n.is_finite())))
  })
}

/// The unit of an epoch time from its magnitude (seconds until the year 5138, then ms, µs, ns).
fn unit_of(epoch: f64) -> TimeUnit {
  match epoch.abs() {
    e if e < 1e11 => TimeUnit::Seconds,
    e if e < 1e14 => TimeUnit::Milliseconds,
    e if e < 1e17 => TimeUnit::Microseconds,
    _ => TimeUnit::Nanoseconds,
  }
}

/// The reading with the highest score (the earliest of equals), or by shape when none reads.
fn choose(candidates: Vec<Candidate>, records: &[Sampled], first: Option<u8>) -> Reading {
  let texts = texts(records);
  let too_long = records.iter().filter(|r| **r == Sampled::TooLong).count();
  let sampled = texts.len() + too_long;
  let mut best: Option<(usize, usize)> = None;
  for (i, candidate) in candidates.iter().enumerate() {
    let mut rule = RecordRule::new(candidate.options.clone());
    let score = texts.iter().filter(|r| reads(&mut rule, r)).count();
    if best.is_none_or(|(_, b)| score > b) {
      best = Some((i, score));
    }
    if score == sampled {
      break;
    }
  }
  let (index, readable) = match best {
    Some((i, score)) if score > 0 => (i, score),
    _ => (by_shape(&candidates, first), 0),
  };
  let Some(Candidate { name, options }) = candidates.into_iter().nth(index) else {
    return Reading {
      name: "original".into(),
      options: RuleOptions::default(),
      sampled: sampled as u32,
      readable: 0,
      unreadable: None,
      unread_before: 0,
    };
  };
  let mut rule = RecordRule::new(options.clone());
  let unreadable = records.iter().find_map(|record| match record {
    Sampled::TooLong => Some((Vec::new(), Reason::TooLong)),
    Sampled::Blank(_) => None,
    Sampled::Text(r) => match rule.classify(r) {
      Outcome::Invalid(reason) => Some((r[..r.len().min(SAMPLE_BYTES)].to_vec(), reason)),
      _ => None,
    },
  });
  let name = match (options.format, &options.envelope) {
    (Format::Clf, None) => clf_name(&texts, &mut rule),
    (Format::Clf, Some(_)) => "combined".into(),
    _ => name,
  };
  Reading {
    name,
    options,
    sampled: sampled as u32,
    readable: readable as u32,
    unreadable,
    unread_before: 0,
  }
}

/// Bytes of an unreadable record kept to show.
const SAMPLE_BYTES: usize = 200;

/// `combined` when the first record read carries the referer and agent, else `common`.
fn clf_name(texts: &[&[u8]], rule: &mut RecordRule) -> String {
  let first = texts.iter().find(|r| reads(rule, r));
  let quotes = first.map_or(0, |r| r.iter().filter(|&&b| b == b'"').count());
  if quotes >= 6 { "combined" } else { "common" }.into()
}

/// The first candidate of the stream's shape: JSON for `{`, else Combined; else the first.
fn by_shape(candidates: &[Candidate], first: Option<u8>) -> usize {
  let json = first == Some(b'{');
  let format = if json { Format::Json } else { Format::Clf };
  candidates
    .iter()
    .position(|c| c.options.format == format && c.options.envelope.is_none())
    .unwrap_or(0)
}

/// The schemas `src/schemas.ts` hands the core, written out for the crate's own tests and bench
/// (the command line's list is declared there).
#[doc(hidden)]
pub const SCHEMAS: [(&str, [&str; 3], TimeUnit); 6] = [
  ("original", ["time", "ip", "status_code"], TimeUnit::Seconds),
  (
    "ecs",
    ["@timestamp", "source.ip", "http.response.status_code"],
    TimeUnit::Seconds,
  ),
  ("caddy", ["ts", "request.remote_ip", "status"], TimeUnit::Seconds),
  (
    "pino-http",
    ["time", "req.remoteAddress", "res.statusCode"],
    TimeUnit::Milliseconds,
  ),
  ("traefik", ["time", "ClientHost", "DownstreamStatus"], TimeUnit::Seconds),
  (
    "gcp",
    ["timestamp", "httpRequest.remoteIp", "httpRequest.status"],
    TimeUnit::Seconds,
  ),
];

/// A schema's JSON rule (the original one strict, as the original service's).
#[doc(hidden)]
pub fn schema_rule(name: &str, [time, ip, status]: [&str; 3], unit: TimeUnit) -> RuleOptions {
  RuleOptions {
    names: FieldNames {
      time: time.into(),
      ip: ip.into(),
      status: status.into(),
    },
    strict: name == "original",
    unit,
    ..Default::default()
  }
}

/// What the command line's `--format auto` passes the core: every schema, Combined lines, the
/// usual names and the two envelopes (for the crate's tests and bench).
#[doc(hidden)]
pub fn command_line_auto() -> RuleOptions {
  let mut candidates: Vec<Candidate> = SCHEMAS
    .iter()
    .map(|&(name, fields, unit)| Candidate {
      name: name.into(),
      options: schema_rule(name, fields, unit),
    })
    .collect();
  candidates.push(Candidate {
    name: "clf".into(),
    options: RuleOptions {
      format: Format::Clf,
      ..Default::default()
    },
  });
  RuleOptions {
    detect: Some(Arc::new(AutoOptions {
      framing: None,
      candidates,
      usual_names: Some(RuleOptions::default()),
      envelopes: vec![b"message".to_vec(), b"log".to_vec()],
    })),
    ..Default::default()
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::outcome::LineCounts;
  use crate::sketch::{DedupCollector, LineStream};

  /// Reads `input` in the given chunk sizes (cycled): counts, counted hashes, and the reading.
  fn read(options: RuleOptions, input: &[u8], sizes: &[usize]) -> (LineCounts, Vec<u64>, Option<Reading>) {
    let mut stream = LineStream::new(4096, options);
    let mut sink = DedupCollector::default();
    let mut rest = input;
    for &size in sizes.iter().cycle() {
      if rest.is_empty() {
        break;
      }
      let (chunk, tail) = rest.split_at(size.min(rest.len()));
      stream.feed(chunk, &mut sink);
      assert!(stream.buffered_bytes() <= LOOKAHEAD_BYTES + 4096);
      rest = tail;
    }
    stream.end(&mut sink);
    (sink.counts, sink.hashes, stream.reading().cloned())
  }

  /// Auto reads `input` as `explicit` does, as `name`, whatever the chunks.
  fn detects(input: &str, name: &str, explicit: RuleOptions) {
    let want = read(explicit, input.as_bytes(), &[usize::MAX]);
    assert!(want.0.counted() > 0, "the explicit reading counts something");
    for sizes in [&[usize::MAX][..], &[1], &[7, 1, 300], &[64, 3]] {
      let (counts, hashes, reading) = read(command_line_auto(), input.as_bytes(), sizes);
      let reading = reading.expect("decided");
      assert_eq!(reading.name, name, "{input}");
      assert_eq!((counts, hashes), (want.0, want.1.clone()), "{name} in chunks of {sizes:?}");
    }
  }

  fn lines(records: &[&str]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
  }

  #[test]
  fn the_original_layout_keeps_the_original_rule() {
    // A string status is wrongType under the original rule, and stays so.
    let input = lines(&[
      r#"{"time":"2019-05-06 17:25:54","ip":"a","status_code":"500"}"#,
      r#"{"time":"2019-05-06 17:25:54","ip":"b","status_code":500}"#,
      r#"{"time":"2019-05-06T17:25:54Z","ip":"c","status_code":502}"#,
    ]);
    detects(&input, "original", RuleOptions::default());
    let (counts, _, reading) = read(command_line_auto(), input.as_bytes(), &[usize::MAX]);
    assert_eq!(counts.invalid(Reason::WrongType), 1);
    assert!(reading.unwrap().options.strict);
  }

  #[test]
  fn combined_and_common_lines() {
    let combined = lines(&[
      r#"10.0.0.1 - - [23/Nov/2026:09:15:00 -0500] "GET /a HTTP/1.1" 500 12 "-" "curl/8""#,
      r#"10.0.0.2 - - [23/Nov/2026:09:16:00 -0500] "GET /b HTTP/1.1" 200 12 "-" "curl/8""#,
    ]);
    let clf = RuleOptions {
      format: Format::Clf,
      ..Default::default()
    };
    detects(&combined, "combined", clf.clone());
    detects(
      r#"::1 - bob [23/Nov/2026:09:15:00 +0000] "GET / HTTP/1.0" 503 0"#,
      "common",
      clf,
    );
  }

  #[test]
  fn every_schema_by_its_keys() {
    let caddy = r#"{"level":"info","ts":1795443300.52,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.1","method":"GET"},"status":502}"#;
    detects(caddy, "caddy", schema_rule("caddy", SCHEMAS[2].1, TimeUnit::Seconds));
    let pino =
      r#"{"level":30,"time":1795443300524,"req":{"remoteAddress":"::1"},"res":{"statusCode":500},"msg":"request completed"}"#;
    detects(
      pino,
      "pino-http",
      schema_rule("pino-http", SCHEMAS[3].1, TimeUnit::Milliseconds),
    );
    let ecs = r#"{"@timestamp":"2026-11-23T14:15:00.123Z","source":{"ip":"10.0.0.1"},"http":{"response":{"status_code":503}}}"#;
    detects(ecs, "ecs", schema_rule("ecs", SCHEMAS[1].1, TimeUnit::Seconds));
    let traefik = r#"{"ClientHost":"10.0.0.1","DownstreamStatus":502,"time":"2026-11-23T14:15:00Z"}"#;
    detects(traefik, "traefik", schema_rule("traefik", SCHEMAS[4].1, TimeUnit::Seconds));
    let gcp = r#"{"httpRequest":{"remoteIp":"10.0.0.1","status":500},"timestamp":"2026-11-23T14:15:00Z"}"#;
    detects(gcp, "gcp", schema_rule("gcp", SCHEMAS[5].1, TimeUnit::Seconds));
  }

  #[test]
  fn the_usual_names_with_string_statuses_and_epoch_units() {
    let nginx = r#"{"time_iso8601":"2026-11-23T09:15:00-05:00","remote_addr":"10.0.0.1","status":"500"}"#;
    detects(
      nginx,
      "json",
      schema_rule("json", ["time_iso8601", "remote_addr", "status"], TimeUnit::Seconds),
    );
    // Fluent Bit's nginx parser: a float epoch `date`, `remote`, a string `code`.
    let fluent = r#"{"date":1795443300.123,"remote":"10.0.0.1","host":"-","code":"502","path":"/"}"#;
    detects(
      fluent,
      "json",
      schema_rule("json", ["date", "remote", "code"], TimeUnit::Seconds),
    );
    for (epoch, unit) in [
      ("1795443300123", TimeUnit::Milliseconds),
      ("1795443300123456", TimeUnit::Microseconds),
      ("1795443300123456789", TimeUnit::Nanoseconds),
    ] {
      let line = format!(r#"{{"ts":{epoch},"client_ip":"a","status":500}}"#);
      detects(&line, "json", schema_rule("json", ["ts", "client_ip", "status"], unit));
    }
  }

  #[test]
  fn envelopes_of_combined_or_json_records() {
    let vector = r#"{"host":"web1","message":"10.0.0.1 - - [23/Nov/2026:09:15:00 -0500] \"GET / HTTP/1.1\" 500 1 \"-\" \"x\"","source_type":"file","timestamp":"2026-11-23T14:15:01Z"}"#;
    let clf = RuleOptions {
      format: Format::Clf,
      envelope: Some(b"message".to_vec()),
      ..Default::default()
    };
    detects(vector, "combined", clf);
    let docker = r#"{"log":"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n","stream":"stdout","time":"2019-05-06T17:25:54.1Z"}"#;
    detects(
      docker,
      "original",
      RuleOptions {
        envelope: Some(b"log".to_vec()),
        ..Default::default()
      },
    );
    let fluent_bit = r#"{"date":1795443300.5,"log":"{\"ts\":1795443300.5,\"client_ip\":\"a\",\"status\":\"503\"}"}"#;
    let usual = RuleOptions {
      envelope: Some(b"log".to_vec()),
      ..schema_rule("json", ["ts", "client_ip", "status"], TimeUnit::Seconds)
    };
    detects(fluent_bit, "json", usual);
  }

  #[test]
  fn json_streams_without_newlines() {
    let record = r#"{"time":"2019-05-06 17:25:54","ip":"a","status_code":500}"#;
    let input = format!("{record}{record} {}", record.replace("\"a\"", "\"b\""));
    detects(
      &input,
      "original",
      RuleOptions {
        framing: Framing::JsonStream,
        ..Default::default()
      },
    );
    let (_, _, reading) = read(command_line_auto(), input.as_bytes(), &[usize::MAX]);
    assert_eq!(reading.unwrap().options.framing, Framing::JsonStream);
    // One record per line stays lines, even with several records in the first chunk.
    let (_, _, reading) = read(command_line_auto(), lines(&[record, record]).as_bytes(), &[usize::MAX]);
    assert_eq!(reading.unwrap().options.framing, Framing::Lines);
  }

  #[test]
  fn decides_at_the_first_record_and_by_shape_when_nothing_reads() {
    // A header line nothing reads, with Combined lines in the same chunk: Combined.
    let combined = r#"h - - [23/Nov/2026:09:15:00 +0000] "GET /" 500 1"#;
    let input = format!("host,time,status\n\n{combined}\n");
    let (counts, _, reading) = read(command_line_auto(), input.as_bytes(), &[usize::MAX]);
    assert_eq!(reading.unwrap().name, "common");
    assert_eq!((counts.counted(), counts.invalid(Reason::Clf), counts.blank()), (1, 1, 1));
    // Nothing waits for more than a complete record: a line is counted when its chunk is read.
    let mut stream = LineStream::new(4096, command_line_auto());
    let mut sink = DedupCollector::default();
    stream.feed(b"\n\n  \n{\"time\":\"2019-05-06 17:25:54\"", &mut sink);
    assert!(stream.deciding(), "blank lines and a partial record decide nothing");
    stream.feed(b",\"ip\":\"a\",\"status_code\":500}\n", &mut sink);
    assert!(!stream.deciding());
    assert_eq!((sink.counts.counted(), sink.counts.blank()), (1, 3));
    // Nothing readable at all: decided by shape, every line invalid, the first one shown.
    let (counts, _, reading) = read(command_line_auto(), b"a,b,c\n1,2,3\n", &[usize::MAX]);
    let reading = reading.unwrap();
    assert_eq!((reading.name.as_str(), reading.readable, reading.sampled), ("common", 0, 2));
    assert_eq!(reading.unreadable, Some((b"a,b,c".to_vec(), Reason::Clf)));
    assert_eq!(counts.invalid(Reason::Clf), 2);
    let (_, _, reading) = read(command_line_auto(), b"{\"a\":1}\n", &[usize::MAX]);
    assert_eq!(reading.unwrap().name, "original");
    // A first line longer than the look-ahead holds no more than the line limit, and what comes
    // after it is still read by what fits.
    let record = b"{\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n";
    let mut stream = LineStream::new(1 << 20, command_line_auto());
    let mut sink = DedupCollector::default();
    for _ in 0..100 {
      stream.feed(&[b'x'; 1000], &mut sink);
      assert!(stream.buffered_bytes() <= (1 << 20));
    }
    stream.feed(b"\n", &mut sink);
    stream.feed(record, &mut sink);
    assert!(!stream.deciding());
    assert_eq!(stream.reading().unwrap().name, "original");
    assert_eq!((sink.counts.counted(), sink.counts.invalid(Reason::Clf)), (1, 1));
    // A stream whose first chunk nothing reads looks again at the next: junk in front of JSON
    // lines, each its own chunk, counted at once (invalid), then the lines read as they are.
    let mut stream = LineStream::new(4096, command_line_auto());
    let mut sink = DedupCollector::default();
    stream.feed(b"hello\n", &mut sink);
    assert_eq!((sink.counts.invalid(Reason::Clf), stream.reading().is_none()), (1, true));
    stream.feed(b"not json either\n", &mut sink);
    for _ in 0..3 {
      stream.feed(record, &mut sink);
    }
    stream.end(&mut sink);
    let reading = stream.reading().unwrap();
    assert_eq!((reading.name.as_str(), reading.readable, reading.sampled), ("original", 1, 1));
    assert_eq!((sink.counts.counted(), sink.counts.invalid(Reason::Clf)), (3, 2));
    // Whitespace alone holds at most the look-ahead and never decides; none of it is lost, in
    // any chunks.
    for size in [1000, 200_000] {
      let mut stream = LineStream::new(1 << 20, command_line_auto());
      let mut sink = DedupCollector::default();
      for _ in 0..10 {
        stream.feed(&vec![b'\n'; size], &mut sink);
        assert!(stream.deciding() && stream.buffered_bytes() <= LOOKAHEAD_BYTES);
      }
      stream.feed(
        b" {\"time\":\"2019-05-06 17:25:54\",\"ip\":\"a\",\"status_code\":500}\n",
        &mut sink,
      );
      assert_eq!((sink.counts.counted(), sink.counts.blank()), (1, 10 * size as u64));
    }
  }

  #[test]
  fn a_mixture_is_read_as_its_majority() {
    let input = lines(&[
      r#"h - - [23/Nov/2026:09:15:00 +0000] "GET /" 500 1"#,
      r#"{"ts":1795443300,"client_ip":"a","status":500}"#,
      r#"h - - [23/Nov/2026:09:15:00 +0000] "GET /" 500 1"#,
    ]);
    let (counts, _, reading) = read(command_line_auto(), input.as_bytes(), &[usize::MAX]);
    assert_eq!(reading.unwrap().name, "common");
    assert_eq!((counts.counted(), counts.invalid(Reason::Clf)), (2, 1));
  }
}
