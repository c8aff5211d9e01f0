//! What one line meant ([`Outcome`], [`Reason`]), the element hash of a counted line, and the
//! per-outcome line counts. A leaf module: the full scan ([`crate::record`]) and the fast path
//! ([`crate::compact`]) both produce these, and neither needs the other to do so.

use crate::hll::murmur64a;

/// Why a line is invalid. The discriminant is the index into [`Reason::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
  /// Not valid JSON.
  Json,
  /// Valid JSON, but not an object.
  NotObject,
  /// One of the three fields is absent at the top level.
  MissingField,
  /// `status_code` is not an integer, or `time`/`ip` is not a string.
  WrongType,
  /// Bytes that are not UTF-8 (or lone surrogate escapes) in `time` or `ip`; or a line that is
  /// neither valid JSON nor valid UTF-8.
  Utf8,
  /// `time` is not a valid timestamp (malformed, or an impossible date or time).
  BadTime,
  /// Longer than the line limit; skipped without being buffered.
  TooLong,
  /// Not a Common or Combined log line (with the `clf` format).
  Clf,
}

impl Reason {
  /// Every reason, in the order used by counters.
  pub const ALL: [Reason; 8] = [
    Reason::Json,
    Reason::NotObject,
    Reason::MissingField,
    Reason::WrongType,
    Reason::Utf8,
    Reason::BadTime,
    Reason::TooLong,
    Reason::Clf,
  ];

  /// The reason's name in JavaScript-facing statistics.
  pub fn name(self) -> &'static str {
    match self {
      Reason::Json => "json",
      Reason::NotObject => "notObject",
      Reason::MissingField => "missingField",
      Reason::WrongType => "wrongType",
      Reason::Utf8 => "utf8",
      Reason::BadTime => "badTime",
      Reason::TooLong => "tooLong",
      Reason::Clf => "clf",
    }
  }
}

/// What a line meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
  /// Only spaces, tabs and carriage returns: ignored.
  Blank,
  /// Well-formed, but not a 5xx on a working day.
  Skipped,
  /// Counted: the element's hash goes to the HLL of `hour` (and, with per-day sketches, to
  /// that of `day`, days since 1970-01-01 of the element's date).
  Counted { hour: u8, day: i32, hash: u64 },
  /// Malformed.
  Invalid(Reason),
  /// Last, so that the other kinds keep their slots as their order (see [`Outcome::slot`]).
  /// With all users on (`--all-users`): a working-day record that is not a 5xx, whose element
  /// goes to the hour's users HLL only. Counted in the line counts as skipped.
  Seen { hour: u8, day: i32, hash: u64 },
}

impl Outcome {
  /// Dense index of the outcome kind: blank 0, skipped 1, counted 2, invalid 3 + reason. Lets
  /// counters be one array increment instead of a branch per kind.
  #[inline(always)]
  pub fn slot(&self) -> usize {
    match *self {
      Outcome::Blank => 0,
      Outcome::Skipped | Outcome::Seen { .. } => 1,
      Outcome::Counted { .. } => 2,
      Outcome::Invalid(reason) => 3 + reason as usize,
    }
  }
}

/// Line counts by outcome, indexed by [`Outcome::slot`] so that counting a line is one array
/// increment. `total()` counts every non-blank line: `total == counted + skipped + invalid`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCounts([u64; 3 + Reason::ALL.len()]);

impl LineCounts {
  /// Counts one line's outcome.
  ///
  /// ```
  /// use loghour::outcome::{LineCounts, Outcome, Reason};
  /// let mut counts = LineCounts::default();
  /// counts.record(&Outcome::Skipped);
  /// counts.record(&Outcome::Invalid(Reason::Json));
  /// counts.record(&Outcome::Blank);
  /// assert_eq!((counts.total(), counts.skipped(), counts.invalid(Reason::Json)), (2, 1, 1));
  /// ```
  #[inline(always)]
  pub fn record(&mut self, outcome: &Outcome) {
    self.0[outcome.slot()] += 1;
  }

  /// Counts from their parts (e.g. read back from a snapshot); `invalid` is indexed like
  /// [`Reason::ALL`].
  pub fn from_parts(counted: u64, skipped: u64, blank: u64, invalid: [u64; Reason::ALL.len()]) -> Self {
    let mut slots = [0; 3 + Reason::ALL.len()];
    slots[..3].copy_from_slice(&[blank, skipped, counted]);
    slots[3..].copy_from_slice(&invalid);
    LineCounts(slots)
  }

  /// Adds other counts to these.
  pub fn add(&mut self, other: &LineCounts) {
    for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
      *a += b;
    }
  }

  /// Non-blank lines.
  pub fn total(&self) -> u64 {
    self.0[1..].iter().sum()
  }

  /// Working-day 5xx lines.
  pub fn counted(&self) -> u64 {
    self.0[2]
  }

  /// Well-formed lines that are not a working-day 5xx.
  pub fn skipped(&self) -> u64 {
    self.0[1]
  }

  /// Empty lines or lines of only spaces, tabs and carriage returns.
  pub fn blank(&self) -> u64 {
    self.0[0]
  }

  /// Lines invalid for `reason`.
  pub fn invalid(&self, reason: Reason) -> u64 {
    self.0[3 + reason as usize]
  }
}

/// Whether a well-formed record's element goes to a sketch: a working-day 5xx, or with all users
/// kept any working-day record. The status first: most records are not 5xx. One rule for the full
/// scan and the fast path, which hash the element only when this holds ([`kept_outcome`]).
#[inline(always)]
pub fn kept(error: bool, all_users: bool, weekday: u8) -> bool {
  (error || all_users) && weekday <= 5
}

/// The outcome of a kept record ([`kept`]): counted when a 5xx, seen otherwise.
#[inline(always)]
pub fn kept_outcome(error: bool, hour: u8, day: i32, hash: u64) -> Outcome {
  if error {
    Outcome::Counted { hour, day, hash }
  } else {
    Outcome::Seen { hour, day, hash }
  }
}

/// MurmurHash64A of the element `"YYYY-MM-DD HH_<ip>"` (date and hour exactly as written), built
/// on the stack unless the address is unusually long.
#[inline(always)]
pub fn element_hash(time: &[u8], ip: &[u8], spill: &mut Vec<u8>) -> u64 {
  const PREFIX: usize = 14; // "YYYY-MM-DD HH_"
  const CAP: usize = 80;
  if ip.len() > CAP {
    spill.clear();
    spill.extend_from_slice(&time[..10]);
    spill.push(b' ');
    spill.extend_from_slice(&time[11..13]);
    spill.push(b'_');
    spill.extend_from_slice(ip);
    return murmur64a(spill);
  }
  let mut buf = [0u8; PREFIX + CAP + 8];
  buf[..10].copy_from_slice(&time[..10]);
  buf[10] = b' ';
  buf[11..13].copy_from_slice(&time[11..13]);
  buf[13] = b'_';
  // Eight bytes at a time (fixed-size copies compile to single moves, not a memcpy call).
  let mut chunks = ip.chunks_exact(8);
  let mut at = PREFIX;
  for chunk in &mut chunks {
    buf[at..at + 8].copy_from_slice(chunk);
    at += 8;
  }
  for &b in chunks.remainder() {
    buf[at] = b;
    at += 1;
  }
  murmur64a(&buf[..at])
}
