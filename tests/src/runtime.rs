//! A Lambda Runtime API server of our own, and a driver that runs one
//! compiled function binary against it the way Lambda runs a container:
//! spawn once (cold start), invoke many times warm, capture the logs,
//! measure the init time and the peak RSS.
//!
//! Protocol (the subset functions use, as documented by AWS):
//! - `GET  /2018-06-01/runtime/invocation/next` long-polls until an
//!   invocation is queued; answers the event with the headers
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//!   `Lambda-Runtime-Invoked-Function-Arn`, `Lambda-Runtime-Trace-Id`;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../error`
//!   answer one invocation (202);
//! - `POST /2018-06-01/runtime/init/error` reports a failed cold start.
//!
//! Every wait has a timeout; a binary that exits or hangs is reported,
//! never waited on forever.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::moto::{ACCOUNT_ID, REGION};

/// Set to `1` to echo every function log line to stderr as it comes (the
/// logs of a failing test are printed anyway when its process is dropped).
pub const MEANDER_E2E_ECHO: &str = "MEANDER_E2E_ECHO";

/// How long a reader of a dead process's output may take to reach its end.
const DRAIN_OUTPUT: Duration = Duration::from_secs(3);

/// Where the compiled binary `name` of this build is: next to the test
/// executable's `deps/` directory (`target/<profile>/<name>`), else under
/// `$CARGO_TARGET_DIR/debug`. Panics, saying how to build it, when missing.
pub fn function_binary(name: &str) -> PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test>-<hash>
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.join(&file));
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("debug").join(&file));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "binary {name} not built: run `cargo build --bins` (scripts/test.sh does); looked at {candidates:?}"
            )
        })
}

/// How a function is set up, beyond its own environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnOptions {
    /// `AWS_LAMBDA_FUNCTION_NAME`; the binary's file name when `None`.
    pub name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (informational here).
    pub memory_mb: u32,
    /// The function timeout: each invocation's deadline header is
    /// delivery time + this.
    pub function_timeout: Duration,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions {
            name: None,
            memory_mb: 256,
            function_timeout: Duration::from_secs(60),
        }
    }
}

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeOutcome {
    /// The function answered on `/response`.
    Response(Value),
    /// The function answered on `/error` (`{"errorType","errorMessage",..}`).
    Error(Value),
    /// The process exited before answering.
    Crashed {
        status: ExitStatus,
        logs: Vec<String>,
    },
    /// The cold start failed: the body posted to `/init/error`.
    InitError(Value),
    /// No answer within the invoke timeout; the process was killed, as
    /// Lambda resets a sandbox after a timeout.
    TimedOut { after: Duration, logs: Vec<String> },
}

impl InvokeOutcome {
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeOutcome::Response(_) => "response",
            InvokeOutcome::Error(_) => "error",
            InvokeOutcome::Crashed { .. } => "crashed",
            InvokeOutcome::InitError(_) => "init error",
            InvokeOutcome::TimedOut { .. } => "timed out",
        }
    }

    pub fn is_response(&self) -> bool {
        matches!(self, InvokeOutcome::Response(_))
    }

    /// The `itemIdentifier`s of a partial batch response, in its order.
    /// Panics when the outcome is not a response or the response is malformed.
    pub fn item_failures(&self) -> Vec<String> {
        match self {
            InvokeOutcome::Response(v) => crate::poller::batch_item_failures(v)
                .unwrap_or_else(|e| panic!("malformed partial batch response: {e}")),
            other => panic!("expected a response, got {}", other.describe()),
        }
    }

    /// The response payload, or an error describing what happened instead.
    pub fn into_response(self) -> Result<Value> {
        match self {
            InvokeOutcome::Response(v) => Ok(v),
            other => Err(Error::new(format!(
                "expected a response, got {}",
                other.describe()
            ))),
        }
    }

    /// A one-paragraph description including the logs of a crash.
    pub fn describe(&self) -> String {
        match self {
            InvokeOutcome::Response(v) => format!("response {v}"),
            InvokeOutcome::Error(v) => format!("function error {v}"),
            InvokeOutcome::InitError(v) => format!("init error {v}"),
            InvokeOutcome::Crashed { status, logs } => {
                format!("process exited ({status}); logs:\n{}", logs.join("\n"))
            }
            InvokeOutcome::TimedOut { after, logs } => {
                format!("no answer after {after:?}; logs:\n{}", logs.join("\n"))
            }
        }
    }
}

/// One finished invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRecord {
    pub request_id: String,
    /// From queuing the event to the answer (includes the wait for the
    /// first `/next` when invoked before the cold start ended).
    pub duration: Duration,
    pub kind: &'static str,
    /// The log lines captured while it ran.
    pub logs: Vec<String>,
}

/// What a process did, from [`FunctionProcess::shutdown`].
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionReport {
    pub name: String,
    pub init: Option<Duration>,
    pub peak_rss_kb: u64,
    pub invocations: Vec<InvocationRecord>,
    pub logs: Vec<String>,
    /// How the process ended before shutdown, if it did.
    pub exit: Option<ExitStatus>,
}

struct Pending {
    request_id: String,
    event: Value,
    function_timeout: Duration,
}

enum Answer {
    Response(Value),
    Error(Value),
}

struct Shared {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    next_requests: watch::Sender<usize>,
    ready: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<Value>>,
}

/// A shared view of a [`FunctionProcess`]'s log lines.
#[derive(Debug, Clone)]
pub struct LogHandle(Arc<Mutex<Vec<String>>>);

impl LogHandle {
    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.0).clone()
    }

    /// Wait until a line contains `needle`; returns it, or an error with the
    /// log after `timeout`.
    pub async fn wait_for(&self, needle: &str, timeout: Duration) -> Result<String> {
        let started = Instant::now();
        loop {
            if let Some(l) = lock(&self.0).iter().find(|l| l.contains(needle)) {
                return Ok(l.clone());
            }
            if started.elapsed() > timeout {
                return Err(Error::new(format!(
                    "no log line with {needle:?} within {timeout:?}; log:\n{}",
                    self.lines().join("\n")
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A function binary running against our Runtime API server.
pub struct FunctionProcess {
    name: String,
    binary: PathBuf,
    child: Child,
    pid: u32,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Pending>,
    server: JoinHandle<()>,
    readers: Vec<JoinHandle<()>>,
    logs: Arc<Mutex<Vec<String>>>,
    spawned_at: Instant,
    peak_rss_kb: AtomicU64,
    exit: Option<ExitStatus>,
    invocations: Vec<InvocationRecord>,
    runtime_api: String,
    function_timeout: Duration,
}

impl std::fmt::Debug for FunctionProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionProcess")
            .field("name", &self.name)
            .field("binary", &self.binary)
            .field("pid", &self.pid)
            .field("runtime_api", &self.runtime_api)
            .field("exit", &self.exit)
            .finish_non_exhaustive()
    }
}

impl FunctionProcess {
    /// Start `binary` with the Lambda environment plus `env` (e.g.
    /// [`crate::moto::env_for_function`] and the function's own keys).
    /// Returns at once; the cold start runs until the first `/next`.
    pub async fn spawn<I, K, V>(binary: impl AsRef<Path>, env: I) -> Result<FunctionProcess>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::spawn_with(binary, env, SpawnOptions::default()).await
    }

    /// [`FunctionProcess::spawn`] with a name, memory size and timeout.
    pub async fn spawn_with<I, K, V>(
        binary: impl AsRef<Path>,
        env: I,
        options: SpawnOptions,
    ) -> Result<FunctionProcess>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let binary = binary.as_ref().to_path_buf();
        let name = options.name.clone().unwrap_or_else(|| {
            binary
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "function".to_string())
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::new(format!("runtime API: cannot bind 127.0.0.1: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::new(format!("runtime API: no local address: {e}")))?;
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"),
            queue: tokio::sync::Mutex::new(queue_rx),
            waiting: Mutex::new(HashMap::new()),
            next_requests: watch::channel(0).0,
            ready: watch::channel(None).0,
            init_error: watch::channel(None).0,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("runtime API server stopped: {e}");
            }
        });
        let runtime_api = addr.to_string();

        let mut cmd = Command::new(&binary);
        cmd.env_clear();
        for key in ["PATH", "RUST_BACKTRACE", "LLVM_PROFILE_FILE"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        let stream = format!("2024/01/01/[$LATEST]{:032x}", random_u128());
        cmd.env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                options.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", stream)
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .env("LANG", "en_US.UTF-8");
        for (k, v) in env {
            cmd.env(k.into(), v.into());
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned_at = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                server.abort();
                return Err(Error::new(format!(
                    "cannot start {}: {e}",
                    binary.display()
                )));
            }
        };
        let pid = child.id().unwrap_or_default();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let echo = std::env::var(MEANDER_E2E_ECHO).is_ok_and(|v| v == "1");
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(read_lines(
                out,
                logs.clone(),
                echo.then(|| format!("[{name} {pid}]")),
            )));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(read_lines(
                err,
                logs.clone(),
                echo.then(|| format!("[{name} {pid} stderr]")),
            )));
        }
        Ok(FunctionProcess {
            name,
            binary,
            child,
            pid,
            shared,
            queue: queue_tx,
            server,
            readers,
            logs,
            spawned_at,
            peak_rss_kb: AtomicU64::new(0),
            exit: None,
            invocations: Vec::new(),
            runtime_api,
            function_timeout: options.function_timeout,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `arn:aws:lambda:us-east-1:123456789012:function:<name>`
    pub fn function_arn(&self) -> &str {
        &self.shared.function_arn
    }

    /// `127.0.0.1:PORT` of the Runtime API server.
    pub fn runtime_api(&self) -> &str {
        &self.runtime_api
    }

    /// Wait until the cold start ends (the first `/next`); returns the init
    /// time. An exit, an `/init/error` or `timeout` first is an error
    /// carrying the logs.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Duration> {
        if let Some(d) = self.init_duration() {
            return Ok(d);
        }
        let mut ready = self.shared.ready.subscribe();
        let mut init_error = self.shared.init_error.subscribe();
        enum Ended {
            Ready,
            InitError(Value),
            Exited(std::io::Result<ExitStatus>),
            Timeout,
        }
        let ended = tokio::select! {
            biased;
            _ = ready.wait_for(Option::is_some) => Ended::Ready,
            e = init_error.wait_for(Option::is_some) => {
                Ended::InitError(e.map(|v| v.clone().unwrap_or_default()).unwrap_or_default())
            }
            s = self.child.wait() => Ended::Exited(s),
            _ = tokio::time::sleep(timeout) => Ended::Timeout,
        };
        self.sample_rss();
        match ended {
            Ended::Ready => self
                .init_duration()
                .ok_or_else(|| Error::new("ready without a first /next")),
            Ended::InitError(v) => Err(Error::new(format!(
                "{}: init error {v}; logs:\n{}",
                self.name,
                self.logs().join("\n")
            ))),
            Ended::Exited(s) => {
                let status = s.map_err(|e| Error::new(format!("wait for {}: {e}", self.name)))?;
                self.exit = Some(status);
                self.finish_output().await;
                Err(Error::new(format!(
                    "{} exited during its cold start ({status}); logs:\n{}",
                    self.name,
                    self.logs().join("\n")
                )))
            }
            Ended::Timeout => Err(Error::new(format!(
                "{} did not ask for an invocation within {timeout:?}; logs:\n{}",
                self.name,
                self.logs().join("\n")
            ))),
        }
    }

    /// Spawn to first `/next`, once the cold start has ended.
    pub fn init_duration(&self) -> Option<Duration> {
        (*self.shared.ready.borrow()).map(|at| at.saturating_duration_since(self.spawned_at))
    }

    /// How many times the function asked for the next invocation (one more
    /// than the invocations answered, while it lives and waits).
    pub fn next_requests(&self) -> usize {
        *self.shared.next_requests.borrow()
    }

    /// Wait until the function asks for its next invocation after the last
    /// one answered (it is idle in `/next`, as a warm container between
    /// events). An error after `timeout` or when the process is gone.
    pub async fn wait_idle(&mut self, timeout: Duration) -> Result<()> {
        let want = self.invocations.len() + 1;
        let mut next = self.shared.next_requests.subscribe();
        let waited = tokio::select! {
            biased;
            r = next.wait_for(|n| *n >= want) => r.is_ok(),
            s = self.child.wait() => {
                if let Ok(status) = s {
                    self.exit = Some(status);
                }
                false
            }
            _ = tokio::time::sleep(timeout) => false,
        };
        if waited {
            Ok(())
        } else {
            Err(Error::new(format!(
                "{} did not come back to /next (asked {} times, {} invocations, exit {:?}); logs:\n{}",
                self.name,
                self.next_requests(),
                self.invocations.len(),
                self.exit,
                self.logs().join("\n")
            )))
        }
    }

    /// Invoke the function with `event` and wait at most `timeout` for the
    /// answer. The process stays up for the next invocation (warm), unless
    /// it crashed or timed out.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> Result<InvokeOutcome> {
        if let Some(v) = self.shared.init_error.borrow().clone() {
            return Ok(InvokeOutcome::InitError(v));
        }
        if let Some(status) = self.exit_status() {
            return Ok(InvokeOutcome::Crashed {
                status,
                logs: self.logs(),
            });
        }
        let request_id = new_request_id();
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.waiting).insert(request_id.clone(), tx);
        let log_start = self.log_len();
        let started = Instant::now();
        self.queue
            .send(Pending {
                request_id: request_id.clone(),
                event,
                function_timeout: self.function_timeout,
            })
            .map_err(|_| Error::new("runtime API server is gone"))?;
        let mut init_error = self.shared.init_error.subscribe();
        enum Ended {
            Answer(std::result::Result<Answer, oneshot::error::RecvError>),
            InitError(Value),
            Exited(std::io::Result<ExitStatus>),
            Timeout,
        }
        let ended = tokio::select! {
            biased;
            a = rx => Ended::Answer(a),
            e = init_error.wait_for(Option::is_some) => {
                Ended::InitError(e.map(|v| v.clone().unwrap_or_default()).unwrap_or_default())
            }
            s = self.child.wait() => Ended::Exited(s),
            _ = tokio::time::sleep(timeout) => Ended::Timeout,
        };
        lock(&self.shared.waiting).remove(&request_id);
        self.sample_rss();
        let outcome = match ended {
            Ended::Answer(Ok(Answer::Response(v))) => InvokeOutcome::Response(v),
            Ended::Answer(Ok(Answer::Error(v))) => InvokeOutcome::Error(v),
            Ended::Answer(Err(_)) => {
                return Err(Error::new("runtime API server dropped the invocation"))
            }
            Ended::InitError(v) => InvokeOutcome::InitError(v),
            Ended::Exited(s) => {
                let status = s.map_err(|e| Error::new(format!("wait for {}: {e}", self.name)))?;
                self.exit = Some(status);
                self.finish_output().await;
                InvokeOutcome::Crashed {
                    status,
                    logs: self.logs(),
                }
            }
            Ended::Timeout => {
                let _ = self.child.start_kill();
                if let Ok(Ok(status)) = tokio::time::timeout(DRAIN_OUTPUT, self.child.wait()).await
                {
                    self.exit = Some(status);
                }
                self.finish_output().await;
                InvokeOutcome::TimedOut {
                    after: timeout,
                    logs: self.logs(),
                }
            }
        };
        if matches!(
            outcome,
            InvokeOutcome::Response(_) | InvokeOutcome::Error(_)
        ) {
            self.settle_logs().await;
        }
        let logs = lock(&self.logs)
            .get(log_start..)
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        self.invocations.push(InvocationRecord {
            request_id,
            duration: started.elapsed(),
            kind: outcome.kind(),
            logs,
        });
        Ok(outcome)
    }

    /// Let the output reader catch up with what the function wrote before
    /// it answered: the function writes its log lines before posting the
    /// response, but our reader task may not have read them from the pipe
    /// yet. Wait (at most ~250 ms) until no new line arrived for 25 ms.
    async fn settle_logs(&self) {
        let mut seen = self.log_len();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let now = self.log_len();
            if now == seen {
                return;
            }
            seen = now;
        }
    }

    /// The invocations so far, in order.
    pub fn invocations(&self) -> &[InvocationRecord] {
        &self.invocations
    }

    /// Every line the process wrote to stdout or stderr so far.
    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs).clone()
    }

    /// A handle on this process's log that outlives borrows of the process
    /// (e.g. to watch for a line while a task holds it for an invocation).
    pub fn log_handle(&self) -> LogHandle {
        LogHandle(self.logs.clone())
    }

    /// The number of log lines so far (a mark for [`Self::logs_since`]).
    pub fn log_len(&self) -> usize {
        lock(&self.logs).len()
    }

    /// The log lines written after `mark`.
    pub fn logs_since(&self, mark: usize) -> Vec<String> {
        lock(&self.logs)
            .get(mark..)
            .map(<[String]>::to_vec)
            .unwrap_or_default()
    }

    /// Peak resident set size (VmHWM) in KiB, as last seen while the
    /// process lived (sampled at each answer and at this call).
    pub fn peak_rss_kb(&self) -> u64 {
        self.sample_rss();
        self.peak_rss_kb.load(Ordering::SeqCst)
    }

    /// How the process ended, if it has.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// Stop the process and report what it did.
    pub async fn shutdown(mut self) -> FunctionReport {
        self.sample_rss();
        let exit = self.exit_status();
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(DRAIN_OUTPUT, self.child.wait()).await;
        self.finish_output().await;
        self.server.abort();
        FunctionReport {
            name: self.name.clone(),
            init: self.init_duration(),
            peak_rss_kb: self.peak_rss_kb.load(Ordering::SeqCst),
            invocations: std::mem::take(&mut self.invocations),
            logs: self.logs(),
            exit,
        }
    }

    fn sample_rss(&self) {
        if self.exit.is_some() {
            return;
        }
        if let Some(kb) = vm_hwm_kb(self.pid) {
            self.peak_rss_kb.fetch_max(kb, Ordering::SeqCst);
        }
    }

    /// Let the output readers reach the end of a dead process's output.
    async fn finish_output(&mut self) {
        for reader in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(DRAIN_OUTPUT, reader).await;
        }
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        self.server.abort();
        if std::thread::panicking() {
            eprintln!(
                "---- logs of {} (pid {}, {}) ----",
                self.name,
                self.pid,
                self.binary.display()
            );
            for line in lock(&self.logs).iter() {
                eprintln!("{line}");
            }
            eprintln!("---- end of logs of {} ----", self.name);
        }
    }
}

async fn read_lines<R: AsyncRead + Unpin>(
    stream: R,
    logs: Arc<Mutex<Vec<String>>>,
    echo: Option<String>,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\n', '\r'])
                    .to_string();
                if let Some(prefix) = &echo {
                    eprintln!("{prefix} {line}");
                }
                lock(&logs).push(line);
            }
        }
    }
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    shared.next_requests.send_modify(|n| *n += 1);
    shared.ready.send_if_modified(|at| {
        if at.is_none() {
            *at = Some(Instant::now());
            true
        } else {
            false
        }
    });
    let pending = shared.queue.lock().await.recv().await;
    let Some(p) = pending else {
        return (StatusCode::GONE, "runtime shutting down").into_response();
    };
    let deadline_ms = SystemTime::now()
        .checked_add(p.function_timeout)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", p.request_id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        shared.function_arn.clone(),
    );
    set("lambda-runtime-trace-id", trace_id());
    set("content-type", "application/json".to_string());
    (StatusCode::OK, headers, p.event.to_string()).into_response()
}

async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    answer(&shared, &id, Answer::Response(parse_body(&body)))
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut value = parse_body(&body);
    if let (Some(obj), Some(t)) = (
        value.as_object_mut(),
        headers
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok()),
    ) {
        obj.entry("errorType")
            .or_insert_with(|| Value::String(t.to_string()));
    }
    answer(&shared, &id, Answer::Error(value))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let value = parse_body(&body);
    shared.init_error.send_replace(Some(value));
    accepted()
}

fn answer(shared: &Shared, id: &str, answer: Answer) -> Response {
    let waiter = lock(&shared.waiting).remove(id);
    match waiter {
        Some(tx) => {
            let _ = tx.send(answer);
            accepted()
        }
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorMessage": format!("Invalid request ID: {id}"), "errorType": "InvalidRequestID"})),
        )
            .into_response(),
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({"status": "OK"}))).into_response()
}

/// JSON when it parses, else the text as a JSON string.
fn parse_body(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// `VmHWM` of `pid` in KiB, from `/proc/<pid>/status`.
pub fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

fn random_u128() -> u128 {
    (u128::from(random_u64()) << 64) | u128::from(random_u64())
}

/// A UUID-shaped request id (version 4 layout).
fn new_request_id() -> String {
    let r = random_u128();
    let hex = format!("{r:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// An X-Ray trace header as Lambda passes it.
fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "Root=1-{secs:08x}-{:024x};Parent={:016x};Sampled=0",
        random_u128() & ((1u128 << 96) - 1),
        random_u64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let a = new_request_id();
        assert_eq!(a.len(), 36, "{a}");
        assert_eq!(a.matches('-').count(), 4);
        assert_ne!(a, new_request_id());
        assert!(trace_id().starts_with("Root=1-"));
    }

    #[test]
    fn reads_own_peak_rss() {
        assert!(vm_hwm_kb(std::process::id()).unwrap_or(0) > 0);
    }
}
