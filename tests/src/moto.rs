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
