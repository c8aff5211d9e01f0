//! The original service's two demo streams (`script_no_1.sh`, `script_no_2.sh`), byte-identical
//! to them under `TZ=UTC`, generated at memory speed for tests and benchmarks; and a third, a web
//! shop's working days with a `path`, where the hour with the most users hurt is not the hour
//! with the largest share hurt (docs/share.md).

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
  /// Four weeks of working days from Monday 2026-11-23 (UTC), busiest around 14:00; `path` is one
  /// of four routes. At 14:00 checkout (`/api/cart`) fails for 1 request in 6: the most users
  /// hurt. At 03:00 the nightly reports (`/api/report/<16 hex>`) fail for 1 in 5 of few users: the
  /// largest share. Elsewhere 1 request in 251 fails.
  Shop,
}

/// Requests per hour of the shop's day (relative): quiet nights, a peak in the afternoon.
const SHOP_TRAFFIC: [u64; 24] = [
  4, 3, 3, 4, 3, 4, 8, 16, 28, 36, 40, 42, 44, 48, 60, 50, 44, 40, 34, 28, 20, 14, 9, 6,
];
const SHOP_DAY_LINES: u64 = {
  let mut sum = 0;
  let mut h = 0;
  while h < 24 {
    sum += SHOP_TRAFFIC[h];
    h += 1;
  }
  sum
};

/// Longest demo line, `\n` included: the output of `count` lines fits in `count * MAX_LINE_BYTES`.
const MAX_LINE_BYTES: usize = 112;

/// Most lines one call generates: the output (at most ~720 MB) is allocated up front.
pub const MAX_LINES_PER_CALL: u64 = 10_000_000;

/// Why no lines were generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoError {
  /// More than [`MAX_LINES_PER_CALL`] lines were asked for.
  TooMany(u64),
  /// The output buffer could not be allocated.
  NoMemory(usize),
}

impl std::fmt::Display for DemoError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match self {
      DemoError::TooMany(n) => write!(f, "at most {MAX_LINES_PER_CALL} lines per call, got {n}"),
      DemoError::NoMemory(bytes) => write!(f, "cannot allocate {bytes} bytes for the demo lines"),
    }
  }
}

/// Appends lines `start .. start + count` (numbered from 1 in the original scripts) to `out`.
/// The memory is reserved first, so a request that cannot be met fails instead of aborting.
///
/// ```
/// let mut out = Vec::new();
/// loghour::demo::generate(loghour::demo::Pattern::One, 1, 1, &mut out).unwrap();
/// assert_eq!(out, b"{\"time\":\"2019-05-14 09:05:52\",\"ip\":\"10.0.191.219\",\"status_code\":303}\n");
/// ```
pub fn generate(pattern: Pattern, start: u64, count: u64, out: &mut Vec<u8>) -> Result<(), DemoError> {
  if count > MAX_LINES_PER_CALL {
    return Err(DemoError::TooMany(count));
  }
  let bytes = count as usize * MAX_LINE_BYTES;
  out.try_reserve_exact(bytes).map_err(|_| DemoError::NoMemory(bytes))?;
  if pattern == Pattern::Shop {
    (start..start + count).for_each(|i| shop_line(i, out));
    return Ok(());
  }
  for i in start..start + count {
    let (a, b, t, status) = match pattern {
      Pattern::Shop => unreachable!(),
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
  Ok(())
}

/// Line `i` of the shop: its hour by the traffic table, its day among 20 working days, its user,
/// route and status from the line number alone (the same line every time).
fn shop_line(i: u64, out: &mut Vec<u8>) {
  let mut at = i % SHOP_DAY_LINES;
  let mut hour = 0;
  while at >= SHOP_TRAFFIC[hour] {
    at -= SHOP_TRAFFIC[hour];
    hour += 1;
  }
  let hour = hour as u64;
  let working_day = (i / SHOP_DAY_LINES) % 20;
  // 2026-11-23, a Monday, is day 20_780 since 1970-01-01.
  let day = 20_780 + working_day / 5 * 7 + working_day % 5;
  let t = day * 86_400 + hour * 3600 + i * 37 % 3600;
  let route = if hour == 3 && i % 5 < 4 { 3 } else { i * 7 % 10 / 3 };
  let fails = match (hour, route) {
    (14, 0) => i % 6 == 5,
    (3, 3) => i % 5 == 0,
    _ => i % 251 == 17,
  };
  let status = if fails {
    500 + i % 4
  } else {
    [200, 200, 304, 404][(i % 4) as usize]
  };
  out.extend_from_slice(b"{\"time\":\"");
  push_utc(out, t);
  out.extend_from_slice(b"\",\"ip\":\"10.");
  push_int(out, 1 + i % 3);
  out.push(b'.');
  push_int(out, i * 97 % 256);
  out.push(b'.');
  push_int(out, i * 61 % 250);
  out.extend_from_slice(b"\",\"status_code\":");
  push_int(out, status);
  out.extend_from_slice(b",\"path\":\"");
  match route {
    0 => out.extend_from_slice(b"/api/cart"),
    1 => {
      out.extend_from_slice(b"/api/users/");
      push_int(out, i % 100_000);
    }
    2 => out.extend_from_slice(b"/api/search?q=shoes"),
    _ => {
      out.extend_from_slice(b"/api/report/");
      out.extend_from_slice(format!("{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).as_bytes());
    }
  }
  out.extend_from_slice(b"\"}\n");
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
    generate(Pattern::Two, 1, 2, &mut out).unwrap();
    assert_eq!(
      String::from_utf8(out).unwrap(),
      "{\"time\":\"2014-12-31 22:00:02\",\"ip\":\"10.0.19.37\",\"status_code\":301}\n\
       {\"time\":\"2014-12-31 22:00:04\",\"ip\":\"10.0.38.74\",\"status_code\":402}\n"
    );
  }

  #[test]
  fn refuses_more_lines_than_it_may_allocate() {
    let mut out = Vec::new();
    assert_eq!(
      generate(Pattern::One, 1, u32::MAX as u64, &mut out),
      Err(DemoError::TooMany(u32::MAX as u64))
    );
    assert!(out.is_empty() && out.capacity() == 0);
  }

  #[test]
  fn lines_never_exceed_the_reserved_size() {
    for pattern in [Pattern::One, Pattern::Two, Pattern::Shop] {
      let mut out = Vec::new();
      // The last line numbers the API allows have the longest timestamps and addresses.
      generate(pattern, 100_000_000_000 - 9_999, 10_000, &mut out).unwrap();
      assert!(out.split(|&b| b == b'\n').all(|l| l.len() < MAX_LINE_BYTES));
    }
  }
}
