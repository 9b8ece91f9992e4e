//! The Models API view of the catalog: model objects, ordered newest first, served in pages.
//!
//! Paging rules (`GET /v1/models`):
//! - `limit` is an integer from 1 to [`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]);
//! - `after_id` returns the models that follow that id, `before_id` the `limit` models just before
//!   it (still newest first); giving both is an error;
//! - a cursor must be a canonical id as listed (not an alias); any other value is a 400 naming the
//!   parameter, because a stale cursor would otherwise silently restart the listing;
//! - `has_more` says whether more models lie beyond the page in the direction of travel, and
//!   `first_id` / `last_id` are the page's ends (`null` on an empty page).
//!
//! With a discovery snapshot ([`crate::discovery::AvailableProfiles`]) the listing is what the
//! account can call: catalog models with an ACTIVE profile (and those the catalog serves by bare
//! id, which the snapshot cannot see), plus discovered Claude models the catalog lacks. Without
//! one, it is the whole catalog.
//!
//! Everything here is pure; the handlers in `routes::models` only extract and serialize.

use std::cmp::Ordering;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Catalog, ModelSpec};
use crate::discovery::{AvailableProfiles, DiscoveredModel};
use crate::error::ApiError;

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest accepted `limit`.
pub const MAX_LIMIT: usize = 1000;

/// One model as the Models API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelObject<'a> {
    /// Always `"model"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The canonical catalog id, even when the model was looked up by alias.
    pub id: &'a str,
    pub display_name: &'a str,
    /// RFC 3339, as written in the catalog.
    pub created_at: &'a str,
}

impl<'a> From<DiscoveredModel<'a>> for ModelObject<'a> {
    fn from(model: DiscoveredModel<'a>) -> Self {
        Self {
            kind: "model",
            id: model.id,
            display_name: model.display_name,
            created_at: model.created_at,
        }
    }
}

impl<'a> From<&'a ModelSpec> for ModelObject<'a> {
    fn from(spec: &'a ModelSpec) -> Self {
        Self {
            kind: "model",
            id: &spec.id,
            display_name: &spec.display_name,
            created_at: &spec.created_at,
        }
    }
}

/// One page of the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelPage<'a> {
    pub data: Vec<ModelObject<'a>>,
    pub has_more: bool,
    pub first_id: Option<&'a str>,
    pub last_id: Option<&'a str>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor<'q> {
    Start,
    After(&'q str),
    Before(&'q str),
}

/// The listing's query parameters, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery<'q> {
    pub limit: usize,
    pub cursor: Cursor<'q>,
}

impl Default for PageQuery<'_> {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            cursor: Cursor::Start,
        }
    }
}

impl<'q> PageQuery<'q> {
    /// Reads `limit`, `after_id` and `before_id` from the query string's pairs. Other keys (such as
    /// `beta`) are ignored; when a key repeats, its last value counts.
    ///
    /// # Errors
    /// [`ApiError::InvalidRequest`] naming the parameter: a `limit` that is not an integer in
    /// `1..=MAX_LIMIT`, or both cursors at once.
    pub fn parse(pairs: impl IntoIterator<Item = (&'q str, &'q str)>) -> Result<Self, ApiError> {
        let (mut limit, mut after, mut before) = (None, None, None);
        for (key, value) in pairs {
            match key {
                "limit" => limit = Some(value),
                "after_id" => after = Some(value),
                "before_id" => before = Some(value),
                _ => {}
            }
        }
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(format!("limit: must be an integer from 1 to {MAX_LIMIT}"))
                })?,
        };
        let cursor = match (after, before) {
            (None, None) => Cursor::Start,
            (Some(id), None) => Cursor::After(id),
            (None, Some(id)) => Cursor::Before(id),
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "after_id, before_id: give at most one of the two",
                ))
            }
        };
        Ok(Self { limit, cursor })
    }
}

impl Catalog {
    /// One page of the catalog, newest first.
    ///
    /// # Errors
    /// [`ApiError::InvalidRequest`] when the cursor is not a listed id.
    pub fn list_page(&self, query: &PageQuery<'_>) -> Result<ModelPage<'_>, ApiError> {
        page(&newest_first(self.models()), query)
    }

    /// One page of what the account can call, newest first; the whole catalog when `available`
    /// is `None` (discovery off, not done yet, or failing).
    ///
    /// # Errors
    /// [`ApiError::InvalidRequest`] when the cursor is not a listed id.
    pub fn list_available_page<'a>(
        &'a self,
        available: Option<&'a AvailableProfiles>,
        query: &PageQuery<'_>,
    ) -> Result<ModelPage<'a>, ApiError> {
        let Some(available) = available else {
            return self.list_page(query);
        };
        let mut objects: Vec<ModelObject<'a>> = self
            .models()
            .iter()
            .filter(|m| m.profiles.is_empty() || available.serves(&m.bedrock_id))
            .map(ModelObject::from)
            .chain(available.unlisted_claude(self).map(ModelObject::from))
            .collect();
        objects.sort_by(|a, b| {
            newer_first(unix_time(a.created_at), unix_time(b.created_at))
                .then_with(|| a.id.cmp(b.id))
        });
        page_objects(&objects, query)
    }

    /// The model object for a catalog id or alias.
    pub fn model_object(&self, name: &str) -> Option<ModelObject<'_>> {
        self.get(name).map(ModelObject::from)
    }
}

/// The models ordered by `created_at`, newest first; equal times (and unreadable ones, which sort
/// last) are ordered by id so that the order, and so every cursor, is stable.
pub fn newest_first(models: &[ModelSpec]) -> Vec<&ModelSpec> {
    let mut keyed: Vec<_> = models
        .iter()
        .map(|m| (unix_time(&m.created_at), m))
        .collect();
    keyed.sort_by(|(ta, a), (tb, b)| newer_first(*ta, *tb).then_with(|| a.id.cmp(&b.id)));
    keyed.into_iter().map(|(_, m)| m).collect()
}

fn newer_first(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The page of `ordered` that `query` selects.
///
/// # Errors
/// [`ApiError::InvalidRequest`] naming `after_id` or `before_id` when that id is not in `ordered`.
pub fn page<'a>(
    ordered: &[&'a ModelSpec],
    query: &PageQuery<'_>,
) -> Result<ModelPage<'a>, ApiError> {
    let objects: Vec<ModelObject<'a>> = ordered.iter().map(|m| ModelObject::from(*m)).collect();
    page_objects(&objects, query)
}

/// The page of already ordered model objects that `query` selects.
///
/// # Errors
/// As [`page`].
pub fn page_objects<'a>(
    ordered: &[ModelObject<'a>],
    query: &PageQuery<'_>,
) -> Result<ModelPage<'a>, ApiError> {
    let position = |id: &str, param: &str| {
        ordered.iter().position(|m| m.id == id).ok_or_else(|| {
            ApiError::invalid(format!(
                "{param}: `{id}` is not the id of a listed model (use an id from `data`, not an alias)"
            ))
        })
    };
    let len = ordered.len();
    let limit = query.limit;
    let (start, end, has_more) = match query.cursor {
        Cursor::Start => {
            let end = limit.min(len);
            (0, end, end < len)
        }
        Cursor::After(id) => {
            let start = position(id, "after_id")? + 1;
            let end = start.saturating_add(limit).min(len);
            (start, end, end < len)
        }
        Cursor::Before(id) => {
            let end = position(id, "before_id")?;
            let start = end.saturating_sub(limit);
            (start, end, start > 0)
        }
    };
    let slice = &ordered[start..end];
    Ok(ModelPage {
        data: slice.to_vec(),
        has_more,
        first_id: slice.first().map(|m| m.id),
        last_id: slice.last().map(|m| m.id),
    })
}

/// The instant an RFC 3339 timestamp names; `None` when it is not one.
fn unix_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
