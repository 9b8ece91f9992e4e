//! Tool list, tool choice and stub-config rules.

use serde_json::{json, Value};

use super::super::test_support::{body, convert, error};

const SONNET: &str = "claude-sonnet-4-5";

fn tool(name: &str) -> Value {
    json!({"name": name, "description": format!("{name} tool"), "input_schema": {"type": "object"}})
}

fn hi() -> Value {
    json!([{"role": "user", "content": "hi"}])
}

fn tool_history() -> Value {
    json!([
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}]},
    ])
}

#[test]
fn custom_tools_become_tool_specs_without_anthropic_only_fields() {
    let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {"zeta": {"type": "string", "enum": ["b", "a"]}, "alpha": {"type": "number"}},
        "required": ["zeta"], "additionalProperties": false});
    let out = convert(
        SONNET,
        json!({"messages": hi(), "tools": [
            {"type": "custom", "name": "Pick", "description": "picks", "input_schema": schema, "strict": true,
             "defer_loading": true, "eager_input_streaming": true, "input_examples": [{}], "allowed_callers": ["direct"],
             "cache_control": {"type": "ephemeral"}},
            {"name": "Quiet", "description": " ", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
            {"type": "bash_20250124", "name": "bash"},
            {"type": "mcp_toolset", "mcp_server_name": "srv"}]}),
    )
    .expect("converts");
    let tools = &out.body["toolConfig"]["tools"];
    assert_eq!(
        tools,
        &json!([
            {"toolSpec": {"name": "Pick", "description": "picks", "inputSchema": {"json": schema}}},
            {"cachePoint": {"type": "default"}},
            {"toolSpec": {"name": "Quiet", "inputSchema": {"json": {"type": "object"}}}}])
    );
    let serialized =
        serde_json::to_string(&tools[0]["toolSpec"]["inputSchema"]["json"]).unwrap_or_default();
    assert_eq!(
        serialized,
        serde_json::to_string(&schema).unwrap_or_default()
    );
    assert!(
        serialized.find("\"$schema\"") < serialized.find("\"type\""),
        "schema key order kept"
    );
    assert!(
        serialized.find("\"zeta\"") < serialized.find("\"alpha\""),
        "property order kept"
    );
    assert_eq!(out.body["toolConfig"].get("toolChoice"), None);
    for name in [
        "tools.strict",
        "tools.defer_loading",
        "tools.eager_input_streaming",
        "tools.input_examples",
        "tools.allowed_callers",
        "tool:web_search_20250305",
        "tool:bash_20250124",
        "tool:mcp_toolset",
    ] {
        assert!(
            out.dropped.contains(&name.to_owned()),
            "{name}: {:?}",
            out.dropped
        );
    }
}

#[test]
fn tool_choice_maps_to_converse_tool_choice() {
    let cases = [
        (json!({"type": "auto"}), Some(json!({"auto": {}}))),
        (
            json!({"type": "any", "disable_parallel_tool_use": true}),
            Some(json!({"any": {}})),
        ),
        (
            json!({"type": "tool", "name": "Read"}),
            Some(json!({"tool": {"name": "Read"}})),
        ),
        (
            json!({"type": "tool", "name": "files.read"}),
            Some(json!({"tool": {"name": "files_read"}})),
        ),
    ];
    for (choice, want) in cases {
        let out = body(
            SONNET,
            json!({"messages": hi(), "tool_choice": choice,
            "tools": [tool("Read"), tool("files.read")]}),
        );
        assert_eq!(
            out["toolConfig"].get("toolChoice"),
            want.as_ref(),
            "{choice}"
        );
    }
    let out = convert(
        SONNET,
        json!({"messages": hi(), "tools": [tool("Read")],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}),
    )
    .expect("converts");
    assert!(out
        .dropped
        .contains(&"tool_choice.disable_parallel_tool_use".to_owned()));
}

#[test]
fn tool_choice_none_withholds_tools_but_keeps_stubs_for_history() {
    let out = convert(
        SONNET,
        json!({"messages": hi(), "tools": [tool("Read")], "tool_choice": {"type": "none"}}),
    )
    .expect("converts");
    assert_eq!(out.body.get("toolConfig"), None);
    assert!(out.dropped.contains(&"tools(tool_choice none)".to_owned()));

    let out = body(
        SONNET,
        json!({"messages": tool_history(), "tools": [tool("Read")], "tool_choice": {"type": "none"}}),
    );
    assert_eq!(
        out["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "Bash", "description": "(tool no longer offered)",
                                       "inputSchema": {"json": {"type": "object"}}}}]})
    );
}

#[test]
fn history_with_tool_blocks_but_no_tools_gets_a_stub_config() {
    let cases = [
        (json!({"messages": tool_history()}), "Bash"),
        (json!({"messages": tool_history(), "tools": []}), "Bash"),
        (
            json!({"messages": tool_history(), "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
            "Bash",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "late"}]}]}),
            "unavailable_tool",
        ),
    ];
    for (request, name) in cases {
        let out = body(SONNET, request.clone());
        assert_eq!(
            out["toolConfig"]["tools"][0]["toolSpec"]["name"], name,
            "{request}"
        );
        assert_eq!(out["toolConfig"].get("toolChoice"), None);
    }
    assert_eq!(
        body(SONNET, json!({"messages": hi(), "tools": []})).get("toolConfig"),
        None
    );
}

#[test]
fn invalid_tool_definitions_and_choices_are_rejected_naming_the_field() {
    let cases = [
        (
            json!({"tools": [{"description": "x", "input_schema": {}}]}),
            "tools.0.name: field required",
        ),
        (
            json!({"tools": [tool("A"), {"name": "B"}]}),
            "tools.1.input_schema: field required",
        ),
        (
            json!({"tools": [{"name": "B", "input_schema": "object"}]}),
            "tools.0.input_schema: must be a JSON object",
        ),
        (
            json!({"tools": [tool("A"), tool("A")]}),
            "tools.1.name: tool names must be unique",
        ),
        (
            json!({"tool_choice": {"type": "auto"}}),
            "tool_choice: tool_choice may only be specified while providing tools",
        ),
        (
            json!({"tools": [], "tool_choice": {"type": "any"}}),
            "tool_choice: tool_choice may only be specified",
        ),
        (
            json!({"tools": [{"type": "web_search_20250305", "name": "web_search"}], "tool_choice": {"type": "any"}}),
            "tool_choice: `any` needs a custom tool",
        ),
        (
            json!({"tools": [tool("A")], "tool_choice": {"type": "tool"}}),
            "tool_choice.name: field required",
        ),
        (
            json!({"tools": [tool("A")], "tool_choice": {"type": "tool", "name": "B"}}),
            "tool_choice.name: `B` is not one of",
        ),
        (
            json!({"tool_choice": {"type": "maybe"}}),
            "tool_choice.type: unknown variant `maybe`",
        ),
    ];
    for (mut request, want) in cases {
        request["messages"] = hi();
        let message = error(SONNET, request);
        assert!(message.starts_with(want), "got {message}\nwant {want}");
    }
}

#[test]
fn models_without_tool_use_reject_tools_naming_the_model() {
    let cases = [
        json!({"messages": hi(), "tools": [tool("A")]}),
        json!({"messages": tool_history()}),
    ];
    for request in cases {
        let message = error("deepseek-r1", request);
        assert!(
            message.contains("`deepseek-r1` does not support tool use"),
            "{message}"
        );
    }
    let out = body("deepseek-r1", json!({"messages": hi(), "tools": []}));
    assert_eq!(out.get("toolConfig"), None);
}
