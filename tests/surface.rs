//! Resources, prompts, completion and questions for the client, end to end
//! over stdio with the real conformance and notes plugins, in both eras.
//! The conformance suite checks shapes; these compare exact content.

use berth_testkit as kit;

use kit::{Client, InProcess, dist, modern_meta, text};
use serde_json::{Value, json};

fn client() -> Client {
    InProcess::stdio(kit::config("", &[dist(), &dist().join("conformance")]))
}

/// `initialize` declaring `capabilities`, then `initialized`.
async fn initialize(c: &mut Client, capabilities: Value) {
    c.ok(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": capabilities,
               "clientInfo": {"name": "berth-tests", "version": "1"}}),
    )
    .await;
    c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
}

/// Modern params: `params` plus `_meta` declaring `capabilities`.
fn modern(mut params: Value, capabilities: Value) -> Value {
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/clientCapabilities"] = capabilities;
    params["_meta"] = meta;
    params
}

#[tokio::test]
async fn resources_prompts_and_completion_match_exactly() {
    let mut c = client();
    initialize(&mut c, json!({})).await;
    let list = c.ok("resources/list", json!({})).await;
    let uris: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "test://static-text",
            "test://static-binary",
            "test://watched-resource"
        ]
    );
    let read = c
        .ok("resources/read", json!({"uri": "test://static-text"}))
        .await;
    assert_eq!(
        read,
        json!({"contents": [{"uri": "test://static-text", "mimeType": "text/plain",
                              "text": "This is the content of the static text resource."}]})
    );
    let binary = c
        .ok("resources/read", json!({"uri": "test://static-binary"}))
        .await;
    assert_eq!(binary["contents"][0]["mimeType"], "image/png");
    assert!(
        binary["contents"][0]["blob"]
            .as_str()
            .unwrap()
            .starts_with("iVBORw0KGgo")
    );
    let templated = c
        .ok("resources/read", json!({"uri": "test://template/123/data"}))
        .await;
    assert_eq!(
        templated["contents"][0]["text"],
        r#"{"data":"Data for ID: 123","id":"123","templateTest":true}"#
    );
    let templates = c.ok("resources/templates/list", json!({})).await;
    let names: Vec<&str> = templates["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["test://template/{id}/data", "notes://{id}"]);
    // Not found: −32002 with the URI for a legacy session.
    let missing = c
        .call("resources/read", json!({"uri": "test://nothing"}))
        .await;
    assert_eq!(missing["error"]["code"], -32002);
    assert_eq!(missing["error"]["data"], json!({"uri": "test://nothing"}));

    let prompt = c
        .ok(
            "prompts/get",
            json!({"name": "test_prompt_with_arguments", "arguments": {"arg1": "a", "arg2": "b"}}),
        )
        .await;
    assert_eq!(
        prompt,
        json!({"messages": [{"role": "user", "content": {"type": "text",
            "text": "Prompt with arguments: arg1='a', arg2='b'"}}]})
    );
    let no_arg = c
        .call("prompts/get", json!({"name": "test_prompt_with_arguments"}))
        .await;
    assert_eq!(no_arg["error"]["code"], -32602);
    assert!(
        no_arg["error"]["message"]
            .as_str()
            .unwrap()
            .contains("arg1")
    );
    let unknown = c.call("prompts/get", json!({"name": "nope"})).await;
    assert_eq!(unknown["error"]["code"], -32602);
    let prompts = c.ok("prompts/list", json!({})).await;
    assert!(
        prompts["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "notes_summarize" && p["arguments"][0]["required"] == true)
    );

    let done = c
        .ok(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                   "argument": {"name": "arg1", "value": "pa"}}),
        )
        .await;
    assert_eq!(
        done,
        json!({"completion": {"values": ["paris", "park", "party"], "total": 3, "hasMore": false}})
    );
    let by_template = c
        .ok(
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "test://template/{id}/data"},
                   "argument": {"name": "id", "value": "4"}}),
        )
        .await;
    assert_eq!(by_template["completion"]["values"], json!(["42"]));

    // Modern: −32602 with the URI, and caching hints on what may be cached.
    let missing = c
        .call(
            "resources/read",
            modern(json!({"uri": "test://nothing"}), json!({})),
        )
        .await;
    assert_eq!(missing["error"]["code"], -32602);
    assert_eq!(missing["error"]["data"]["uri"], "test://nothing");
    let read = c
        .ok(
            "resources/read",
            modern(json!({"uri": "test://static-text"}), json!({})),
        )
        .await;
    assert_eq!(
        (&read["resultType"], &read["ttlMs"], &read["cacheScope"]),
        (&json!("complete"), &json!(0), &json!("private"))
    );
    let prompts = c.ok("prompts/list", modern(json!({}), json!({}))).await;
    assert_eq!(prompts["cacheScope"], "public");
}

#[tokio::test]
async fn notes_live_in_user_state_and_subscribers_hear_of_changes() {
    let mut c = client();
    initialize(&mut c, json!({})).await;
    c.ok("resources/subscribe", json!({"uri": "notes://groceries"}))
        .await;
    let saved = c
        .tool(
            "notes_write",
            json!({"id": "groceries", "text": "eggs, milk"}),
        )
        .await;
    assert_eq!(text(&saved), "Saved notes://groceries.");
    // The update reaches this subscriber, before or after the tool's result.
    let updated = c.notification("notifications/resources/updated").await;
    assert_eq!(updated["params"], json!({"uri": "notes://groceries"}));
    let list = c.ok("resources/list", json!({})).await;
    assert!(
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["uri"] == "notes://groceries")
    );
    let read = c
        .ok("resources/read", json!({"uri": "notes://groceries"}))
        .await;
    assert_eq!(read["contents"][0]["text"], "eggs, milk");
    let prompt = c
        .ok(
            "prompts/get",
            json!({"name": "notes_summarize", "arguments": {"id": "groceries"}}),
        )
        .await;
    assert_eq!(
        prompt["messages"][1]["content"]["resource"],
        json!({"uri": "notes://groceries", "mimeType": "text/plain", "text": "eggs, milk"})
    );
    let ids = c
        .ok(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "notes_summarize"},
                   "argument": {"name": "id", "value": "gr"}}),
        )
        .await;
    assert_eq!(ids["completion"]["values"], json!(["groceries"]));
    c.ok("resources/unsubscribe", json!({"uri": "notes://groceries"}))
        .await;
    c.tool("notes_delete", json!({"id": "groceries"})).await;
    let gone = c
        .call("resources/read", json!({"uri": "notes://groceries"}))
        .await;
    assert_eq!(gone["error"]["code"], -32002);
    // Unsubscribed: no update for the deletion.
    assert!(
        !c.notifications
            .iter()
            .any(|n| n["method"] == "notifications/resources/updated")
    );
}

#[tokio::test]
async fn legacy_clients_are_asked_on_the_calls_stream() {
    let mut c = client();
    initialize(&mut c, json!({"elicitation": {}})).await;
    let id = c
        .start(
            "tools/call",
            json!({"name": "test_elicitation", "arguments": {"message": "Who are you?"}}),
        )
        .await;
    let asked = c.recv().await;
    assert_eq!(asked["method"], "elicitation/create");
    assert_eq!(asked["params"]["message"], "Who are you?");
    assert_eq!(
        asked["params"]["requestedSchema"]["required"],
        json!(["username", "email"])
    );
    c.send(&json!({"jsonrpc": "2.0", "id": asked["id"], "result":
        {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}}))
        .await;
    let done = c.response(&id).await;
    assert_eq!(
        text(&done["result"]),
        r#"User response: action=accept, content={"email":"ada@example.com","username":"ada"}"#
    );
    // A client that answers with an error gets a tool error naming it.
    let id = c
        .start(
            "tools/call",
            json!({"name": "test_elicitation", "arguments": {"message": "Again?"}}),
        )
        .await;
    let asked = c.recv().await;
    c.send(&json!({"jsonrpc": "2.0", "id": asked["id"], "error":
        {"code": -1, "message": "user closed the dialog"}}))
        .await;
    let failed = c.response(&id).await;
    assert_eq!(failed["result"]["isError"], true);
    assert!(text(&failed["result"]).contains("user closed the dialog"));
    // Sampling was not declared: −32021 names it, and nothing is sent.
    let refused = c
        .call(
            "tools/call",
            json!({"name": "test_sampling", "arguments": {"prompt": "hi"}}),
        )
        .await;
    assert_eq!(refused["error"]["code"], -32021);
    assert_eq!(
        refused["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}})
    );
}

#[tokio::test]
async fn modern_clients_retry_with_answers_and_signed_state() {
    let mut c = client();
    let all = json!({"elicitation": {}, "sampling": {}, "roots": {}});
    let call = |extra: Value| {
        let mut params = json!({"name": "test_input_required_result_multi_round", "arguments": {}});
        for (k, v) in extra.as_object().unwrap() {
            params[k] = v.clone();
        }
        modern(params, all.clone())
    };
    let round1 = c.ok("tools/call", call(json!({}))).await;
    assert_eq!(round1["resultType"], "input_required");
    assert_eq!(
        round1["inputRequests"]["step1"]["params"]["message"],
        "Step 1: What is your name?"
    );
    let state1 = round1["requestState"].as_str().unwrap().to_owned();
    let round2 = c
        .ok(
            "tools/call",
            call(json!({"inputResponses": {"step1": {"action": "accept", "content": {"name": "Ada"}}},
                        "requestState": state1})),
        )
        .await;
    assert_eq!(round2["resultType"], "input_required");
    let state2 = round2["requestState"].as_str().unwrap().to_owned();
    let done = c
        .ok(
            "tools/call",
            call(json!({"inputResponses": {"step2": {"action": "accept", "content": {"color": "blue"}},
                                           "unasked": {"x": 1}},
                        "requestState": state2})),
        )
        .await;
    assert_eq!(done["resultType"], "complete");
    assert_eq!(text(&done), r#"Ada likes "blue""#);
    // The same state, on the same request, a second time: refused, and the
    // tool does not run again.
    let again = c
        .call(
            "tools/call",
            call(json!({"inputResponses": {"step2": {"action": "accept", "content": {"color": "red"}}},
                        "requestState": state2})),
        )
        .await;
    assert_eq!(again["error"]["code"], -32602, "{again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );

    // Tampered, or replayed on another request: refused.
    let tampered = c
        .call(
            "tools/call",
            call(json!({"inputResponses": {"step1": {"action": "accept", "content": {"name": "Eve"}}},
                        "requestState": format!("{state1}x")})),
        )
        .await;
    assert_eq!(tampered["error"]["code"], -32602);
    let replayed = c
        .call(
            "tools/call",
            modern(
                json!({"name": "test_input_required_result_elicitation", "arguments": {},
                       "inputResponses": {"step1": {"action": "accept", "content": {}}},
                       "requestState": state1}),
                all.clone(),
            ),
        )
        .await;
    assert_eq!(replayed["error"]["code"], -32602);
    assert!(
        replayed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another request")
    );
    // Answers that are not result objects are refused.
    let bad = c
        .call(
            "tools/call",
            call(json!({"inputResponses": "yes", "requestState": state1})),
        )
        .await;
    assert_eq!(bad["error"]["code"], -32602);
    // A question the client cannot answer: −32021, nothing asked.
    let missing = c
        .call(
            "tools/call",
            modern(
                json!({"name": "test_missing_capability", "arguments": {}}),
                json!({}),
            ),
        )
        .await;
    assert_eq!(missing["error"]["code"], -32021);
    assert_eq!(
        missing["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}})
    );
    // The plugin sees what the client declared.
    let only_sampling = c
        .ok(
            "tools/call",
            modern(
                json!({"name": "test_input_required_result_capabilities", "arguments": {}}),
                json!({"sampling": {}}),
            ),
        )
        .await;
    let keys: Vec<&String> = only_sampling["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["greeting"]);
    // Prompts ask too.
    let prompt = c
        .ok(
            "prompts/get",
            modern(
                json!({"name": "test_input_required_result_prompt"}),
                all.clone(),
            ),
        )
        .await;
    let state = prompt["requestState"].as_str().unwrap();
    let rendered = c
        .ok(
            "prompts/get",
            modern(
                json!({"name": "test_input_required_result_prompt", "requestState": state,
                       "inputResponses": {"user_context": {"action": "accept", "content": {"context": "tea"}}}}),
                all,
            ),
        )
        .await;
    assert_eq!(
        rendered["messages"][0]["content"]["text"],
        "Use this context: tea"
    );
}
