//! `pls mcp`: an MCP server on stdin/stdout that lets AI agents list, create, feed, read and
//! wait on the pools of one pool directory.
//!
//! Role: the JSON-RPC 2.0 layer — one request per stdin line, one compact response line per
//! request on stdout — and the MCP methods around the tools ([`tools`]) and resources
//! ([`resources`]). Tool arguments are checked by [`arguments`]; reading goes through
//! [`batch`], which sits on `plasmite_os::query`; queries with a `where` expression run in
//! evaluator processes of a [`Sandbox`] (`plasmite_os::sandbox`), started as this program's
//! hidden evaluator invocation. Calls that may take long (waits, `where`) run on their own threads, beside the
//! requests read after them, and can be cancelled.
//!
//! The dispatcher ([`Server`], [`Server::handle`]) answers one parsed JSON-RPC message for
//! any transport: this stdin loop, and `POST /mcp` of `pls serve`, which gates the tools by its
//! [`Access`] mode (the stdin server allows everything).
//!
//! # Invariants
//! - stdout carries responses only: exactly one compact JSON line per request that has an
//!   `id`, written whole and flushed; notifications, stray JSON-RPC responses and cancelled
//!   calls get nothing.
//! - Requests answered on the main loop are answered in order; a call running beside it
//!   fixes its cursor when read, so running later never loses a message it would have seen.
//! - No input line can end the server or make it panic, and no `where` expression runs in it:
//!   parse errors, bad shapes and tool failures are answered, and the server reads the next
//!   line. Only end of input (exit 0, after the running calls are answered) or a failure to
//!   read stdin or write stdout ends it.
//! - A tool failure is a tool result with `isError: true` (the agent sees it); a malformed
//!   request is a JSON-RPC error (the client sees it). Every failure says what to do next.
//! - A tool the access mode disallows is neither listed nor run (a call is a Permission tool
//!   error, before its arguments are looked at); resources need read access.
//!
//! Spec: `spec/MCP.md`.

mod arguments;
mod batch;
mod resources;
mod tools;

use crate::args::Matches;
use crate::ui::Ui;
use plasmite_os::{Cancel, Error, ErrorKind, Sandbox};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Which operations a server allows (`serve --access`); the MCP tools and the HTTP routes
/// are gated by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only.
    ReadOnly,
    /// Writes only.
    WriteOnly,
    /// Both.
    ReadWrite,
}

impl Access {
    /// The mode a flag value names.
    #[cfg(feature = "serve")]
    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "read-only" => Some(Access::ReadOnly),
            "write-only" => Some(Access::WriteOnly),
            "read-write" => Some(Access::ReadWrite),
            _ => None,
        }
    }

    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "read-only",
            Access::WriteOnly => "write-only",
            Access::ReadWrite => "read-write",
        }
    }

    /// Whether reads are allowed.
    pub fn can_read(self) -> bool {
        self != Access::WriteOnly
    }

    /// Whether writes are allowed.
    pub fn can_write(self) -> bool {
        self != Access::ReadOnly
    }
}

/// The MCP protocol revision this server speaks.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// What agents are told about the server in `initialize`.
const INSTRUCTIONS: &str = "Plasmite pools are named, persistent, bounded JSON message channels \
on this machine. A pool is a ring: appends never block, and when it is full the oldest messages \
are evicted. Each message has a seq (increasing by one per message), a time, meta.tags and a \
JSON object `data`. Start with plasmite_pool_list (or plasmite_pool_create). Append with \
plasmite_feed. Read history with plasmite_read: the latest messages, or those after a seq. To \
follow a pool, call plasmite_wait in a loop and pass each result's next_after_seq as the next \
after_seq; fell_behind: true means messages were evicted before you read them. Narrow reads \
with tags (every tag must match) and where (a jq predicate over \
{seq, time, meta: {tags}, data}, e.g. `.data.level == \"error\"`). Each pool is also a resource \
(plasmite:///pools/<name>) holding its 20 latest messages.";

/// Most calls running beside the main loop.
const CALLS_MAX: usize = 64;
/// How often a main loop held by [`CALLS_MAX`] looks whether a call has ended.
const CALL_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
/// Server-defined: a pool operation behind a resource failed.
const SERVER_ERROR: i64 = -32000;

/// Runs `mcp`: serves requests from stdin until it ends, then waits for the calls still
/// running.
pub fn run(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    let dir = m
        .value("dir")
        .map_or_else(|| dir.to_path_buf(), PathBuf::from);
    let sandbox = Arc::new(Sandbox::new(crate::evaluator::launcher()));
    let server = Arc::new(Server::new(dir, sandbox, Access::ReadWrite));
    let mut running: Vec<JoinHandle<()>> = Vec::new();
    let served = serve(&server, ui, &mut running);
    if served.is_err() {
        // Nobody will read their answers: stop them, which kills their evaluators.
        server.cancel_all();
    }
    for call in running {
        let _ = call.join();
    }
    served
}

/// The main loop: reads requests until end of input, answering some at once and starting the
/// others beside it (kept in `running`).
fn serve(server: &Arc<Server>, ui: &Ui, running: &mut Vec<JoinHandle<()>>) -> Result<u8, Error> {
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line).map_err(|e| {
            Error::new(ErrorKind::Io, format!("failed to read stdin: {e}"))
                .with_hint("The MCP client closed or broke the pipe; restart the server.")
                .with_source(e)
        })?;
        if n == 0 {
            return Ok(0);
        }
        match server.handle_line(&line) {
            Reply::Nothing => {}
            Reply::Now(response) => ui.print(&response_line(&response))?,
            Reply::Later(slow) => {
                // Back-pressure: a client that starts calls faster than they end is read no
                // further until one of them — any one — has ended.
                running.retain(|call| !call.is_finished());
                while running.len() >= CALLS_MAX {
                    std::thread::sleep(CALL_POLL);
                    running.retain(|call| !call.is_finished());
                }
                running.extend(Server::start(server, slow));
            }
        }
    }
}

/// `response` as one line of output.
fn response_line(response: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail (its keys are strings).
    let mut out = serde_json::to_vec(response).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Writes a response from a call running beside the main loop. A failed write is the main
/// loop's to report: it fails on its next write, or stdin has ended.
fn emit(response: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&response_line(response));
    let _ = out.flush();
}

/// The answer to a request, as `call` returns it.
fn respond(id: Value, outcome: Result<Value, RpcError>) -> Value {
    match outcome {
        Ok(result) => json!({ "id": id, "jsonrpc": "2.0", "result": result }),
        Err(e) => e.response(id),
    }
}

/// A JSON-RPC error: code, message and optional data (a hint, an error kind, …).
#[derive(Debug)]
pub(crate) struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>, hint: &str) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: Some(json!({ "hint": hint })),
        }
    }

    fn invalid_request(message: impl Into<String>) -> RpcError {
        RpcError::new(
            INVALID_REQUEST,
            message,
            "Send one JSON-RPC 2.0 request object per line: \
             {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"…\",\"params\":{…}}.",
        )
    }

    /// `-32602` with a hint.
    pub(crate) fn invalid_params(message: impl Into<String>, hint: &str) -> RpcError {
        RpcError::new(INVALID_PARAMS, message, hint)
    }

    /// `-32000` for a failed pool operation, with the error's kind and details as data.
    pub(crate) fn pool(e: &Error) -> RpcError {
        let mut data = error_object(e);
        data.remove("message");
        RpcError {
            code: SERVER_ERROR,
            message: e.message().to_owned(),
            data: Some(Value::Object(data)),
        }
    }

    fn response(self, id: Value) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(d) = self.data {
            error.insert("data".into(), d);
        }
        json!({ "error": error, "id": id, "jsonrpc": "2.0" })
    }
}

/// The engine's error object (`Error::to_json`) the MCP way: the kind under `error_kind`, a
/// hint always, no source chain (`causes`: the reference's MCP results carry none).
pub(crate) fn error_object(e: &Error) -> Map<String, Value> {
    let mut o = match e.to_json() {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    o.remove("causes");
    o.remove("kind");
    o.insert("error_kind".into(), json!(e.kind().as_str()));
    o.insert("hint".into(), json!(hint_of(e)));
    o
}

/// The hint of `e`, or what to do about its kind when it has none: every failure an agent
/// sees says what to do next.
pub(crate) fn hint_of(e: &Error) -> String {
    if let Some(h) = e.hint() {
        return h.to_owned();
    }
    match e.kind() {
        ErrorKind::Internal => "Unexpected internal failure; retry, and report it if it persists.",
        ErrorKind::Usage => "Check the arguments against the tool's input schema (tools/list).",
        ErrorKind::NotFound => "Check the pool name with plasmite_pool_list.",
        ErrorKind::AlreadyExists => "Use the existing pool as-is, or choose another name.",
        ErrorKind::Busy => "Pool is busy (another writer holds the lock). Retry with backoff.",
        ErrorKind::Permission => {
            "Permission denied. Check the pool directory's permissions, or start the server \
             with --dir pointing to a writable location."
        }
        ErrorKind::Corrupt => plasmite_os::error::HINT_CORRUPT,
        ErrorKind::Io => "I/O error. Check the path, filesystem, and disk space.",
        ErrorKind::RetentionGap => {
            "Messages were evicted before they were read; continue from the oldest retained one."
        }
    }
    .to_owned()
}

/// What a message (an input line, a request body) gets.
#[derive(Debug)]
pub enum Reply {
    /// No response: a blank line, a notification or a stray response.
    Nothing,
    /// This response, now.
    Now(Value),
    /// A `tools/call` that may take long: the caller runs it beside its other work (a thread)
    /// and answers when done (or never, when cancelled).
    Later(Slow),
}

/// A `tools/call` that may take long (`plasmite_wait`, a read with `where`), its arguments
/// checked for nothing but the tool's name and the server's access mode yet.
#[derive(Debug)]
pub struct Slow {
    id: Value,
    params: Map<String, Value>,
}

// The HTTP transport's side of a slow call (stdio runs it on its own thread).
#[cfg(feature = "serve")]
impl Slow {
    /// Whether the call is a `plasmite_wait` (it may park until its timeout, where a `where`
    /// read only computes).
    pub fn waits(&self) -> bool {
        tools::named_tool(&self.params) == Some("plasmite_wait")
    }

    /// Runs the call (blocking) and returns its response; `cancel` stops it early (a wait
    /// within 50 ms, a `where` evaluator at once).
    pub fn run(self, server: &Server, cancel: &Cancel) -> Value {
        let outcome = server.call_tool(&self.params, cancel);
        respond(self.id, outcome)
    }

    /// The response refusing the call with `e` (a tool error, as if the tool had failed).
    pub fn refuse(self, e: Error) -> Value {
        let tool = tools::named_tool(&self.params).unwrap_or_default();
        let result = tools::failed(tool, arguments::Failure::Pool(e));
        respond(self.id, Ok(result))
    }
}

/// The response to a message that is not JSON.
pub fn parse_error() -> Value {
    json!({
        "error": {"code": PARSE_ERROR, "message": "invalid JSON"},
        "id": null,
        "jsonrpc": "2.0",
    })
}

/// The server's state: the pool directory (each request opens what it needs), the evaluators
/// of `where` expressions, the operations allowed, and the calls running beside the main loop.
#[derive(Debug)]
pub struct Server {
    dir: PathBuf,
    /// Where `where` expressions run: never in this process.
    sandbox: Arc<Sandbox>,
    /// Which tools and methods may be used.
    access: Access,
    /// Running calls by request id (as JSON text), for `notifications/cancelled`.
    in_flight: Mutex<HashMap<String, Arc<Cancel>>>,
}

/// Never set: for calls that cannot be cancelled because they answer before the next line is
/// read.
static NOT_CANCELLED: std::sync::LazyLock<Cancel> = std::sync::LazyLock::new(Cancel::new);

impl Server {
    /// A server on the pools of `dir`, evaluating `where` in `sandbox`, allowing `access`.
    pub fn new(dir: PathBuf, sandbox: Arc<Sandbox>, access: Access) -> Server {
        Server {
            dir,
            sandbox,
            access,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a call beside the main loop; it writes its own response.
    fn start(server: &Arc<Server>, slow: Slow) -> Option<JoinHandle<()>> {
        let Slow { id, params } = slow;
        let cancel = Arc::new(Cancel::new());
        let key = id.to_string();
        server
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), Arc::clone(&cancel));
        let me = Arc::clone(server);
        let (reply_id, registered) = (id.clone(), Arc::clone(&cancel));
        let work = move || {
            let outcome = me.call_tool(&params, &cancel);
            me.finished(&key, &cancel);
            if !cancel.is_cancelled() {
                emit(&respond(id, outcome));
            }
        };
        match std::thread::Builder::new().spawn(work) {
            Ok(handle) => Some(handle),
            Err(e) => {
                server.finished(&reply_id.to_string(), &registered);
                let e = Error::new(ErrorKind::Internal, "cannot start a thread for this call")
                    .with_hint("The system is short of threads or memory; retry later.")
                    .with_source(e);
                emit(&respond(reply_id, Err(RpcError::pool(&e))));
                None
            }
        }
    }

    /// Forgets the running call `key` (unless another call with the same id replaced it).
    fn finished(&self, key: &str, cancel: &Cancel) {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if in_flight
            .get(key)
            .is_some_and(|c| std::ptr::eq(Arc::as_ptr(c), cancel))
        {
            in_flight.remove(key);
        }
    }

    /// Runs `tools/call` with `params` (a `where` in it runs in the sandbox).
    fn call_tool(&self, params: &Map<String, Value>, cancel: &Cancel) -> Result<Value, RpcError> {
        tools::call(&self.dir, Some(params), &self.sandbox, self.access, cancel)
    }

    /// Cancels every running call.
    fn cancel_all(&self) {
        for c in self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            c.cancel();
        }
    }

    /// `notifications/cancelled`: the call with `requestId`, if still running, stops and is
    /// never answered.
    fn cancel(&self, params: Option<&Value>) {
        let Some(id) = params.and_then(|p| p.get("requestId")) else {
            return;
        };
        let cancel = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id.to_string())
            .cloned();
        if let Some(c) = cancel {
            c.cancel();
        }
    }

    /// What one input line gets.
    fn handle_line(&self, line: &[u8]) -> Reply {
        let text = line.trim_ascii();
        if text.is_empty() {
            return Reply::Nothing;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(message) => self.handle(message),
            Err(_) => Reply::Now(parse_error()),
        }
    }

    /// What one JSON-RPC message gets. A `Now` may have done file I/O; a `Later` has not run.
    pub fn handle(&self, message: Value) -> Reply {
        let Value::Object(obj) = message else {
            return Reply::Now(
                RpcError::invalid_request(
                    "a request must be a JSON object (batches are not supported)",
                )
                .response(Value::Null),
            );
        };
        // A response to a request we never sent (we send none): nothing to answer.
        if !obj.contains_key("method") && (obj.contains_key("result") || obj.contains_key("error"))
        {
            return Reply::Nothing;
        }
        let id = match obj.get("id") {
            None => None,
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n.clone())),
            Some(v @ (Value::String(_) | Value::Null)) => Some(v.clone()),
            Some(_) => {
                return Reply::Now(
                    RpcError::invalid_request("id must be a string, an integer or null")
                        .response(Value::Null),
                );
            }
        };
        let reply_id = id.clone().unwrap_or(Value::Null);
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Reply::Now(
                RpcError::invalid_request("jsonrpc must be \"2.0\"").response(reply_id),
            );
        }
        let method = match obj.get("method") {
            Some(Value::String(m)) => m.as_str(),
            Some(_) => {
                return Reply::Now(
                    RpcError::invalid_request("method must be a string").response(reply_id),
                );
            }
            None => {
                return Reply::Now(
                    RpcError::invalid_request("method is missing").response(reply_id),
                );
            }
        };
        // A well-formed notification is never answered, whatever its method or params.
        let Some(id) = id else {
            if method == "notifications/cancelled" {
                self.cancel(obj.get("params"));
            }
            return Reply::Nothing;
        };
        let params = match obj.get("params") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => Some(p),
            Some(_) => {
                return Reply::Now(
                    RpcError::invalid_params(
                        "params must be an object",
                        "Pass named parameters as a JSON object, e.g. \"params\":{}.",
                    )
                    .response(id),
                );
            }
        };
        // A tool the access mode refuses is refused at once, whatever it would have done.
        if let Some(p) = params
            && method == "tools/call"
            && tools::is_slow(p)
            && tools::permitted(p, self.access)
        {
            let mut params = p.clone();
            tools::pin_wait_cursor(&self.dir, &mut params);
            return Reply::Later(Slow { id, params });
        }
        Reply::Now(respond(id, self.call(method, params)))
    }

    /// Runs one request method.
    fn call(&self, method: &str, params: Option<&Map<String, Value>>) -> Result<Value, RpcError> {
        if method.starts_with("resources/") && !self.access.can_read() {
            return Err(RpcError::pool(
                &Error::new(
                    ErrorKind::Permission,
                    "forbidden: access mode disallows read operations",
                )
                .with_hint("Resources are reads; this server's --access mode allows none."),
            ));
        }
        match method {
            "initialize" => Ok(initialize()),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(tools::list(self.access)),
            "tools/call" => tools::call(
                &self.dir,
                params,
                &self.sandbox,
                self.access,
                &NOT_CANCELLED,
            ),
            "resources/list" => resources::list(&self.dir),
            "resources/templates/list" => Ok(resources::templates()),
            "resources/read" => resources::read(&self.dir, params),
            other => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("method not found: {other}"),
                "Supported methods: initialize, ping, tools/list, tools/call, resources/list, \
                 resources/templates/list, resources/read.",
            )),
        }
    }
}

/// The `initialize` result: our protocol version, whatever the client asked for (the client
/// decides whether it can speak it).
fn initialize() -> Value {
    json!({
        "capabilities": {
            "resources": {"listChanged": false, "subscribe": false},
            "tools": {"listChanged": false},
        },
        "instructions": INSTRUCTIONS,
        "protocolVersion": PROTOCOL_VERSION,
        "serverInfo": {"name": "plasmite", "version": env!("CARGO_PKG_VERSION")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Server {
        server_with(Access::ReadWrite)
    }

    fn server_with(access: Access) -> Server {
        let dir = std::env::temp_dir().join("pls-mcp-unit-no-such-dir");
        let sandbox = Sandbox::new(plasmite_os::Launcher::new(dir.join("no-such-program")));
        Server::new(dir, Arc::new(sandbox), access)
    }

    fn answer(line: &str) -> Option<Value> {
        match server().handle_line(line.as_bytes()) {
            Reply::Nothing => None,
            Reply::Now(v) => Some(v),
            Reply::Later { .. } => panic!("{line} should be answered at once"),
        }
    }

    #[test]
    fn every_unparseable_line_is_a_parse_error_with_null_id() {
        for line in [
            "{",
            "nul",
            "{\"a\":1}x",
            "\u{feff}{}",
            "[1,",
            "\"unterminated",
        ] {
            let r = answer(line).expect("a response");
            assert_eq!(r["error"]["code"], PARSE_ERROR, "{line}");
            assert_eq!(r["id"], Value::Null, "{line}");
        }
        let Reply::Now(r) = server().handle_line(b"{\"x\":\"\xff\"}") else {
            panic!("a response");
        };
        assert_eq!(r["error"]["code"], PARSE_ERROR, "invalid UTF-8");
    }

    #[test]
    fn blank_lines_notifications_and_responses_get_no_answer() {
        for line in [
            "",
            "  \r",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","method":"no/such/method","params":7}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}}"#,
        ] {
            assert_eq!(answer(line), None, "{line}");
        }
    }

    #[test]
    fn malformed_requests_are_invalid_requests_echoing_a_valid_id() {
        let cases = [
            ("[]", Value::Null),
            ("3", Value::Null),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#, Value::Null),
            (r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, json!(1)),
            (r#"{"id":"a","method":"ping"}"#, json!("a")),
            (r#"{"jsonrpc":"2.0","id":2,"method":7}"#, json!(2)),
            (r#"{"jsonrpc":"2.0","id":2}"#, json!(2)),
        ];
        for (line, id) in cases {
            let r = answer(line).expect("a response");
            assert_eq!(r["error"]["code"], INVALID_REQUEST, "{line}");
            assert_eq!(r["id"], id, "{line}");
            assert!(r["error"]["data"]["hint"].is_string(), "{line}");
        }
    }

    #[test]
    fn responses_echo_the_id_and_carry_result_or_error_never_both() {
        for id in [
            json!(0),
            json!(-4),
            json!("x"),
            Value::Null,
            json!(u64::MAX),
        ] {
            let line = json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string();
            let r = answer(&line).expect("a response");
            assert_eq!(r, json!({"id": id, "jsonrpc": "2.0", "result": {}}));
        }
        let r = answer(r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#).expect("a response");
        assert_eq!(r["error"]["code"], METHOD_NOT_FOUND);
        assert!(r.get("result").is_none());
        let r = answer(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}"#).expect("a");
        assert_eq!(r["error"]["code"], INVALID_PARAMS);
    }

    fn tool_names(access: Access) -> Vec<String> {
        let Reply::Now(r) =
            server_with(access).handle(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        else {
            panic!("tools/list is answered at once");
        };
        let tools = r["result"]["tools"].as_array().expect("tools").clone();
        tools
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_owned())
            .collect()
    }

    #[test]
    fn an_access_mode_lists_only_the_tools_it_allows() {
        let all = tool_names(Access::ReadWrite);
        let reads = tool_names(Access::ReadOnly);
        let writes = tool_names(Access::WriteOnly);
        assert_eq!(all.len(), reads.len() + writes.len());
        assert!(reads.contains(&"plasmite_wait".to_owned()), "{reads:?}");
        assert!(!reads.contains(&"plasmite_feed".to_owned()), "{reads:?}");
        assert!(writes.contains(&"plasmite_feed".to_owned()), "{writes:?}");
        assert!(!writes.contains(&"plasmite_read".to_owned()), "{writes:?}");
    }

    #[test]
    fn a_refused_tool_is_a_permission_tool_error_even_when_slow() {
        for (access, tool) in [
            (Access::ReadOnly, "plasmite_pool_delete"),
            (Access::WriteOnly, "plasmite_wait"),
            (Access::WriteOnly, "plasmite_read"),
        ] {
            let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                              "params": {"name": tool, "arguments": {"pool": "p", "where": "true"}}});
            let Reply::Now(r) = server_with(access).handle(call) else {
                panic!("{tool} should be refused at once");
            };
            assert_eq!(r["result"]["isError"], true, "{r}");
            let s = &r["result"]["structuredContent"];
            assert_eq!(s["error_kind"], "Permission", "{r}");
            assert_eq!(s["tool"], tool, "{r}");
        }
        let read = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/list"});
        let Reply::Now(r) = server_with(Access::WriteOnly).handle(read) else {
            panic!("answered at once");
        };
        assert_eq!(r["error"]["data"]["error_kind"], "Permission", "{r}");
    }

    #[test]
    fn initialize_announces_the_protocol_version_and_capabilities() {
        let r = answer(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
            .expect("a response");
        let res = &r["result"];
        assert_eq!(res["protocolVersion"], PROTOCOL_VERSION);
        assert_eq!(res["serverInfo"]["name"], "plasmite");
        assert_eq!(res["capabilities"]["tools"]["listChanged"], false);
        assert_eq!(res["capabilities"]["resources"]["subscribe"], false);
        assert!(res["instructions"].as_str().is_some_and(|s| !s.is_empty()));
    }
}
