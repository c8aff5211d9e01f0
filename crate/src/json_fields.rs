//! One-pass extraction of fields named by dotted paths from a JSON object line, with full
//! validation of the rest of the line.
//!
//! The result agrees with looking the paths up in what `JSON.parse` returns (see
//! [`FieldExtractor`] for nested and flattened keys): any key order and whitespace, values off
//! the paths skipped (a nested `"ip"` is not the top-level `ip`), keys compared after
//! unescaping, duplicate keys last-wins, trailing garbage rejected. One deliberate difference:
//! bytes that are not valid UTF-8 are accepted inside strings (the caller checks the strings it
//! uses).

use crate::swar::{load8, string_stops, string_stops16};

/// The three field names looked up at the top level of each record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames {
  pub time: Vec<u8>,
  pub ip: Vec<u8>,
  pub status: Vec<u8>,
}

impl FieldNames {
  /// The three paths, in the order time, ip, status.
  pub fn paths(&self) -> [Vec<u8>; 3] {
    [self.time.clone(), self.ip.clone(), self.status.clone()]
  }
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

#[inline(always)]
fn skip_ws(s: &[u8], mut i: usize) -> usize {
  // Compact JSON has no whitespace: one comparison decides (every JSON space is <= b' ').
  if s.get(i).is_some_and(|&b| b > b' ') {
    return i;
  }
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
#[inline(always)]
fn scan_string(s: &[u8], mut i: usize) -> Option<(usize, bool)> {
  let mut escaped = false;
  loop {
    // Sixteen bytes at a time: a closing quote before any other stop ends the string at once.
    if let Some((quotes, others)) = string_stops16(s, i) {
      let (q, o) = (quotes.trailing_zeros(), others.trailing_zeros());
      if q < o {
        return Some((i + q as usize + 1, escaped));
      }
      if o == 32 {
        i += 16;
        continue;
      }
      i += o as usize;
    } else {
      i = find_string_stop(s, i);
    }
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

/// Reusable extractor of `N` fields named by dotted paths: holds the paths, the container stack
/// for skipping values, the key scratch buffer and each field's match rank, so extraction never
/// allocates after warm-up.
///
/// A path `a.b.c` names the value reached through keys whose texts, joined with `.`, spell it:
/// nested objects (`{"a":{"b":{"c":1}}}`), a flattened key (`{"a.b.c":1}`) or a mix of both.
/// When one record holds several, the longest key wins at each level (`"a.b.c"` over `"a"` …);
/// a key that repeats replaces its earlier value and everything under it, as `JSON.parse` does.
pub struct FieldExtractor<const N: usize> {
  paths: [Vec<u8>; N],
  /// Whether each path has a `.` (otherwise only a top-level key can match).
  dotted: [bool; N],
  /// Kinds of open containers deeper than 64 levels, while a value is skipped (1 = object).
  stack: Vec<u64>,
  key: Vec<u8>,
  /// Per field, the key lengths along the path of its current value (empty: none yet).
  ranks: [Vec<u16>; N],
  /// Key lengths along the path of the object being read.
  level: Vec<u16>,
}

/// How a key relates to the rest of a field's path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
  /// Not on the path.
  Off,
  /// The key is the rest of the path: its value is the field's.
  Whole,
  /// The key is the next segments of the path: the rest starts at this offset of the path.
  Prefix(usize),
}

impl<const N: usize> FieldExtractor<N> {
  /// An extractor for the given paths.
  pub fn new(paths: [Vec<u8>; N]) -> Self {
    FieldExtractor {
      dotted: std::array::from_fn(|k| paths[k].contains(&b'.')),
      paths,
      stack: Vec::new(),
      key: Vec::new(),
      ranks: std::array::from_fn(|_| Vec::new()),
      level: Vec::new(),
    }
  }

  /// Validates `line` as one JSON value and returns the values of the `N` fields.
  ///
  /// ```
  /// use loghour::json_fields::{FieldExtractor, FieldValue};
  /// let mut x = FieldExtractor::new([b"time".to_vec(), b"source.ip".to_vec(), b"http.response.status_code".to_vec()]);
  /// let [time, ip, status] = x.extract(br#"{"source":{"ip":"10.0.0.1"},"http.response.status_code":503}"#).unwrap();
  /// assert_eq!(ip, FieldValue::Str { raw: b"10.0.0.1", escaped: false });
  /// assert_eq!(status, FieldValue::Number(b"503"));
  /// assert_eq!(time, FieldValue::Missing);
  /// ```
  pub fn extract<'a>(&mut self, s: &'a [u8]) -> Result<[FieldValue<'a>; N], ExtractError> {
    let mut fields = [FieldValue::Missing; N];
    let i = skip_ws(s, 0);
    if s.get(i) != Some(&b'{') {
      return match self.skip_value(s, i).map(|end| skip_ws(s, end)) {
        Some(end) if end == s.len() => Err(ExtractError::NotObject),
        _ => Err(ExtractError::Syntax),
      };
    }
    for rank in &mut self.ranks {
      rank.clear();
    }
    self.level.clear();
    let end = self
      .members(s, i + 1, [Some(0); N], &mut fields)
      .ok_or(ExtractError::Syntax)?;
    if skip_ws(s, end) != s.len() {
      return Err(ExtractError::Syntax);
    }
    Ok(fields)
  }

  /// Reads the members of an object whose `{` is at `i - 1`, where field `k`'s path goes on at
  /// offset `rest[k]` (`None`: this object is not on its path); returns the index after `}`.
  /// Recursion only follows paths, so its depth is bounded by their segments.
  fn members<'a>(
    &mut self,
    s: &'a [u8],
    mut i: usize,
    rest: [Option<usize>; N],
    fields: &mut [FieldValue<'a>; N],
  ) -> Option<usize> {
    i = skip_ws(s, i);
    if s.get(i) == Some(&b'}') {
      return Some(i + 1);
    }
    loop {
      if s.get(i) != Some(&b'"') {
        return None;
      }
      let (key_end, key_escaped) = scan_string(s, i + 1)?;
      let (steps, key_len) = self.steps(&s[i + 1..key_end - 1], key_escaped, &rest);
      i = skip_ws(s, key_end);
      if s.get(i) != Some(&b':') {
        return None;
      }
      i = skip_ws(s, i + 1);
      if steps.iter().any(|&st| st != Step::Off) {
        i = self.on_path(s, i, steps, key_len, fields)?;
      } else {
        i = self.skip_value(s, i)?;
      }
      i = skip_ws(s, i);
      match s.get(i) {
        Some(b',') => i = skip_ws(s, i + 1),
        Some(b'}') => return Some(i + 1),
        _ => return None,
      }
    }
  }

  /// Reads the value at `i` of a key on some field's path; returns the index after it.
  #[inline(never)]
  fn on_path<'a>(
    &mut self,
    s: &'a [u8],
    i: usize,
    steps: [Step; N],
    key_len: u16,
    fields: &mut [FieldValue<'a>; N],
  ) -> Option<usize> {
    self.level.push(key_len);
    // A repeated key replaces what an earlier one with the same path held.
    for k in 0..N {
      if steps[k] != Step::Off && self.ranks[k].starts_with(&self.level) {
        self.ranks[k].clear();
        fields[k] = FieldValue::Missing;
      }
    }
    let start = i;
    let (end, value) = match s.get(i) {
      Some(b'"') => {
        let (end, escaped) = scan_string(s, i + 1)?;
        (
          end,
          FieldValue::Str {
            raw: &s[start + 1..end - 1],
            escaped,
          },
        )
      }
      Some(b'-' | b'0'..=b'9') => {
        let end = scan_number(s, i)?;
        (end, FieldValue::Number(&s[start..end]))
      }
      Some(b'{') if steps.iter().any(|st| matches!(st, Step::Prefix(_))) => {
        let inner = std::array::from_fn(|k| match steps[k] {
          Step::Prefix(at) => Some(at),
          _ => None,
        });
        (self.members(s, i + 1, inner, fields)?, FieldValue::Other)
      }
      _ => (self.skip_value(s, i)?, FieldValue::Other),
    };
    for k in 0..N {
      if steps[k] == Step::Whole && self.level.as_slice() > self.ranks[k].as_slice() {
        fields[k] = value;
        self.ranks[k].clear();
        self.ranks[k].extend_from_slice(&self.level);
      }
    }
    self.level.pop();
    Some(end)
  }

  /// How a key relates to each field's path, and the key's length.
  #[inline]
  fn steps(&mut self, raw: &[u8], escaped: bool, rest: &[Option<usize>; N]) -> ([Step; N], u16) {
    let key: &[u8] = if escaped {
      if !unescape(raw, &mut self.key) {
        return ([Step::Off; N], 0);
      }
      &self.key
    } else {
      raw
    };
    let steps = std::array::from_fn(|k| {
      let Some(at) = rest[k] else { return Step::Off };
      let path = &self.paths[k][at..];
      if same(key, path) {
        Step::Whole
      } else if self.dotted[k] && path.len() > key.len() && path[key.len()] == b'.' && path.starts_with(key) {
        Step::Prefix(at + key.len() + 1)
      } else {
        Step::Off
      }
    });
    (steps, key.len().min(u16::MAX as usize) as u16)
  }

  /// Skips one JSON value of any depth starting at `i`, without recursion; returns the index
  /// after it, or `None` on a syntax error.
  fn skip_value(&mut self, s: &[u8], mut i: usize) -> Option<usize> {
    // One bit per open container (1 = object): the first 64 levels in a register, deeper ones
    // in `stack`.
    self.stack.clear();
    let mut bits = 0u64;
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
            self.push(&mut bits, &mut depth, true);
            i = expect_key(s, i)?;
            continue;
          }
        }
        b'[' => {
          i = skip_ws(s, i + 1);
          if s.get(i) == Some(&b']') {
            i += 1;
          } else {
            self.push(&mut bits, &mut depth, false);
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
        let in_object = bits & 1 != 0;
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
            self.pop(&mut bits, &mut depth);
          }
          b']' if !in_object => {
            i += 1;
            self.pop(&mut bits, &mut depth);
          }
          _ => return None,
        }
      }
    }
  }

  /// Opens a container: its kind becomes bit 0 of `bits`; the bit pushed out of the register
  /// goes to `stack`.
  #[inline(always)]
  fn push(&mut self, bits: &mut u64, depth: &mut usize, is_object: bool) {
    if *depth >= 64 {
      self.stack.push(*bits >> 63);
    }
    *bits = *bits << 1 | is_object as u64;
    *depth += 1;
  }

  #[inline(always)]
  fn pop(&mut self, bits: &mut u64, depth: &mut usize) {
    *depth -= 1;
    *bits >>= 1;
    if *depth >= 64 {
      *bits |= self.stack.pop().unwrap_or(0) << 63;
    }
  }
}

/// Byte equality for short keys, inlined (a `memcmp` call costs more than the comparison).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
  a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Expects `"key"` then `:` at `i`; returns the index after the colon.
#[inline(always)]
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
    let x = Box::leak(Box::new(FieldExtractor::new(FieldNames::default().paths())));
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
