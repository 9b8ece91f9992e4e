use std::collections::HashMap;

use super::*;
use secrecy::ExposeSecret;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let c = Config::from_vars(&vars(&[]), false).expect("defaults parse");
    assert_eq!(c.port, 3000);
    // No AWS configuration: the demo, kept on loopback (see the test below).
    assert_eq!(c.host.to_string(), "127.0.0.1");
    assert_eq!(c.bedrock_mode, BedrockMode::Emulator);
    assert_eq!(c.inference_profile, InferenceProfile::Global);
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(c.strip_billing_header);
    assert_eq!(c.max_body_bytes, 32 * 1024 * 1024);
    assert_eq!(c.ping_interval, Duration::from_secs(10));
    assert!(c.api_keys.is_empty());
}

#[test]
fn any_aws_hint_selects_aws_mode() {
    let c = Config::from_vars(&vars(&[("AWS_REGION", "eu-west-1")]), false).expect("parses");
    assert_eq!(c.bedrock_mode, BedrockMode::Aws);
    let c = Config::from_vars(&vars(&[]), true).expect("parses");
    assert_eq!(c.bedrock_mode, BedrockMode::Aws);
    let c =
        Config::from_vars(&vars(&[("CHATRIX_API_KEY_SECRET_ID", "keys")]), false).expect("parses");
    assert_eq!(
        c.bedrock_mode,
        BedrockMode::Aws,
        "real keys never meet the emulator"
    );
    let c = Config::from_vars(
        &vars(&[("AWS_REGION", "x"), ("CHATRIX_BEDROCK", "emulator")]),
        false,
    )
    .expect("parses");
    assert_eq!(c.bedrock_mode, BedrockMode::Emulator);
}

#[test]
fn a_build_without_the_emulator_reads_auto_as_aws_and_refuses_the_emulator_by_name() {
    use super::parse::{parse_bedrock_mode, AwsSeen};
    use crate::demo::EmulatorBuild::{Absent, Linked};
    let mode = |value, aws, build| parse_bedrock_mode(value, aws, build).map_err(|e| e.to_string());
    assert_eq!(mode("auto", AwsSeen::No, Linked), Ok(BedrockMode::Emulator));
    assert_eq!(mode("auto", AwsSeen::No, Absent), Ok(BedrockMode::Aws));
    assert_eq!(mode("auto", AwsSeen::Yes, Absent), Ok(BedrockMode::Aws));
    assert_eq!(mode("aws", AwsSeen::No, Absent), Ok(BedrockMode::Aws));
    assert_eq!(
        mode("emulator", AwsSeen::Yes, Linked),
        Ok(BedrockMode::Emulator)
    );
    let refused = mode("emulator", AwsSeen::No, Absent).expect_err("no emulator to start");
    assert!(refused.starts_with("CHATRIX_BEDROCK: "), "{refused}");
    assert!(refused.contains("`emulator` feature"), "{refused}");
    let typo = mode("emulater", AwsSeen::No, Linked).expect_err("typo");
    assert!(typo.contains("is not aws, emulator or auto"), "{typo}");
}

#[test]
fn the_automatic_demo_listens_on_loopback_unless_the_emulator_is_asked_for() {
    let c = Config::from_vars(&vars(&[("HOST", "0.0.0.0")]), false).expect("parses");
    assert_eq!(c.host.to_string(), "127.0.0.1");
    assert_eq!(
        c.demo_kept_local.map(|h| h.to_string()).as_deref(),
        Some("0.0.0.0")
    );
    let c = Config::from_vars(&vars(&[("HOST", "::1")]), false).expect("parses");
    assert_eq!(c.host.to_string(), "::1", "loopback already");
    assert_eq!(c.demo_kept_local, None);
    let c = Config::from_vars(&vars(&[("CHATRIX_BEDROCK", "emulator")]), false).expect("parses");
    assert_eq!(
        c.host.to_string(),
        "0.0.0.0",
        "an explicit demo serves any address"
    );
    assert_eq!(c.demo_kept_local, None);
    let c = Config::from_vars(&vars(&[("AWS_REGION", "eu-west-1")]), false).expect("parses");
    assert_eq!(c.host.to_string(), "0.0.0.0");
    assert_eq!(c.demo_kept_local, None);
}

#[test]
fn keys_parse_with_and_without_names() {
    let c = Config::from_vars(
        &vars(&[("CHATRIX_API_KEYS", "alice:sk-a, sk-b ,ci:sk-c")]),
        false,
    )
    .expect("parses");
    let got: Vec<(&str, &str)> = c
        .api_keys
        .iter()
        .map(|k| (k.name.as_str(), k.key.expose_secret()))
        .collect();
    assert_eq!(
        got,
        vec![("alice", "sk-a"), ("key-2", "sk-b"), ("ci", "sk-c")]
    );
}

#[test]
fn admin_keys_parse_like_api_keys_and_are_marked_admin() {
    let c = Config::from_vars(
        &vars(&[
            ("CHATRIX_API_KEYS", "alice:sk-a"),
            ("CHATRIX_ADMIN_KEYS", "finance:sk-admin"),
        ]),
        false,
    )
    .expect("parses");
    let got: Vec<(&str, bool)> = c
        .api_keys
        .iter()
        .map(|k| (k.name.as_str(), k.admin))
        .collect();
    assert_eq!(got, vec![("alice", false), ("finance", true)]);
}

#[test]
fn an_admin_key_that_is_also_an_api_key_stops_start_up() {
    let e = Config::from_vars(
        &vars(&[
            ("CHATRIX_API_KEYS", "alice:sk-same"),
            ("CHATRIX_ADMIN_KEYS", "finance:sk-same"),
        ]),
        false,
    )
    .expect_err("one key in both roles");
    assert_eq!(e.var, "CHATRIX_ADMIN_KEYS");
    assert!(!e.to_string().contains("sk-same"), "{e}");
}

#[test]
fn bad_values_name_the_variable() {
    let cases = [
        ("PORT", "http"),
        ("HOST", "example.com"),
        ("CHATRIX_INFERENCE_PROFILE", "mars"),
        ("CHATRIX_LOG_FORMAT", "xml"),
        ("CHATRIX_API_KEYS", " , "),
        ("CHATRIX_ADMIN_KEYS", "finance:"),
        ("CHATRIX_BEDROCK", "gcp"),
        ("CHATRIX_STRIP_BILLING_HEADER", "maybe"),
        ("CHATRIX_MAX_BODY_BYTES", "-1"),
        ("CHATRIX_PING_INTERVAL_SECS", "30"),
        ("CHATRIX_PING_INTERVAL_SECS", "0"),
    ];
    for (var, value) in cases {
        let e = Config::from_vars(&vars(&[(var, value)]), false).expect_err(var);
        assert_eq!(e.var, var);
        assert!(e.to_string().starts_with(var), "{e}");
    }
}

#[test]
fn currency_needs_both_variables_and_a_positive_rate() {
    let c = Config::from_vars(
        &vars(&[
            ("CHATRIX_CURRENCY", "inr"),
            ("CHATRIX_CURRENCY_RATE", "84.5"),
        ]),
        false,
    )
    .expect("parses");
    assert_eq!(
        c.currency,
        Some(CurrencyConversion {
            currency: "INR".into(),
            rate: 84.5
        })
    );
    assert!(Config::from_vars(&vars(&[("CHATRIX_CURRENCY", "INR")]), false).is_err());
    let e = Config::from_vars(
        &vars(&[("CHATRIX_CURRENCY", "INR"), ("CHATRIX_CURRENCY_RATE", "0")]),
        false,
    )
    .expect_err("zero rate");
    assert_eq!(e.var, "CHATRIX_CURRENCY_RATE");
}

#[test]
fn key_store_and_limits_have_safe_defaults() {
    let c = Config::from_vars(&vars(&[]), false).expect("defaults parse");
    assert_eq!(c.key_store, KeyStoreConfig::default());
    assert_eq!(c.key_store.secret_id, None);
    assert_eq!(c.key_store.ttl, Duration::from_secs(300));
    assert_eq!(c.cors_origins, CorsOrigins::None);
    assert_eq!(c.header_timeout, Duration::from_secs(30));
    assert_eq!(c.body_timeout, Duration::from_secs(120));
    assert_eq!(c.max_connections, 4096);
    assert_eq!(c.shutdown_grace, Duration::from_secs(60));
}

#[test]
fn key_store_settings_parse() {
    let c = Config::from_vars(
        &vars(&[
            (
                "CHATRIX_API_KEY_SECRET_ID",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:chatrix-keys-AbCdEf",
            ),
            ("CHATRIX_KEY_CACHE_TTL_SECS", "60"),
            ("CHATRIX_KEY_NEGATIVE_TTL_SECS", "5"),
            ("CHATRIX_KEY_CACHE_CAPACITY", "100"),
        ]),
        false,
    )
    .expect("parses");
    assert_eq!(
        c.key_store,
        KeyStoreConfig {
            secret_id: Some(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:chatrix-keys-AbCdEf".into()
            ),
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(5),
            capacity: 100,
        }
    );
}

#[test]
fn cors_origins_are_checked() {
    let parse = |v: &str| Config::from_vars(&vars(&[("CHATRIX_CORS_ORIGINS", v)]), false);
    assert_eq!(parse("*").expect("any").cors_origins, CorsOrigins::Any);
    assert_eq!(
        parse("https://app.example.com, http://localhost:5173")
            .expect("list")
            .cors_origins,
        CorsOrigins::List(vec![
            "https://app.example.com".into(),
            "http://localhost:5173".into()
        ])
    );
    for bad in [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "ftp://x.example",
        "https://",
        ",",
    ] {
        let e = parse(bad).expect_err(bad);
        assert_eq!(e.var, "CHATRIX_CORS_ORIGINS", "{bad}");
    }
}

#[test]
fn new_limits_name_their_variable_when_out_of_range() {
    for (var, value) in [
        ("CHATRIX_KEY_CACHE_TTL_SECS", "0"),
        ("CHATRIX_KEY_NEGATIVE_TTL_SECS", "x"),
        ("CHATRIX_KEY_CACHE_CAPACITY", "0"),
        ("CHATRIX_HEADER_TIMEOUT_SECS", "0"),
        ("CHATRIX_BODY_TIMEOUT_SECS", "99999"),
        ("CHATRIX_MAX_CONNECTIONS", "0"),
        ("CHATRIX_SHUTDOWN_GRACE_SECS", "901"),
    ] {
        let e = Config::from_vars(&vars(&[(var, value)]), false).expect_err(var);
        assert_eq!(e.var, var);
    }
}

#[test]
fn the_origin_secret_is_optional_long_and_never_printed() {
    let c = Config::from_vars(&vars(&[]), false).expect("parses");
    assert!(c.origin_secret.is_none());
    let e = Config::from_vars(&vars(&[("CHATRIX_ORIGIN_SECRET", "short")]), false)
        .expect_err("too short");
    assert_eq!(e.var, "CHATRIX_ORIGIN_SECRET");
    let c = Config::from_vars(
        &vars(&[("CHATRIX_ORIGIN_SECRET", "0123456789abcdef-origin")]),
        false,
    )
    .expect("parses");
    assert_eq!(
        c.origin_secret.as_ref().map(ExposeSecret::expose_secret),
        Some("0123456789abcdef-origin")
    );
    assert!(!format!("{c:?}").contains("0123456789abcdef-origin"));
}

#[test]
fn discovery_refreshes_hourly_unless_told_otherwise() {
    let c = Config::from_vars(&vars(&[]), false).expect("defaults parse");
    assert_eq!(c.discovery_interval, Duration::from_secs(3600));
    let off = vars(&[("CHATRIX_DISCOVERY_INTERVAL_SECS", "0")]);
    let c = Config::from_vars(&off, false).expect("zero parses");
    assert!(c.discovery_interval.is_zero());
    for bad in ["86401", "-1", "hourly"] {
        let err = Config::from_vars(&vars(&[("CHATRIX_DISCOVERY_INTERVAL_SECS", bad)]), false)
            .expect_err(bad);
        assert_eq!(err.var, "CHATRIX_DISCOVERY_INTERVAL_SECS");
    }
}

#[test]
fn the_output_cap_is_off_by_default_and_refuses_values_too_small_for_thinking() {
    let c = Config::from_vars(&vars(&[]), false).expect("parses");
    assert_eq!(c.max_output_tokens, None);
    let c =
        Config::from_vars(&vars(&[("CHATRIX_MAX_OUTPUT_TOKENS", "8192")]), false).expect("parses");
    assert_eq!(c.max_output_tokens, Some(8192));
    for bad in ["1024", "lots", "-5"] {
        let e =
            Config::from_vars(&vars(&[("CHATRIX_MAX_OUTPUT_TOKENS", bad)]), false).expect_err(bad);
        assert_eq!(e.var, "CHATRIX_MAX_OUTPUT_TOKENS");
    }
}

#[test]
fn a_keys_file_adds_keys_with_limits_and_a_bad_one_stops_start_up_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("chatrix-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        r#"{"api_keys": {"bob": {"key": "sk-bob", "rpm": 5}}}"#,
    )
    .expect("write");
    let path = good.to_string_lossy().into_owned();
    let c = Config::from_vars(
        &vars(&[
            ("CHATRIX_API_KEYS", "ci:sk-ci"),
            ("CHATRIX_KEYS_FILE", &path),
        ]),
        false,
    )
    .expect("parses");
    let names: Vec<&str> = c.api_keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["ci", "bob"]);
    assert_eq!(c.api_keys[1].limits.as_ref().and_then(|l| l.rpm), Some(5));
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"api_keys": {"bob": {"key": "sk-bob", "budget": 5}}}"#,
    )
    .expect("write");
    let path = bad.to_string_lossy().into_owned();
    let e = Config::from_vars(&vars(&[("CHATRIX_KEYS_FILE", &path)]), false).expect_err("bad");
    assert_eq!(e.var, "CHATRIX_KEYS_FILE");
    assert!(e.message.contains("budget"), "{e}");
    assert!(!e.message.contains("sk-bob"), "{e}");
}

#[test]
fn the_ledger_is_in_process_and_open_unless_told_otherwise() {
    let c = Config::from_vars(&vars(&[]), false).expect("parses");
    assert_eq!(c.ledger.table, None);
    assert_eq!(c.ledger.on_error, LedgerOnError::Open);
    let c = Config::from_vars(
        &vars(&[
            ("CHATRIX_LEDGER_TABLE", "chatrix-ledger"),
            ("CHATRIX_LEDGER_ON_ERROR", "closed"),
        ]),
        false,
    )
    .expect("parses");
    assert_eq!(c.ledger.table.as_deref(), Some("chatrix-ledger"));
    assert_eq!(c.ledger.on_error, LedgerOnError::Closed);
    let e =
        Config::from_vars(&vars(&[("CHATRIX_LEDGER_ON_ERROR", "shut")]), false).expect_err("bad");
    assert_eq!(e.var, "CHATRIX_LEDGER_ON_ERROR");
}

#[test]
fn an_upstream_pool_means_aws_and_its_errors_name_the_variable() {
    let pool = vars(&[("CHATRIX_UPSTREAMS", "us-east-1,us-west-2")]);
    let c = Config::from_vars(&pool, false).expect("parses");
    assert_eq!(c.bedrock_mode, BedrockMode::Aws);
    assert_eq!(c.failover.upstreams.len(), 2);
    let bad = vars(&[("CHATRIX_UPSTREAMS", "nowhere")]);
    let e = Config::from_vars(&bad, false).expect_err("not a region");
    assert_eq!(e.var, "CHATRIX_UPSTREAMS");
}
