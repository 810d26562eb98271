//! What the credential broker adds to a model call: the same streamed Anthropic Messages call
//! to a fake model on 127.0.0.1, sent directly and through the proxy's unix socket (placeholder
//! swapped, answer streamed back). Prints p50 and p99 of each and the p50 difference.
//!
//! `cargo bench -p drydock-egress --bench broker` (release). Loopback only.

use std::time::{Duration, Instant};

use bytes::Bytes;
use drydock_egress::{Policy, Proxy, ProxyConfig, Route, Secret};
use fakes::FakeModel;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpStream, UnixStream};

const RUNS: usize = 500;
const WARMUP: usize = 50;
const PLACEHOLDER: &str = "sk-ant-drydock-bench";
const BODY: &str = r#"{"model":"claude-test","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"say hi"}]}"#;

type Sender = SendRequest<Full<Bytes>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(bench())
}

async fn bench() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeModel::start_default()?;
    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("egress.sock");
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let policy =
        Policy::from_config(&[] as &[&str], &[format!("127.0.0.1:{}", fake.port()).as_str()])?;
    let mut config = ProxyConfig::new(&socket, policy, tx);
    config.routes = vec![Route::new("anthropic", &fake.base_url())?
        .with_credential(PLACEHOLDER, Secret::new("sk-ant-real-key"))];
    let _proxy = Proxy::start(config).await?;

    let mut direct =
        connect(TokioIo::new(TcpStream::connect(("127.0.0.1", fake.port())).await?)).await?;
    let mut brokered = connect(TokioIo::new(UnixStream::connect(&socket).await?)).await?;
    let (mut direct_times, mut broker_times, mut fresh_times) =
        (Vec::new(), Vec::new(), Vec::new());
    for i in 0..RUNS + WARMUP {
        // Interleaved, so load changes hit both alike.
        let d = call(&mut direct, "/v1/messages?beta=true", false).await?;
        let b = call(&mut brokered, "/anthropic/v1/messages?beta=true", true).await?;
        let mut fresh = connect(TokioIo::new(UnixStream::connect(&socket).await?)).await?;
        let f = call(&mut fresh, "/anthropic/v1/messages?beta=true", true).await?;
        if i >= WARMUP {
            direct_times.push(d);
            broker_times.push(b);
            fresh_times.push(f);
        }
    }
    let d50 = report("model call, direct (keep-alive TCP)", &mut direct_times);
    let b50 = report("model call, through the broker (keep-alive unix socket)", &mut broker_times);
    let f50 = report("model call, through the broker (new unix connection each)", &mut fresh_times);
    println!(
        "broker overhead p50: {:.2} ms (keep-alive), {:.2} ms (new connection)",
        b50 - d50,
        f50 - d50
    );
    Ok(())
}

async fn connect<T>(io: TokioIo<T>) -> Result<Sender, Box<dyn std::error::Error>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One streamed call, read to the end.
async fn call(
    sender: &mut Sender,
    path: &str,
    brokered: bool,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut req = Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01");
    req = if brokered {
        req.header("x-api-key", PLACEHOLDER)
    } else {
        req.header("x-api-key", "sk-ant-real-key")
    };
    let res =
        sender.send_request(req.body(Full::new(Bytes::from_static(BODY.as_bytes())))?).await?;
    if !res.status().is_success() {
        return Err(format!("{path}: {}", res.status()).into());
    }
    let body = res.into_body().collect().await?.to_bytes();
    if !body.starts_with(b"event: message_start") {
        return Err(format!(
            "{path}: unexpected answer {:?}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        )
        .into());
    }
    Ok(started.elapsed())
}

fn report(name: &str, samples: &mut [Duration]) -> f64 {
    samples.sort();
    let pick = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index].as_secs_f64() * 1000.0
    };
    println!("{name}: n={} p50={:.2} ms p99={:.2} ms", samples.len(), pick(0.50), pick(0.99));
    pick(0.50)
}
