//! The original service's two demo streams (`script_no_1.sh`, `script_no_2.sh`), byte-identical
//! to them under `TZ=UTC`, generated at memory speed for tests and benchmarks.

use crate::calendar::civil_from_days;

/// Which demo stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
  /// `ip = 10.0.(i*191 % 256).(i*219 % 250)`, `time = 1557824751 + i`,
  /// `status = (i*55/6 % 4 + 2)*100 + i*19 % 4`.
  One,
  /// `ip = 10.0.(i*19 % 256).(i*37 % 250)`, `time = 1420063200 + 2i`,
  /// `status = (i*8/6 % 4 + 2)*100 + i*13 % 4`.
  Two,
}

/// Appends lines `start .. start + count` (numbered from 1 in the original scripts) to `out`.
///
/// ```
/// let mut out = Vec::new();
/// loghour::demo::generate(loghour::demo::Pattern::One, 1, 1, &mut out);
/// assert_eq!(out, b"{\"time\":\"2019-05-14 09:05:52\",\"ip\":\"10.0.191.219\",\"status_code\":303}\n");
/// ```
pub fn generate(pattern: Pattern, start: u64, count: u64, out: &mut Vec<u8>) {
  out.reserve(count as usize * 72);
  for i in start..start + count {
    let (a, b, t, status) = match pattern {
      Pattern::One => (
        i * 191 % 256,
        i * 219 % 250,
        1_557_824_751 + i,
        (i * 55 / 6 % 4 + 2) * 100 + i * 19 % 4,
      ),
      Pattern::Two => (
        i * 19 % 256,
        i * 37 % 250,
        1_420_063_200 + 2 * i,
        (i * 8 / 6 % 4 + 2) * 100 + i * 13 % 4,
      ),
    };
    out.extend_from_slice(b"{\"time\":\"");
    push_utc(out, t);
    out.extend_from_slice(b"\",\"ip\":\"10.0.");
    push_int(out, a);
    out.push(b'.');
    push_int(out, b);
    out.extend_from_slice(b"\",\"status_code\":");
    push_int(out, status);
    out.extend_from_slice(b"}\n");
  }
}

fn push_int(out: &mut Vec<u8>, v: u64) {
  let mut buf = [0u8; 20];
  let mut n = buf.len();
  let mut v = v;
  loop {
    n -= 1;
    buf[n] = b'0' + (v % 10) as u8;
    v /= 10;
    if v == 0 {
      break;
    }
  }
  out.extend_from_slice(&buf[n..]);
}

fn push2(out: &mut Vec<u8>, v: u64) {
  out.push(b'0' + (v / 10) as u8);
  out.push(b'0' + (v % 10) as u8);
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix time in UTC.
fn push_utc(out: &mut Vec<u8>, t: u64) {
  let (y, m, d) = civil_from_days((t / 86_400) as i64);
  let s = t % 86_400;
  push2(out, y as u64 / 100);
  push2(out, y as u64 % 100);
  out.push(b'-');
  push2(out, m as u64);
  out.push(b'-');
  push2(out, d as u64);
  out.push(b' ');
  push2(out, s / 3600);
  out.push(b':');
  push2(out, s / 60 % 60);
  out.push(b':');
  push2(out, s % 60);
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn second_pattern_first_lines() {
    let mut out = Vec::new();
    generate(Pattern::Two, 1, 2, &mut out);
    assert_eq!(
      String::from_utf8(out).unwrap(),
      "{\"time\":\"2014-12-31 22:00:02\",\"ip\":\"10.0.19.37\",\"status_code\":301}\n\
       {\"time\":\"2014-12-31 22:00:04\",\"ip\":\"10.0.38.74\",\"status_code\":402}\n"
    );
  }
}
