//! Splitting a byte stream into lines across arbitrary chunk boundaries, with bounded memory.

use memchr::{memchr, memchr_iter};

/// One line of the stream, without its `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
  /// A line within the length limit.
  Text(&'a [u8]),
  /// A line longer than the limit; reported once, its bytes were never buffered.
  TooLong,
}

/// Splits chunks into lines, carrying a partial line across chunks. The carry never exceeds
/// `max_line_bytes`: an oversize line is reported as [`Line::TooLong`] as soon as it is known to
/// be too long and the rest of it is discarded up to its `\n`.
pub struct LineSplitter {
  carry: Vec<u8>,
  max_line_bytes: usize,
  discarding: bool,
}

/// A carry buffer that grew beyond this is released once its line is complete, so idle
/// connections do not keep their largest line's memory.
const KEEP_CAPACITY: usize = 16 * 1024;

impl LineSplitter {
  /// A splitter for lines of at most `max_line_bytes` bytes (excluding `\n`).
  ///
  /// ```
  /// use loghour::lines::{Line, LineSplitter};
  /// let mut s = LineSplitter::new(5);
  /// let mut seen = Vec::new();
  /// s.feed(b"ab\ncd", |l| seen.push(format!("{l:?}")));
  /// s.feed(b"e\ntoo long\nx", |l| seen.push(format!("{l:?}")));
  /// s.finish(|l| seen.push(format!("{l:?}")));
  /// assert_eq!(seen, ["Text([97, 98])", "Text([99, 100, 101])", "TooLong", "Text([120])"]);
  /// ```
  pub fn new(max_line_bytes: usize) -> Self {
    LineSplitter {
      carry: Vec::new(),
      max_line_bytes,
      discarding: false,
    }
  }

  /// Bytes of the partial line held from previous chunks.
  pub fn buffered(&self) -> usize {
    self.carry.len()
  }

  /// Feeds a chunk; calls `on_line` for every line it completes, in order.
  #[inline]
  pub fn feed(&mut self, chunk: &[u8], mut on_line: impl FnMut(Line<'_>)) {
    let mut rest = chunk;
    if self.discarding || !self.carry.is_empty() {
      let Some(nl) = memchr(b'\n', rest) else {
        self.hold(rest, &mut on_line);
        return;
      };
      if self.discarding {
        self.discarding = false;
      } else if self.carry.len() + nl > self.max_line_bytes {
        self.carry.clear();
        on_line(Line::TooLong);
      } else {
        self.carry.extend_from_slice(&rest[..nl]);
        on_line(Line::Text(&self.carry));
        self.release_carry();
      }
      rest = &rest[nl + 1..];
    }
    let mut start = 0;
    for nl in memchr_iter(b'\n', rest) {
      let line = &rest[start..nl];
      on_line(if line.len() > self.max_line_bytes {
        Line::TooLong
      } else {
        Line::Text(line)
      });
      start = nl + 1;
    }
    self.hold(&rest[start..], &mut on_line);
  }

  /// Ends the stream: the final line without `\n`, if any, is a line too.
  pub fn finish(&mut self, mut on_line: impl FnMut(Line<'_>)) {
    if !self.discarding && !self.carry.is_empty() {
      on_line(Line::Text(&self.carry));
    }
    self.discarding = false;
    self.release_carry();
  }

  /// Keeps an unterminated tail, or starts discarding once it is over the limit.
  fn hold(&mut self, tail: &[u8], on_line: &mut impl FnMut(Line<'_>)) {
    if self.discarding || tail.is_empty() {
      return;
    }
    if self.carry.len() + tail.len() > self.max_line_bytes {
      self.release_carry();
      self.discarding = true;
      on_line(Line::TooLong);
    } else {
      self.carry.extend_from_slice(tail);
    }
  }

  fn release_carry(&mut self) {
    if self.carry.capacity() > KEEP_CAPACITY {
      self.carry = Vec::new();
    } else {
      self.carry.clear();
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Splits `input` fed in pieces of `step` bytes; TooLong lines come back as "<too long>".
  fn split(input: &[u8], step: usize, max: usize) -> Vec<String> {
    let mut s = LineSplitter::new(max);
    let mut out = Vec::new();
    let mut push = |l: Line<'_>| {
      out.push(match l {
        Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
        Line::TooLong => "<too long>".into(),
      })
    };
    for piece in input.chunks(step.max(1)) {
      s.feed(piece, &mut push);
      assert!(s.buffered() <= max);
    }
    s.finish(&mut push);
    out
  }

  #[test]
  fn every_split_gives_the_same_lines() {
    let input = b"a\n\nbcdef\nghijklmnopq\nqr\n0123456789\nlast";
    let whole = split(input, input.len(), 10);
    assert_eq!(whole, ["a", "", "bcdef", "<too long>", "qr", "0123456789", "last"]);
    for step in 1..input.len() {
      assert_eq!(split(input, step, 10), whole, "step {step}");
    }
  }

  #[test]
  fn oversize_final_line_is_reported_once() {
    assert_eq!(split(b"ok\n0123456789AB", 3, 10), ["ok", "<too long>"]);
    assert_eq!(split(b"0123456789AB\n", 1, 10), ["<too long>"]);
  }
}
