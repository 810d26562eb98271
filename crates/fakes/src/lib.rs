//! Scripted fake model servers for driving real agent CLIs offline.
//!
//! One HTTP server on 127.0.0.1 speaks every wire API the agent CLIs use:
//! - Anthropic Messages: `POST /v1/messages` (SSE; `?beta=true` is fine),
//!   `/v1/messages/count_tokens`, `GET /v1/models`;
//! - OpenAI Responses `POST /v1/responses` and Chat Completions `POST /v1/chat/completions`
//!   (SSE, including the freeform `custom` tool-call delta Copilot needs);
//! - Gemini `POST /v1beta/models/{m}:streamGenerateContent?alt=sse`, `:generateContent`,
//!   `:countTokens`, `GET /v1beta/models`;
//! - a JSON-RPC MCP endpoint at `POST /mcp` (remote MCP server), which logs its headers;
//! - the GitHub and Copilot API endpoints the Copilot CLI calls with a GitHub token, under
//!   `/github` and `/copilot` ([`copilot`]).
//!
//! What it answers is decided by [`planner::plan`] from the request itself (see that module for
//! the prompt directives). Every request is recorded as a [`RequestRecord`], readable in-process
//! with [`FakeModel::requests`] and optionally appended to a JSONL file.

mod anthropic;
pub mod copilot;
pub mod dev_app;
mod gemini;
pub mod git;
#[cfg(feature = "gitea")]
pub mod gitea;
#[cfg(feature = "github")]
pub mod github;
#[cfg(feature = "gitlab")]
pub mod gitlab;
pub mod mcp;
mod openai;
pub mod planner;
#[cfg(feature = "github")]
pub mod smart_http;
mod wire;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use planner::Defaults;
use wire::Reply;

/// How to start a fake server.
#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Also append every request record to this JSONL file.
    pub log_file: Option<PathBuf>,
    /// Answers used when the prompt does not script them.
    pub defaults: Defaults,
}

/// One request the fake received.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Which API: `anthropic`, `responses`, `chat`, `gemini`, `mcp`, `copilot` (GitHub's and
    /// Copilot's other endpoints) or `other`.
    pub api: String,
    /// Model name sent.
    pub model: String,
    /// Whether a stream was asked for.
    pub stream: bool,
    /// Names of the tools offered.
    pub tools: Vec<String>,
    /// Text of the latest user prompt (for `mcp`: the JSON-RPC method).
    pub prompt: String,
    /// Whether earlier prompts were resent (a resumed conversation).
    pub history: bool,
    /// The earlier prompts.
    pub earlier_prompts: Vec<String>,
    /// Whether the last input was a tool result.
    pub tool_result: bool,
    /// Number of messages or input items.
    pub items: usize,
    /// What the fake answered (`call:Write`, `text`, `json`, `error:429`...).
    pub decision: String,
    /// The credential sent: `Authorization`, `x-api-key` or `x-goog-api-key`.
    pub auth: Option<String>,
    /// All request headers (lower-case names).
    pub headers: BTreeMap<String, String>,
}

struct State {
    defaults: Defaults,
    records: Mutex<Vec<RequestRecord>>,
    log: Option<Mutex<File>>,
}

impl State {
    fn record(&self, rec: RequestRecord) {
        if let Some(log) = &self.log {
            if let Ok(line) = serde_json::to_string(&rec) {
                let mut file = log.lock().unwrap_or_else(PoisonError::into_inner);
                // A failed log write must not fail the request the CLI is waiting for.
                let _ = writeln!(file, "{line}");
            }
        }
        self.records.lock().unwrap_or_else(PoisonError::into_inner).push(rec);
    }
}

/// A running fake server on its own thread; stopped on drop.
pub struct FakeModel {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeModel").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl FakeModel {
    /// Starts a server with default answers on a free port.
    pub fn start_default() -> std::io::Result<Self> {
        Self::start(FakeConfig::default())
    }

    /// Binds 127.0.0.1 and serves on a background thread with its own runtime, so it works from
    /// synchronous and asynchronous tests alike.
    pub fn start(config: FakeConfig) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(&config)?);
        let (stop_tx, stop_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread_state = state.clone();
        let thread = std::thread::Builder::new().name("fake-model".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                tokio::select! {
                    () = serve(listener, thread_state) => {}
                    _ = stop_rx => {}
                }
            });
            // Connections stalled by `[[delay:N]]` must not keep the thread alive.
            runtime.shutdown_background();
        })?;
        Ok(Self { addr, state, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fake GitHub REST API, for the Copilot CLI's `copilot_internal/...` calls.
    pub fn github_api_url(&self) -> String {
        format!("{}{}", self.base_url(), copilot::GITHUB_API_PREFIX)
    }

    /// The fake Copilot API (model list and Chat Completions turns).
    pub fn copilot_api_url(&self) -> String {
        format!("{}{}", self.base_url(), copilot::COPILOT_API_PREFIX)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.records.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl State {
    fn new(config: &FakeConfig) -> std::io::Result<Self> {
        let log = match &config.log_file {
            Some(path) => {
                Some(Mutex::new(OpenOptions::new().create(true).append(true).open(path)?))
            }
            None => None,
        };
        Ok(Self { defaults: config.defaults.clone(), records: Mutex::new(Vec::new()), log })
    }
}

/// Serves forever on `listener` (used by the `drydock-fake-model` binary).
pub async fn serve_forever(listener: TcpListener, config: FakeConfig) -> std::io::Result<()> {
    let state = Arc::new(State::new(&config)?);
    serve(listener, state).await;
    Ok(())
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path =
        req.uri().path_and_query().map_or_else(|| req.uri().path().to_string(), |p| p.to_string());
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = ["authorization", "x-api-key", "x-goog-api-key"]
        .iter()
        .find_map(|h| headers.get(*h).cloned());
    let mut rec = RequestRecord {
        method: method.clone(),
        path: path.clone(),
        api: "other".into(),
        model: String::new(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        tools: Vec::new(),
        prompt: String::new(),
        history: false,
        earlier_prompts: Vec::new(),
        tool_result: false,
        items: 0,
        decision: String::new(),
        auth,
        headers,
    };
    let route = path.split('?').next().unwrap_or_default().to_string();
    let parsed = if method == "POST" && route.ends_with("/messages") {
        Some(("anthropic", anthropic::parse(&body), anthropic::render as Renderer))
    } else if method == "POST" && route.ends_with("/responses") {
        Some(("responses", openai::parse_responses(&body), openai::render_responses as Renderer))
    } else if method == "POST" && route.ends_with("/chat/completions") {
        Some(("chat", openai::parse_chat(&body), openai::render_chat as Renderer))
    } else if method == "POST"
        && (route.ends_with(":streamGenerateContent") || route.ends_with(":generateContent"))
    {
        rec.stream = route.ends_with(":streamGenerateContent");
        let model =
            route.rsplit('/').next().unwrap_or_default().split(':').next().unwrap_or_default();
        Some(("gemini", gemini::parse(&body, model), gemini::render as Renderer))
    } else {
        None
    };
    let reply = match parsed {
        Some((api, conv, render)) => {
            let decision = planner::plan(&conv, &state.defaults);
            rec.api = api.into();
            rec.model = conv.model.clone();
            rec.tools = conv.tools.iter().map(|t| t.name.clone()).collect();
            rec.prompt = conv.prompt.clone();
            rec.history = !conv.earlier_prompts.is_empty();
            rec.earlier_prompts = conv.earlier_prompts.clone();
            rec.tool_result = conv.last_is_tool_result;
            rec.items = conv.items;
            rec.decision = decision.plan.label();
            state.record(rec);
            if let Some(delay) = decision.delay {
                tokio::time::sleep(delay).await;
            }
            render(&decision.plan, &conv.model, rec_stream(&body, api, &route))
        }
        None => {
            let reply = auxiliary(&method, &route, &body, &mut rec);
            state.record(rec);
            reply
        }
    };
    Ok(to_response(reply))
}

type Renderer = fn(&planner::Plan, &str, bool) -> Reply;

fn rec_stream(body: &Value, api: &str, route: &str) -> bool {
    if api == "gemini" {
        return route.ends_with(":streamGenerateContent");
    }
    body.get("stream").and_then(Value::as_bool).unwrap_or(false)
}

/// Answers the endpoints that are not model turns: model lists, token counts, MCP over HTTP.
fn auxiliary(method: &str, route: &str, body: &Value, rec: &mut RequestRecord) -> Reply {
    if let Some(reply) = copilot::answer(method, route) {
        rec.api = "copilot".into();
        return reply;
    }
    if route.ends_with("/mcp") {
        rec.api = "mcp".into();
        rec.prompt = body.get("method").and_then(Value::as_str).unwrap_or_default().to_string();
        if method != "POST" {
            return Reply { status: 405, content_type: "text/plain", body: String::new() };
        }
        return match mcp::answer(body) {
            Some(answer) => Reply::json(200, answer),
            None => Reply { status: 202, content_type: "application/json", body: String::new() },
        };
    }
    if route.ends_with("/count_tokens") {
        return Reply::json(200, json!({"input_tokens": wire::INPUT_TOKENS}));
    }
    if route.ends_with(":countTokens") {
        return Reply::json(200, json!({"totalTokens": wire::INPUT_TOKENS}));
    }
    if route.ends_with(":embedContent") {
        return Reply::json(200, json!({"embedding": {"values": [0.0, 0.0, 0.0]}}));
    }
    if method == "GET" && route.contains("/v1beta/models") {
        return Reply::json(
            200,
            json!({"models": [{"name": "models/gemini-2.5-pro",
            "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]}]}),
        );
    }
    if method == "GET" && route.ends_with("/models") {
        // One list readable as both the Anthropic and the OpenAI shape.
        let ids = ["claude-sonnet-4-5", "gpt-5.5", "fake-model"];
        let data: Vec<Value> = ids
            .iter()
            .map(|id| {
                json!({"id": id, "type": "model", "object": "model", "display_name": id,
                "created": 0, "created_at": "2025-01-01T00:00:00Z", "owned_by": "fake"})
            })
            .collect();
        return Reply::json(
            200,
            json!({"object": "list", "data": data, "has_more": false, "first_id": ids[0], "last_id": ids[2]}),
        );
    }
    Reply::json(200, json!({}))
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(reply.content_type) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    if reply.content_type == "text/event-stream" {
        resp.headers_mut().insert(
            hyper::header::CACHE_CONTROL,
            hyper::header::HeaderValue::from_static("no-cache"),
        );
    }
    resp.headers_mut().insert("request-id", hyper::header::HeaderValue::from_static("req_fake"));
    resp
}
