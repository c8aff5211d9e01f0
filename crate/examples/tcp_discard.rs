//! The raw loopback TCP limit for `npm run bench`: accepts connections one at a time, reads and
//! discards everything into a 1 MiB buffer, and prints, per connection, the bytes and the time
//! from the first byte to the end of the stream as a JSON line (the way loghour-server is timed).
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Instant;

fn main() -> std::io::Result<()> {
  let listener = TcpListener::bind("127.0.0.1:0")?;
  println!("{{\"port\":{}}}", listener.local_addr()?.port());
  std::io::stdout().flush()?;
  let mut buf = vec![0u8; 1 << 20];
  for stream in listener.incoming() {
    let mut stream = stream?;
    let mut bytes = 0usize;
    let mut first = None;
    loop {
      let n = stream.read(&mut buf)?;
      if n == 0 {
        break;
      }
      first.get_or_insert_with(Instant::now);
      bytes += n;
    }
    let ms = first.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1e3);
    println!("{{\"bytes\":{bytes},\"ms\":{ms:.3}}}");
    std::io::stdout().flush()?;
  }
  Ok(())
}
