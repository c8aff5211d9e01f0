//! Byte tests on eight bytes at once ("SIMD within a register"), shared by the hot paths.
//! Each flag is the high bit of a byte lane; borrows and carries only ever flag lanes above a
//! true match, so the lowest flag is always exact.

/// 0x01 in every byte lane.
pub const LO: u64 = 0x0101_0101_0101_0101;
/// 0x80 in every byte lane.
pub const HI: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `at` as a little-endian word, if the slice has them.
#[inline(always)]
pub fn load8(s: &[u8], at: usize) -> Option<u64> {
  Some(u64::from_le_bytes(s.get(at..at + 8)?.try_into().ok()?))
}

/// Flags the lanes of `w` that are `"`, `\` or a control character (< 0x20): where a plain run
/// of a JSON string stops.
///
/// ```
/// use loghour::swar::string_stops;
/// let w = u64::from_le_bytes(*b"ab\"cdefg");
/// assert_eq!(string_stops(w).trailing_zeros() / 8, 2);
/// ```
#[inline(always)]
pub fn string_stops(w: u64) -> u64 {
  let quote = w ^ (LO * b'"' as u64);
  let backslash = w ^ (LO * b'\\' as u64);
  let zero_quote = quote.wrapping_sub(LO) & !quote;
  let zero_backslash = backslash.wrapping_sub(LO) & !backslash;
  let control = w.wrapping_sub(LO * 0x20) & !w;
  (zero_quote | zero_backslash | control) & HI
}

/// For the 16 bytes at `at`: a bit mask of the `"` bytes and one of the `\\` and control bytes
/// (bit k = byte `at + k`), so a string scan knows whether its first stop closes the string
/// without loading that byte again; `None` when the slice has fewer than 16 bytes there.
///
/// ```
/// let (quotes, others) = loghour::swar::string_stops16(b"ab\"c\\d\n.........", 0).unwrap();
/// assert_eq!((quotes.trailing_zeros(), others.trailing_zeros(), others >> 6 & 1), (2, 4, 1));
/// ```
#[inline(always)]
pub fn string_stops16(s: &[u8], at: usize) -> Option<(u32, u32)> {
  let block: &[u8; 16] = s.get(at..at + 16)?.try_into().ok()?;
  let (quotes, others, _) = block_string_stops(block);
  Some((quotes, others))
}

/// Like [`string_stops16`], with non-ASCII bytes counted among the other stops (the compact fast
/// path leaves those to the full scan).
///
/// ```
/// let (quotes, others) = loghour::swar::plain_stops16("10.0.é\"…………".as_bytes(), 0).unwrap();
/// assert!(others.trailing_zeros() < quotes.trailing_zeros()); // é comes first
/// ```
#[inline(always)]
pub fn plain_stops16(s: &[u8], at: usize) -> Option<(u32, u32)> {
  let block: &[u8; 16] = s.get(at..at + 16)?.try_into().ok()?;
  let (quotes, others, high) = block_string_stops(block);
  Some((quotes, others | high))
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_string_stops(block: &[u8; 16]) -> (u32, u32, u32) {
  use std::arch::x86_64::{
    __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
  };
  // SAFETY: SSE2 is part of the x86_64 baseline; one unaligned load of exactly `block`.
  unsafe {
    let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
    // A control byte is one with min(b, 0x1f) == b (unsigned).
    let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
    (
      _mm_movemask_epi8(quote) as u32,
      _mm_movemask_epi8(_mm_or_si128(backslash, control)) as u32,
      _mm_movemask_epi8(v) as u32,
    )
  }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn block_string_stops(block: &[u8; 16]) -> (u32, u32, u32) {
  let mut masks = (0, 0, 0);
  for (k, &b) in block.iter().enumerate() {
    masks.0 |= ((b == b'"') as u32) << k;
    masks.1 |= ((b == b'\\' || b < 0x20) as u32) << k;
    masks.2 |= ((b >= 0x80) as u32) << k;
  }
  masks
}

/// Lanes of `x` selected by `mask` (0xff each) that are not ASCII digits (nonzero if any).
#[inline(always)]
pub fn non_digits(x: u64, mask: u64) -> u64 {
  let y = x ^ (LO * 0x30); // digits become 0..=9
  ((y & (LO * 0xf0)) | (((y & (LO * 0x0f)) + LO * 0x06) & (LO * 0x10))) & mask
}
