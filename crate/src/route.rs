//! Request targets as routes, so that `--group-by path` groups the requests of one route: the path
//! without its query string or fragment, each identifier segment written `:id`.
//!
//! A segment is an identifier when it is only digits (`/users/42`), a UUID (8-4-4-4-12 hex digits,
//! either case), or 16 hex digits or more (hashes, object ids). An absolute-form target
//! (`http://host:8080/a`, as proxies receive) keeps only its path; `*` (OPTIONS) stays `*`; an
//! empty path is `/`. Everything else is kept as written (percent-escapes included): grouping must
//! not merge routes that differ.

/// The route of a request target, written into `out` (cleared first).
///
/// ```
/// use loghour::route::route_of;
/// let mut route = Vec::new();
/// route_of(b"/users/42/orders/6f1c2a9e-3b7d-4c1e-9a2b-0c4d5e6f7a8b?page=2", &mut route);
/// assert_eq!(route, b"/users/:id/orders/:id");
/// ```
pub fn route_of(target: &[u8], out: &mut Vec<u8>) {
  out.clear();
  let end = memchr::memchr2(b'?', b'#', target).unwrap_or(target.len());
  let mut path = &target[..end];
  // Origin form (`/…`, nearly every request) has no scheme to look for.
  if let Some(after_scheme) = (!path.starts_with(b"/")).then(|| find(path, b"://")).flatten() {
    // Absolute form: the path starts at the first `/` after the authority (none: the root).
    let rest = &path[after_scheme + 3..];
    path = rest.iter().position(|&b| b == b'/').map_or(&b""[..], |i| &rest[i..]);
  }
  if path.is_empty() {
    out.push(b'/');
    return;
  }
  for (i, segment) in path.split(|&b| b == b'/').enumerate() {
    if i > 0 {
      out.push(b'/');
    }
    if is_identifier(segment) {
      out.extend_from_slice(b":id");
    } else {
      out.extend_from_slice(segment);
    }
  }
}

/// Only digits, a UUID, or 16 hex digits or more.
fn is_identifier(segment: &[u8]) -> bool {
  if segment.is_empty() {
    return false;
  }
  if segment.iter().all(u8::is_ascii_digit) {
    return true;
  }
  if segment.len() >= 16 && segment.iter().all(u8::is_ascii_hexdigit) {
    return true;
  }
  is_uuid(segment)
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of either case.
fn is_uuid(segment: &[u8]) -> bool {
  segment.len() == 36
    && segment.iter().enumerate().all(|(i, &b)| match i {
      8 | 13 | 18 | 23 => b == b'-',
      _ => b.is_ascii_hexdigit(),
    })
}

/// The method and target of a request line (`GET /a?b HTTP/1.1`) as a server logs it: each
/// `None` when it is not there (nginx logs `-`, or the bytes of a request it could not parse). A
/// method is 1 to 20 ASCII letters; a target starts with `/`, is `*`, or is absolute (`…://…`).
///
/// ```
/// use loghour::route::request_parts;
/// assert_eq!(request_parts(b"GET /a?b=1 HTTP/1.1"), (Some(&b"GET"[..]), Some(&b"/a?b=1"[..])));
/// assert_eq!(request_parts(b"-"), (None, None));
/// ```
pub fn request_parts(request: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
  let mut words = request.split(|&b| b == b' ').filter(|w| !w.is_empty());
  let method = words
    .next()
    .filter(|m| m.len() <= 20 && m.iter().all(u8::is_ascii_alphabetic));
  let Some(method) = method else {
    return (None, None);
  };
  let target = words
    .next()
    .filter(|t| t.starts_with(b"/") || *t == b"*" || find(t, b"://").is_some_and(|at| at > 0));
  (Some(method), target)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
  haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn request_lines_give_method_and_target() {
    type Case<'a> = (&'a [u8], Option<&'a [u8]>, Option<&'a [u8]>);
    let cases: &[Case] = &[
      (b"GET / HTTP/1.1", Some(b"GET"), Some(b"/")),
      (
        b"POST /api/v1/orders?x=1 HTTP/2.0",
        Some(b"POST"),
        Some(b"/api/v1/orders?x=1"),
      ),
      (
        b"GET http://example.com/a HTTP/1.1",
        Some(b"GET"),
        Some(b"http://example.com/a"),
      ),
      (b"OPTIONS * HTTP/1.1", Some(b"OPTIONS"), Some(b"*")),
      (b"GET /no-version", Some(b"GET"), Some(b"/no-version")),
      (b"GET", Some(b"GET"), None),
      (b"GET relative HTTP/1.1", Some(b"GET"), None),
      (b"-", None, None),
      (b"", None, None),
      (b"\x16\x03\x01\x00", None, None),
      (b"G3T / HTTP/1.1", None, None),
    ];
    for &(request, method, target) in cases {
      assert_eq!(
        request_parts(request),
        (method, target),
        "{}",
        String::from_utf8_lossy(request)
      );
    }
  }

  #[test]
  fn routes_of_request_targets() {
    let cases: &[(&str, &str)] = &[
      // Identifiers: digits, UUIDs (either case), 16 hex digits or more.
      ("/users/42", "/users/:id"),
      ("/users/0042/orders/7", "/users/:id/orders/:id"),
      ("/o/6f1c2a9e-3b7d-4c1e-9a2b-0c4d5e6f7a8b", "/o/:id"),
      ("/o/6F1C2A9E-3B7D-4C1E-9A2B-0C4D5E6F7A8B/x", "/o/:id/x"),
      ("/blob/0123456789abcdef", "/blob/:id"),
      ("/commit/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/commit/:id"),
      // Not identifiers: 15 hex digits, words, mixed, a UUID with a wrong dash or length.
      ("/blob/0123456789abcde", "/blob/0123456789abcde"),
      ("/v2/api", "/v2/api"),
      ("/a1b2", "/a1b2"),
      (
        "/x/6f1c2a9e3b7d-4c1e-9a2b-0c4d5e6f7a8b",
        "/x/6f1c2a9e3b7d-4c1e-9a2b-0c4d5e6f7a8b",
      ),
      (
        "/x/6f1c2a9e-3b7d-4c1e-9a2b-0c4d5e6f7a8",
        "/x/6f1c2a9e-3b7d-4c1e-9a2b-0c4d5e6f7a8",
      ),
      ("/page-2", "/page-2"),
      // Query strings and fragments go; the path stays as written otherwise.
      ("/search?q=1&page=2", "/search"),
      ("/doc#part-3", "/doc"),
      ("/a%20b/12?x", "/a%20b/:id"),
      ("/users/42/", "/users/:id/"),
      ("//double//7", "//double//:id"),
      // The root, an empty target, OPTIONS *, absolute-form targets.
      ("/", "/"),
      ("", "/"),
      ("?only=query", "/"),
      ("*", "*"),
      ("http://example.com:8080/users/42?x=1", "/users/:id"),
      ("https://example.com", "/"),
    ];
    let mut out = Vec::new();
    for &(target, route) in cases {
      route_of(target.as_bytes(), &mut out);
      assert_eq!(String::from_utf8_lossy(&out), route, "{target}");
    }
  }

  #[test]
  fn a_route_is_its_own_route() {
    // Idempotent: `:id` is not an identifier, so a route maps to itself.
    let mut once = Vec::new();
    let mut twice = Vec::new();
    for target in ["/users/42/x/0123456789abcdef0", "/a/b/c", "/1/2/3/"] {
      route_of(target.as_bytes(), &mut once);
      route_of(&once, &mut twice);
      assert_eq!(once, twice, "{target}");
    }
  }
}
