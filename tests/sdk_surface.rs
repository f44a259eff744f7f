//! The Python and JavaScript SDKs' wider surface, end to end: probe
//! plugins (`plugins/fixtures/probe-py`, `probe-js`, twins with the same
//! names and answers) and `plugins/examples/fetch-py` are built with the
//! real `berth build`, in copies, once until their sources change, then
//! served by the real `berth serve --stdio`. Checked for both languages:
//! a masked exception, a user error, invalid params, structured output
//! with its schema, elicitation over two rounds (and a declined one),
//! resources listed and read, a prompt, completion, progress for a
//! progress token, a log with data, and user-scoped state shared by two
//! sessions of one principal while session state is not. fetch-py GETs
//! from a local server it is granted and is refused another host.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::origin::Origin;
use kit::{Client, InProcess, modern_call, scratch, text};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A project of the repository, built by the kit.
struct Project {
    /// Where it lives, relative to the repository.
    source: &'static str,
    built: OnceLock<PathBuf>,
}

static PROBE_PY: Project = Project {
    source: "plugins/fixtures/probe-py",
    built: OnceLock::new(),
};
static PROBE_JS: Project = Project {
    source: "plugins/fixtures/probe-js",
    built: OnceLock::new(),
};
static FETCH_PY: Project = Project {
    source: "plugins/examples/fetch-py",
    built: OnceLock::new(),
};

impl Project {
    /// The name of the plugin (its directory's).
    fn name(&self) -> &'static str {
        self.source.rsplit('/').next().unwrap()
    }

    /// A copy of the project built by `berth build`: by the first test
    /// binary that needs it since its sources changed (a failed build
    /// fails every test that needs it, with its output).
    fn dir(&self) -> &Path {
        self.built
            .get_or_init(|| kit::paths::built_project(self.source))
    }
}

/// A legacy session over the probe, with elicitation declared and every
/// log level asked for.
async fn legacy(project: &Project) -> Client {
    let mut c = InProcess::stdio(kit::config("", &[project.dir()]));
    c.initialize_with("2025-11-25", json!({"elicitation": {}}))
        .await;
    c.ok("logging/setLevel", json!({"level": "debug"})).await;
    c
}

/// Calls `tool` and answers each `elicitation/create` the server sends
/// meanwhile with the next of `answers`. Returns the call's result and
/// the questions' params, in order.
async fn call_answering(c: &mut Client, tool: &str, answers: &[Value]) -> (Value, Vec<Value>) {
    let id = c
        .start("tools/call", json!({"name": tool, "arguments": {}}))
        .await;
    let mut asked = Vec::new();
    loop {
        let msg = c.recv().await;
        if msg["id"] == id && msg.get("method").is_none() {
            assert!(msg.get("error").is_none(), "{tool}: {msg}");
            return (msg["result"].clone(), asked);
        }
        if msg["method"] == "elicitation/create" {
            let answer = answers
                .get(asked.len())
                .unwrap_or_else(|| panic!("{tool}: an unexpected question {msg}"));
            asked.push(msg["params"].clone());
            c.send(&json!({"jsonrpc": "2.0", "id": msg["id"], "result": answer}))
                .await;
            continue;
        }
        assert!(msg.get("id").is_none(), "{tool}: unexpected {msg}");
        c.notifications.push(msg);
    }
}

/// The checks of one probe, over one legacy session.
async fn surface(project: &Project) {
    let p = project.name();
    let mut c = legacy(project).await;
    let tool = |name: &str| format!("{p}_{name}");

    let list = c.ok("tools/list", json!({})).await;
    let names = kit::tool_names(&list);
    for name in [
        "boom", "refuse", "bad_args", "stats", "remember", "ask_name",
    ] {
        assert!(
            names.contains(&tool(name).as_str()),
            "{p}: {name} in {names:?}"
        );
    }
    let stats = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tool("stats"))
        .unwrap();
    let out = &stats["outputSchema"];
    assert_eq!(out["type"], "object", "{p}: {stats}");
    assert_eq!(
        out["properties"]["count"]["type"], "integer",
        "{p}: {stats}"
    );
    assert_eq!(out["properties"]["mean"]["type"], "number", "{p}: {stats}");
    assert_eq!(stats["annotations"]["readOnlyHint"], true, "{p}: {stats}");

    // Errors: a plain exception is masked, a user error and invalid
    // params reach the client as tool errors with their message.
    let boom = c.tool(&tool("boom"), json!({})).await;
    assert_eq!(
        boom,
        json!({"content": [{"type": "text", "text": format!("Internal error in tool {p}_boom.")}],
               "isError": true}),
        "{p}"
    );
    let refused = c.tool(&tool("refuse"), json!({"reason": "no"})).await;
    assert_eq!(
        refused,
        json!({"content": [{"type": "text", "text": "refused: no"}], "isError": true}),
        "{p}"
    );
    let bad = c.tool(&tool("bad_args"), json!({"n": -1})).await;
    assert_eq!(bad["isError"], true, "{p}: {bad}");
    assert_eq!(
        text(&bad),
        "Invalid arguments: n must not be negative",
        "{p}: {bad}"
    );
    let good = c.tool(&tool("bad_args"), json!({"n": 4})).await;
    assert_eq!(text(&good), "4", "{p}: {good}");

    // Structured output, and its JSON as text for clients that read only
    // content.
    let r = c.tool(&tool("stats"), json!({"values": [1, 2, 4.5]})).await;
    assert_eq!(
        r["structuredContent"],
        json!({"count": 3, "mean": 2.5}),
        "{p}: {r}"
    );
    let shown: Value = serde_json::from_str(text(&r)).unwrap();
    assert_eq!(shown, r["structuredContent"], "{p}: {r}");
    assert_ne!(r["isError"], true, "{p}: {r}");

    // Elicitation over two rounds, in one request.
    let (r, asked) = call_answering(
        &mut c,
        &tool("ask_name"),
        &[
            json!({"action": "accept", "content": {"name": "Ada"}}),
            json!({"action": "accept", "content": {"x": 36}}),
        ],
    )
    .await;
    assert_eq!(text(&r), "Hello, Ada (36)!", "{p}: {r}");
    let messages: Vec<&Value> = asked.iter().map(|q| &q["message"]).collect();
    assert_eq!(
        messages,
        [&json!("What is your name?"), &json!("How old are you?")],
        "{p}"
    );
    assert_eq!(
        asked[0]["requestedSchema"]["properties"]["name"]["type"], "string",
        "{p}: {asked:?}"
    );
    assert_eq!(
        asked[1]["requestedSchema"]["properties"]["x"]["type"], "number",
        "{p}: {asked:?}"
    );
    // A declined question ends the call after one round.
    let (r, asked) =
        call_answering(&mut c, &tool("ask_name"), &[json!({"action": "decline"})]).await;
    assert_eq!(text(&r), "no name (decline)", "{p}: {r}");
    assert_eq!(asked.len(), 1, "{p}");

    // Resources: listed, read by URI and through a template.
    let listed = c.ok("resources/list", json!({})).await;
    let uris: Vec<&str> = listed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert!(uris.contains(&"probe://readme"), "{p}: {listed}");
    assert!(uris.contains(&"probe://notes/7"), "{p}: {listed}");
    let templates = c.ok("resources/templates/list", json!({})).await;
    assert!(
        templates["resourceTemplates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["uriTemplate"] == "probe://notes/{id}"),
        "{p}: {templates}"
    );
    let readme = c
        .ok("resources/read", json!({"uri": "probe://readme"}))
        .await;
    assert_eq!(
        readme["contents"],
        json!([{"uri": "probe://readme", "mimeType": "text/markdown", "text": "# probe"}]),
        "{p}"
    );
    let note = c
        .ok("resources/read", json!({"uri": "probe://notes/42"}))
        .await;
    assert_eq!(
        note["contents"],
        json!([{"uri": "probe://notes/42", "mimeType": "application/json",
                "text": r#"{"id":42,"uri":"probe://notes/42"}"#}]),
        "{p}"
    );

    // A prompt, its default argument and a given one.
    let got = c
        .ok(
            "prompts/get",
            json!({"name": tool("review"), "arguments": {"code": "x=1"}}),
        )
        .await;
    let said: Vec<(&Value, &Value)> = got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (&m["role"], &m["content"]["text"]))
        .collect();
    assert_eq!(
        said,
        [
            (&json!("user"), &json!("Review this python code:\nx=1")),
            (&json!("assistant"), &json!("Sure."))
        ],
        "{p}: {got}"
    );
    let got = c
        .ok(
            "prompts/get",
            json!({"name": tool("review"), "arguments": {"code": "let x", "language": "rust"}}),
        )
        .await;
    assert_eq!(
        got["messages"][0]["content"]["text"], "Review this rust code:\nlet x",
        "{p}: {got}"
    );

    // Completion of a prompt's argument and of a template's variable,
    // capped at 100 values with the total.
    let done = c
        .ok(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": tool("review")},
                   "argument": {"name": "language", "value": "r"}}),
        )
        .await;
    assert_eq!(done["completion"]["values"], json!(["rust"]), "{p}: {done}");
    let ids = |value: &str| {
        json!({"ref": {"type": "ref/resource", "uri": "probe://notes/{id}"},
               "argument": {"name": "id", "value": value}})
    };
    let done = c.ok("completion/complete", ids("4")).await;
    let fours: Vec<String> = std::iter::once("4".to_owned())
        .chain((40..50).map(|i| i.to_string()))
        .collect();
    assert_eq!(done["completion"]["values"], json!(fours), "{p}: {done}");
    let done = c.ok("completion/complete", ids("")).await;
    let all = &done["completion"];
    assert_eq!(all["values"].as_array().unwrap().len(), 100, "{p}: {done}");
    assert_eq!(all["total"], 150, "{p}: {done}");
    assert_eq!(all["hasMore"], true, "{p}: {done}");

    // Progress for a request with a token, a log message with data, the
    // caller, and session state.
    c.notifications.clear();
    let r = c
        .ok(
            "tools/call",
            json!({"name": tool("remember"), "arguments": {"value": "a"},
                   "_meta": {"progressToken": "tok-1"}}),
        )
        .await;
    assert_eq!(text(&r), "-->a by anonymous cancelled=false", "{p}: {r}");
    let progress = c.notification("notifications/progress").await;
    assert_eq!(
        progress["params"],
        json!({"progressToken": "tok-1", "progress": 1.0, "total": 2.0, "message": "half way"}),
        "{p}"
    );
    let logged = c.notification("notifications/message").await;
    assert_eq!(
        logged["params"],
        json!({"level": "notice", "logger": p,
               "data": {"message": "remembering", "data": {"value": "a", "scope": "session"}}}),
        "{p}"
    );
    // Without a token, no progress; the session's state holds.
    c.notifications.clear();
    let r = c
        .tool(&tool("remember"), json!({"value": "b", "scope": "session"}))
        .await;
    assert_eq!(text(&r), "a->b by anonymous cancelled=false", "{p}: {r}");
    assert!(
        !c.notifications
            .iter()
            .any(|n| n["method"] == "notifications/progress"),
        "{p}: {:?}",
        c.notifications
    );
    assert!(c.finish().await.success());
}

/// User-scoped state is shared by two sessions (modern handles) of the
/// same principal; session-scoped state is not.
async fn user_state(project: &Project) {
    let p = project.name();
    let mut c = InProcess::stdio(kit::config("", &[project.dir()]));
    let mut handles = Vec::new();
    for _ in 0..2 {
        handles.push(c.open_handle().await);
    }
    assert_ne!(handles[0], handles[1]);
    let remember = format!("{p}_remember");
    let mut ask = async |handle: &str, scope: &str, value: &str| {
        let r = c
            .ok(
                "tools/call",
                modern_call(
                    &remember,
                    json!({"value": value, "scope": scope, "session": handle}),
                ),
            )
            .await;
        text(&r).to_owned()
    };
    let by = " by anonymous cancelled=false";
    assert_eq!(
        ask(&handles[0], "user", "u1").await,
        format!("-->u1{by}"),
        "{p}"
    );
    assert_eq!(
        ask(&handles[1], "user", "u2").await,
        format!("u1->u2{by}"),
        "{p}"
    );
    assert_eq!(
        ask(&handles[0], "user", "u3").await,
        format!("u2->u3{by}"),
        "{p}"
    );
    assert_eq!(
        ask(&handles[0], "session", "s1").await,
        format!("-->s1{by}"),
        "{p}"
    );
    assert_eq!(
        ask(&handles[1], "session", "s2").await,
        format!("-->s2{by}"),
        "{p}"
    );
    assert_eq!(
        ask(&handles[0], "session", "s3").await,
        format!("s1->s3{by}"),
        "{p}"
    );
    assert!(c.finish().await.success());
}

#[tokio::test]
async fn python_probe_serves_the_sdk_surface() {
    surface(&PROBE_PY).await;
}

#[tokio::test]
async fn js_probe_serves_the_sdk_surface() {
    surface(&PROBE_JS).await;
}

#[tokio::test]
async fn python_user_state_is_shared_by_a_principals_sessions() {
    user_state(&PROBE_PY).await;
}

#[tokio::test]
async fn js_user_state_is_shared_by_a_principals_sessions() {
    user_state(&PROBE_JS).await;
}

#[tokio::test]
async fn fetch_py_gets_from_a_granted_local_server_and_is_refused_another_host() {
    let built = FETCH_PY.dir().join("fetch-py.wasm");
    let origin = Origin::start("hello over wasi:http").await;
    let port = origin.port;
    let dir = scratch("fetch");
    std::fs::copy(&built, dir.join("fetch-py.wasm")).unwrap();
    std::fs::write(
        dir.join("fetch-py.toml"),
        format!("[grants]\nhttp = [\"127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let config = dir.join("berth.toml");
    std::fs::write(
        &config,
        "[sandbox]\nallow_private_hosts = [\"127.0.0.1\"]\nallow_plain_http = true\n",
    )
    .unwrap();
    let mut c = InProcess::stdio(kit::config_file(&config, &[&dir]));
    c.initialize("2025-11-25").await;
    let base = format!("http://127.0.0.1:{port}");
    let r = c
        .tool("fetch-py_get", json!({"url": format!("{base}/hello")}))
        .await;
    assert_ne!(r["isError"], true, "{r}");
    assert_eq!(text(&r), "hello over wasi:http", "{r}");
    // A redirect within the grant is followed (a second request).
    let r = c
        .tool(
            "fetch-py_get",
            json!({"url": format!("{base}/redirect?to=/hello")}),
        )
        .await;
    assert_eq!(text(&r), "hello over wasi:http", "{r}");
    let before = origin.connections();
    assert!(before >= 1, "the server was reached");
    // Another host, and the same address by another name: refused inside
    // the plugin, a tool error naming the cause; nothing is sent.
    for url in [
        format!("http://127.0.0.2:{port}/hello"),
        format!("http://localhost:{port}/hello"),
    ] {
        let r = c.tool("fetch-py_get", json!({ "url": url })).await;
        assert_eq!(r["isError"], true, "{url}: {r}");
        assert!(text(&r).contains("HttpRequestDenied"), "{url}: {r}");
    }
    assert_eq!(
        origin.connections(),
        before,
        "a refused request reached the server"
    );
    assert!(c.finish().await.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
