//! `Collection`: documents (id, vector, payload) and search over them.

use crate::error::{guard, Failure, JsFailure, Result};
use crate::js::{self, Vector};
use crate::options::{self, SearchArgs, SearchSpec};
use crate::task::{self, IntoJs, Job};
use crate::values::{
    collection_config, compaction_stats, distance_name, document, packed_hits, raw_hits, stats,
    CollectionConfig, CollectionStats, Document, PayloadIndex, RawHits,
};
use napi::bindgen_prelude::{AsyncTask, Env, Float64ArraySlice, ToNapiValue, Unknown};
use napi_derive::napi;
use parking_lot::RwLock;
use std::sync::Arc;

/// The library's collection handle, emptied by `Database.close()`.
pub(crate) struct Slot {
    coll: RwLock<Option<ndb::Collection>>,
}

impl Slot {
    pub(crate) fn new(coll: ndb::Collection) -> Self {
        Self {
            coll: RwLock::new(Some(coll)),
        }
    }

    pub(crate) fn close(&self) {
        let coll = self.coll.write().take();
        drop(coll);
    }
}

/// A collection of documents: a string id, a fixed-dimension vector and an optional payload
/// (a plain object). Get one from `Database.createCollection` or `Database.getCollection`.
#[napi]
pub struct Collection {
    slot: Arc<Slot>,
    name: String,
    dim: u32,
    distance: String,
}

impl Collection {
    pub(crate) fn new(slot: Arc<Slot>) -> Self {
        let (name, dim, distance) = match &*slot.coll.read() {
            Some(c) => (
                c.name().to_string(),
                c.config().dim() as u32,
                distance_name(c.config().distance()),
            ),
            None => Default::default(),
        };
        Self {
            slot,
            name,
            dim,
            distance,
        }
    }

    fn handle(&self) -> Result<ndb::Collection> {
        self.slot.coll.read().clone().ok_or_else(Failure::closed)
    }

    /// Run `work` with the library handle on the libuv thread pool (see [`task::spawn`]).
    fn spawn<T, W>(&self, work: Result<W>) -> AsyncTask<Job<T>>
    where
        T: IntoJs,
        W: FnOnce(ndb::Collection) -> Result<T> + Send + 'static,
    {
        task::spawn(
            work.and_then(|w| Ok((self.handle()?, w)))
                .map(|(coll, work)| move || work(coll)),
        )
    }

    /// Run `work` with the library handle now, on this thread.
    fn now<T>(&self, work: impl FnOnce(&ndb::Collection) -> Result<T>) -> Result<T, JsFailure> {
        let coll = self.handle()?;
        Ok(guard(|| work(&coll))?)
    }
}

/// Read `{ id, vector, payload }` (or the three arguments of `insert`) into a library document.
fn read_document(
    id: &Unknown<'_>,
    vector: &Unknown<'_>,
    payload: Option<&Unknown<'_>>,
    what: &str,
) -> Result<ndb::Document> {
    let id = js::string(id, &format!("{what}id"))?;
    let vector = js::vector(vector, &format!("{what}vector"))?.into_vec();
    let payload = js::payload(payload, &format!("{what}payload"))?;
    let mut doc = ndb::Document::new(id, vector);
    doc.payload = payload;
    Ok(doc)
}

/// Read `insertBatch`'s array of `{ id, vector, payload }`.
fn read_documents(documents: &Unknown<'_>) -> Result<Vec<ndb::Document>> {
    let arr = js::array(documents, "documents")?;
    let mut docs = Vec::with_capacity(arr.len() as usize);
    for i in 0..arr.len() {
        let what = format!("documents[{i}]");
        let item: Unknown<'_> = arr
            .get(i)
            .map_err(|e| Failure::invalid(format!("{what}: {}", e.reason)))?
            .ok_or_else(|| Failure::invalid(format!("{what} is missing")))?;
        let o = js::object(&item, &what)?;
        let field = |key: &str| -> Result<Unknown<'_>> {
            o.get::<Unknown<'_>>(key)
                .map_err(|e| Failure::invalid(format!("{what}.{key}: {}", e.reason)))?
                .ok_or_else(|| Failure::invalid(format!("{what}.{key} is required")))
        };
        let id = field("id")?;
        let vector = field("vector")?;
        let payload = js::property(&o, "payload", &what)?;
        docs.push(read_document(
            &id,
            &vector,
            payload.as_ref(),
            &format!("{what}."),
        )?);
    }
    Ok(docs)
}

impl IntoJs for RawHits {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        self.0.into_unknown(env)
    }
}

impl IntoJs for ndb::CollectionConfig {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        collection_config(&self).into_unknown(env)
    }
}

impl IntoJs for ndb::CompactionStats {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        compaction_stats(&self).into_unknown(env)
    }
}

#[napi]
impl Collection {
    /// The collection's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The vector dimension, fixed at creation.
    #[napi(getter)]
    pub fn dim(&self) -> u32 {
        self.dim
    }

    /// The similarity metric: `"cosine"`, `"euclidean"` or `"dot_product"`.
    #[napi(getter, ts_return_type = "Distance")]
    pub fn distance(&self) -> String {
        self.distance.clone()
    }

    /// The collection's settings as of now.
    #[napi]
    pub fn config(&self) -> Result<CollectionConfig, JsFailure> {
        self.now(|c| Ok(collection_config(&c.config())))
    }

    /// Change the settings that may change without rewriting data: `durability` and
    /// `flushThresholdBytes` (from the next write), `efSearch` (from the next search), `m`,
    /// `efConstruction` and `minRows` (for graphs built from now on). Each key goes to the
    /// library under its snake_case name and each value as text, and the library checks them:
    /// `dim`, `distance`, an unknown key or a refused value reject with `NDB_INVALID_ARGUMENT`
    /// and change nothing; a reader rejects with `NDB_READ_ONLY`. The change is persisted (a
    /// manifest swap, synced) when the Promise resolves, to the new settings. Runs on the libuv
    /// thread pool.
    #[napi(
        ts_args_type = "settings: ConfigUpdate",
        ts_return_type = "Promise<CollectionConfig>"
    )]
    pub fn update_config(&self, settings: Unknown<'_>) -> AsyncTask<Job<ndb::CollectionConfig>> {
        let update = options::config_update(&settings);
        self.spawn(update.map(|u| move |c: ndb::Collection| Ok(c.update_config(&u)?)))
    }

    /// On a collection of a `{ readOnly: true }` database: move to the newest state the writer
    /// has committed (new segments, merges, writes in its log) without reopening; resolves to
    /// whether anything changed. When nothing did it costs a manifest read and a directory
    /// listing; when something did, the collection is loaded again as an open would (segments,
    /// and a replay of the writer's log), so it runs on the libuv thread pool. Searches see the
    /// old state or the new one, never a mix. A writer's collection is always current: `false`.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn refresh(&self) -> AsyncTask<Job<bool>> {
        self.spawn(Ok(|c: ndb::Collection| Ok(c.refresh()?)))
    }

    /// Insert a document, or replace the one with the same id. The vector is a `Float32Array`
    /// (read in place) or an array of numbers; the payload a plain object or null.
    #[napi(
        ts_args_type = "id: string, vector: Float32Array | number[], payload?: Payload | null",
        ts_return_type = "Promise<void>"
    )]
    pub fn insert(
        &self,
        id: Unknown<'_>,
        vector: Unknown<'_>,
        payload: Unknown<'_>,
    ) -> AsyncTask<Job<()>> {
        let doc = read_document(&id, &vector, Some(&payload), "");
        self.spawn(doc.map(|doc| move |c: ndb::Collection| Ok(c.insert(doc)?)))
    }

    /// Insert or replace many documents as one all-or-nothing batch (one write-ahead-log
    /// record): after a crash either all are present or none; nothing is written if any is
    /// invalid. The fast path for bulk loads.
    #[napi(
        ts_args_type = "documents: DocumentInput[]",
        ts_return_type = "Promise<void>"
    )]
    pub fn insert_batch(&self, documents: Unknown<'_>) -> AsyncTask<Job<()>> {
        let docs = read_documents(&documents);
        self.spawn(docs.map(|docs| move |c: ndb::Collection| Ok(c.insert_batch(docs)?)))
    }

    /// The document with this id, or null. Its vector is a new `Float32Array` (unit length in
    /// a cosine collection).
    #[napi(ts_args_type = "id: string")]
    pub fn get(&self, id: Unknown<'_>) -> Result<Option<Document>, JsFailure> {
        let id = js::string(&id, "id")?;
        self.now(|c| Ok(c.get(&id)?.map(document)))
    }

    /// Replace the payload of the document `id` (`null` removes it), keeping its vector.
    /// Resolves to whether the document exists (nothing is written if not). Only the id and
    /// the new payload are written; searches and filters see the new payload at once, and the
    /// update is as durable as an insert.
    #[napi(
        ts_args_type = "id: string, payload: Payload | null",
        ts_return_type = "Promise<boolean>"
    )]
    pub fn set_payload(&self, id: Unknown<'_>, payload: Unknown<'_>) -> AsyncTask<Job<bool>> {
        let args =
            js::string(&id, "id").and_then(|id| Ok((id, js::payload(Some(&payload), "payload")?)));
        self.spawn(
            args.map(|(id, payload)| move |c: ndb::Collection| Ok(c.set_payload(&id, payload)?)),
        )
    }

    /// Apply a JSON merge patch (RFC 7396) to the payload of the document `id`: each property
    /// of `patch` replaces the field of that name, nested objects merge, a `null` property
    /// removes the field. Resolves to whether the document exists; otherwise like
    /// `setPayload`.
    #[napi(
        ts_args_type = "id: string, patch: Payload",
        ts_return_type = "Promise<boolean>"
    )]
    pub fn patch_payload(&self, id: Unknown<'_>, patch: Unknown<'_>) -> AsyncTask<Job<bool>> {
        let args = js::string(&id, "id").and_then(|id| Ok((id, js::json(&patch, "patch")?)));
        self.spawn(
            args.map(|(id, patch)| move |c: ndb::Collection| Ok(c.patch_payload(&id, patch)?)),
        )
    }

    /// Delete a document; returns whether it was present.
    #[napi(ts_args_type = "id: string")]
    pub fn delete(&self, id: Unknown<'_>) -> Result<bool, JsFailure> {
        let id = js::string(&id, "id")?;
        self.now(|c| Ok(c.delete(&id)?))
    }

    /// `search` (index.js): the `topK` (default 10) documents nearest to `vector`, best first,
    /// optionally only those whose payload matches `filter`. `exact: true` scans every vector;
    /// otherwise the HNSW index is used where there is one, with breadth `ef`. Runs on the libuv
    /// thread pool; resolves to [`RawHits`]' JSON text. Every search path here runs
    /// `ndb::Collection::search_raw`: payloads reach `index.js` as stored, never parsed in Rust.
    #[napi(js_name = "_search", skip_typescript)]
    pub fn search_raw(&self, request: Unknown<'_>) -> AsyncTask<Job<RawHits>> {
        // The query is copied: JavaScript may change the array while the search runs.
        let parsed = options::search(&request).map(|(v, spec)| (v.into_vec(), spec));
        self.spawn(parsed.map(|(query, spec)| {
            move |c: ndb::Collection| raw_hits(&c.search_raw(spec.apply(&query))?)
        }))
    }

    /// `searchSync` (index.js): `search` on this thread, the query `Float32Array` read in place.
    #[napi(js_name = "_searchSync", skip_typescript)]
    pub fn search_sync_raw(&self, request: Unknown<'_>) -> Result<String, JsFailure> {
        let (vector, spec): (Vector<'_>, SearchSpec) = options::search(&request)?;
        self.now(|c| Ok(raw_hits(&c.search_raw(spec.apply(vector.as_slice()))?)?.0))
    }

    /// `search` (index.js) with the request's properties read in JavaScript and passed in
    /// order (see [`options::search_args`]); like `_search` otherwise.
    #[napi(js_name = "_searchArgs", skip_typescript)]
    pub fn search_args(
        &self,
        vector: Unknown<'_>,
        top_k: Unknown<'_>,
        filter: Unknown<'_>,
        exact: Unknown<'_>,
        ef: Unknown<'_>,
        distance: Unknown<'_>,
    ) -> AsyncTask<Job<RawHits>> {
        let args = SearchArgs {
            vector,
            top_k,
            filter,
            exact,
            ef,
            distance,
        };
        // The query is copied: JavaScript may change the array while the search runs.
        let parsed = options::search_args(&args).map(|(v, spec)| (v.into_vec(), spec));
        self.spawn(parsed.map(|(query, spec)| {
            move |c: ndb::Collection| raw_hits(&c.search_raw(spec.apply(&query))?)
        }))
    }

    /// `searchSync` (index.js) with the request's properties read in JavaScript and passed in
    /// order; the results are packed into `packed` and the returned text (see
    /// [`packed_hits`]), or, when `packed` is too small for them, `packed[0]` is -1 and the
    /// text is [`RawHits`]' JSON.
    #[napi(js_name = "_searchSyncPacked", skip_typescript)]
    #[allow(clippy::too_many_arguments)]
    pub fn search_sync_packed(
        &self,
        vector: Unknown<'_>,
        top_k: Unknown<'_>,
        filter: Unknown<'_>,
        exact: Unknown<'_>,
        ef: Unknown<'_>,
        distance: Unknown<'_>,
        mut packed: Float64ArraySlice<'_>,
    ) -> Result<String, JsFailure> {
        let args = SearchArgs {
            vector,
            top_k,
            filter,
            exact,
            ef,
            distance,
        };
        let (vector, spec) = options::search_args(&args)?;
        let out = js::scratch(&mut packed);
        self.now(|c| {
            let hits = c.search_raw(spec.apply(vector.as_slice()))?;
            match packed_hits(&hits, out) {
                Some(text) => Ok(text),
                None => {
                    if let Some(first) = out.first_mut() {
                        *first = -1.0;
                    }
                    Ok(raw_hits(&hits)?.0)
                }
            }
        })
    }

    /// Write the in-memory documents to a new immutable segment. When the Promise resolves,
    /// every acknowledged write is durable and searchable through the index (the HNSW graph of
    /// every segment that should have one is built).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush(&self) -> AsyncTask<Job<()>> {
        self.spawn(Ok(|c: ndb::Collection| Ok(c.flush()?)))
    }

    /// Wait until every segment that should have an HNSW graph has one, at most `timeoutMs`
    /// milliseconds (no limit if omitted). Resolves to `false` if the timeout passed first.
    #[napi(
        ts_args_type = "timeoutMs?: number",
        ts_return_type = "Promise<boolean>"
    )]
    pub fn wait_for_index(&self, timeout_ms: Option<f64>) -> AsyncTask<Job<bool>> {
        let timeout = match timeout_ms {
            None => Ok(std::time::Duration::MAX),
            Some(ms) if ms.is_finite() && ms >= 0.0 => {
                Ok(std::time::Duration::try_from_secs_f64(ms / 1000.0)
                    .unwrap_or(std::time::Duration::MAX))
            }
            Some(ms) => Err(ndb::Error::InvalidArgument(format!(
                "timeoutMs must be a number of milliseconds >= 0, got {ms}"
            ))
            .into()),
        };
        self.spawn(timeout.map(|t| move |c: ndb::Collection| Ok(c.wait_for_index(t)?)))
    }

    /// Make every acknowledged write durable now (fdatasync of the write-ahead log).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn sync(&self) -> AsyncTask<Job<()>> {
        self.spawn(Ok(|c: ndb::Collection| Ok(c.sync()?)))
    }

    /// Merge all segments into one, dropping deleted and replaced rows. Readers and writers
    /// continue meanwhile.
    #[napi(ts_return_type = "Promise<CompactionStats>")]
    pub fn compact(&self) -> AsyncTask<Job<ndb::CompactionStats>> {
        self.spawn(Ok(|c: ndb::Collection| Ok(c.compact()?)))
    }

    /// Build (or rebuild) the HNSW index of every segment, and keep building them for new
    /// segments (undoes `deleteIndex`).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn rebuild_index(&self) -> AsyncTask<Job<()>> {
        self.spawn(Ok(|c: ndb::Collection| Ok(c.rebuild_index()?)))
    }

    /// Remove every HNSW index and stop building them: searches become exact.
    #[napi]
    pub fn delete_index(&self) -> Result<(), JsFailure> {
        self.now(|c| Ok(c.delete_index()?))
    }

    /// Whether any segment has an HNSW index.
    #[napi]
    pub fn has_index(&self) -> Result<bool, JsFailure> {
        self.now(|c| Ok(c.has_index()))
    }

    /// Check every checksum of every file of the collection; rejects with `NDB_CORRUPTION`
    /// naming the first damaged file and offset.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn verify(&self) -> AsyncTask<Job<()>> {
        self.spawn(Ok(|c: ndb::Collection| Ok(c.verify()?)))
    }

    /// Figures about the collection.
    #[napi]
    pub fn stats(&self) -> Result<CollectionStats, JsFailure> {
        self.now(|c| Ok(stats(&c.stats()?)))
    }

    /// The number of live documents.
    #[napi]
    pub fn count(&self) -> Result<f64, JsFailure> {
        self.now(|c| Ok(c.stats()?.doc_count as f64))
    }

    /// Index the payload field `field` (a dotted path) as `kind`, so filters on it find their
    /// rows without reading payloads. Built now over every segment.
    #[napi(ts_args_type = "field: string, kind: PayloadIndexKind")]
    pub fn create_payload_index(
        &self,
        field: Unknown<'_>,
        kind: Unknown<'_>,
    ) -> Result<(), JsFailure> {
        let field = js::string(&field, "field")?;
        let kind = options::payload_index_kind(&kind, "kind")?;
        self.now(|c| Ok(c.create_payload_index(&field, kind)?))
    }

    /// Remove the payload index of `field`, if any.
    #[napi(ts_args_type = "field: string")]
    pub fn drop_payload_index(&self, field: Unknown<'_>) -> Result<(), JsFailure> {
        let field = js::string(&field, "field")?;
        self.now(|c| Ok(c.drop_payload_index(&field)?))
    }

    /// The declared payload indexes.
    #[napi]
    pub fn payload_indexes(&self) -> Result<Vec<PayloadIndex>, JsFailure> {
        self.now(|c| Ok(crate::values::payload_indexes(c.payload_indexes())))
    }
}
