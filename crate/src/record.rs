//! The counting rule: what one line of input means.
//!
//! A line counts when it is a JSON object whose `status_code` is an integer in 500..=599 and
//! whose `time` falls on Monday–Friday; its element `"YYYY-MM-DD HH_<ip>"` goes to the hour's HLL.
//! Everything else is blank, skipped (well-formed but not a working-day 5xx) or invalid by reason.

use crate::calendar::TimestampParser;
use crate::clf::{parse_clf, ClfError};
use crate::compact::CompactLayout;
use crate::json_fields::{unescape, ExtractError, FieldExtractor, FieldNames, FieldValue};
use crate::outcome::{element_hash, Outcome, Reason};

/// How records are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
  /// One JSON object per record (the original service's).
  #[default]
  Json,
  /// NCSA Common or Combined log lines ([`crate::clf`]).
  Clf,
}

/// What the rule reads: the format, and the JSON field names.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
  pub format: Format,
  pub names: FieldNames,
}

/// Applies the counting rule to lines; reusable scratch buffers make it allocation-free after
/// warm-up.
pub struct RecordRule {
  format: Format,
  /// The fast path, when the field names allow one.
  compact: Option<CompactLayout>,
  extractor: FieldExtractor,
  timestamps: TimestampParser,
  time_buf: Vec<u8>,
  ip_buf: Vec<u8>,
  element: Vec<u8>,
}

impl RecordRule {
  /// A rule reading records as `options` say.
  pub fn new(options: RuleOptions) -> Self {
    let RuleOptions { format, names } = options;
    RecordRule {
      format,
      compact: match format {
        Format::Json => CompactLayout::new(&names),
        Format::Clf => None,
      },
      extractor: FieldExtractor::new(names),
      timestamps: TimestampParser::default(),
      time_buf: Vec::new(),
      ip_buf: Vec::new(),
      element: Vec::new(),
    }
  }

  /// Classifies one line (without its `\n`).
  ///
  /// ```
  /// use loghour::outcome::Outcome;
  /// use loghour::record::RecordRule;
  /// let mut rule = RecordRule::new(Default::default());
  /// let line = br#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}"#;
  /// assert_eq!(
  ///   rule.classify(line),
  ///   Outcome::Counted { hour: 17, hash: loghour::hll::murmur64a(b"2019-05-06 17_10.0.121.67") }
  /// );
  /// ```
  pub fn classify(&mut self, line: &[u8]) -> Outcome {
    if self.format == Format::Clf {
      return self.classify_clf(line);
    }
    if let Some(compact) = &mut self.compact {
      if let Some(outcome) = compact.classify(line, &mut self.timestamps, &mut self.element) {
        return outcome;
      }
    }
    if is_blank(line) {
      return Outcome::Blank;
    }
    let [time, ip, status] = match self.extractor.extract(line) {
      Ok(fields) => fields,
      Err(ExtractError::NotObject) => return Outcome::Invalid(Reason::NotObject),
      Err(ExtractError::Syntax) if std::str::from_utf8(line).is_err() => return Outcome::Invalid(Reason::Utf8),
      Err(ExtractError::Syntax) => return Outcome::Invalid(Reason::Json),
    };
    let (
      FieldValue::Str {
        raw: time,
        escaped: time_esc,
      },
      FieldValue::Str {
        raw: ip,
        escaped: ip_esc,
      },
      FieldValue::Number(status),
    ) = (time, ip, status)
    else {
      return Outcome::Invalid(if [time, ip, status].contains(&FieldValue::Missing) {
        Reason::MissingField
      } else {
        Reason::WrongType
      });
    };
    let Some(status) = integer_value(status) else {
      return Outcome::Invalid(Reason::WrongType);
    };
    let time = if time_esc {
      match text(time, true, &mut self.time_buf) {
        Some(decoded) => decoded,
        None => return Outcome::Invalid(Reason::Utf8),
      }
    } else {
      time
    };
    // A time that parses is ASCII, so its UTF-8 check is only needed when parsing fails.
    let ts = self.timestamps.parse(time);
    let Some(ip) = text(ip, ip_esc, &mut self.ip_buf) else {
      return Outcome::Invalid(Reason::Utf8);
    };
    let Some(ts) = ts else {
      return Outcome::Invalid(if std::str::from_utf8(time).is_err() {
        Reason::Utf8
      } else {
        Reason::BadTime
      });
    };
    if !(500.0..=599.0).contains(&status) || ts.weekday > 5 {
      return Outcome::Skipped;
    }
    Outcome::Counted {
      hour: ts.hour,
      hash: element_hash(time, ip, &mut self.element),
    }
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
    let Some(ts) = self.timestamps.parse(&fields.time) else {
      return Outcome::Invalid(Reason::BadTime);
    };
    if !(500..=599).contains(&fields.status) || ts.weekday > 5 {
      return Outcome::Skipped;
    }
    Outcome::Counted {
      hour: ts.hour,
      hash: element_hash(&fields.time, fields.client, &mut self.element),
    }
  }
}

/// Only spaces, tabs and carriage returns (or nothing).
#[inline]
fn is_blank(line: &[u8]) -> bool {
  line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// The decoded text of a string value, or `None` if it is not valid UTF-8 (raw bytes or lone
/// surrogate escapes).
#[inline]
fn text<'a>(raw: &'a [u8], escaped: bool, buf: &'a mut Vec<u8>) -> Option<&'a [u8]> {
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

  fn counted(element: &str, hour: u8) -> Outcome {
    Outcome::Counted {
      hour,
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
    assert_eq!(
      rule.classify(ok),
      Outcome::Counted {
        hour: 10,
        hash: murmur64a(b"2019-05-06 10_a")
      }
    );
    let bad_ip = b"{\"time\":\"2019-05-06 10:00:00\",\"ip\":\"a\xff\",\"status_code\":500}";
    assert_eq!(rule.classify(bad_ip), Outcome::Invalid(Reason::Utf8));
    assert_eq!(rule.classify(b"\xff{}"), Outcome::Invalid(Reason::Utf8));
    assert_eq!(rule.classify(b" \t\r"), Outcome::Blank);
  }
}
