//! `GET /v1/models` and `GET /v1/models/{model_id}` through the real server.

use std::collections::HashSet;

use chatrix::models::Catalog;
use serde_json::Value;

use crate::helpers::{assert_error, Reply, TestApp, KEY};

fn catalog() -> Catalog {
    Catalog::embedded().expect("embedded catalog parses")
}

/// A GET carrying the test key (the `get` helper sends none).
async fn get_authed(app: &TestApp, path: &str) -> Reply {
    let resp = app
        .http
        .get(format!("{}{path}", app.url))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|m| m["id"].as_str().expect("id is a string").to_owned())
        .collect()
}

#[tokio::test]
async fn list_has_the_models_api_shape_newest_first() {
    let app = crate::helpers::spawn_app().await;
    let r = get_authed(&app, "/v1/models?beta=true&unknown=1").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.headers.contains_key("request-id"));
    let catalog = catalog();
    let data = r.body["data"].as_array().expect("data");
    assert_eq!(data.len(), catalog.models().len().min(20), "default limit");
    assert_eq!(
        r.body["has_more"],
        catalog.models().len() > 20,
        "{:?}",
        r.body
    );
    for m in data {
        let keys: HashSet<&str> = m
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            HashSet::from(["type", "id", "display_name", "created_at"])
        );
        assert_eq!(m["type"], "model");
        let spec = catalog
            .get(m["id"].as_str().expect("id"))
            .expect("listed id is in the catalog");
        assert_eq!(m["display_name"], spec.display_name.as_str());
        assert_eq!(m["created_at"], spec.created_at.as_str());
    }
    let created: Vec<&str> = data
        .iter()
        .map(|m| m["created_at"].as_str().expect("created_at"))
        .collect();
    // The catalog writes every time as `YYYY-MM-DDTHH:MM:SSZ`, where text order is time order.
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    assert_eq!(r.body["first_id"], data[0]["id"]);
    assert_eq!(r.body["last_id"], data[data.len() - 1]["id"]);
}

#[tokio::test]
async fn paging_with_after_id_visits_every_model_exactly_once() {
    let app = crate::helpers::spawn_app().await;
    let mut seen = Vec::new();
    let mut path = "/v1/models?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let r = get_authed(&app, &path).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let page = ids(&r);
        assert!(!page.is_empty() && page.len() <= 3, "{page:?}");
        assert_eq!(r.body["first_id"], page[0].as_str());
        assert_eq!(r.body["last_id"], page[page.len() - 1].as_str());
        seen.extend(page);
        pages += 1;
        if r.body["has_more"] == false {
            break;
        }
        assert!(pages < 100, "paging does not end");
        let last = r.body["last_id"].as_str().expect("last_id");
        path = format!("/v1/models?limit=3&after_id={last}");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a model was listed twice: {seen:?}"
    );
    let all: HashSet<String> = catalog().models().iter().map(|m| m.id.clone()).collect();
    assert_eq!(unique, all.iter().collect::<HashSet<_>>());

    // The one-page listing Claude Code asks for has the same order.
    let whole = get_authed(&app, "/v1/models?limit=1000").await;
    assert_eq!(ids(&whole), seen);
    assert_eq!(whole.body["has_more"], false);
}

#[tokio::test]
async fn before_id_pages_back_towards_the_newest() {
    let app = crate::helpers::spawn_app().await;
    let whole = ids(&get_authed(&app, "/v1/models?limit=1000").await);
    let last = &whole[whole.len() - 1];
    let r = get_authed(&app, &format!("/v1/models?limit=2&before_id={last}")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), whole[whole.len() - 3..whole.len() - 1]);
    assert_eq!(r.body["has_more"], whole.len() > 3);

    let r = get_authed(&app, &format!("/v1/models?before_id={}", whole[0])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["data"], serde_json::json!([]));
    assert_eq!(r.body["has_more"], false);
    assert_eq!(r.body["first_id"], Value::Null);
    assert_eq!(r.body["last_id"], Value::Null);
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_the_parameter() {
    let app = crate::helpers::spawn_app().await;
    let cases = [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=-5", "limit"),
        ("after_id=claude-imaginary-9", "after_id"),
        ("before_id=claude-imaginary-9", "before_id"),
        (
            "after_id=claude-sonnet-4-6&before_id=claude-opus-4-6",
            "before_id",
        ),
    ];
    for (query, name) in cases {
        let r = get_authed(&app, &format!("/v1/models?{query}")).await;
        assert_error(&r, 400, "invalid_request_error");
        let message = r.body["error"]["message"].as_str().expect("message");
        assert!(message.contains(name), "{query}: {message}");
    }
}

#[tokio::test]
async fn retrieve_by_id_or_alias_returns_the_canonical_model() {
    let app = crate::helpers::spawn_app().await;
    let catalog = catalog();
    let with_alias = catalog
        .models()
        .iter()
        .find(|m| !m.aliases.is_empty())
        .expect("the catalog has an aliased model");
    for name in [&with_alias.id, &with_alias.aliases[0]] {
        let r = get_authed(&app, &format!("/v1/models/{name}?beta=true")).await;
        assert_eq!(r.status, 200, "{name}: {:?}", r.body);
        assert!(r.headers.contains_key("request-id"));
        assert_eq!(
            r.body,
            serde_json::json!({
                "type": "model",
                "id": with_alias.id,
                "display_name": with_alias.display_name,
                "created_at": with_alias.created_at,
            }),
            "{name}"
        );
    }
}

#[tokio::test]
async fn retrieving_an_unknown_model_is_404_not_found() {
    let app = crate::helpers::spawn_app().await;
    let r = get_authed(&app, "/v1/models/claude-imaginary-9").await;
    assert_error(&r, 404, "not_found_error");
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(message.contains("claude-imaginary-9"), "{message}");
}

#[tokio::test]
async fn model_routes_need_an_api_key() {
    let app = crate::helpers::spawn_app().await;
    for path in [
        "/v1/models",
        "/v1/models/claude-sonnet-4-6",
        "/v1/models/claude-imaginary-9",
    ] {
        assert_error(&app.get(path).await, 401, "authentication_error");
    }
    let bearer = app
        .http
        .get(format!("{}/v1/models/claude-sonnet-4-6", app.url))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(bearer.status(), 200, "Bearer authenticates like x-api-key");
}
