//! Records delimited by JSON structure rather than newlines: objects back to back, with or
//! without whitespace between them (Logstash's `json` codec, Fluent Bit's `json_stream`).
//!
//! A record starts at the first byte that is not whitespace (space, tab, CR, LF). One that
//! starts with `{` or `[` ends at its matching closing bracket (brackets inside strings do not
//! count, a backslash escapes the next byte in a string); anything else ends before the next
//! whitespace, `{` or `[`, and is then invalid JSON or not an object. A raw newline inside a string
//! ends the record there (it is invalid JSON). Each record obeys the same length limit as a line: a
//! longer one is reported once, unbuffered, and its bytes are skipped until its brackets balance
//! or a newline comes (a newline ends any record already longer than the limit).
//!
//! With batches on ([`JsonStreamSplitter::batches`], HTTP bodies such as Logstash's
//! `json_batch`), a top-level `[` opens a batch instead: its elements are the records, the commas
//! between them separators, and its `]` closes it. A batch may span any number of chunks; only
//! the record being read is ever buffered.

use crate::lines::{Line, LineSplitter, Splitter};
use crate::record::Framing;

/// What the current record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
  /// Between records.
  Between,
  /// In a record that started with a bracket.
  Nested { depth: u32, in_string: bool, escape: bool },
  /// In a record that did not (a stray scalar or garbage).
  Scalar,
}

/// Splits a stream into JSON values, carrying a partial one across chunks (never more than the
/// limit).
pub struct JsonStreamSplitter {
  carry: Vec<u8>,
  max_record_bytes: usize,
  state: State,
  /// The current record was reported too long: its bytes are skipped.
  discarding: bool,
  /// Top-level arrays are batches of records.
  batches: bool,
  /// Between the records of a batch: `,` separates, `]` closes.
  in_batch: bool,
}

impl JsonStreamSplitter {
  /// A splitter for records of at most `max_record_bytes` bytes.
  ///
  /// ```
  /// use loghour::framing::JsonStreamSplitter;
  /// use loghour::lines::Splitter;
  /// let mut s = JsonStreamSplitter::new(64);
  /// let mut seen = Vec::new();
  /// s.feed(br#"{"a":"}"}{"b":[1]} {"#, |l| seen.push(format!("{l:?}")));
  /// s.feed(br#""c":2}"#, |l| seen.push(format!("{l:?}")));
  /// assert_eq!(seen.len(), 3);
  /// ```
  pub fn new(max_record_bytes: usize) -> Self {
    JsonStreamSplitter {
      carry: Vec::new(),
      max_record_bytes,
      state: State::Between,
      discarding: false,
      batches: false,
      in_batch: false,
    }
  }

  /// A splitter that also reads top-level arrays as batches of records (`[{…},{…}]`).
  ///
  /// ```
  /// use loghour::framing::JsonStreamSplitter;
  /// use loghour::lines::Splitter;
  /// let mut s = JsonStreamSplitter::batches(64);
  /// let mut seen = Vec::new();
  /// s.feed(br#"[{"a":1}, {"b":"]"}]{"c":2}"#, |l| seen.push(format!("{l:?}")));
  /// assert_eq!(seen.len(), 3);
  /// ```
  pub fn batches(max_record_bytes: usize) -> Self {
    JsonStreamSplitter {
      batches: true,
      ..Self::new(max_record_bytes)
    }
  }

  /// Emits the record that ends at `end` (exclusive) of `chunk`, begun at `start`.
  fn emit(&mut self, chunk: &[u8], start: usize, end: usize, on_line: &mut impl FnMut(Line<'_>)) {
    self.state = State::Between;
    if std::mem::take(&mut self.discarding) {
      return;
    }
    let part = &chunk[start..end];
    if self.carry.len() + part.len() > self.max_record_bytes {
      self.carry.clear();
      on_line(Line::TooLong);
    } else if self.carry.is_empty() {
      on_line(Line::Text(part));
    } else {
      self.carry.extend_from_slice(part);
      on_line(Line::Text(&self.carry));
      self.carry.clear();
    }
  }
}

#[inline]
fn is_space(b: u8) -> bool {
  matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl Splitter for JsonStreamSplitter {
  fn feed(&mut self, chunk: &[u8], mut on_line: impl FnMut(Line<'_>)) {
    let mut start = 0;
    let mut i = 0;
    while i < chunk.len() {
      let b = chunk[i];
      match self.state {
        State::Between => {
          if self.in_batch && (b == b',' || b == b']') {
            self.in_batch = b == b',';
          } else if self.batches && !self.in_batch && b == b'[' {
            self.in_batch = true;
          } else if !is_space(b) {
            start = i;
            self.state = match b {
              b'{' | b'[' => State::Nested {
                depth: 1,
                in_string: false,
                escape: false,
              },
              _ => State::Scalar,
            };
          }
        }
        State::Scalar => {
          if is_space(b) || b == b'{' || b == b'[' || (self.in_batch && (b == b',' || b == b']')) {
            self.emit(chunk, start, i, &mut on_line);
            continue; // the byte starts what follows
          }
        }
        State::Nested {
          ref mut depth,
          ref mut in_string,
          ref mut escape,
        } => {
          // A raw newline cannot be in a JSON string, and ends a record already too long: the
          // framing starts again after it, so one broken record never takes the rest of a stream.
          if b == b'\n' && (*in_string || self.discarding || self.carry.len() + (i - start) > self.max_record_bytes) {
            self.emit(chunk, start, i, &mut on_line);
            i += 1;
            continue;
          }
          if *in_string {
            if *escape {
              *escape = false;
            } else if b == b'\\' {
              *escape = true;
            } else if b == b'"' {
              *in_string = false;
            }
          } else {
            match b {
              b'"' => *in_string = true,
              b'{' | b'[' => *depth += 1,
              b'}' | b']' => {
                *depth -= 1;
                if *depth == 0 {
                  self.emit(chunk, start, i + 1, &mut on_line);
                }
              }
              _ => {}
            }
          }
        }
      }
      i += 1;
    }
    if self.state != State::Between && !self.discarding {
      let tail = &chunk[start..];
      if self.carry.len() + tail.len() > self.max_record_bytes {
        self.carry = Vec::new();
        self.discarding = true;
        on_line(Line::TooLong);
      } else {
        self.carry.extend_from_slice(tail);
      }
    }
  }

  fn end(&mut self, mut on_line: impl FnMut(Line<'_>)) {
    if self.state != State::Between && !self.discarding {
      on_line(Line::Text(&self.carry));
    }
    self.discard();
  }

  fn buffered_bytes(&self) -> usize {
    self.carry.len()
  }

  fn discard(&mut self) {
    self.carry = Vec::new();
    self.state = State::Between;
    self.discarding = false;
    self.in_batch = false;
  }
}

/// A stream's splitter for its framing: lines, or JSON values (optionally in batches).
pub enum Framed {
  Lines(LineSplitter),
  JsonStream(JsonStreamSplitter),
}

impl Framed {
  /// The splitter of `framing` for records of at most `max_record_bytes` bytes.
  pub fn new(framing: Framing, max_record_bytes: usize) -> Self {
    match framing {
      Framing::Lines => Framed::Lines(LineSplitter::new(max_record_bytes)),
      Framing::JsonStream => Framed::JsonStream(JsonStreamSplitter::new(max_record_bytes)),
      Framing::JsonBatch => Framed::JsonStream(JsonStreamSplitter::batches(max_record_bytes)),
    }
  }
}

impl Splitter for Framed {
  #[inline]
  fn feed(&mut self, chunk: &[u8], on_line: impl FnMut(Line<'_>)) {
    match self {
      Framed::Lines(s) => s.feed(chunk, on_line),
      Framed::JsonStream(s) => Splitter::feed(s, chunk, on_line),
    }
  }
  fn end(&mut self, on_line: impl FnMut(Line<'_>)) {
    match self {
      Framed::Lines(s) => s.end(on_line),
      Framed::JsonStream(s) => Splitter::end(s, on_line),
    }
  }
  fn buffered_bytes(&self) -> usize {
    match self {
      Framed::Lines(s) => s.buffered_bytes(),
      Framed::JsonStream(s) => s.buffered_bytes(),
    }
  }
  fn discard(&mut self) {
    match self {
      Framed::Lines(s) => s.discard(),
      Framed::JsonStream(s) => s.discard(),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn split(chunks: &[&[u8]], max: usize) -> Vec<String> {
    split_with(JsonStreamSplitter::new(max), chunks)
  }

  fn split_with(mut s: JsonStreamSplitter, chunks: &[&[u8]]) -> Vec<String> {
    let mut seen = Vec::new();
    for chunk in chunks {
      s.feed(chunk, |l| seen.push(show(l)));
    }
    s.end(|l| seen.push(show(l)));
    seen
  }

  fn show(l: Line<'_>) -> String {
    match l {
      Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
      Line::TooLong => "<too long>".into(),
    }
  }

  #[test]
  fn objects_back_to_back_in_any_split() {
    let stream = br#"{"a":"}{\"","b":[{}]}{"c":1}  {"d":"\\"}
x 12{"e":[]}["f"]"#;
    let want = vec![
      r#"{"a":"}{\"","b":[{}]}"#,
      r#"{"c":1}"#,
      r#"{"d":"\\"}"#,
      "x",
      "12",
      r#"{"e":[]}"#,
      r#"["f"]"#,
    ];
    assert_eq!(split(&[stream], 1000), want);
    for cut in 0..stream.len() {
      for cut2 in cut..stream.len() {
        let parts: [&[u8]; 3] = [&stream[..cut], &stream[cut..cut2], &stream[cut2..]];
        assert_eq!(split(&parts, 1000), want, "{cut} {cut2}");
      }
    }
  }

  #[test]
  fn batches_are_unwrapped_in_any_split() {
    // Logstash's json_batch body, then pretty-printed batches, records between them, a scalar
    // element, brackets and commas in strings, an empty batch, and nested arrays (one record).
    let stream = br#"[{"a":"],["},{"b":[1,2]}]
[
  {"c":1} ,
  {"d":"\\"},7,[{"e":1}]
]{"f":2}[]["g"]"#;
    let want = vec![
      r#"{"a":"],["}"#,
      r#"{"b":[1,2]}"#,
      r#"{"c":1}"#,
      r#"{"d":"\\"}"#,
      "7",
      r#"[{"e":1}]"#,
      r#"{"f":2}"#,
      r#""g""#,
    ];
    assert_eq!(split_with(JsonStreamSplitter::batches(1000), &[stream]), want);
    for cut in 0..stream.len() {
      for cut2 in cut..stream.len() {
        let parts: [&[u8]; 3] = [&stream[..cut], &stream[cut..cut2], &stream[cut2..]];
        assert_eq!(split_with(JsonStreamSplitter::batches(1000), &parts), want, "{cut} {cut2}");
      }
    }
    // Without batches a top-level array stays one record, as before.
    assert_eq!(split(&[br#"[{"a":1},{"b":2}]"#], 1000), vec![r#"[{"a":1},{"b":2}]"#]);
    // A batch cut off mid-record leaves that record unfinished; the ones before it are whole.
    assert_eq!(
      split_with(JsonStreamSplitter::batches(1000), &[br#"[{"a":1},{"b":"#]),
      vec![r#"{"a":1}"#, r#"{"b":"#]
    );
    // A record too long inside a batch is skipped, the batch goes on.
    let big = format!(r#"[{{"a":"{}"}},{{"b":1}}]"#, "x".repeat(100));
    assert_eq!(
      split_with(JsonStreamSplitter::batches(20), &[big.as_bytes()]),
      vec!["<too long>", r#"{"b":1}"#]
    );
  }

  #[test]
  fn too_long_records_are_skipped_unbuffered_to_their_end() {
    let big = format!(r#"{{"a":"{}"}}"#, "}".repeat(100));
    let stream = format!("{big}{{\"b\":1}}");
    assert_eq!(split(&[stream.as_bytes()], 20), vec!["<too long>", r#"{"b":1}"#]);
    let mut s = JsonStreamSplitter::new(20);
    s.feed(&big.as_bytes()[..50], |_| {});
    assert_eq!(s.buffered_bytes(), 0);
    // An unfinished record at the end is a record too (invalid JSON for the rule).
    assert_eq!(split(&[b"{\"a\":"], 20), vec!["{\"a\":"]);
  }

  #[test]
  fn a_broken_record_ends_at_a_newline() {
    // A string left open ends at the newline; a too-long record that never closes too.
    assert_eq!(split(&[b"{\"a\":\"x\n{\"b\":1}"], 100), vec!["{\"a\":\"x", "{\"b\":1}"]);
    // Also right after a backslash: a raw newline escapes nothing (no JSON string holds one).
    assert_eq!(split(&[b"{\"a\":\"x\\\n{\"b\":1}"], 100), vec!["{\"a\":\"x\\", "{\"b\":1}"]);
    let never = format!("{}\n{{\"b\":1}}", "[".repeat(300));
    assert_eq!(split(&[never.as_bytes()], 100), vec!["<too long>", "{\"b\":1}"]);
    // Outside strings, newlines are whitespace: a pretty-printed object is one record.
    assert_eq!(
      split(&[b"{\n  \"a\": [\n    1\n  ]\n}\n"], 100),
      vec!["{\n  \"a\": [\n    1\n  ]\n}"]
    );
  }
}
