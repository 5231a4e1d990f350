//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1, in front of moto.
//!
//! Function processes get the proxy as their `AWS_ENDPOINT_URL`; the test's
//! own clients (setup, pollers, reader) keep talking to moto directly. Each
//! request is read whole, then, with probability `fraction`, answered with
//! one fault, else forwarded unchanged and its answer relayed:
//!
//! - [`Fault::SlowDown`]: `503 Slow Down` with S3's `SlowDown` XML error,
//!   request not forwarded (S3 throttles before acting);
//! - [`Fault::InternalError`]: `500` with S3's `InternalError`, not forwarded;
//! - [`Fault::Reset`]: the connection is reset (linger 0) without an answer,
//!   request not forwarded;
//! - [`Fault::ResetAfterForward`] (only when [`FaultConfig::lost_responses`]
//!   is on): the request *is* forwarded and done by moto, then the
//!   connection is reset: the client cannot know it succeeded;
//! - [`Fault::Slow`]: forwarded, answered after [`FaultConfig::delay`].
//!
//! Decisions are deterministic: the n-th request's fault is a function of
//! the seed and n alone. Every connection serves one request (answers carry
//! `Connection: close`), which keeps the relay simple; clients reconnect.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    SlowDown,
    InternalError,
    Reset,
    ResetAfterForward,
    Slow,
}

/// What to inject, how often.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    pub seed: u64,
    /// Share of requests that get a fault, 0.0 ..= 1.0.
    pub fraction: f64,
    /// How long a slow answer is held.
    pub delay: Duration,
    /// Also reset connections after moto did the request.
    pub lost_responses: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            seed: 11,
            fraction: 0.1,
            delay: Duration::from_millis(1500),
            lost_responses: false,
        }
    }
}

/// What the proxy saw and did.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub requests: AtomicU64,
    pub slow_down: AtomicU64,
    pub internal_error: AtomicU64,
    pub reset: AtomicU64,
    pub reset_after_forward: AtomicU64,
    pub slow: AtomicU64,
    /// Requests the proxy could not relay (moto unreachable, bad request).
    pub relay_errors: AtomicU64,
}

/// A snapshot of [`FaultCounts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSummary {
    pub requests: u64,
    pub slow_down: u64,
    pub internal_error: u64,
    pub reset: u64,
    pub reset_after_forward: u64,
    pub slow: u64,
    pub relay_errors: u64,
}

impl FaultSummary {
    /// Every fault injected.
    pub fn injected(&self) -> u64 {
        self.slow_down + self.internal_error + self.reset + self.reset_after_forward + self.slow
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    endpoint: String,
    counts: Arc<FaultCounts>,
    accept: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FaultProxy {
    /// Start a proxy to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str, config: FaultConfig) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy on 127.0.0.1");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let counts = Arc::new(FaultCounts::default());
        let config = Arc::new(config);
        let accept = {
            let counts = counts.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let n = counts.requests.fetch_add(1, Ordering::SeqCst);
                    let fault = decide(&config, n);
                    let (counts, config, upstream) =
                        (counts.clone(), config.clone(), upstream.clone());
                    tokio::spawn(async move {
                        if serve(client, &upstream, fault, &config, &counts)
                            .await
                            .is_err()
                        {
                            counts.relay_errors.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
            })
        };
        FaultProxy {
            endpoint,
            counts,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn summary(&self) -> FaultSummary {
        let c = &self.counts;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        FaultSummary {
            requests: get(&c.requests),
            slow_down: get(&c.slow_down),
            internal_error: get(&c.internal_error),
            reset: get(&c.reset),
            reset_after_forward: get(&c.reset_after_forward),
            slow: get(&c.slow),
            relay_errors: get(&c.relay_errors),
        }
    }
}

/// splitmix64: a well-mixed hash of (seed, n).
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The fault for request `n`, if any.
pub fn decide(config: &FaultConfig, n: u64) -> Option<Fault> {
    let h = mix(config.seed, n);
    let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
    if unit >= config.fraction {
        return None;
    }
    let kinds: &[Fault] = if config.lost_responses {
        &[
            Fault::SlowDown,
            Fault::InternalError,
            Fault::Reset,
            Fault::ResetAfterForward,
            Fault::Slow,
        ]
    } else {
        &[
            Fault::SlowDown,
            Fault::InternalError,
            Fault::Reset,
            Fault::Slow,
        ]
    };
    kinds
        .get((mix(config.seed ^ 0x5EED, n) % kinds.len() as u64) as usize)
        .copied()
}

type IoResult<T> = std::io::Result<T>;

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Read up to the end of the head (`\r\n\r\n`); returns (head, rest read).
async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> IoResult<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > 1 << 20 {
            return Err(bad("request head over 1 MiB"));
        }
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Err(bad("connection closed before the end of the head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Read exactly `n` more body bytes into `body` (which may hold some).
async fn read_exact_len<R: AsyncRead + Unpin>(
    r: &mut R,
    body: &mut Vec<u8>,
    n: usize,
) -> IoResult<()> {
    let mut chunk = [0u8; 65536];
    while body.len() < n {
        let k = r.read(&mut chunk).await?;
        if k == 0 {
            return Err(bad("connection closed inside the body"));
        }
        body.extend_from_slice(&chunk[..k]);
    }
    body.truncate(n);
    Ok(())
}

/// Read a chunked body (raw, as sent) into `body`, which may hold its start.
async fn read_chunked<R: AsyncRead + Unpin>(r: &mut R, body: &mut Vec<u8>) -> IoResult<()> {
    let mut pos = 0usize;
    let mut chunk = [0u8; 65536];
    loop {
        // Need a full size line at `pos`.
        let line_end = loop {
            if let Some(i) = body[pos..].windows(2).position(|w| w == b"\r\n") {
                break pos + i;
            }
            let k = r.read(&mut chunk).await?;
            if k == 0 {
                return Err(bad("connection closed inside a chunked body"));
            }
            body.extend_from_slice(&chunk[..k]);
        };
        let size_text = std::str::from_utf8(&body[pos..line_end]).map_err(|_| bad("chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("chunk size"))?;
        if size == 0 {
            // Trailers until an empty line.
            let mut at = line_end + 2;
            loop {
                if let Some(i) = body[at..].windows(2).position(|w| w == b"\r\n") {
                    if i == 0 {
                        body.truncate(at + 2);
                        return Ok(());
                    }
                    at += i + 2;
                    continue;
                }
                let k = r.read(&mut chunk).await?;
                if k == 0 {
                    return Err(bad("connection closed inside chunk trailers"));
                }
                body.extend_from_slice(&chunk[..k]);
            }
        }
        let next = line_end + 2 + size + 2;
        while body.len() < next {
            let k = r.read(&mut chunk).await?;
            if k == 0 {
                return Err(bad("connection closed inside a chunk"));
            }
            body.extend_from_slice(&chunk[..k]);
        }
        pos = next;
    }
}

/// The head with `Connection: close` and without `Expect`.
fn rewrite_head(head: &str) -> String {
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let mut out = String::with_capacity(head.len() + 32);
    if let Some(first) = lines.next() {
        out.push_str(first);
        out.push_str("\r\n");
    }
    for l in lines {
        let name = l.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("connection")
            || name.eq_ignore_ascii_case("expect")
            || name.eq_ignore_ascii_case("keep-alive")
        {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn error_response(status: &str, code: &str, message: &str) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>meander-fault-proxy</RequestId><HostId>meander-fault-proxy</HostId></Error>"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nx-amz-request-id: meander-fault-proxy\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Close with RST, not FIN (SO_LINGER 0).
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    fault: Option<Fault>,
    config: &FaultConfig,
    counts: &FaultCounts,
) -> IoResult<()> {
    let (head, mut body) = read_head(&mut client).await?;
    let head_text = String::from_utf8_lossy(&head).to_string();
    if header(&head_text, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    let chunked = header(&head_text, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        read_chunked(&mut client, &mut body).await?;
    } else {
        let len = header(&head_text, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        read_exact_len(&mut client, &mut body, len).await?;
    }

    match fault {
        Some(Fault::SlowDown) => {
            counts.slow_down.fetch_add(1, Ordering::SeqCst);
            client
                .write_all(&error_response(
                    "503 Slow Down",
                    "SlowDown",
                    "Please reduce your request rate.",
                ))
                .await?;
            return client.shutdown().await;
        }
        Some(Fault::InternalError) => {
            counts.internal_error.fetch_add(1, Ordering::SeqCst);
            client
                .write_all(&error_response(
                    "500 Internal Server Error",
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                ))
                .await?;
            return client.shutdown().await;
        }
        Some(Fault::Reset) => {
            counts.reset.fetch_add(1, Ordering::SeqCst);
            reset(client);
            return Ok(());
        }
        _ => {}
    }

    let mut moto = TcpStream::connect(upstream).await?;
    moto.write_all(rewrite_head(&head_text).as_bytes()).await?;
    moto.write_all(&body).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(300), moto.read_to_end(&mut response))
        .await
        .map_err(|_| bad("moto did not answer within 300 s"))??;

    match fault {
        Some(Fault::ResetAfterForward) => {
            counts.reset_after_forward.fetch_add(1, Ordering::SeqCst);
            reset(client);
            return Ok(());
        }
        Some(Fault::Slow) => {
            counts.slow.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(config.delay).await;
        }
        _ => {}
    }
    client.write_all(&with_connection_close(response)).await?;
    client.shutdown().await
}

/// Make sure the relayed answer says `Connection: close` (this connection
/// ends with it, however moto framed it).
fn with_connection_close(response: Vec<u8>) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let head = String::from_utf8_lossy(&response[..end]).to_string();
    if header(&format!("{head}\r\n"), "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    {
        return response;
    }
    let mut out = Vec::with_capacity(response.len() + 32);
    for l in head.split("\r\n") {
        let name = l.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&response[end + 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_follow_the_seed_and_the_fraction() {
        let config = FaultConfig {
            fraction: 0.2,
            ..FaultConfig::default()
        };
        let a: Vec<_> = (0..10_000).map(|n| decide(&config, n)).collect();
        let b: Vec<_> = (0..10_000).map(|n| decide(&config, n)).collect();
        assert_eq!(a, b, "deterministic");
        let faults = a.iter().filter(|f| f.is_some()).count();
        assert!((1_700..2_300).contains(&faults), "{faults}");
        assert!(!a.contains(&Some(Fault::ResetAfterForward)));
        for kind in [
            Fault::SlowDown,
            Fault::InternalError,
            Fault::Reset,
            Fault::Slow,
        ] {
            assert!(a.contains(&Some(kind)), "{kind:?}");
        }
        let none = FaultConfig {
            fraction: 0.0,
            ..FaultConfig::default()
        };
        assert!((0..1000).all(|n| decide(&none, n).is_none()));
    }

    #[test]
    fn heads_are_rewritten_to_close() {
        let head = "PUT /b/k HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(
            rewrite_head(head),
            "PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
        );
        let r = with_connection_close(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec());
        assert_eq!(
            r,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_vec()
        );
    }

    #[tokio::test]
    async fn chunked_bodies_are_read_whole() {
        let raw = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\n".to_vec();
        let (first, second) = raw.split_at(7);
        let mut body = first.to_vec();
        let mut rest = second;
        read_chunked(&mut rest, &mut body).await.expect("chunked");
        assert_eq!(body, raw);
    }
}
