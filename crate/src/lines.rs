//! Splitting a byte stream into lines across arbitrary chunk boundaries, with bounded memory.

use memchr::memchr;

/// One line of the stream, without its `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
  /// A line within the length limit.
  Text(&'a [u8]),
  /// A line longer than the limit; reported once, its bytes were never buffered.
  TooLong,
}

/// Splits a byte stream into records across arbitrary chunk boundaries, with bounded memory:
/// by lines ([`LineSplitter`]) or by JSON structure ([`crate::framing::JsonStreamSplitter`]).
pub trait Splitter {
  /// Feeds a chunk; calls `on_line` for every record it completes, in order.
  fn feed(&mut self, chunk: &[u8], on_line: impl FnMut(Line<'_>));
  /// Ends the stream: an unfinished final record is a record too.
  fn end(&mut self, on_line: impl FnMut(Line<'_>));
  /// Bytes of the unfinished record held from previous chunks.
  fn buffered_bytes(&self) -> usize;
  /// Drops the unfinished record, if any, and frees its memory: the stream was cut off.
  fn discard(&mut self);
}

impl Splitter for LineSplitter {
  #[inline]
  fn feed(&mut self, chunk: &[u8], on_line: impl FnMut(Line<'_>)) {
    LineSplitter::feed(self, chunk, on_line)
  }
  fn end(&mut self, on_line: impl FnMut(Line<'_>)) {
    LineSplitter::end(self, on_line)
  }
  fn buffered_bytes(&self) -> usize {
    LineSplitter::buffered_bytes(self)
  }
  fn discard(&mut self) {
    LineSplitter::discard(self)
  }
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
  /// s.end(|l| seen.push(format!("{l:?}")));
  /// assert_eq!(seen, ["Text([97, 98])", "Text([99, 100, 101])", "TooLong", "Text([120])"]);
  /// ```
  pub fn new(max_line_bytes: usize) -> Self {
    LineSplitter {
      carry: Vec::new(),
      max_line_bytes,
      discarding: false,
    }
  }

  /// Bytes of the unfinished line held from previous chunks until its `\n`.
  pub fn buffered_bytes(&self) -> usize {
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
    for nl in Newlines::new(rest) {
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
  pub fn end(&mut self, mut on_line: impl FnMut(Line<'_>)) {
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

  /// Drops the partial line, if any, and frees its memory: the stream was cut off.
  pub fn discard(&mut self) {
    self.carry = Vec::new();
    self.discarding = false;
  }

  fn release_carry(&mut self) {
    if self.carry.capacity() > KEEP_CAPACITY {
      self.carry = Vec::new();
    } else {
      self.carry.clear();
    }
  }
}

/// Positions of `\n` in a chunk, found 64 bytes at a time: one bit mask per block, then one
/// bit per line (cheaper than a search call per line when lines are short).
struct Newlines<'a> {
  hay: &'a [u8],
  /// Start of the block `mask` describes.
  base: usize,
  mask: u64,
}

impl<'a> Newlines<'a> {
  fn new(hay: &'a [u8]) -> Self {
    Newlines {
      hay,
      base: 0,
      mask: block_mask(hay),
    }
  }
}

impl Iterator for Newlines<'_> {
  type Item = usize;

  #[inline(always)]
  fn next(&mut self) -> Option<usize> {
    while self.mask == 0 {
      self.base += 64;
      if self.base >= self.hay.len() {
        return None;
      }
      self.mask = block_mask(&self.hay[self.base..]);
    }
    let bit = self.mask.trailing_zeros() as usize;
    self.mask &= self.mask - 1;
    Some(self.base + bit)
  }
}

/// Bit `i` set when `block[i] == b'\n'`, for the first 64 bytes of `block`.
#[inline(always)]
fn block_mask(block: &[u8]) -> u64 {
  match block.first_chunk::<64>() {
    Some(full) => full_block_mask(full),
    None => block
      .iter()
      .enumerate()
      .fold(0, |m, (i, &b)| m | (((b == b'\n') as u64) << i)),
  }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn full_block_mask(block: &[u8; 64]) -> u64 {
  use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
  // SAFETY: SSE2 is part of the x86_64 baseline, and the four unaligned 16-byte loads read
  // exactly the 64 bytes of `block`.
  unsafe {
    let newline = _mm_set1_epi8(b'\n' as i8);
    let p = block.as_ptr() as *const __m128i;
    let m = |k: usize| _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(p.add(k)), newline)) as u16 as u64;
    m(0) | m(1) << 16 | m(2) << 32 | m(3) << 48
  }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn full_block_mask(block: &[u8; 64]) -> u64 {
  swar_block_mask(block)
}

/// The portable form of [`full_block_mask`]: eight bytes at a time, exact in every lane.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn swar_block_mask(block: &[u8; 64]) -> u64 {
  use crate::swar::{HI, LO};
  let mut mask = 0u64;
  for (k, word) in block.chunks_exact(8).enumerate() {
    let y = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ (LO * b'\n' as u64);
    // High bit set in each lane that is non-zero; no carry crosses lanes.
    let nonzero = ((y & !HI) + !HI) | y;
    let newlines = !nonzero & HI;
    // Gather the eight lane flags (bits 7, 15, …, 63) into one byte.
    let byte = ((newlines >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) & 0xff;
    mask |= byte << (8 * k);
  }
  mask
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
      assert!(s.buffered_bytes() <= max);
    }
    s.end(&mut push);
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
  fn newline_positions_match_a_plain_search() {
    let mut hay = Vec::new();
    for i in 0..1000usize {
      hay.push(if (i * 7919) % 13 == 0 || i % 64 == 63 || i % 64 == 0 {
        b'\n'
      } else {
        b'a' + (i % 26) as u8
      });
    }
    for len in [0, 1, 63, 64, 65, 127, 128, 129, 1000] {
      let want: Vec<usize> = hay[..len]
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
      assert_eq!(Newlines::new(&hay[..len]).collect::<Vec<_>>(), want, "len {len}");
    }
  }

  #[test]
  fn portable_block_mask_matches_a_plain_search() {
    let mut block = [0u8; 64];
    for seed in 0..2000u64 {
      for (i, b) in block.iter_mut().enumerate() {
        let r = (seed
          .wrapping_mul(6364136223846793005)
          .wrapping_add(i as u64 * 1442695040888963407))
          >> 33;
        *b = [b'\n', 0x0b, 0x09, 0x8a, 0x00, b'a', 0xff, 0x0a ^ 0x80][(r % 8) as usize];
      }
      let want = block
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &b)| m | (((b == b'\n') as u64) << i));
      assert_eq!(swar_block_mask(&block), want);
      assert_eq!(full_block_mask(&block), want);
    }
  }

  #[test]
  fn oversize_final_line_is_reported_once() {
    assert_eq!(split(b"ok\n0123456789AB", 3, 10), ["ok", "<too long>"]);
    assert_eq!(split(b"0123456789AB\n", 1, 10), ["<too long>"]);
  }
}
