//! The futures a request is served through stay small. A future holds every future it awaits by
//! value, and each one is copied whole when it is created and boxed: an AWS SDK operation's future
//! is 7–24 KB, the SDK's configuration loader's 11 KB. Awaited unboxed anywhere under a handler,
//! even on a path a request never takes, they were copied on every request (64 KB of copying per
//! small request, `bench/instructions.py`). Such calls are boxed where they are made; these bounds
//! catch one that is not. A future's size is its type's, whatever the configuration (a store that is
//! not configured is still compiled in); these are the test build's, larger than release's.

use std::collections::HashMap;
use std::mem::size_of_val;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use bytes::Bytes;

use super::deadline::Deadline;
use super::extract::Incoming;
use crate::auth::{KeyStore, Keys};
use crate::bedrock::Bedrock;
use crate::config::Config;
use crate::state::AppState;

/// Above what the handlers hold themselves (5,968 bytes for `create_message` with rustc 1.9x),
/// below that plus the smallest SDK call or the Converse branch (7,128 bytes unboxed). A change
/// that needs more raises it on purpose.
const HANDLER_BOUND: usize = 6_656;
/// Authentication runs on every request: a moka lookup and a comparison (1,464 bytes).
const AUTH_BOUND: usize = 2 * 1024;

async fn state() -> AppState {
    let vars = HashMap::from([
        (
            "CHATRIX_API_KEYS".to_owned(),
            "t:sk-future-sizes".to_owned(),
        ),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
    ]);
    let cfg = Config::from_vars(&vars, false).expect("config parses");
    AppState::new(cfg, Bedrock::for_endpoint("http://127.0.0.1:9").await).expect("state builds")
}

fn incoming() -> Incoming {
    Incoming {
        bytes: Bytes::new(),
        betas: Vec::new(),
        key: None,
        request_id: String::new(),
        deadline: Deadline::from_headers(&HeaderMap::new()),
        headers: HeaderMap::new(),
    }
}

#[tokio::test]
async fn the_handlers_futures_hold_no_sdk_call_by_value() {
    let state = state().await;
    let sizes = [
        (
            "create_message",
            size_of_val(&super::messages::create_message(
                State(state.clone()),
                incoming(),
            )),
        ),
        (
            "count_tokens",
            size_of_val(&super::count_tokens::count_tokens(
                State(state.clone()),
                incoming(),
            )),
        ),
        (
            "bedrock_passthrough::runtime",
            size_of_val(&super::bedrock_passthrough::runtime(
                State(state),
                Path(String::new()),
                None,
                None,
                HeaderMap::new(),
                Body::empty(),
            )),
        ),
    ];
    for (name, size) in sizes {
        assert!(size <= HANDLER_BOUND, "{name}'s future is {size} bytes");
    }
}

#[tokio::test]
async fn authentications_future_holds_no_sdk_call_by_value() {
    let state = state().await;
    let keys = Keys::from_config(&state.cfg);
    let presented = secrecy::SecretString::from("sk-future-sizes".to_owned());
    let size = size_of_val(&keys.validate(&presented));
    assert!(
        size <= AUTH_BOUND,
        "Keys::validate's future is {size} bytes"
    );
}
