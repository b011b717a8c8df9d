//! The images of one client request, fetched once and shared by every failover attempt. Created once per request
//! (one [`MediaCache`] in the [`UpstreamCtx`](crate::UpstreamCtx) of each attempt), it bounds what a single request
//! can make the gateway download:
//!
//! - each distinct http(s) URL is downloaded at most once, however many attempts or parts name it;
//! - at most [`CONCURRENT_DOWNLOADS`] downloads run at a time;
//! - all downloads together may read at most [`MediaPolicy::request_budget`] bytes (4 × the per-image limit), so
//!   a request cannot make the gateway read `max_images × image_max_bytes`.
//!
//! `data:` URLs are already in the request body (bounded by the body limit): they are decoded, not budgeted.
//! Failures are not cached: they end the request (an invalid image is not retried on another channel).

use super::{InlineImage, MediaFetcher, MediaPolicy};
use crate::error::UpstreamError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{OnceCell, Semaphore};

/// Downloads one request may run at the same time.
pub const CONCURRENT_DOWNLOADS: usize = 4;

/// Bytes one request's downloads may still read, shared by its concurrent downloads.
#[derive(Debug)]
pub struct ByteBudget {
    limit: usize,
    remaining: AtomicUsize,
}

impl ByteBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            remaining: AtomicUsize::new(limit),
        }
    }

    /// The budget this request started with.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Takes `n` bytes; `false` (and nothing taken) when fewer remain.
    pub fn take(&self, n: usize) -> bool {
        self.remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(n)
            })
            .is_ok()
    }
}

/// One request's downloaded images, by URL.
pub struct MediaCache {
    fetcher: MediaFetcher,
    images: Mutex<HashMap<String, Arc<OnceCell<InlineImage>>>>,
    budget: ByteBudget,
    permits: Semaphore,
}

debug_only!(MediaCache { budget });

impl MediaCache {
    /// A fresh cache for one request, downloading through `fetcher`.
    pub fn new(fetcher: MediaFetcher) -> Arc<Self> {
        let budget = ByteBudget::new(fetcher.policy().request_budget());
        Arc::new(Self {
            fetcher,
            images: Mutex::new(HashMap::new()),
            budget,
            permits: Semaphore::new(CONCURRENT_DOWNLOADS),
        })
    }

    pub fn fetcher(&self) -> &MediaFetcher {
        &self.fetcher
    }

    pub fn policy(&self) -> &MediaPolicy {
        self.fetcher.policy()
    }

    /// A `data:` or http(s) image URL as inline data; an http(s) URL this request already fetched is not fetched
    /// again.
    pub async fn inline(&self, url: &str) -> Result<InlineImage, UpstreamError> {
        if url.starts_with("data:") {
            return super::decode_data_url(url);
        }
        let cell = self.cell(url);
        cell.get_or_try_init(|| async {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|_| super::refused("image downloads of this request were stopped"))?;
            self.fetcher.download(url, &self.budget).await
        })
        .await
        .cloned()
    }

    /// Every URL of `urls` (distinct or not), concurrently within the request's limits.
    pub async fn inline_all<'a>(
        &self,
        urls: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, InlineImage>, UpstreamError> {
        let fetches = urls.into_iter().map(|url| async move {
            let image = self.inline(url).await?;
            Ok::<_, UpstreamError>((url.to_owned(), image))
        });
        Ok(futures::future::try_join_all(fetches)
            .await?
            .into_iter()
            .collect())
    }

    fn cell(&self, url: &str) -> Arc<OnceCell<InlineImage>> {
        let mut images = self.images.lock().unwrap_or_else(PoisonError::into_inner);
        images.entry(url.to_owned()).or_default().clone()
    }
}
