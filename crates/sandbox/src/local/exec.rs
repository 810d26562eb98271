//! Running one sandboxed command: streaming its output, watching the clock and the silence, and
//! reporting how it ended.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::process::Pid;
use shared::events::Stream;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::sleep_until;

use super::signals::Running;
use crate::error::{Result, SandboxError};
use crate::spec::{ExecOutcome, KillPolicy, OutputLine, StopReason};

/// Time limits, the disk quota and output handling for one command.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    pub timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub policy: KillPolicy,
    pub max_line_bytes: usize,
    pub disk: Option<DiskQuota>,
    /// Stops the command when it turns true or its sender is dropped.
    pub stop: Option<watch::Receiver<bool>>,
}

/// The sandbox's disk quota, measured while the command runs.
#[derive(Debug, Clone)]
pub(crate) struct DiskQuota {
    /// Directories whose usage counts together (workspace and HOME).
    pub dirs: Vec<PathBuf>,
    pub limit_bytes: u64,
    /// Time between two measurements, and before the first: a short command costs no walk.
    pub interval: Duration,
}

/// Spawns `command`; `register` is handed the shared state so `kill` can find it.
pub(crate) async fn run(
    mut command: Command,
    watch_cfg: Watch,
    sink: mpsc::Sender<OutputLine>,
    register: impl FnOnce(Arc<Running>),
) -> Result<ExecOutcome> {
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| SandboxError::io("starting bwrap", e))?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw)
        .ok_or_else(|| SandboxError::io("starting bwrap", std::io::Error::other("no pid")))?;
    let (done_tx, done_rx) = watch::channel(false);
    let running = Arc::new(Running::new(pid, done_rx));
    register(running.clone());
    let disk_watch = watch_cfg
        .disk
        .clone()
        .map(|quota| tokio::spawn(watch_disk(quota, running.clone(), watch_cfg.policy)));

    // Milliseconds since `started` of the last output, for the no-output watchdog.
    let last_output = Arc::new(AtomicU64::new(0));
    let mut pumps = Vec::new();
    if let Some(out) = child.stdout.take() {
        pumps.push(tokio::spawn(pump(
            out,
            Stream::Stdout,
            sink.clone(),
            last_output.clone(),
            started,
            watch_cfg.max_line_bytes,
        )));
    }
    if let Some(err) = child.stderr.take() {
        pumps.push(tokio::spawn(pump(
            err,
            Stream::Stderr,
            sink,
            last_output.clone(),
            started,
            watch_cfg.max_line_bytes,
        )));
    }

    let status = supervise(&mut child, &running, &watch_cfg, &last_output, started).await;
    if let Some(task) = disk_watch {
        task.abort();
    }
    let _ = done_tx.send(true);
    for pump in pumps {
        let _ = pump.await;
    }
    let status = status.map_err(|e| SandboxError::io("waiting for bwrap", e))?;

    let stopped = running.stop_reason();
    let (exit_code, signal) = match (status.code(), status.signal()) {
        (_, Some(sig)) => (None, Some(sig)),
        // bwrap reports a command killed by signal N as exit 128+N; only trust that reading when
        // we sent the signals ourselves, since a program may also exit with such a code.
        (Some(code), None) if stopped.is_some() && code > 128 => (None, Some(code - 128)),
        (code, None) => (code, None),
    };
    Ok(ExecOutcome { exit_code, signal, duration: started.elapsed(), stopped })
}

/// Waits for the child, stopping it when the deadline passes or the output goes quiet.
async fn supervise(
    child: &mut Child,
    running: &Arc<Running>,
    cfg: &Watch,
    last_output: &AtomicU64,
    started: Instant,
) -> std::io::Result<std::process::ExitStatus> {
    let deadline = cfg.timeout.map(|t| tokio::time::Instant::from_std(started + t));
    let mut stopping = false;
    let mut asked = cfg.stop.clone();
    loop {
        let armed = !stopping;
        let stop_asked = async {
            match asked.as_mut() {
                // A dropped sender counts as a request to stop.
                Some(rx) if armed => {
                    let _ = rx.wait_for(|stop| *stop).await;
                }
                _ => std::future::pending::<()>().await,
            }
        };
        let idle_deadline = cfg.idle_timeout.map(|idle| {
            let last = Duration::from_millis(last_output.load(Ordering::Relaxed));
            tokio::time::Instant::from_std(started + last + idle)
        });
        let next = match (deadline, idle_deadline) {
            _ if stopping => None,
            (Some(a), Some(b)) => {
                Some((a.min(b), if a <= b { StopReason::Timeout } else { StopReason::Idle }))
            }
            (Some(a), None) => Some((a, StopReason::Timeout)),
            (None, Some(b)) => Some((b, StopReason::Idle)),
            (None, None) => None,
        };
        let Some((when, reason)) = next else {
            tokio::select! {
                status = child.wait() => return status,
                () = stop_asked => {
                    stopping = true;
                    let running = running.clone();
                    let policy = cfg.policy;
                    tokio::spawn(async move { running.stop(StopReason::Killed, policy).await });
                    continue;
                }
            }
        };
        tokio::select! {
            status = child.wait() => return status,
            () = stop_asked => {
                stopping = true;
                let running = running.clone();
                let policy = cfg.policy;
                tokio::spawn(async move { running.stop(StopReason::Killed, policy).await });
            }
            () = sleep_until(when) => {
                // The idle deadline may have moved while we slept; only act if it still holds.
                if reason == StopReason::Idle {
                    let last = Duration::from_millis(last_output.load(Ordering::Relaxed));
                    if started.elapsed() < last + cfg.idle_timeout.unwrap_or_default() {
                        continue;
                    }
                }
                stopping = true;
                let running = running.clone();
                let policy = cfg.policy;
                tokio::spawn(async move { running.stop(reason, policy).await });
            }
        }
    }
}

/// Measures the quota's directories until they pass the limit, then stops the command. The
/// walk runs on a blocking thread: a large tree takes a while, and the agent keeps writing.
pub(crate) async fn watch_disk(quota: DiskQuota, running: Arc<Running>, policy: KillPolicy) {
    tokio::time::sleep(quota.interval).await;
    loop {
        let dirs = quota.dirs.clone();
        let started = Instant::now();
        let used = tokio::task::spawn_blocking(move || {
            dirs.iter().map(|dir| super::tree::disk_usage(dir).unwrap_or(0)).sum::<u64>()
        })
        .await
        .unwrap_or(0);
        if used > quota.limit_bytes {
            tracing::info!(used, limit = quota.limit_bytes, "sandbox passed its disk quota");
            running.stop(StopReason::DiskQuota, policy).await;
            return;
        }
        // A huge tree takes long to measure: space the walks so they take at most a tenth of
        // one core.
        tokio::time::sleep(quota.interval.max(started.elapsed() * 10)).await;
    }
}

/// Forwards one stream to the sink line by line. Waits for a full sink instead of dropping; a
/// closed sink only stops forwarding, never reading, so the command cannot block on its pipe.
async fn pump(
    reader: impl AsyncRead + Unpin,
    stream: Stream,
    sink: mpsc::Sender<OutputLine>,
    last_output: Arc<AtomicU64>,
    started: Instant,
    max_line_bytes: usize,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line = Vec::new();
    let mut open = true;
    let touch = || {
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        last_output.store(ms, Ordering::Relaxed);
    };
    loop {
        let (consumed, complete) = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buf) => match buf.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    line.extend_from_slice(&buf[..i]);
                    (i + 1, true)
                }
                None => {
                    line.extend_from_slice(buf);
                    (buf.len(), line.len() >= max_line_bytes)
                }
            },
        };
        reader.consume(consumed);
        touch();
        if complete {
            if open {
                open = send(&sink, stream, &mut line).await;
                // Time spent waiting on a slow sink is not the command being silent.
                touch();
            }
            line.clear();
        }
    }
    if !line.is_empty() && open {
        send(&sink, stream, &mut line).await;
    }
}

async fn send(sink: &mpsc::Sender<OutputLine>, stream: Stream, line: &mut Vec<u8>) -> bool {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let text = String::from_utf8_lossy(line).into_owned();
    sink.send(OutputLine { stream, line: text }).await.is_ok()
}
