//! The fast path for the original service's record layout:
//! `{"time":"YYYY-MM-DD HH:MM:SS","ip":"10.0.121.67","status_code":500}` — exactly the three
//! field names as keys (in any order, remembered from line to line), no whitespace, no escapes,
//! a plain 19-character time, an ASCII address and a plain integer status, with an optional
//! final `\r`.
//!
//! It decides a line in one pass, without building field values, and only when the line is
//! valid: anything else (other layouts, odd values, invalid records) returns `None` and the full
//! scan of [`crate::json_fields`] and [`crate::record`] decides, so both paths always agree.
//!
//! The keys are matched as raw bytes, which equals matching them after unescaping only when no
//! name needs escaping in JSON and no two names are the same: for other names there is no fast
//! path ([`CompactLayout::new`] returns `None`).

use crate::calendar::TimestampParser;
use crate::json_fields::FieldNames;
use crate::outcome::{element_hash, kept, kept_outcome, Outcome};
use crate::swar::{load8, plain_stops16, string_stops, HI};

/// Where a plain ASCII run of a string stops: `"`, `\`, control characters, and non-ASCII bytes
/// (the fast path leaves those to the full scan).
#[inline(always)]
fn plain_stops(w: u64) -> u64 {
  string_stops(w) | (w & HI)
}

/// A literal run of the layout (a key such as `"time":`, or `","ip":"` between two values),
/// compared with masked 8-byte loads when it is at most 24 bytes long.
struct Literal {
  bytes: Vec<u8>,
  words: [u64; 3],
  masks: [u64; 3],
}

impl Literal {
  fn new(bytes: Vec<u8>) -> Literal {
    let mut words = [0u64; 3];
    let mut masks = [0u64; 3];
    for (k, &b) in bytes.iter().take(24).enumerate() {
      words[k / 8] |= (b as u64) << (8 * (k % 8));
      masks[k / 8] |= 0xff << (8 * (k % 8));
    }
    Literal { bytes, words, masks }
  }

  fn key(name: &[u8]) -> Literal {
    Literal::new([b"\"".as_slice(), name, b"\":"].concat())
  }

  #[inline(always)]
  fn matches(&self, s: &[u8], at: usize) -> bool {
    let word = |k: usize| load8(s, at + 8 * k).map(|w| (w ^ self.words[k]) & self.masks[k]);
    match self.bytes.len() {
      0..=8 => word(0) == Some(0),
      9..=16 => matches!((word(0), word(1)), (Some(0), Some(0))),
      17..=24 => matches!((word(0), word(1), word(2)), (Some(0), Some(0), Some(0))),
      _ => s.get(at..at + self.bytes.len()) == Some(&self.bytes[..]),
    }
  }
}

/// Index of the closing quote of a plain ASCII string starting at `start`, or `None` if the
/// string has escapes, control or non-ASCII bytes, or is too close to the end of the line.
#[inline(always)]
fn plain_string_end(s: &[u8], start: usize) -> Option<usize> {
  let mut j = start;
  // Sixteen bytes at a time while they are there: the closing quote must come before any other
  // stop (a backslash, a control or non-ASCII byte), which the masks tell without a reload.
  while let Some((quotes, others)) = plain_stops16(s, j) {
    let (q, o) = (quotes.trailing_zeros(), others.trailing_zeros());
    if q < o {
      return Some(j + q as usize);
    }
    if o < 32 {
      return None;
    }
    j += 16;
  }
  loop {
    let stops = plain_stops(load8(s, j)?);
    if stops != 0 {
      let close = j + (stops.trailing_zeros() / 8) as usize;
      return (s[close] == b'"').then_some(close);
    }
    j += 8;
  }
}

/// A plain non-negative integer (1 to 9 digits, no leading zero) at `start`: its value and end.
#[inline(always)]
fn plain_integer(s: &[u8], start: usize) -> Option<(u32, usize)> {
  let mut i = start;
  let mut value = 0u32;
  while let Some(&d) = s.get(i) {
    let digit = d.wrapping_sub(b'0');
    if digit > 9 || i - start == 9 {
      break;
    }
    value = value * 10 + digit as u32;
    i += 1;
  }
  if i == start || (s[start] == b'0' && i - start > 1) {
    return None;
  }
  Some((value, i))
}

/// Which field a member of the layout holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
  Time = 0,
  Ip = 1,
  Status = 2,
}

/// The compact layout's keys and the key order of the last line it accepted.
pub struct CompactLayout {
  keys: [Literal; 3],
  order: [Slot; 3],
  /// The original order as three literals: `{"time":"`, `","ip":"`, `","status_code":`.
  canonical: [Literal; 3],
  /// Working-day records of any status give their element too ([`Outcome::Seen`]).
  pub all_users: bool,
}

impl CompactLayout {
  /// The layout for the given field names, or `None` when a name contains `"`, `\\` or a
  /// control character (its raw bytes are not its JSON spelling) or two names are the same (the
  /// full scan's last-wins rule cannot be followed in one pass).
  pub fn new(names: &FieldNames) -> Option<Self> {
    let plain = |name: &[u8]| !name.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20);
    if ![&names.time, &names.ip, &names.status].iter().all(|n| plain(n))
      || names.time == names.ip
      || names.time == names.status
      || names.ip == names.status
    {
      return None;
    }
    let cat = |parts: &[&[u8]]| Literal::new(parts.concat());
    Some(CompactLayout {
      keys: [
        Literal::key(&names.time),
        Literal::key(&names.ip),
        Literal::key(&names.status),
      ],
      order: [Slot::Time, Slot::Ip, Slot::Status],
      canonical: [
        cat(&[b"{\"", &names.time, b"\":\""]),
        cat(&[b"\",\"", &names.ip, b"\":\""]),
        cat(&[b"\",\"", &names.status, b"\":"]),
      ],
      all_users: false,
    })
  }

  /// The outcome of a valid compact line, or `None` to let the full scan decide.
  #[inline(always)]
  pub fn classify(&mut self, s: &[u8], timestamps: &mut TimestampParser, spill: &mut Vec<u8>) -> Option<Outcome> {
    if self.order == [Slot::Time, Slot::Ip, Slot::Status] {
      if let Some(outcome) = self.classify_canonical(s, timestamps, spill) {
        return Some(outcome);
      }
    }
    self.classify_any_order(s, timestamps, spill)
  }

  /// The original service's order, `{"time":"…","ip":"…","status_code":N}`, as straight-line
  /// checks of three literals and three values.
  #[inline(always)]
  fn classify_canonical(&mut self, s: &[u8], timestamps: &mut TimestampParser, spill: &mut Vec<u8>) -> Option<Outcome> {
    let [open, between, before_status] = &self.canonical;
    if !open.matches(s, 0) {
      return None;
    }
    let t = open.bytes.len();
    if s.get(t + 19) != Some(&b'"') || !between.matches(s, t + 19) {
      return None;
    }
    let ip_start = t + 19 + between.bytes.len();
    let ip_end = plain_string_end(s, ip_start)?;
    if !before_status.matches(s, ip_end) {
      return None;
    }
    let (status, end) = plain_integer(s, ip_end + before_status.bytes.len())?;
    match &s[end..] {
      [b'}'] | [b'}', b'\r'] => {}
      _ => return None,
    }
    let time = &s[t..t + 19];
    let ts = timestamps.parse(time)?;
    let error = (500..=599).contains(&status);
    if !kept(error, self.all_users, ts.weekday) {
      return Some(Outcome::Skipped);
    }
    let hash = element_hash(time, &s[ip_start..ip_end], spill);
    Some(kept_outcome(error, ts.hour, ts.day, hash))
  }

  /// Any key order (remembered for the next line).
  fn classify_any_order(&mut self, s: &[u8], timestamps: &mut TimestampParser, spill: &mut Vec<u8>) -> Option<Outcome> {
    let end = match s.last()? {
      b'}' => s.len() - 1,
      b'\r' if s.len() >= 2 && s[s.len() - 2] == b'}' => s.len() - 2,
      _ => return None,
    };
    if s[0] != b'{' {
      return None;
    }
    let mut order = self.order;
    let mut i = 1;
    let (mut time, mut ip, mut status) = (None, None, None);
    for member in 0..3 {
      if !self.keys[order[member] as usize].matches(s, i) {
        let other = (member + 1..3).find(|&k| self.keys[order[k] as usize].matches(s, i))?;
        order.swap(member, other);
      }
      let slot = order[member];
      i += self.keys[slot as usize].bytes.len();
      match slot {
        Slot::Time => {
          // A plain 19-character timestamp between quotes.
          if s.get(i) != Some(&b'"') || s.get(i + 20) != Some(&b'"') {
            return None;
          }
          time = Some(&s[i + 1..i + 20]);
          i += 21;
        }
        Slot::Ip => {
          if s.get(i) != Some(&b'"') {
            return None;
          }
          let close = plain_string_end(s, i + 1)?;
          ip = Some(&s[i + 1..close]);
          i = close + 1;
        }
        Slot::Status => {
          let (value, after) = plain_integer(s, i)?;
          status = Some(value);
          i = after;
        }
      }
      // Members are separated by ',' and the last one ends the object.
      if member < 2 {
        if s.get(i) != Some(&b',') {
          return None;
        }
        i += 1;
      } else if i != end {
        return None;
      }
    }
    let (time, ip, status) = (time?, ip?, status?);
    let ts = timestamps.parse(time)?;
    self.order = order;
    let error = (500..=599).contains(&status);
    if !kept(error, self.all_users, ts.weekday) {
      return Some(Outcome::Skipped);
    }
    let hash = element_hash(time, ip, spill);
    Some(kept_outcome(error, ts.hour, ts.day, hash))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::record::{RecordRule, RuleOptions};

  /// The fast path either declines or agrees with the full rule, with all users kept or not.
  fn agrees(lines: &[&str]) -> usize {
    let names = FieldNames::default();
    let mut timestamps = TimestampParser::default();
    let mut spill = Vec::new();
    let mut accepted = [0, 0];
    for all_users in [false, true] {
      let mut layout = CompactLayout::new(&names).unwrap();
      layout.all_users = all_users;
      for line in lines {
        let fast = layout.classify(line.as_bytes(), &mut timestamps, &mut spill);
        let full = RecordRule::new(RuleOptions {
          names: names.clone(),
          all_users,
          ..Default::default()
        })
        .classify(line.as_bytes());
        if let Some(fast) = fast {
          assert_eq!(fast, full, "{line}");
          accepted[all_users as usize] += 1;
        }
      }
    }
    assert_eq!(accepted[0], accepted[1]);
    accepted[0]
  }

  #[test]
  fn accepts_only_what_the_full_rule_agrees_with() {
    let accepted = agrees(&[
      r#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:55","ip":"10.0.121.67","status_code":200}"#,
      "{\"time\":\"2019-05-06 17:25:55\",\"ip\":\"10.0.121.67\",\"status_code\":503}\r",
      r#"{"ip":"10.0.121.67","status_code":500,"time":"2019-05-06 17:25:54"}"#,
      r#"{"status_code":502,"time":"2019-05-11 17:25:54","ip":"1.2.3.4"}"#,
      r#"{"time":"2019-05-06 24:25:54","ip":"10.0.121.67","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":0500}"#,
      r#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500} "#,
      r#"{"time":"2019-05-06 17:25:54","ip":"10.0.\u0031.67","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","ip":"x","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:54","time":"2019-05-06 17:25:54","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:54Z","ip":"10.0.121.67","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:54","ip":"é","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:54","ip":"","status_code":500}"#,
      r#"{"time":"2019-05-06 17:25:54","ip":"a","status_code":1234567890}"#,
    ]);
    assert_eq!(accepted, 6);
  }

  #[test]
  fn names_that_need_escaping_or_repeat_have_no_fast_path() {
    let with_ip = |ip: &[u8]| FieldNames {
      ip: ip.to_vec(),
      ..FieldNames::default()
    };
    assert!(CompactLayout::new(&with_ip(b"client")).is_some());
    assert!(CompactLayout::new(&with_ip("адрес".as_bytes())).is_some());
    for bad in [&b"i\\b"[..], b"i\"p", b"i\x08", b"time", b"status_code"] {
      assert!(CompactLayout::new(&with_ip(bad)).is_none(), "{bad:?}");
    }
    // The reproducer: the key `i\b` decodes to `i` + backspace, which is not the name `i\b`.
    let mut rule = RecordRule::new(RuleOptions {
      names: with_ip(b"i\\b"),
      ..Default::default()
    });
    let line = br#"{"time":"2019-05-06 17:25:54","i\b":"1.2.3.4","status_code":500}"#;
    assert_eq!(rule.classify(line), Outcome::Invalid(crate::outcome::Reason::MissingField));
  }
}
