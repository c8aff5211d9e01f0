//! OpenTelemetry log records (OTLP) to counts: which attributes, body or time of a `LogRecord`
//! make a record, by the table of docs/contract.md ("OpenTelemetry").
//!
//! A request is decoded whole first ([`crate::otlp_proto`], [`crate::otlp_json`]), so one that
//! does not decode counts nothing; then each record is counted:
//! - with a status and a client among its attributes (or its resource's), as a finished request
//!   at its time (`timeUnixNano`, or `observedTimeUnixNano` when that is 0);
//! - else a string body is one log line, read as the consumer reads lines (its format, or as the
//!   request's first bodies show with `auto`) — the Collector `filelog` receiver's shape;
//! - else a map body is one JSON record.
//!
//! With `--group-by`, a record's group is its attribute (or its resource's) of that name; for
//! `path` and `method`, `http.route`/`url.path` and `http.request.method`/`http.method`.

use std::collections::VecDeque;
use std::ops::Range;

use crate::detect::Reading;
use crate::groups::GroupReader;
use crate::outcome::{Outcome, Reason};
use crate::record::{Framing, RecordRule, RuleOptions};
use crate::sketch::{LineStream, OutcomeSink};

/// Maps (and lists) deeper than this are not read: a record's body nested deeper is unreadable,
/// so no body can exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// The attributes that give a status, by preference.
const STATUS_KEYS: [&[u8]; 2] = [b"http.response.status_code", b"http.status_code"];
/// The attributes that give a client address, by preference.
const CLIENT_KEYS: [&[u8]; 5] = [
  b"client.address",
  b"http.client_ip",
  b"net.sock.peer.addr",
  b"net.peer.ip",
  b"network.peer.address",
];

/// One attribute value, as far as the mapping reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Scalar<'a> {
  #[default]
  Absent,
  Text(&'a [u8]),
  Int(i64),
  Double(f64),
  Bool(bool),
  /// A list, map or bytes.
  Other,
}

/// What a record's body is.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Body<'a> {
  #[default]
  Absent,
  /// A string: one log line.
  Text(&'a [u8]),
  /// A map, written as JSON text at this range of the decoder's arena.
  Map(Range<usize>),
  /// A map nested deeper than [`MAX_DEPTH`].
  TooDeep,
  /// A number, boolean, list or bytes.
  Other,
}

/// Which attribute keys a request's decoding keeps: the status's, the client's, the group's.
pub struct Keys {
  group: Vec<Vec<u8>>,
}

/// Where a picked attribute goes, and its rank there (0 is preferred).
#[derive(Debug, Clone, Copy)]
pub enum Slot {
  Status(u8),
  Client(u8),
  Group(u8),
}

impl Keys {
  /// The keys for records grouped by `group_by` (none: not grouped).
  pub fn new(group_by: Option<&[u8]>) -> Self {
    let group = match group_by {
      None => vec![],
      Some(b"path") => vec![b"http.route".to_vec(), b"url.path".to_vec(), b"path".to_vec()],
      Some(b"method") => vec![b"http.request.method".to_vec(), b"http.method".to_vec(), b"method".to_vec()],
      Some(name) => vec![name.to_vec()],
    };
    Keys { group }
  }

  /// The slot of an attribute key, if the mapping reads it.
  #[inline]
  pub fn slot_of(&self, key: &[u8]) -> Option<Slot> {
    if let Some(rank) = STATUS_KEYS.iter().position(|k| *k == key) {
      return Some(Slot::Status(rank as u8));
    }
    if let Some(rank) = CLIENT_KEYS.iter().position(|k| *k == key) {
      return Some(Slot::Client(rank as u8));
    }
    self.group.iter().position(|k| k == key).map(|rank| Slot::Group(rank as u8))
  }
}

/// The attributes a record (or a resource) has for the mapping, each the most preferred seen.
#[derive(Debug, Clone, Copy, Default)]
pub struct Picks<'a> {
  status: Option<(u8, Scalar<'a>)>,
  client: Option<(u8, Scalar<'a>)>,
  group: Option<(u8, Scalar<'a>)>,
}

impl<'a> Picks<'a> {
  /// Keeps `value` when it ranks before what the slot holds.
  #[inline]
  pub fn offer(&mut self, slot: Slot, value: Scalar<'a>) {
    let (place, rank) = match slot {
      Slot::Status(rank) => (&mut self.status, rank),
      Slot::Client(rank) => (&mut self.client, rank),
      Slot::Group(rank) => (&mut self.group, rank),
    };
    if place.is_none_or(|(held, _)| rank < held) {
      *place = Some((rank, value));
    }
  }
}

/// One decoded log record.
#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
  pub time_ns: u64,
  pub observed_ns: u64,
  pub body: Body<'a>,
  pub picks: Picks<'a>,
  /// Index of its resource in [`Decoded::resources`].
  pub resource: usize,
}

/// A decoded request: its resources' picked attributes and its records.
#[derive(Debug, Default)]
pub struct Decoded<'a> {
  pub resources: Vec<Picks<'a>>,
  pub records: Vec<Record<'a>>,
}

/// What counting a request gave beyond the outcomes: how its body lines were read.
#[derive(Debug, Default)]
pub struct Counted {
  /// The readings of its string bodies and of its map bodies (`--format auto`), when decided.
  pub readings: Vec<Reading>,
}

/// Counts decoded records by `options` (the consumer's rule); every record gives exactly one
/// outcome to `sink`. `arena` holds the map bodies' JSON text.
pub fn count(
  decoded: &Decoded<'_>,
  arena: &[u8],
  options: &RuleOptions,
  max_line_bytes: usize,
  sink: &mut impl OutcomeSink,
) -> Counted {
  let mut rule = RecordRule::new(options.clone());
  let grouped = rule.groups();
  let mut lines = BodyLines::default();
  let mut maps = BodyLines::default();
  let mut group_text = Vec::new();
  for record in &decoded.records {
    let resource = decoded.resources.get(record.resource).copied().unwrap_or_default();
    let status = record.picks.status.or(resource.status).map(|(_, v)| v);
    let client = record.picks.client.or(resource.client).map(|(_, v)| v);
    let group = grouped
      .then(|| record.picks.group.or(resource.group).map(|(_, v)| v))
      .flatten();
    match (status, client, &record.body) {
      (Some(status), Some(client), _) => {
        let outcome = request_outcome(&mut rule, record, status, client);
        if let (Outcome::Counted { hour, hash, .. }, true) = (outcome, grouped) {
          rule.set_request_group(group.and_then(|g| text_of(g, &mut group_text)));
          sink.group(rule.group_value(), hour, hash);
        }
        sink.outcome(outcome);
      }
      (_, _, Body::Text(text)) => lines.push(text, group, grouped),
      (_, _, Body::Map(range)) => maps.push(&arena[range.clone()], group, grouped),
      (_, _, Body::TooDeep) => sink.outcome(Outcome::Invalid(Reason::Json)),
      (_, _, Body::Other) => sink.outcome(Outcome::Invalid(Reason::WrongType)),
      (_, _, Body::Absent) => sink.outcome(Outcome::Invalid(Reason::MissingField)),
    }
  }
  let mut counted = Counted::default();
  for body_lines in [lines, maps] {
    if let Some(reading) = body_lines.count(options, max_line_bytes, sink) {
      counted.readings.push(reading);
    }
  }
  counted
}

/// The outcome of a record read from its attributes.
fn request_outcome(rule: &mut RecordRule, record: &Record<'_>, status: Scalar<'_>, client: Scalar<'_>) -> Outcome {
  let status = match status {
    Scalar::Int(n) => u32::try_from(n).ok(),
    Scalar::Text(t) if !t.is_empty() && t.len() <= 9 && t.iter().all(u8::is_ascii_digit) => {
      std::str::from_utf8(t).ok().and_then(|s| s.parse().ok())
    }
    _ => None,
  };
  let Some(status) = status else {
    return Outcome::Invalid(Reason::WrongType);
  };
  let Scalar::Text(client) = client else {
    return Outcome::Invalid(Reason::WrongType);
  };
  if std::str::from_utf8(client).is_err() {
    return Outcome::Invalid(Reason::Utf8);
  }
  let client = unmapped(client);
  let ns = if record.time_ns != 0 {
    record.time_ns
  } else {
    record.observed_ns
  };
  if ns == 0 {
    return Outcome::Invalid(Reason::MissingField);
  }
  // Whole seconds, so that the milliseconds are exact as a float.
  rule.classify_request((ns / 1_000_000_000) as f64 * 1000.0, client, status)
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.7`, what a dual-stack socket reports for an IPv4
/// client) as the IPv4 address, as access logs and the request middleware write it.
///
/// ```
/// assert_eq!(loghour::otlp::unmapped(b"::ffff:10.0.0.7"), b"10.0.0.7");
/// assert_eq!(loghour::otlp::unmapped(b"::ffff:abcd"), b"::ffff:abcd");
/// ```
pub fn unmapped(address: &[u8]) -> &[u8] {
  match address.split_at_checked(7) {
    Some((prefix, v4))
      if prefix.eq_ignore_ascii_case(b"::ffff:") && v4.contains(&b'.') && v4.iter().all(|b| b.is_ascii_digit() || *b == b'.') =>
    {
      v4
    }
    _ => address,
  }
}

/// A group value as text (a number as written in decimal); `None` for other kinds.
fn text_of<'a>(value: Scalar<'a>, scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
  match value {
    Scalar::Text(text) => Some(text),
    Scalar::Int(n) => {
      scratch.clear();
      scratch.extend_from_slice(n.to_string().as_bytes());
      Some(scratch)
    }
    _ => None,
  }
}

/// Bodies to be read as lines, one line each, with the group their attributes give.
#[derive(Default)]
struct BodyLines {
  text: Vec<u8>,
  /// With `--group-by`, per line: the range of its attribute's value in `values`, if any.
  groups: VecDeque<Option<Range<usize>>>,
  values: Vec<u8>,
  used: bool,
}

impl BodyLines {
  /// Adds a body as one line: a trailing newline dropped, inner ones made spaces.
  fn push(&mut self, body: &[u8], group: Option<Scalar<'_>>, grouped: bool) {
    self.used = true;
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let start = self.text.len();
    self.text.extend_from_slice(body);
    for byte in &mut self.text[start..] {
      if *byte == b'\n' {
        *byte = b' ';
      }
    }
    self.text.push(b'\n');
    if grouped {
      let mut scratch = Vec::new();
      let value = group.and_then(|g| text_of(g, &mut scratch)).map(|v| {
        let at = self.values.len();
        self.values.extend_from_slice(v);
        at..self.values.len()
      });
      self.groups.push_back(value);
    }
  }

  /// Reads the lines in one stream of the consumer's rule (one record per line); returns its
  /// reading when `auto` decided one.
  fn count(self, options: &RuleOptions, max_line_bytes: usize, sink: &mut impl OutcomeSink) -> Option<Reading> {
    if !self.used {
      return None;
    }
    let mut options = options.clone();
    options.framing = Framing::Lines;
    if let Some(auto) = &mut options.detect {
      std::sync::Arc::make_mut(auto).framing = Some(Framing::Lines);
    }
    let mut stream = LineStream::new(max_line_bytes, options);
    let mut sink = GroupedBy {
      sink,
      groups: self.groups,
      values: &self.values,
      reader: GroupReader::new(Vec::new()),
    };
    stream.feed(&self.text, &mut sink);
    stream.end(&mut sink);
    stream.reading().cloned()
  }
}

/// A sink that gives each counted line the group its record's attributes name, when they name
/// one (else the group read from the line itself).
struct GroupedBy<'s, S> {
  sink: &'s mut S,
  groups: VecDeque<Option<Range<usize>>>,
  values: &'s [u8],
  reader: GroupReader,
}

impl<S: OutcomeSink> OutcomeSink for GroupedBy<'_, S> {
  fn outcome(&mut self, outcome: Outcome) {
    self.groups.pop_front();
    self.sink.outcome(outcome);
  }

  fn group(&mut self, value: Option<&[u8]>, hour: u8, hash: u64) {
    match self.groups.front() {
      Some(Some(range)) => {
        self.reader.read_text(Some(&self.values[range.clone()]));
        self.sink.group(self.reader.value(), hour, hash);
      }
      _ => self.sink.group(value, hour, hash),
    }
  }
}

/// Writes `text` as a JSON string (control characters, quotes and backslashes escaped; other
/// bytes as they are).
pub fn write_json_string(text: &[u8], out: &mut Vec<u8>) {
  out.push(b'"');
  for &byte in text {
    match byte {
      b'"' => out.extend_from_slice(b"\\\""),
      b'\\' => out.extend_from_slice(b"\\\\"),
      b'\n' => out.extend_from_slice(b"\\n"),
      b'\r' => out.extend_from_slice(b"\\r"),
      b'\t' => out.extend_from_slice(b"\\t"),
      0..=0x1f => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
      _ => out.push(byte),
    }
  }
  out.push(b'"');
}

/// Writes a number as JSON (`null` when it is not finite).
pub fn write_json_number(value: f64, out: &mut Vec<u8>) {
  if value.is_finite() {
    out.extend_from_slice(value.to_string().as_bytes());
  } else {
    out.extend_from_slice(b"null");
  }
}
