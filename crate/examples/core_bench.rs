//! Single-thread throughput of the native core on `gen` pattern-1 data held in memory.
//!
//! `cargo run --release --example core_bench -- [LINES] [RUNS]` prints one JSON object per
//! measurement (min/median/max over RUNS after a warm-up), for `npm run bench` to collect.
use std::time::Instant;

use loghour::demo::{generate, Pattern, MAX_LINES_PER_CALL};
use loghour::detect::command_line_auto;
use loghour::json_fields::FieldNames;
use loghour::record::{Format, RuleOptions};
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

/// How each workload reads its data: the original layout, Combined lines or ECS records, with or
/// without the team's zone.
fn rule(format: &str, zone: bool) -> RuleOptions {
  let mut options = match format {
    "clf" => RuleOptions {
      format: Format::Clf,
      ..Default::default()
    },
    "ecs" => RuleOptions {
      strict: false,
      names: FieldNames {
        time: b"@timestamp".to_vec(),
        ip: b"source.ip".to_vec(),
        status: b"http.response.status_code".to_vec(),
      },
      ..Default::default()
    },
    _ => RuleOptions::default(),
  };
  if zone {
    options.zone = loghour::zone::time_zone("Europe/Berlin");
  }
  options
}

/// Routes of the grouped workload.
const ROUTES: usize = 1000;

/// The rule with every working-day user counted too.
fn all_users(options: RuleOptions) -> RuleOptions {
  RuleOptions {
    all_users: true,
    ..options
  }
}

fn scan_into_sketch(sketch: &mut HourlySketch, data: &[u8], options: RuleOptions) {
  let mut stream = LineStream::new(65536, options);
  for piece in data.chunks(65536) {
    stream.feed(piece, sketch);
  }
  stream.end(sketch);
}

/// [`as_combined`] with each request to one of `routes` routes (`/shop/<k>/items/<id>?page=2`:
/// the id becomes `:id`, `k` tells the routes apart).
fn as_combined_routes(json_lines: &[u8], routes: usize) -> Vec<u8> {
  let plain = as_combined(json_lines);
  let mut out = Vec::with_capacity(plain.len() + plain.len() / 8);
  for (k, line) in plain.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
    let text = std::str::from_utf8(line).expect("ASCII");
    let route = format!("/shop/s{}/items/{}?page=2", (k * 7919 + k / 24) % routes, k % 9973);
    out.extend_from_slice(text.replacen("/api/v1/items?page=2", &route, 1).as_bytes());
    out.push(b'\n');
  }
  out
}

fn scan(data: &[u8], chunk: usize, options: RuleOptions) -> u64 {
  scan_into(HourlySketch::new(), data, chunk, options)
}

fn scan_into(mut sketch: HourlySketch, data: &[u8], chunk: usize, options: RuleOptions) -> u64 {
  let mut stream = LineStream::new(65536, options);
  for piece in data.chunks(chunk) {
    stream.feed(piece, &mut sketch);
  }
  stream.end(&mut sketch);
  sketch.line_counts().counted()
}

/// The same requests as nginx's default `combined` log writes them (same client, time, status, so
/// the same elements), with a typical request, size, referer and user agent.
fn as_combined(json_lines: &[u8]) -> Vec<u8> {
  const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  ];
  let mut out = Vec::with_capacity(json_lines.len() * 2);
  for line in json_lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
    // {"time":"2019-05-14 09:05:52","ip":"10.0.191.219","status_code":303}
    let text = std::str::from_utf8(line).expect("demo lines are ASCII");
    let time = &text[9..28];
    let ip_end = text[36..].find('"').expect("ip") + 36;
    let (ip, status) = (&text[36..ip_end], &text[ip_end + 16..text.len() - 1]);
    let month = MONTHS[time[5..7].parse::<usize>().expect("month") - 1];
    out.extend_from_slice(
      format!(
        "{ip} - - [{}/{month}/{}:{} +0000] \"GET /api/v1/items?page=2 HTTP/1.1\" {status} 5120 \"https://example.com/\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0\"\n",
        &time[8..10],
        &time[0..4],
        &time[11..19]
      )
      .as_bytes(),
    );
  }
  out
}

/// The same requests as Elastic Common Schema events, shaped like the example event of Filebeat's
/// nginx access integration (agent, log, event, source, url, http, user_agent, ecs; the raw line
/// in `event.original`), `@timestamp` in UTC with milliseconds: about 1 KB per record.
fn as_ecs(json_lines: &[u8]) -> Vec<u8> {
  let combined = as_combined(json_lines);
  let mut out = Vec::with_capacity(json_lines.len() * 14);
  for (line, original) in json_lines
    .split(|&b| b == b'\n')
    .filter(|l| !l.is_empty())
    .zip(combined.split(|&b| b == b'\n'))
  {
    let text = std::str::from_utf8(line).expect("demo lines are ASCII");
    let time = &text[9..28];
    let ip_end = text[36..].find('"').expect("ip") + 36;
    let (ip, status) = (&text[36..ip_end], &text[ip_end + 16..text.len() - 1]);
    let original = std::str::from_utf8(original).expect("ASCII").replace('"', "\\\"");
    out.extend_from_slice(
      format!(
        concat!(
          r#"{{"@timestamp":"{date}T{clock}.000Z","agent":{{"hostname":"web-1","name":"web-1","id":"3987d2b3-b40a-4aa0-99fc-478f9d7079ea","type":"filebeat","version":"8.11.0"}},"#,
          r#""log":{{"file":{{"path":"/var/log/nginx/access.log"}},"offset":1234567}},"#,
          r#""event":{{"dataset":"nginx.access","module":"nginx","category":["web"],"type":["access"],"outcome":"success","original":"{original}"}},"#,
          r#""source":{{"address":"{ip}","ip":"{ip}"}},"url":{{"original":"/api/v1/items?page=2","path":"/api/v1/items","query":"page=2"}},"#,
          r#""http":{{"version":"1.1","request":{{"method":"GET","referrer":"https://example.com/"}},"response":{{"status_code":{status},"body":{{"bytes":5120}}}}}},"#,
          r#""user_agent":{{"original":"Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0","name":"Firefox","version":"126.0","os":{{"name":"Linux"}}}},"#,
          r#""ecs":{{"version":"8.11.0"}},"host":{{"name":"web-1"}},"input":{{"type":"log"}}}}"#,
          "\n"
        ),
        date = &time[0..10],
        clock = &time[11..19],
        original = original,
        ip = ip,
        status = status,
      )
      .as_bytes(),
    );
  }
  out
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
  if let Ok(format @ ("clf" | "ecs")) = std::env::var("ONCE").as_deref() {
    // For profiling one format: ten scans of it, nothing else.
    let input = if format == "clf" { as_combined(&data) } else { as_ecs(&data) };
    let zone = std::env::var("ZONE").is_ok();
    println!("{}", (0..10).map(|_| scan(&input, 65536, rule(format, zone))).sum::<u64>());
    return;
  }
  if std::env::var("ONCE").is_ok_and(|v| v == "groups") {
    // For profiling --group-by path: ten scans of Combined lines to 1,000 routes, nothing else.
    let routed = as_combined_routes(&data, ROUTES);
    let options = || RuleOptions {
      group_by: Some(b"path".to_vec()),
      ..rule("clf", false)
    };
    let counted: u64 = (0..10)
      .map(|_| scan_into(HourlySketch::new().with_groups(1000), &routed, 65536, options()))
      .sum();
    println!("{counted}");
    return;
  }
  if std::env::var("ONCE").is_ok_and(|v| v == "users") {
    // For profiling every user counted: ten scans with them, nothing else.
    let counted: u64 = (0..10)
      .map(|_| scan_into(HourlySketch::new().with_users(), &data, 65536, all_users(rule("json", false))))
      .sum();
    println!("{counted}");
    return;
  }
  if let Ok(kind @ ("daily" | "plain")) = std::env::var("ONCE").as_deref() {
    // For profiling per-day sketches: ten scans with them (or without), nothing else.
    let sketch = || {
      if kind == "daily" {
        HourlySketch::with_daily()
      } else {
        HourlySketch::new()
      }
    };
    let counted: u64 = (0..10).map(|_| scan_into(sketch(), &data, 65536, rule("json", false))).sum();
    println!("{counted}");
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
        Box::new(|| scan(&data, 65536, rule("json", false))),
      ),
      (
        "core scan, --format auto (decided: original), 64 KiB chunks",
        Box::new(|| scan(&data, 65536, command_line_auto())),
      ),
      (
        "core scan, whole buffer",
        Box::new(|| scan(&data, data.len(), rule("json", false))),
      ),
      (
        "core scan, --timezone Europe/Berlin, 64 KiB chunks",
        Box::new(|| scan(&data, 65536, rule("json", true))),
      ),
      (
        "core scan, --daily (per-day sketches too), 64 KiB chunks",
        Box::new(|| scan_into(HourlySketch::with_daily(), &data, 65536, rule("json", false))),
      ),
      (
        "core scan, --all-users (every working-day line hashed), 64 KiB chunks",
        Box::new(|| scan_into(HourlySketch::new().with_users(), &data, 65536, all_users(rule("json", false)))),
      ),
    ],
  );
  // The same requests as Combined lines to 1,000 routes: --group-by path against the same lines
  // without it, and what the 1,000 routes' sketches hold.
  let routed = as_combined_routes(&data, ROUTES);
  let grouped = || RuleOptions {
    group_by: Some(b"path".to_vec()),
    ..rule("clf", false)
  };
  let mut sketch = HourlySketch::new().with_groups(1000);
  scan_into_sketch(&mut sketch, &routed, grouped());
  let groups = sketch.groups().expect("groups kept");
  println!(
    "{{\"name\":\"group memory\",\"values\":{},\"bytes\":{},\"other\":{}}}",
    groups.len(),
    groups.bytes(),
    groups.other_records()
  );
  drop(sketch);
  measure_interleaved(
    &routed,
    lines,
    runs,
    vec![
      (
        "core scan, Combined lines to 1,000 routes, 64 KiB chunks",
        Box::new(|| scan(&routed, 65536, rule("clf", false))),
      ),
      (
        "core scan, Combined lines to 1,000 routes, --group-by path",
        Box::new(|| scan_into(HourlySketch::new().with_groups(1000), &routed, 65536, grouped())),
      ),
    ],
  );
  drop(routed);
  // The same requests as Combined lines: longer lines, so MB/s is compared like for like.
  let combined = as_combined(&data);
  let counted = scan(&data, 65536, rule("json", false));
  assert_eq!(scan(&combined, 65536, rule("clf", false)), counted, "same counted lines");
  assert_eq!(
    scan(&combined, 65536, command_line_auto()),
    counted,
    "auto reads them as Combined lines"
  );
  measure_interleaved(
    &combined,
    lines,
    runs,
    vec![
      (
        "core scan, Combined lines (--format clf), 64 KiB chunks",
        Box::new(|| scan(&combined, 65536, rule("clf", false))),
      ),
      (
        "core scan, Combined lines, --timezone Europe/Berlin",
        Box::new(|| scan(&combined, 65536, rule("clf", true))),
      ),
      (
        "core scan, Combined lines, --format auto (decided: combined)",
        Box::new(|| scan(&combined, 65536, command_line_auto())),
      ),
    ],
  );
  drop(combined);
  let ecs = as_ecs(&data);
  assert_eq!(scan(&ecs, 65536, rule("ecs", false)), counted, "same counted lines");
  assert_eq!(scan(&ecs, 65536, command_line_auto()), counted, "auto reads them as ECS");
  measure_interleaved(
    &ecs,
    lines,
    runs,
    vec![
      (
        "core scan, ECS events (--schema ecs; Filebeat nginx shape), 64 KiB chunks",
        Box::new(|| scan(&ecs, 65536, rule("ecs", false))),
      ),
      (
        "core scan, ECS events, --timezone Europe/Berlin",
        Box::new(|| scan(&ecs, 65536, rule("ecs", true))),
      ),
      (
        "core scan, ECS events, --format auto (decided: ecs)",
        Box::new(|| scan(&ecs, 65536, command_line_auto())),
      ),
    ],
  );
}
