//! NCSA Common and Combined log lines, the nginx and Apache defaults:
//! `host ident authuser [dd/Mon/yyyy:HH:MM:SS ±hhmm] "request" status bytes "referer" "agent"`.
//!
//! The client is the first field as written, the status the three digits after the quoted
//! request, the time the bracketed field; everything after the status is ignored. The request
//! may hold `\"` (Apache's escape) and `\x22` (nginx's), so a backslash always escapes the next
//! byte. The time is rewritten as `YYYY-MM-DD HH:MM:SS` so that the rest of the rule (weekday,
//! hour, the element's `YYYY-MM-DD HH` part) is the same as for JSON records.

/// The fields of a Common or Combined line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClfFields<'a> {
  /// The first field, as written.
  pub client: &'a [u8],
  /// The bracketed time as `YYYY-MM-DD HH:MM:SS` (its digits are checked; the date's validity is
  /// the timestamp parser's to decide).
  pub time: [u8; 19],
  /// The time's offset from UTC in minutes (validated; applied only when converting zones).
  pub offset_minutes: i16,
  /// The status, 100..=999 as written (three digits).
  pub status: u16,
  /// The quoted request as written, without its quotes (`GET /a?b=1 HTTP/1.1`; escapes kept).
  pub request: &'a [u8],
}

/// Why a line is not a Common or Combined line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClfError {
  /// The fields are not where the format puts them.
  Shape,
  /// The bracketed field has the time's shape but not a valid time (month name, digits, offset).
  BadTime,
}

const MONTHS: [&[u8; 3]; 12] = [
  b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Length of `dd/Mon/yyyy:HH:MM:SS ±hhmm`.
const TIME_LEN: usize = 26;

/// The end of the run of bytes other than a space starting at `at`, if it is not empty.
#[inline]
fn field_end(s: &[u8], at: usize) -> Option<usize> {
  let len = s.get(at..)?.iter().position(|&b| b == b' ').unwrap_or(s.len() - at);
  (len > 0).then_some(at + len)
}

/// Splits a Common or Combined line into the fields the counting rule reads.
///
/// ```
/// use loghour::clf::parse_clf;
/// let line = br#"127.0.0.4 - - [23/Nov/2026:09:15:00 -0500] "GET /e500 HTTP/1.1" 500 177 "-" "a \x22quoted\x22 agent""#;
/// let f = parse_clf(line).unwrap();
/// assert_eq!((f.client, &f.time, f.offset_minutes, f.status), (&b"127.0.0.4"[..], b"2026-11-23 09:15:00", -300, 500));
/// ```
pub fn parse_clf(line: &[u8]) -> Result<ClfFields<'_>, ClfError> {
  let line = line.strip_suffix(b"\r").unwrap_or(line);
  let client_end = field_end(line, 0).ok_or(ClfError::Shape)?;
  let ident_end = field_end(line, client_end + 1).ok_or(ClfError::Shape)?;
  let user_end = field_end(line, ident_end + 1).ok_or(ClfError::Shape)?;
  // ` [` time `] "`
  let open = user_end + 1;
  if line.get(open) != Some(&b'[') || line.get(open + 1 + TIME_LEN) != Some(&b']') {
    return Err(ClfError::Shape);
  }
  let raw: &[u8; TIME_LEN] = line[open + 1..open + 1 + TIME_LEN].try_into().map_err(|_| ClfError::Shape)?;
  let mut at = open + 2 + TIME_LEN;
  if line.get(at..at + 2) != Some(b" \"") {
    return Err(ClfError::Shape);
  }
  at += 2;
  let request_start = at;
  // The request, up to its unescaped closing quote (a backslash escapes the byte after it).
  loop {
    at += memchr::memchr2(b'"', b'\\', line.get(at..).ok_or(ClfError::Shape)?).ok_or(ClfError::Shape)?;
    if line[at] == b'"' {
      break;
    }
    at += 2;
  }
  let status = match line.get(at + 1..at + 5) {
    Some([b' ', a, b, c]) if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
      (a - b'0') as u16 * 100 + (b - b'0') as u16 * 10 + (c - b'0') as u16
    }
    _ => return Err(ClfError::Shape),
  };
  if !matches!(line.get(at + 5), None | Some(b' ')) {
    return Err(ClfError::Shape);
  }
  let (time, offset_minutes) = clf_time(raw).ok_or(ClfError::BadTime)?;
  Ok(ClfFields {
    client: &line[..client_end],
    time,
    offset_minutes,
    status,
    request: &line[request_start..at],
  })
}

/// `dd/Mon/yyyy:HH:MM:SS ±hhmm` as `YYYY-MM-DD HH:MM:SS` and the offset in minutes (the digits
/// are checked; the date's validity is the timestamp parser's to decide).
pub fn clf_time(t: &[u8; TIME_LEN]) -> Option<([u8; 19], i16)> {
  let digits = |range: std::ops::Range<usize>| t[range].iter().all(u8::is_ascii_digit);
  let shape = t[2] == b'/' && t[6] == b'/' && t[11] == b':' && t[14] == b':' && t[17] == b':' && t[20] == b' ';
  if !shape || !digits(0..2) || !digits(7..11) || !digits(12..14) || !digits(15..17) || !digits(18..20) || !digits(22..26) {
    return None;
  }
  let month = MONTHS.iter().position(|m| m[..] == t[3..6])? + 1;
  let sign = match t[21] {
    b'+' => 1,
    b'-' => -1,
    _ => return None,
  };
  let two = |at: usize| (t[at] - b'0') as i16 * 10 + (t[at + 1] - b'0') as i16;
  let (oh, om) = (two(22), two(24));
  if oh > 23 || om > 59 {
    return None;
  }
  let mut iso = *b"0000-00-00 00:00:00";
  iso[..4].copy_from_slice(&t[7..11]);
  iso[5] = b'0' + (month / 10) as u8;
  iso[6] = b'0' + (month % 10) as u8;
  iso[8..10].copy_from_slice(&t[0..2]);
  iso[11..19].copy_from_slice(&t[12..20]);
  Some((iso, sign * (oh * 60 + om)))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_nginx_and_apache_lines() {
    let nginx = br#"203.0.113.9 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 502 0 "-" "curl/8.5""#;
    let f = parse_clf(nginx).unwrap();
    assert_eq!(
      (f.client, &f.time, f.status),
      (&b"203.0.113.9"[..], b"2024-05-01 12:00:00", 502)
    );
    let apache = br#"::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a\"b HTTP/1.0" 200 2326"#;
    let f = parse_clf(apache).unwrap();
    assert_eq!((f.client, f.offset_minutes, f.status), (&b"::1"[..], -420, 200));
    // Common (no referer or agent), a final \r, and a status with nothing after it.
    assert!(parse_clf(b"h - - [10/Oct/2000:13:55:36 +0130] \"-\" 503\r").is_ok());
  }

  #[test]
  fn refuses_what_is_not_the_format() {
    use ClfError::*;
    for (line, error) in [
      (&b"h - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 200"[..], None),
      (b"h - [10/Oct/2000:13:55:36 -0700] \"GET /\" 200", Some(Shape)),
      (b"h - - 10/Oct/2000:13:55:36 -0700 \"GET /\" 200", Some(Shape)),
      (b"h - - [10/Oct/2000:13:55:36 -0700] \"GET / 200", Some(Shape)),
      (b"h - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 20", Some(Shape)),
      (b"h - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 2000", Some(Shape)),
      (b"h - - [10/Oct/2000:13:55:36 -0700] \"GET /\\\" 200", Some(Shape)),
      (b"h - - [10/oct/2000:13:55:36 -0700] \"GET /\" 200", Some(BadTime)),
      (b"h - - [10/Oct/2000:13:55:36 -2400] \"GET /\" 200", Some(BadTime)),
      (b"h - - [1x/Oct/2000:13:55:36 -0700] \"GET /\" 200", Some(BadTime)),
      (b"", Some(Shape)),
    ] {
      assert_eq!(parse_clf(line).err(), error, "{}", String::from_utf8_lossy(line));
    }
  }
}
