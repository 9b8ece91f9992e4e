//! Tests of the Models API listing: order, query parsing and paging (no network).
use super::*;
use crate::models::Capabilities;

fn spec(id: &str, created_at: &str) -> ModelSpec {
    ModelSpec {
        id: id.to_owned(),
        aliases: vec![format!("{id}-latest")],
        display_name: format!("Model {id}"),
        created_at: created_at.to_owned(),
        bedrock_id: format!("vendor.{id}"),
        profiles: Vec::new(),
        context_window: None,
        max_output_tokens: None,
        capabilities: Capabilities::unknown(id),
        rules: crate::models::Rules::default(),
        betas: Vec::new(),
        price: None,
        long_context_price: None,
        regional_prices: std::collections::HashMap::new(),
        data_retention: None,
    }
}

/// Five models, deliberately out of order, with a tie on `created_at`.
fn fixture() -> Vec<ModelSpec> {
    vec![
        spec("m-old", "2024-01-01T00:00:00Z"),
        spec("m-tie-b", "2025-06-01T00:00:00Z"),
        spec("m-new", "2026-01-01T00:00:00Z"),
        spec("m-tie-a", "2025-06-01T00:00:00Z"),
        spec("m-mid", "2025-01-01T00:00:00Z"),
    ]
}

const FIXTURE_ORDER: [&str; 5] = ["m-new", "m-tie-a", "m-tie-b", "m-mid", "m-old"];

fn ids<'a>(page: &ModelPage<'a>) -> Vec<&'a str> {
    page.data.iter().map(|m| m.id).collect()
}

fn query<'q>(pairs: &[(&'q str, &'q str)]) -> PageQuery<'q> {
    PageQuery::parse(pairs.iter().copied()).expect("valid query")
}

fn assert_invalid(result: Result<impl std::fmt::Debug, ApiError>, names: &str) {
    let err = result.expect_err("must be rejected");
    assert_eq!(err.kind(), "invalid_request_error", "{err}");
    assert!(
        err.to_string().contains(names),
        "`{err}` does not name {names}"
    );
}

#[test]
fn models_are_ordered_newest_first_with_ties_broken_by_id() {
    let models = fixture();
    let order: Vec<&str> = newest_first(&models)
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(order, FIXTURE_ORDER);
}

#[test]
fn offsets_and_fractions_are_compared_as_instants_and_unreadable_times_sort_last() {
    let models = vec![
        spec("a-unreadable", "last tuesday"),
        // 23:30 UTC on the 1st: later than midnight UTC on the 1st.
        spec("b-west", "2025-01-01T20:30:00-03:00"),
        // 22:00 UTC on the 31st: earlier than everything else readable.
        spec("c-east", "2025-01-01T00:00:00+02:00"),
        spec("d-utc", "2025-01-01T00:00:00Z"),
        spec("e-utc-later", "2025-01-01T00:00:00.5Z"),
    ];
    let order: Vec<&str> = newest_first(&models)
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(
        order,
        ["b-west", "e-utc-later", "d-utc", "c-east", "a-unreadable"]
    );
}

#[test]
fn only_rfc3339_timestamps_are_readable() {
    assert!(unix_time("2000-03-01t02:00:00.25+02:00").is_some());
    for bad in [
        "",
        "2025-09-29",
        "2025-09-29T00:00:00",
        "2025-02-29T00:00:00Z",
    ] {
        assert_eq!(unix_time(bad), None, "{bad:?}");
    }
}

#[test]
fn query_defaults_and_unknown_parameters_are_ignored() {
    assert_eq!(query(&[]), PageQuery::default());
    assert_eq!(
        query(&[("beta", "true"), ("order", "asc")]),
        PageQuery {
            limit: DEFAULT_LIMIT,
            cursor: Cursor::Start
        }
    );
    assert_eq!(
        query(&[("limit", "5"), ("after_id", "x"), ("limit", "7")]),
        PageQuery {
            limit: 7,
            cursor: Cursor::After("x")
        },
        "the last value of a repeated key counts"
    );
    assert_eq!(query(&[("before_id", "y")]).cursor, Cursor::Before("y"));
}

#[test]
fn limit_must_be_an_integer_from_1_to_the_maximum() {
    let max = MAX_LIMIT.to_string();
    for ok in ["1", "20", max.as_str()] {
        let q = PageQuery::parse([("limit", ok)]).expect(ok);
        assert_eq!(q.limit.to_string(), ok);
    }
    let over = (MAX_LIMIT + 1).to_string();
    for bad in ["0", over.as_str(), "-1", "2.5", "ten", "", " 5"] {
        assert_invalid(PageQuery::parse([("limit", bad)]), "limit");
    }
}

#[test]
fn both_cursors_at_once_are_rejected_naming_both() {
    let result = PageQuery::parse([("after_id", "a"), ("before_id", "b")]);
    let err = result.expect_err("both cursors");
    assert_eq!(err.kind(), "invalid_request_error");
    assert!(err.to_string().contains("after_id") && err.to_string().contains("before_id"));
}

#[test]
fn the_first_page_holds_the_newest_models() {
    let models = fixture();
    let ordered = newest_first(&models);
    let p = page(&ordered, &query(&[("limit", "2")])).expect("page");
    assert_eq!(ids(&p), FIXTURE_ORDER[..2]);
    assert!(p.has_more);
    assert_eq!(p.first_id, Some(FIXTURE_ORDER[0]));
    assert_eq!(p.last_id, Some(FIXTURE_ORDER[1]));

    let all = page(&ordered, &query(&[])).expect("default page");
    assert_eq!(ids(&all), FIXTURE_ORDER);
    assert!(!all.has_more, "a page that reaches the end has no more");
    assert_eq!(all.last_id, Some(FIXTURE_ORDER[4]));
}

#[test]
fn after_id_pages_forward_through_every_model_once() {
    let models = fixture();
    let ordered = newest_first(&models);
    for limit in 1..=ordered.len() + 1 {
        let mut seen = Vec::new();
        let mut q = PageQuery {
            limit,
            cursor: Cursor::Start,
        };
        let mut pages = 0;
        loop {
            let p = page(&ordered, &q).expect("page");
            pages += 1;
            assert!(p.data.len() <= limit);
            seen.extend(ids(&p));
            if !p.has_more {
                break;
            }
            q.cursor = Cursor::After(p.last_id.expect("a page with more has a last id"));
        }
        assert_eq!(seen, FIXTURE_ORDER, "limit {limit}");
        assert_eq!(pages, ordered.len().div_ceil(limit).max(1), "limit {limit}");
    }
}

#[test]
fn before_id_returns_the_models_just_before_the_cursor() {
    let models = fixture();
    let ordered = newest_first(&models);
    let last = FIXTURE_ORDER[4];
    let p = page(
        &ordered,
        &PageQuery {
            limit: 2,
            cursor: Cursor::Before(last),
        },
    )
    .expect("page");
    assert_eq!(ids(&p), FIXTURE_ORDER[2..4], "newest first within the page");
    assert!(p.has_more, "older pages remain before index 2");
    assert_eq!(p.first_id, Some(FIXTURE_ORDER[2]));

    // Walking backwards with first_id, as the SDKs do, reaches the start exactly once each.
    let mut seen: Vec<&str> = Vec::new();
    let mut cursor = last;
    loop {
        let p = page(
            &ordered,
            &PageQuery {
                limit: 2,
                cursor: Cursor::Before(cursor),
            },
        )
        .expect("page");
        seen.splice(0..0, ids(&p));
        if !p.has_more {
            break;
        }
        cursor = p.first_id.expect("first id");
    }
    assert_eq!(seen, FIXTURE_ORDER[..4]);
}

#[test]
fn pages_beyond_either_end_are_empty_with_null_ids() {
    let models = fixture();
    let ordered = newest_first(&models);
    for cursor in [
        Cursor::After(FIXTURE_ORDER[4]),
        Cursor::Before(FIXTURE_ORDER[0]),
    ] {
        let p = page(&ordered, &PageQuery { limit: 3, cursor }).expect("page");
        assert!(p.data.is_empty(), "{cursor:?}");
        assert!(!p.has_more, "{cursor:?}");
        assert_eq!((p.first_id, p.last_id), (None, None), "{cursor:?}");
    }
    let empty = page(&[], &PageQuery::default()).expect("empty catalog");
    assert_eq!(
        serde_json::to_value(&empty).expect("serializes"),
        serde_json::json!({"data": [], "has_more": false, "first_id": null, "last_id": null})
    );
}

#[test]
fn cursors_that_are_not_listed_ids_are_rejected_naming_the_parameter() {
    let models = fixture();
    let ordered = newest_first(&models);
    let alias = models[0].aliases[0].as_str();
    for (cursor, name) in [
        (Cursor::After("nope"), "after_id"),
        (Cursor::Before("nope"), "before_id"),
        (Cursor::After(alias), "after_id"),
    ] {
        assert_invalid(page(&ordered, &PageQuery { limit: 2, cursor }), name);
    }
}

#[test]
fn a_page_serializes_in_the_models_api_shape() {
    let models = fixture();
    let ordered = newest_first(&models);
    let p = page(&ordered, &query(&[("limit", "1")])).expect("page");
    let newest = ordered[0];
    assert_eq!(
        serde_json::to_value(&p).expect("serializes"),
        serde_json::json!({
            "data": [{
                "type": "model",
                "id": newest.id,
                "display_name": newest.display_name,
                "created_at": newest.created_at,
            }],
            "has_more": true,
            "first_id": newest.id,
            "last_id": newest.id,
        })
    );
}

#[test]
fn the_embedded_catalog_lists_every_model_and_resolves_aliases_to_canonical_ids() {
    let catalog = Catalog::embedded().expect("embedded catalog parses");
    let max = MAX_LIMIT.to_string();
    let p = catalog
        .list_page(&query(&[("limit", max.as_str())]))
        .expect("page");
    let mut listed = ids(&p);
    assert!(!p.has_more);
    let times: Vec<_> = p.data.iter().map(|m| unix_time(m.created_at)).collect();
    assert!(
        times.iter().all(Option::is_some),
        "catalog times are RFC 3339"
    );
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    listed.sort_unstable();
    let mut all: Vec<&str> = catalog.models().iter().map(|m| m.id.as_str()).collect();
    all.sort_unstable();
    assert_eq!(listed, all);

    for spec in catalog.models() {
        for name in std::iter::once(&spec.id).chain(&spec.aliases) {
            let object = catalog.model_object(name).expect("known name");
            assert_eq!(object.id, spec.id, "{name}");
            assert_eq!(object.kind, "model");
        }
    }
    assert_eq!(catalog.model_object("claude-imaginary-9"), None);
}
