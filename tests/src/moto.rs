//! One moto server per test process, started on first use.
//!
//! The server runs `$MEANDER_PYTHON` (set by `scripts/test.sh` to its venv's
//! python) with `moto.server` on a free `127.0.0.1` port. It is never
//! orphaned: its standard input is a pipe held by this process, and a
//! watchdog thread in the server exits as soon as that pipe closes — which
//! the kernel does when this process ends, however it ends (normal exit,
//! panic, SIGKILL). Its own log goes to a file named in every error message.
//!
//! A missing Python or moto is a test failure naming what to install; the
//! bed never skips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The region every resource of the bed lives in.
pub const REGION: &str = "us-east-1";
/// moto's default account, used in every ARN it makes.
pub const ACCOUNT_ID: &str = "123456789012";
/// Static credentials moto accepts (it does not check signatures).
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";

/// The environment variable naming the Python that has moto installed.
pub const MEANDER_PYTHON: &str = "MEANDER_PYTHON";

/// What to do when moto cannot be started.
pub const INSTALL_HELP: &str = "moto server not found: run scripts/test.sh (it creates the venv \
with pip install 'moto[server]==5.2.5' deltalake pyarrow) or set MEANDER_PYTHON to a python \
with those packages";

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts the server, then keeps the pipe whose closing stops it.
const LAUNCHER: &str = r#"
import os, sys, threading
from moto.server import main
def _watch():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)
threading.Thread(target=_watch, daemon=True).start()
main(sys.argv[1:])
"#;

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    endpoint: String,
    port: u16,
    pid: u32,
    log_path: PathBuf,
    // Held, never written: the server exits when this closes.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

impl Moto {
    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where the server's own log (one line per request) goes.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log_path
    }
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The process's moto server, started on first call (blocking, a few
/// seconds). Panics with [`INSTALL_HELP`] when Python or moto is missing.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| match start() {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    })
}

/// `$MEANDER_PYTHON`, or a panic saying how to get one.
pub fn python() -> PathBuf {
    match std::env::var_os(MEANDER_PYTHON) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!("{INSTALL_HELP} (MEANDER_PYTHON is not set)"),
    }
}

fn start() -> Result<Moto, String> {
    let python = python();
    let dir = std::env::temp_dir().join("meander-e2e");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    remove_stale_logs(&dir);
    let log_path = dir.join(format!("moto-{}.log", std::process::id()));
    let mut last_error = String::new();
    // A port picked free can be taken before moto binds it: try a few.
    for _ in 0..3 {
        let port = free_port().map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
        match start_on(&python, port, &log_path) {
            Ok(m) => return Ok(m),
            Err(e) if e.starts_with(INSTALL_HELP) => return Err(e),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn start_on(
    python: &std::path::Path,
    port: u16,
    log_path: &std::path::Path,
) -> Result<Moto, String> {
    let log = std::fs::File::create(log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot clone log file handle: {e}"))?;
    let port_s = port.to_string();
    let mut child = Command::new(python)
        .args(["-c", LAUNCHER, "-H", "127.0.0.1", "-p", &port_s])
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("{INSTALL_HELP} (cannot run {}: {e})", python.display()))?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| "moto server started without a stdin pipe".to_string())?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            let help = if log.contains("No module named") {
                format!("{INSTALL_HELP}\n")
            } else {
                String::new()
            };
            return Err(format!(
                "{help}moto server ({} -m moto.server -p {port}) exited with {status}; its log {}:\n{}",
                python.display(),
                log_path.display(),
                tail.join("\n")
            ));
        }
        if answers(port) {
            return Ok(Moto {
                endpoint,
                port,
                pid: child.id(),
                log_path: log_path.to_path_buf(),
                _stdin: Mutex::new(stdin),
                _child: Mutex::new(child),
            });
        }
        if started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "moto server on port {port} did not answer within {START_TIMEOUT:?}; its log: {}",
                log_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Remove the logs of test processes that are gone.
fn remove_stale_logs(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("moto-"))
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// True when moto's own API answers 200 on `port`.
fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req =
        format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// The environment a function binary needs to talk to moto: endpoint,
/// region, static credentials, plain HTTP for `object_store`, and no
/// instance metadata look-ups.
pub fn env_for_function() -> Vec<(String, String)> {
    let m = moto();
    [
        ("AWS_ENDPOINT_URL", m.endpoint()),
        ("AWS_REGION", REGION),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A name no other test of this process (nor another process sharing the
/// server) uses: `prefix-<pid>-<counter>-<time>`, lowercase, at most 63
/// characters, valid for buckets, queues and tables alike.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let clean: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    let clean = clean.trim_matches('-');
    let clean = if clean.is_empty() { "t" } else { clean };
    format!("{clean}-{:x}-{n}-{nanos:x}", std::process::id())
}

/// moto 5.2.5's SQS recomputes every queue counter for each message sent
/// or received (`Queue.attributes`, with a clock read per message), so a
/// queue of 10,000 messages takes hours to fill and drain; and it is not
/// thread-safe (concurrent receives fail with "Set changed size during
/// iteration", concurrent deletes undo each other). These overrides compute
/// the same values with one clock read per call, and serialise the SQS
/// calls as SQS's own atomicity would; they change nothing else. They run in
/// a moto server of its own ([`SqsServer`]), for the queues of tests that
/// need many messages or parallel pollers (tables stay on the bed's server).
pub const MOTO_SQS_SPEEDUPS: &str = r#"
import moto.sqs.models as _m
from moto.core.utils import unix_time as _ut, unix_time_millis as _utm

def _visible(self):
    now = _utm()
    return [x for x in self._messages if now > x.visible_at and not now < x.delayed_until]

def _not_visible(self):
    now = _utm()
    return sum(1 for x in self._messages if not now > x.visible_at)

def _delayed(self):
    now = _utm()
    return sum(1 for x in self._messages if now < x.delayed_until)

def _retained(self, queue_name, message):
    period = int(self.get_queue(queue_name).message_retention_period)
    return period + message.sent_timestamp / 1000 > _ut()

def _delete(self, receipt_handle):
    if receipt_handle in self.deleted_messages:
        return
    kept, found = [], False
    for x in self._messages:
        if receipt_handle in x.all_receipt_handles:
            found = True
            self.pending_messages.discard(x)
            self.deleted_messages.update(x.all_receipt_handles)
        else:
            kept.append(x)
    if not found:
        raise _m.ReceiptHandleIsInvalid()
    self._messages = kept

_m.Queue.messages = property(_visible)
_m.Queue.approximate_number_of_messages = property(lambda self: len(_visible(self)))
_m.Queue.approximate_number_of_messages_not_visible = property(_not_visible)
_m.Queue.approximate_number_of_messages_delayed = property(_delayed)
_m.Queue.delete_message = _delete
_m.SQSBackend.is_message_valid_based_on_retention_period = _retained

import threading
_lock = threading.RLock()
def _serialised(f):
    def g(*args, **kwargs):
        with _lock:
            return f(*args, **kwargs)
    return g
for _name in ("send_message", "send_message_batch", "receive_message", "delete_message",
              "delete_message_batch", "change_message_visibility", "get_queue_attributes",
              "purge_queue"):
    setattr(_m.SQSBackend, _name, _serialised(getattr(_m.SQSBackend, _name)))

"#;

/// A moto server with [`MOTO_SQS_SPEEDUPS`] for queues only, stopped when
/// dropped (and, as the bed's, when this process ends: it exits when its
/// stdin closes).
#[derive(Debug)]
pub struct SqsServer {
    child: Child,
    endpoint: String,
}

impl SqsServer {
    /// Start one on a free port and wait until it answers (blocking).
    pub fn start() -> SqsServer {
        let python = python();
        let script = format!("{MOTO_SQS_SPEEDUPS}\n{LAUNCHER}");
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port().expect("free port on 127.0.0.1");
            let log_path = std::env::temp_dir()
                .join(format!("meander-e2e-sqs-{}-{port}.log", std::process::id()));
            let log = std::fs::File::create(&log_path).expect("sqs server log file");
            let mut child = Command::new(&python)
                .args(["-c", &script, "-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::piped())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("{INSTALL_HELP} (cannot run {}: {e})", python.display())
                });
            let started = Instant::now();
            loop {
                if answers(port) {
                    return SqsServer {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                    };
                }
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!(
                        "sqs moto server exited with {status}; log {}",
                        log_path.display()
                    );
                    break;
                }
                if started.elapsed() > START_TIMEOUT {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = format!("sqs moto server did not answer; log {}", log_path.display());
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("{last}")
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SQS client on this server.
    pub async fn client(&self) -> aws_sdk_sqs::Client {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "meander-e2e-sqs",
            ))
            .load()
            .await;
        aws_sdk_sqs::Client::new(&config)
    }

    /// A standard queue on this server: (url, arn).
    pub async fn create_queue(
        &self,
        sqs: &aws_sdk_sqs::Client,
        prefix: &str,
        visibility_timeout_secs: u32,
    ) -> (String, String) {
        use aws_sdk_sqs::types::QueueAttributeName;
        let url = sqs
            .create_queue()
            .queue_name(unique_name(prefix))
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_timeout_secs.to_string(),
            )
            .send()
            .await
            .expect("create queue")
            .queue_url()
            .expect("queue url")
            .to_string();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .expect("queue arn");
        (url, arn)
    }
}

impl Drop for SqsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn unique_names_are_valid_bucket_names() {
        let a = unique_name("My_Bucket.With.A.Very.Long.Prefix.That.Goes.On");
        let b = unique_name("My_Bucket.With.A.Very.Long.Prefix.That.Goes.On");
        assert_ne!(a, b);
        assert!(a.len() <= 63, "{a}");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(unique_name("--").starts_with("t-"));
    }
}
