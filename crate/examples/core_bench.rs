//! Single-thread throughput of the native core on `gen` pattern-1 data held in memory.
//!
//! `cargo run --release --example core_bench -- [LINES] [RUNS]` prints one JSON object per
//! measurement (min/median/max over RUNS after a warm-up), for `npm run bench` to collect.
use std::time::Instant;

use loghour::demo::{generate, Pattern, MAX_LINES_PER_CALL};
use loghour::sketch::{HourlySketch, LineStream};

/// One measured workload: a name and a closure returning a check value.
type Workload<'a> = (&'a str, Box<dyn FnMut() -> u64 + 'a>);

/// Runs every workload once to warm up, then `runs` rounds of each in turn (interleaved, so that
/// the machine's drift affects them alike), and prints min/median/max per workload.
fn measure_interleaved(data: &[u8], lines: u64, runs: usize, mut workloads: Vec<Workload<'_>>) {
  let checks: Vec<u64> = workloads.iter_mut().map(|(_, f)| f()).collect();
  let mut secs = vec![Vec::new(); workloads.len()];
  for _ in 0..runs {
    for (k, (_, f)) in workloads.iter_mut().enumerate() {
      let t = Instant::now();
      std::hint::black_box(f());
      secs[k].push(t.elapsed().as_secs_f64());
    }
  }
  for (k, (name, _)) in workloads.iter().enumerate() {
    let s = &mut secs[k];
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mbps = |x: f64| data.len() as f64 / x / 1e6;
    let lps = |x: f64| lines as f64 / x;
    println!(
      "{{\"name\":\"{name}\",\"bytes\":{},\"lines\":{lines},\"runs\":{runs},\"check\":{},\
       \"mbps\":{{\"min\":{:.1},\"median\":{:.1},\"max\":{:.1}}},\
       \"lps\":{{\"min\":{:.0},\"median\":{:.0},\"max\":{:.0}}}}}",
      data.len(),
      checks[k],
      mbps(s[runs - 1]),
      mbps(s[runs / 2]),
      mbps(s[0]),
      lps(s[runs - 1]),
      lps(s[runs / 2]),
      lps(s[0]),
    );
  }
}

fn scan(data: &[u8], chunk: usize) -> u64 {
  let mut sketch = HourlySketch::new();
  let mut stream = LineStream::new(65536, Default::default());
  for piece in data.chunks(chunk) {
    stream.feed(piece, &mut sketch);
  }
  stream.end(&mut sketch);
  sketch.line_counts().counted()
}

fn main() {
  let mut args = std::env::args().skip(1);
  let lines: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
  let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
  let mut data = Vec::new();
  for start in (1..=lines).step_by(MAX_LINES_PER_CALL as usize) {
    generate(Pattern::One, start, MAX_LINES_PER_CALL.min(lines + 1 - start), &mut data).expect("demo lines");
  }

  if std::env::var("ONCE").is_ok_and(|v| v == "gen") {
    println!("{}", data.len());
    return;
  }
  if std::env::var("ONCE").is_ok() {
    // For instruction counting under valgrind: one scan, nothing else.
    let mut sketch = HourlySketch::new();
    let mut stream = LineStream::new(65536, Default::default());
    for chunk in data.chunks(65536) {
      stream.feed(chunk, &mut sketch);
    }
    println!("{}", sketch.line_counts().counted());
    return;
  }
  measure_interleaved(
    &data,
    lines,
    runs,
    vec![
      (
        "memchr line count",
        Box::new(|| memchr::memchr_iter(b'\n', &data).count() as u64),
      ),
      (
        "core scan (split + validate + filter + sketch), 64 KiB chunks",
        Box::new(|| scan(&data, 65536)),
      ),
      ("core scan, whole buffer", Box::new(|| scan(&data, data.len()))),
    ],
  );
}
