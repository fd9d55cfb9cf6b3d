//! Relay connections as GitLab shapes them: `nodes`, `edges { node cursor }`, `pageInfo`, `count`,
//! paged with `first`/`after` (and `last`/`before`) over opaque cursors. Pages hold at most
//! [`MAX_PAGE_SIZE`] items, GitLab's limit. The items are always what the caller may see: the
//! caller filters them before paging, so `count` never reveals more.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// GitLab's largest page.
pub const MAX_PAGE_SIZE: usize = 100;

/// A position in a list ordered by database id: base64 of `{"id":"5"}`, like GitLab's cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdCursor(pub i64);

impl CursorType for IdCursor {
    type Error = String;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let invalid = || format!("Invalid cursor: {s}");
        let bytes = STANDARD.decode(s).map_err(|_| invalid())?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        value["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .map(IdCursor)
            .ok_or_else(invalid)
    }

    fn encode_cursor(&self) -> String {
        STANDARD.encode(serde_json::json!({ "id": self.0.to_string() }).to_string())
    }
}

/// Fields every list connection carries besides the page.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ListCount {
    /// Total count of the collection, every page together.
    pub count: i64,
}

/// A connection of `T` (`ProjectConnection`, `ProjectEdge`, …).
pub type List<T> = Connection<IdCursor, T, ListCount, EmptyFields>;

/// Paging arguments as the field received them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub after: Option<String>,
    pub before: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
}

impl PageArgs {
    pub fn new(
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Self {
        PageArgs {
            after,
            before,
            first,
            last,
        }
    }
}

/// One page of `items` (each with its database id, in any order; paged by ascending id).
pub fn page<T: OutputType>(
    mut items: Vec<(i64, T)>,
    args: &PageArgs,
) -> async_graphql::Result<List<T>> {
    let size = |n: Option<i32>, name: &str| -> async_graphql::Result<Option<usize>> {
        match n {
            Some(n) if n < 0 => Err(crate::error::with_code(
                format!("`{name}` must not be negative"),
                "invalid_argument",
            )),
            Some(n) => Ok(Some((n as usize).min(MAX_PAGE_SIZE))),
            None => Ok(None),
        }
    };
    let (first, last) = (size(args.first, "first")?, size(args.last, "last")?);
    let cursor = |c: &Option<String>| -> async_graphql::Result<Option<i64>> {
        c.as_deref()
            .map(|s| {
                IdCursor::decode_cursor(s)
                    .map(|c| c.0)
                    .map_err(|e| crate::error::with_code(e, "invalid_argument"))
            })
            .transpose()
    };
    let (after, before) = (cursor(&args.after)?, cursor(&args.before)?);
    items.sort_by_key(|(id, _)| *id);
    let count = items.len() as i64;
    let mut has_previous = after.is_some_and(|a| items.iter().any(|(id, _)| *id <= a));
    let mut has_next = before.is_some_and(|b| items.iter().any(|(id, _)| *id >= b));
    items.retain(|(id, _)| after.is_none_or(|a| *id > a) && before.is_none_or(|b| *id < b));
    let first = match (first, last) {
        (None, None) => Some(MAX_PAGE_SIZE),
        (f, _) => f,
    };
    if let Some(n) = first
        && items.len() > n
    {
        items.truncate(n);
        has_next = true;
    }
    if let Some(n) = last
        && items.len() > n
    {
        items.drain(..items.len() - n);
        has_previous = true;
    }
    let mut connection =
        Connection::with_additional_fields(has_previous, has_next, ListCount { count });
    connection.edges.extend(
        items
            .into_iter()
            .map(|(id, node)| Edge::new(IdCursor(id), node)),
    );
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(c: &List<i32>) -> Vec<i32> {
        c.edges.iter().map(|e| e.node).collect()
    }

    fn args(after: Option<i64>, first: Option<i32>) -> PageArgs {
        PageArgs::new(
            after.map(|a| IdCursor(a).encode_cursor()),
            None,
            first,
            None,
        )
    }

    #[test]
    fn pages_by_id_with_cursors() {
        let items = || (1..=5).rev().map(|i| (i as i64, i)).collect::<Vec<_>>();
        let p = page(items(), &args(None, Some(2))).unwrap();
        assert_eq!(ids(&p), vec![1, 2]);
        assert!(p.has_next_page && !p.has_previous_page);
        assert_eq!(p.additional_fields.count, 5);
        let p = page(items(), &args(Some(2), Some(2))).unwrap();
        assert_eq!(ids(&p), vec![3, 4]);
        assert!(p.has_next_page && p.has_previous_page);
        let p = page(items(), &args(Some(4), Some(2))).unwrap();
        assert_eq!(ids(&p), vec![5]);
        assert!(!p.has_next_page);
        let p = page(
            items(),
            &PageArgs::new(None, Some(IdCursor(4).encode_cursor()), None, Some(2)),
        )
        .unwrap();
        assert_eq!(ids(&p), vec![2, 3]);
        assert!(p.has_previous_page && p.has_next_page);
        assert!(page(items(), &args(None, Some(-1))).is_err());
        assert!(
            page(
                items(),
                &PageArgs::new(Some("nope".into()), None, None, None)
            )
            .is_err()
        );
        let many = (1..=150).map(|i| (i as i64, i)).collect::<Vec<_>>();
        assert_eq!(
            page(many.clone(), &PageArgs::default())
                .unwrap()
                .edges
                .len(),
            MAX_PAGE_SIZE
        );
        assert_eq!(
            page(many, &args(None, Some(500))).unwrap().edges.len(),
            MAX_PAGE_SIZE
        );
    }

    #[test]
    fn cursors_look_like_gitlabs() {
        let c = IdCursor(42).encode_cursor();
        assert_eq!(STANDARD.decode(&c).unwrap(), br#"{"id":"42"}"#);
        assert_eq!(IdCursor::decode_cursor(&c).unwrap(), IdCursor(42));
    }
}
