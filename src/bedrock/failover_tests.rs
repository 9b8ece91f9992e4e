use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn at(upstream: usize, profile: usize) -> Sticky {
    Sticky { upstream, profile }
}

const GLOBAL: &str = "global.anthropic.claude-x";
const US: &str = "us.anthropic.claude-x";

#[test]
fn the_configured_profile_is_tried_on_every_upstream_before_a_fallback_profile() {
    let got = pairs(&["us-east-1", "us-west-2"], &ids(&[GLOBAL, US]), None);
    assert_eq!(got, [at(0, 0), at(1, 0), at(0, 1), at(1, 1)]);
}

#[test]
fn a_sticky_session_starts_where_it_was_served_last() {
    let got = pairs(
        &["us-east-1", "us-west-2"],
        &ids(&[GLOBAL, US]),
        Some(at(1, 1)),
    );
    assert_eq!(got, [at(1, 1), at(0, 0), at(1, 0), at(0, 1)]);
    let gone = pairs(&["us-east-1"], &ids(&[GLOBAL]), Some(at(3, 0)));
    assert_eq!(
        gone,
        [at(0, 0)],
        "a sticky entry the pool no longer has is ignored"
    );
}

#[test]
fn a_geography_profile_is_only_sent_to_regions_of_that_geography() {
    let got = pairs(&["eu-west-1", "us-east-1"], &ids(&[GLOBAL, US]), None);
    assert_eq!(got, [at(0, 0), at(1, 0), at(1, 1)]);
    let none_fit = pairs(&["eu-west-1"], &ids(&[US]), None);
    assert_eq!(none_fit, [at(0, 0)], "Bedrock names the misconfiguration");
    assert!(fits("jp.anthropic.x", "ap-northeast-3"));
    assert!(!fits("jp.anthropic.x", "ap-southeast-2"));
    assert!(fits("anthropic.claude-x", "sa-east-1"));
    let arn = "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc";
    assert!(fits(arn, "us-west-2") && !fits(arn, "us-east-1"));
}

#[test]
fn cooling_pairs_go_last_soonest_to_reopen_first() {
    let t = Instant::now();
    let list = [at(0, 0), at(1, 0), at(2, 0)];
    let status = |p: Sticky| match p.upstream {
        0 => Status::Cooling(t + Duration::from_secs(9)),
        2 => Status::Cooling(t + Duration::from_secs(3)),
        _ => Status::Ready,
    };
    let got: Vec<(usize, bool)> = order(&list, status)
        .iter()
        .map(|c| (c.at.upstream, c.last_resort))
        .collect();
    assert_eq!(got, [(1, false), (2, true), (0, true)]);
}

#[test]
fn the_profile_is_named_from_the_model_id() {
    assert_eq!(profile_of(GLOBAL), "global");
    assert_eq!(profile_of("us-gov.anthropic.x"), "us-gov");
    assert_eq!(profile_of("anthropic.claude-x"), "base");
    let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.x";
    assert_eq!(profile_of(arn), "eu");
}

fn throttle(secs: Option<u64>, message: &str) -> ApiError {
    ApiError::RateLimited {
        message: message.into(),
        retry_after: secs,
    }
}

#[test]
fn when_all_fail_the_throttle_with_the_smallest_retry_after_is_answered() {
    let got = chosen_error(vec![
        throttle(Some(7), "a"),
        ApiError::Overloaded("b".into()),
        throttle(Some(2), "c"),
        throttle(None, "d"),
    ]);
    assert!(
        matches!(&got, ApiError::RateLimited { message, retry_after: Some(2) } if message == "c"),
        "{got:?}"
    );
}

#[test]
fn when_none_throttled_the_last_error_is_answered() {
    let got = chosen_error(vec![
        ApiError::Upstream("a".into()),
        ApiError::Overloaded("b".into()),
    ]);
    assert_eq!(got.to_string(), "b");
    assert_eq!(chosen_error(Vec::new()).kind(), "api_error");
}
