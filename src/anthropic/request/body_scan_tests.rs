//! The split that reads the outline on its way ([`RequestBody::split_with_outline`]) against the
//! split that leaves it for a second scan ([`RequestBody::split`]): the same fields, byte for
//! byte, the same outline, the same refusals, whatever the layout.

use proptest::prelude::*;

use super::*;

/// What a split reads: each field's text, and the outline (or the refusal's words).
type Reading = Result<(Vec<(String, String)>, Result<Outline, String>), String>;

fn read(split: Result<RequestBody<'_>, ApiError>) -> Reading {
    let body = split.map_err(|e| e.to_string())?;
    let fields = body
        .fields()
        .iter()
        .map(|(k, v)| (k.to_string(), v.get().to_owned()))
        .collect();
    Ok((fields, body.outline().map_err(|e| e.to_string())))
}

/// Asserts both splits read `text` alike; returns whether the one-scan split found the outline.
fn alike(text: &[u8]) -> bool {
    let one_scan = RequestBody::split_with_outline(text, Kind::Messages);
    let found = one_scan.as_ref().is_ok_and(|b| b.outline.is_some());
    let plain = RequestBody::split(text, Kind::Messages);
    assert_eq!(
        read(one_scan),
        read(plain),
        "{}",
        String::from_utf8_lossy(text)
    );
    found
}

/// Bodies, and whether the one scan reads them (else the plain split does).
const LAYOUTS: [(&str, bool); 21] = [
    (r#"{"model":"m","max_tokens":1,"messages":[]}"#, true),
    (r#"{"messages":[ ],"model":"m","max_tokens":1}"#, true),
    (r#"{"model":"m","max_tokens":1}"#, true),
    (
        "{ \"messages\" \n:\t[ \r\n{ \"role\" : \"user\" , \"content\" : \"hi\" } \n, {\"content\":[],\"role\":\"assistant\"}\n ] \n, \"model\":\"m\",\"max_tokens\":1 }\n",
        true,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"]}]","x":[1,[2]]}]}"#,
        true,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"content":[{"type":"text","text":"\"]}\\"}],"role":"assistant","extra":{"a":"]"}}],"x":"]"}"#,
        true,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}"#,
        true,
    ),
    // An escaped key is not found by its place: the plain split reads it.
    (
        r#"{"model":"m","max_tokens":1,"m\u0065ssages":[{"role":"user","content":"hi"}]}"#,
        false,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"r\u006fle":"user","content":"hi"}]}"#,
        true,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"\ud800","x":-1.5e+10}]}"#,
        true,
    ),
    // serde_json will not read a lone surrogate as a key; the plain split never reads it.
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a","\ud800":1}]}"#,
        false,
    ),
    (
        "\u{feff}{\"model\":\"m\",\"max_tokens\":1,\"messages\":[]}",
        false,
    ),
    (r#"{"model":"m","max_tokens":1,"messages":[[]]}"#, false),
    (r#"{"model":"m","max_tokens":1,"messages":"hi"}"#, false),
    (r#"{"model":"m","max_tokens":1,"messages":[{}]}"#, false),
    (r#"{"model":"m","max_tokens":1,"messages":[1]}"#, false),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"role":"bot","content":"x"}]}"#,
        false,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a","content":"b"}]}"#,
        false,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[],"messages":[{"role":"user","content":"a"}]}"#,
        false,
    ),
    (
        r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"}] x"#,
        false,
    ),
    (r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"}]"#, false),
];

#[test]
fn odd_layouts_read_as_the_plain_split_reads_them() {
    for (text, found) in LAYOUTS {
        assert_eq!(alike(text.as_bytes()), found, "{text}");
    }
    let mut latin1 =
        br#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"#.to_vec();
    latin1.extend_from_slice(b"\"caf\xe9\"}]}");
    assert!(
        !alike(&latin1),
        "not UTF-8: the plain split words the refusal"
    );
}

/// JSON whitespace, from none to a mix.
fn space() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec![' ', '\n', '\t', '\r']), 0..3)
        .prop_map(|v| v.into_iter().collect())
}

/// Text with JSON's structural characters, escapes and non-ASCII in it.
fn tricky() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "]", "}", "[", "{", "\"", "\\", ",", ":", "a", "é", "🙂", "\n", " ",
        ]),
        0..8,
    )
    .prop_map(|v| v.concat())
}

/// Any JSON value as text, nested a little: what may end a turn.
fn any_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["null", "true", "false", "-0", "1.5e+10"]).prop_map(String::from),
        any::<i64>().prop_map(|n| n.to_string()),
        tricky().prop_map(|t| serde_json::to_string(&t).expect("string")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((tricky(), inner), 0..4).prop_map(|v| {
                let pairs: Vec<String> = v
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).expect("key")))
                    .collect();
                format!("{{{}}}", pairs.join(","))
            }),
        ]
    })
}

/// A turn: `role` and `content` (a string or text blocks) and maybe another key with any value,
/// in any order, with whitespace anywhere JSON allows it.
fn turn() -> impl Strategy<Value = String> {
    let role = prop::sample::select(vec!["user", "assistant", "system"]);
    let content = prop_oneof![
        tricky().prop_map(|t| serde_json::to_string(&t).expect("string")),
        prop::collection::vec(tricky(), 0..3).prop_map(|texts| {
            let blocks: Vec<_> = texts
                .iter()
                .map(|t| serde_json::json!({"type": "text", "text": t}))
                .collect();
            serde_json::to_string(&blocks).expect("blocks")
        }),
    ];
    let extra = prop::option::of((any::<prop::sample::Index>(), any_json()));
    (role, content, any::<bool>(), extra, space(), space()).prop_map(
        |(role, content, content_first, extra, s1, s2)| {
            let mut pairs = vec![
                format!("{s1}\"role\"{s2}:{s1}\"{role}\"{s2}"),
                format!("{s2}\"content\"{s1}:{s2}{content}{s1}"),
            ];
            if content_first {
                pairs.reverse();
            }
            if let Some((at, value)) = extra {
                pairs.insert(at.index(3), format!("{s2}\"x\":{s1}{value}{s2}"));
            }
            format!("{{{}}}", pairs.join(","))
        },
    )
}

proptest! {
    #[test]
    fn any_layout_of_valid_turns_is_read_in_one_scan_as_the_plain_split_reads_it(
        turns in prop::collection::vec(turn(), 0..5),
        messages_first in any::<bool>(),
        spaces in prop::collection::vec(space(), 6),
    ) {
        let [a, b, c, d, e, f] = <[String; 6]>::try_from(spaces).expect("six");
        let messages = format!("\"messages\"{a}:{b}[{c}{}{d}]{e}", turns.join(&format!("{d},{c}")));
        let rest = format!("\"model\"{f}:\"m\",{a}\"max_tokens\":{b}1{c}");
        let text = match messages_first {
            true => format!("{f}{{{a}{messages},{rest}}}{e}"),
            false => format!("{{{rest},{f}{messages}}}"),
        };
        prop_assert!(alike(text.as_bytes()), "read in one scan: {text}");
    }
}
