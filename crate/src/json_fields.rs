//! One-pass extraction of three top-level fields from a JSON object line, with full validation
//! of the rest of the line.
//!
//! The result for the three fields agrees with `JSON.parse`: any key order and whitespace,
//! nested values skipped (a nested `"ip"` is not the `ip`), keys compared after unescaping,
//! duplicate keys last-wins, trailing garbage rejected. One deliberate difference: bytes that are
//! not valid UTF-8 are accepted inside strings (the caller checks the strings it uses).

use crate::swar::{load8, string_stops};

/// The three field names looked up at the top level of each record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames {
  pub time: Vec<u8>,
  pub ip: Vec<u8>,
  pub status: Vec<u8>,
}

impl Default for FieldNames {
  fn default() -> Self {
    FieldNames {
      time: b"time".to_vec(),
      ip: b"ip".to_vec(),
      status: b"status_code".to_vec(),
    }
  }
}

/// A top-level field's value, borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
  /// The key does not occur at the top level.
  Missing,
  /// A string: `raw` is the text between the quotes, escapes not yet decoded.
  Str { raw: &'a [u8], escaped: bool },
  /// A number, as written (already checked against the JSON grammar).
  Number(&'a [u8]),
  /// `true`, `false`, `null`, an object or an array.
  Other,
}

/// Why a line yielded no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractError {
  /// Not valid JSON.
  Syntax,
  /// Valid JSON, but not an object.
  NotObject,
}

/// Values of the time, ip and status fields, in that order.
pub type Fields<'a> = [FieldValue<'a>; 3];

const WS: u8 = 1;
const STR_STOP: u8 = 2; // `"`, `\` or a control character ends a plain run inside a string

/// Byte classes: bit WS for JSON whitespace, bit STR_STOP for bytes a string scan must look at.
static CLASS: [u8; 256] = {
  let mut t = [0u8; 256];
  let mut i = 0;
  while i < 0x20 {
    t[i] = STR_STOP;
    i += 1;
  }
  t[b' ' as usize] = WS;
  t[b'\t' as usize] |= WS;
  t[b'\r' as usize] |= WS;
  t[b'\n' as usize] |= WS;
  t[b'"' as usize] = STR_STOP;
  t[b'\\' as usize] = STR_STOP;
  t
};

#[inline]
fn skip_ws(s: &[u8], mut i: usize) -> usize {
  while i < s.len() && CLASS[s[i] as usize] & WS != 0 {
    i += 1;
  }
  i
}

/// Index of the first `"`, `\\` or control byte at or after `i`, or `s.len()`; eight bytes at a
/// time (bytes >= 0x80 are plain: the caller validates UTF-8 where it matters).
#[inline(always)]
fn find_string_stop(s: &[u8], mut i: usize) -> usize {
  while let Some(word) = load8(s, i) {
    let stops = string_stops(word);
    if stops != 0 {
      return i + (stops.trailing_zeros() / 8) as usize;
    }
    i += 8;
  }
  while i < s.len() && CLASS[s[i] as usize] & STR_STOP == 0 {
    i += 1;
  }
  i
}

/// Scans a string whose opening quote is at `i - 1`; returns the index after the closing quote
/// and whether it contains escapes.
#[inline]
fn scan_string(s: &[u8], mut i: usize) -> Option<(usize, bool)> {
  let mut escaped = false;
  loop {
    i = find_string_stop(s, i);
    match *s.get(i)? {
      b'"' => return Some((i + 1, escaped)),
      b'\\' => {
        escaped = true;
        match *s.get(i + 1)? {
          b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
          b'u' => {
            let hex = s.get(i + 2..i + 6)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
              return None;
            }
            i += 6;
          }
          _ => return None,
        }
      }
      _ => return None, // control character
    }
  }
}

/// Scans a number starting at `i`; returns the index after it.
#[inline]
fn scan_number(s: &[u8], mut i: usize) -> Option<usize> {
  if s.get(i) == Some(&b'-') {
    i += 1;
  }
  match *s.get(i)? {
    b'0' => i += 1,
    b'1'..=b'9' => i = digits_end(s, i),
    _ => return None,
  }
  if s.get(i) == Some(&b'.') {
    i = at_least_one_digit(s, i + 1)?;
  }
  if matches!(s.get(i), Some(b'e' | b'E')) {
    i += 1;
    if matches!(s.get(i), Some(b'+' | b'-')) {
      i += 1;
    }
    i = at_least_one_digit(s, i)?;
  }
  Some(i)
}

/// The index after the run of digits starting at `i`.
#[inline]
fn digits_end(s: &[u8], mut i: usize) -> usize {
  while i < s.len() && s[i].is_ascii_digit() {
    i += 1;
  }
  i
}

/// Like [`digits_end`], but `None` when there is no digit at `i` (a fraction or exponent needs one).
#[inline]
fn at_least_one_digit(s: &[u8], i: usize) -> Option<usize> {
  let end = digits_end(s, i);
  (end > i).then_some(end)
}

#[inline]
fn scan_literal(s: &[u8], i: usize, word: &[u8]) -> Option<usize> {
  if s.get(i..i + word.len())? == word {
    Some(i + word.len())
  } else {
    None
  }
}

/// Decodes the escapes of a string body (already validated by the scan) into `out`. Returns
/// false if it contains a lone surrogate escape, which has no UTF-8 form.
pub fn unescape(raw: &[u8], out: &mut Vec<u8>) -> bool {
  out.clear();
  let mut i = 0;
  while i < raw.len() {
    let b = raw[i];
    if b != b'\\' {
      out.push(b);
      i += 1;
      continue;
    }
    let Some(&e) = raw.get(i + 1) else { return false };
    i += 2;
    let c = match e {
      b'b' => 0x08,
      b'f' => 0x0c,
      b'n' => b'\n',
      b'r' => b'\r',
      b't' => b'\t',
      b'u' => {
        let Some(hi) = hex4(raw, i) else { return false };
        i += 4;
        let code = match hi {
          0xd800..=0xdbff => {
            let lo = if raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
              hex4(raw, i + 2)
            } else {
              None
            };
            match lo {
              Some(lo @ 0xdc00..=0xdfff) => {
                i += 6;
                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
              }
              _ => return false,
            }
          }
          0xdc00..=0xdfff => return false,
          _ => hi,
        };
        let Some(ch) = char::from_u32(code) else { return false };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        continue;
      }
      other => other, // `"`, `\`, `/`
    };
    out.push(c);
  }
  true
}

fn hex4(s: &[u8], i: usize) -> Option<u32> {
  let h = s.get(i..i + 4)?;
  let mut v = 0u32;
  for &b in h {
    v = v * 16 + (b as char).to_digit(16)?;
  }
  Some(v)
}

/// Reusable extractor: holds the field names, the container stack for skipping nested values
/// and a scratch buffer for escaped keys, so extraction never allocates after warm-up.
pub struct FieldExtractor {
  names: FieldNames,
  /// One bit per open container below the top level: 1 = object, 0 = array.
  stack: Vec<u64>,
  key: Vec<u8>,
}

impl FieldExtractor {
  /// An extractor for the given field names.
  pub fn new(names: FieldNames) -> Self {
    FieldExtractor {
      names,
      stack: Vec::new(),
      key: Vec::new(),
    }
  }

  /// Validates `line` as one JSON value and returns the values of the three top-level fields.
  ///
  /// ```
  /// use loghour::json_fields::{FieldExtractor, FieldNames, FieldValue};
  /// let mut x = FieldExtractor::new(FieldNames::default());
  /// let [time, ip, status] = x.extract(br#"{"ip":"10.0.0.1","a":{"ip":1},"status_code":500}"#).unwrap();
  /// assert_eq!(ip, FieldValue::Str { raw: b"10.0.0.1", escaped: false });
  /// assert_eq!(status, FieldValue::Number(b"500"));
  /// assert_eq!(time, FieldValue::Missing);
  /// ```
  pub fn extract<'a>(&mut self, s: &'a [u8]) -> Result<Fields<'a>, ExtractError> {
    let mut fields = [FieldValue::Missing; 3];
    let mut i = skip_ws(s, 0);
    if s.get(i) != Some(&b'{') {
      return match self.skip_value(s, i).map(|end| skip_ws(s, end)) {
        Some(end) if end == s.len() => Err(ExtractError::NotObject),
        _ => Err(ExtractError::Syntax),
      };
    }
    i = skip_ws(s, i + 1);
    if s.get(i) == Some(&b'}') {
      i += 1;
    } else {
      loop {
        if s.get(i) != Some(&b'"') {
          return Err(ExtractError::Syntax);
        }
        let (key_end, key_escaped) = scan_string(s, i + 1).ok_or(ExtractError::Syntax)?;
        let slot = self.field_slot(&s[i + 1..key_end - 1], key_escaped);
        i = skip_ws(s, key_end);
        if s.get(i) != Some(&b':') {
          return Err(ExtractError::Syntax);
        }
        i = skip_ws(s, i + 1);
        let start = i;
        let value = match s.get(i) {
          Some(b'"') => {
            let (end, escaped) = scan_string(s, i + 1).ok_or(ExtractError::Syntax)?;
            i = end;
            FieldValue::Str {
              raw: &s[start + 1..end - 1],
              escaped,
            }
          }
          Some(b'-' | b'0'..=b'9') => {
            i = scan_number(s, i).ok_or(ExtractError::Syntax)?;
            FieldValue::Number(&s[start..i])
          }
          _ => {
            i = self.skip_value(s, i).ok_or(ExtractError::Syntax)?;
            FieldValue::Other
          }
        };
        if let Some(slot) = slot {
          fields[slot] = value;
        }
        i = skip_ws(s, i);
        match s.get(i) {
          Some(b',') => i = skip_ws(s, i + 1),
          Some(b'}') => {
            i += 1;
            break;
          }
          _ => return Err(ExtractError::Syntax),
        }
      }
    }
    if skip_ws(s, i) != s.len() {
      return Err(ExtractError::Syntax);
    }
    Ok(fields)
  }

  /// Which of the three fields (0 time, 1 ip, 2 status) a key names, if any.
  #[inline]
  fn field_slot(&mut self, raw: &[u8], escaped: bool) -> Option<usize> {
    let key: &[u8] = if escaped {
      if !unescape(raw, &mut self.key) {
        return None;
      }
      &self.key
    } else {
      raw
    };
    let n = &self.names;
    if same(key, &n.status) {
      Some(2)
    } else if same(key, &n.time) {
      Some(0)
    } else if same(key, &n.ip) {
      Some(1)
    } else {
      None
    }
  }

  /// Skips one JSON value of any depth starting at `i`, without recursion; returns the index
  /// after it, or `None` on a syntax error.
  fn skip_value(&mut self, s: &[u8], mut i: usize) -> Option<usize> {
    self.stack.clear();
    let mut depth = 0usize;
    loop {
      // Parse the start of a value at `i`.
      i = skip_ws(s, i);
      match *s.get(i)? {
        b'{' => {
          i = skip_ws(s, i + 1);
          if s.get(i) == Some(&b'}') {
            i += 1;
          } else {
            self.push(&mut depth, true);
            i = expect_key(s, i)?;
            continue;
          }
        }
        b'[' => {
          i = skip_ws(s, i + 1);
          if s.get(i) == Some(&b']') {
            i += 1;
          } else {
            self.push(&mut depth, false);
            continue;
          }
        }
        b'"' => i = scan_string(s, i + 1)?.0,
        b'-' | b'0'..=b'9' => i = scan_number(s, i)?,
        b't' => i = scan_literal(s, i, b"true")?,
        b'f' => i = scan_literal(s, i, b"false")?,
        b'n' => i = scan_literal(s, i, b"null")?,
        _ => return None,
      }
      // A value ended at `i`: close containers until one expects another element.
      loop {
        if depth == 0 {
          return Some(i);
        }
        let in_object = self.top(depth);
        i = skip_ws(s, i);
        match *s.get(i)? {
          b',' => {
            i += 1;
            if in_object {
              i = expect_key(s, skip_ws(s, i))?;
            }
            break;
          }
          b'}' if in_object => {
            i += 1;
            depth -= 1;
          }
          b']' if !in_object => {
            i += 1;
            depth -= 1;
          }
          _ => return None,
        }
      }
    }
  }

  #[inline]
  fn push(&mut self, depth: &mut usize, is_object: bool) {
    let (word, bit) = (*depth / 64, *depth % 64);
    if word == self.stack.len() {
      self.stack.push(0);
    }
    if is_object {
      self.stack[word] |= 1 << bit;
    } else {
      self.stack[word] &= !(1 << bit);
    }
    *depth += 1;
  }

  #[inline]
  fn top(&self, depth: usize) -> bool {
    let d = depth - 1;
    self.stack[d / 64] & (1 << (d % 64)) != 0
  }
}

/// Byte equality for short keys, inlined (a `memcmp` call costs more than the comparison).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
  a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Expects `"key"` then `:` at `i`; returns the index after the colon.
#[inline]
fn expect_key(s: &[u8], i: usize) -> Option<usize> {
  if s.get(i) != Some(&b'"') {
    return None;
  }
  let (end, _) = scan_string(s, i + 1)?;
  let i = skip_ws(s, end);
  if s.get(i) != Some(&b':') {
    return None;
  }
  Some(i + 1)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn extract(line: &str) -> Result<[FieldValue<'_>; 3], ExtractError> {
    // Leak a fresh extractor per call: tests only.
    let x = Box::leak(Box::new(FieldExtractor::new(FieldNames::default())));
    x.extract(line.as_bytes())
  }

  fn s(raw: &str) -> FieldValue<'_> {
    FieldValue::Str {
      raw: raw.as_bytes(),
      escaped: raw.contains('\\'),
    }
  }

  #[test]
  fn finds_fields_in_any_order_and_spacing() {
    let r = extract(" {\r\n\t\"status_code\" : 500 , \"ip\":\"1.2.3.4\",\"time\":\"t\"} \r").unwrap();
    assert_eq!(r, [s("t"), s("1.2.3.4"), FieldValue::Number(b"500")]);
  }

  #[test]
  fn nested_keys_are_not_top_level_fields() {
    let r = extract(r#"{"a":{"ip":"x","b":[{"time":"y"}]},"c":[1,{"status_code":5}],"ip":"z"}"#).unwrap();
    assert_eq!(r, [FieldValue::Missing, s("z"), FieldValue::Missing]);
  }

  #[test]
  fn last_duplicate_wins_and_escaped_keys_match() {
    let r = extract(r#"{"ip":"a","\u0069p":"b","status_code":1,"status_code":true}"#).unwrap();
    assert_eq!(r[1], s("b"));
    assert_eq!(r[2], FieldValue::Other);
  }

  #[test]
  fn syntax_errors() {
    for bad in [
      "",
      "{",
      "}",
      "{]",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{,}",
      "{\"a\":1 \"b\":2}",
      "{\"a\":[1,]}",
      "{\"a\":[1}",
      "{\"a\":{\"b\":1]}",
      "{\"a\":01}",
      "{\"a\":1.}",
      "{\"a\":.5}",
      "{\"a\":1e}",
      "{\"a\":-}",
      "{\"a\":tru}",
      "{\"a\":nul}",
      "{\"a\":\"\\x\"}",
      "{\"a\":\"\\u12g4\"}",
      "{\"a\":\"\t\"}",
      "{\"a\":1}x",
      "{\"a\":1}{}",
      "{'a':1}",
      "{\"a\":+1}",
      "{\"a\":NaN}",
      "{\"a\":\"x}",
      "[1,2",
      "\u{a0}{}",
    ] {
      assert_eq!(extract(bad), Err(ExtractError::Syntax), "{bad:?}");
    }
  }

  #[test]
  fn valid_non_objects() {
    for v in ["1", "\"x\"", "[1,{\"a\":[]}]", " null ", "true", "-0.5e+3", "[]"] {
      assert_eq!(extract(v), Err(ExtractError::NotObject), "{v:?}");
    }
  }

  #[test]
  fn deep_nesting_does_not_recurse() {
    let depth = 100_000;
    let line = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    assert!(extract(&line).is_ok());
    let bad = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth - 1));
    assert_eq!(extract(&bad), Err(ExtractError::Syntax));
  }

  #[test]
  fn unescape_handles_surrogates() {
    let mut out = Vec::new();
    assert!(unescape(br#"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"#, &mut out));
    assert_eq!(out, "a\"\\/\u{8}\u{c}\n\r\té😀".as_bytes());
    assert!(!unescape(br#"\ud83d"#, &mut out));
    assert!(!unescape(br#"\ude00x"#, &mut out));
    assert!(!unescape(br#"\ud83d\u0041"#, &mut out));
  }
}
