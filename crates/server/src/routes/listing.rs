//! Paged lists of the data plane: one page of a key-ordered list, with the continuation token and `nextLink` that lead to the next.
//!
//! The cursor is the key of the last item served, so a page stays correct when items are added or removed between requests.

use std::num::NonZeroU32;

use serde::Deserialize;

use crate::api_version::ApiVersion;
use crate::error::ApiError;
use crate::paging::{BaseUrl, ContinuationToken, MaxItemsPerPage, Page, next_link};

/// The query parameters every list accepts besides its own.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(rename = "continuationToken")]
    pub(crate) continuation_token: Option<String>,
}

/// Where a list request stands: its page size and the key after which the page starts.
pub(crate) struct PageRequest {
    size: NonZeroU32,
    after: Option<String>,
}

impl PageRequest {
    pub(crate) fn new(query: &PageQuery, max: MaxItemsPerPage, limit: NonZeroU32) -> Result<PageRequest, ApiError> {
        let token = query.continuation_token.as_deref().map(ContinuationToken::decode).transpose()?;
        let size = max.page_size(token.as_ref(), limit);
        let after = match token {
            Some(t) => Some(
                String::from_utf8(t.position)
                    .map_err(|_| ApiError::bad_request("The continuation token is not valid: corrupted."))?,
            ),
            None => None,
        };
        Ok(PageRequest { size, after })
    }

    /// The page of `items` (sorted by key) this request asks for; `link` builds the `nextLink` from a token.
    pub(crate) fn page<T>(&self, items: Vec<(String, T)>, link: impl FnOnce(&ContinuationToken) -> String) -> Page<T> {
        let size = self.size.get() as usize;
        let mut rest =
            items.into_iter().skip_while(|(key, _)| self.after.as_ref().is_some_and(|after| key <= after)).peekable();
        let mut value = Vec::with_capacity(size.min(1024));
        let mut last = None;
        while value.len() < size {
            let Some((key, item)) = rest.next() else { break };
            last = Some(key);
            value.push(item);
        }
        let next_link = match (rest.peek(), last) {
            (Some(_), Some(last)) => {
                Some(link(&ContinuationToken { position: last.into_bytes(), page_size: self.size }))
            }
            _ => None,
        };
        Page { value, next_link }
    }
}

/// A `nextLink` builder for a list at `path` with its own query parameters.
pub(crate) fn link<'a>(
    base: &'a BaseUrl,
    path: &'a str,
    version: ApiVersion,
    params: &'a [(&'a str, &'a str)],
) -> impl FnOnce(&ContinuationToken) -> String + 'a {
    move |token| next_link(base, path, version, params, token)
}
