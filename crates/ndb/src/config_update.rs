//! Changing a collection's settings after creation: what may change without rewriting data.

use crate::config::{CollectionConfig, Durability, Quantization};
use crate::{Error, Result};

/// Settings to change with [`Collection::update_config`](crate::Collection::update_config);
/// unset fields stay as they are. The dimension and the distance cannot change (the stored
/// vectors and graphs depend on them).
///
/// ```
/// use ndb::{ConfigUpdate, Durability};
/// let update = ConfigUpdate::new()
///     .durability(Durability::FdatasyncEachBatch)
///     .ef_search(200)
///     .set("m", "32")?;
/// assert_eq!(update.m, Some(32));
/// assert!(ConfigUpdate::new().set("dim", "768").is_err());
/// # Ok::<(), ndb::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigUpdate {
    /// When writes become durable; takes effect with the next write.
    pub durability: Option<Durability>,
    /// The memtable flush threshold in bytes; takes effect with the next write.
    pub flush_threshold_bytes: Option<usize>,
    /// The default search beam; takes effect with the next search.
    pub ef_search: Option<usize>,
    /// HNSW neighbours per node, for graphs built from now on.
    pub m: Option<usize>,
    /// HNSW build beam, for graphs built from now on.
    pub ef_construction: Option<usize>,
    /// The smallest segment that gets a graph, from now on.
    pub min_rows: Option<usize>,
    /// The codes of segments written from now on (flushes, merges); at once for every segment
    /// with [`Collection::rebuild_index`](crate::Collection::rebuild_index).
    pub quantization: Option<Quantization>,
}

impl ConfigUpdate {
    /// No change.
    pub fn new() -> Self {
        Self::default()
    }

    /// Change the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = Some(durability);
        self
    }

    /// Change the flush threshold.
    pub fn flush_threshold_bytes(mut self, bytes: usize) -> Self {
        self.flush_threshold_bytes = Some(bytes);
        self
    }

    /// Change the default `ef` of searches.
    pub fn ef_search(mut self, ef: usize) -> Self {
        self.ef_search = Some(ef);
        self
    }

    /// Change `m` for future graph builds.
    pub fn m(mut self, m: usize) -> Self {
        self.m = Some(m);
        self
    }

    /// Change `ef_construction` for future graph builds.
    pub fn ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = Some(ef);
        self
    }

    /// Change the smallest segment that gets a graph.
    pub fn min_rows(mut self, rows: usize) -> Self {
        self.min_rows = Some(rows);
        self
    }

    /// Change the quantization of segments written from now on.
    pub fn quantization(mut self, quantization: Quantization) -> Self {
        self.quantization = Some(quantization);
        self
    }

    /// Set one setting by name from text, as the command line and the language packages give
    /// it: `durability` (`buffered` or `fdatasync_each_batch`, alias `fsync`),
    /// `flush_threshold_bytes`, `ef_search`, `m`, `ef_construction`, `min_rows`,
    /// `quantization` (`none`, `int8`, `binary`). `dim` and
    /// `distance` are refused: they cannot change after creation.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let number = || {
            value.trim().parse::<usize>().map_err(|_| {
                Error::invalid(format!("setting {key}: {value:?} is not a whole number"))
            })
        };
        match key {
            "durability" => {
                self.durability = Some(match value.trim() {
                    "buffered" => Durability::Buffered,
                    "fdatasync_each_batch" | "fsync" | "sync" => Durability::FdatasyncEachBatch,
                    other => {
                        return Err(Error::invalid(format!(
                            "setting durability: {other:?} is not buffered or fdatasync_each_batch"
                        )))
                    }
                })
            }
            "flush_threshold_bytes" => self.flush_threshold_bytes = Some(number()?),
            "ef_search" => self.ef_search = Some(number()?),
            "m" => self.m = Some(number()?),
            "ef_construction" => self.ef_construction = Some(number()?),
            "min_rows" => self.min_rows = Some(number()?),
            "quantization" => self.quantization = Some(Quantization::from_name(value)?),
            "dim" | "distance" => {
                return Err(Error::invalid(format!(
                    "the {key} of a collection cannot change after creation (its vectors and \
                     graphs depend on it): create a new collection and copy the documents"
                )))
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown setting {other:?} (durability, flush_threshold_bytes, ef_search, m, \
                     ef_construction, min_rows, quantization)"
                )))
            }
        }
        Ok(self)
    }

    /// `config` with these changes, checked like a new configuration.
    pub(crate) fn apply(&self, config: &CollectionConfig) -> Result<CollectionConfig> {
        let mut next = config.clone();
        if let Some(d) = self.durability {
            next = next.with_durability(d);
        }
        if let Some(bytes) = self.flush_threshold_bytes {
            next = next.with_flush_threshold_bytes(bytes);
        }
        let mut index = *next.index();
        index.ef_search = self.ef_search.unwrap_or(index.ef_search);
        index.m = self.m.unwrap_or(index.m);
        index.ef_construction = self.ef_construction.unwrap_or(index.ef_construction);
        index.min_rows = self.min_rows.unwrap_or(index.min_rows);
        next = next.with_index(index);
        if let Some(q) = self.quantization {
            next = next.with_quantization(q);
        }
        next.validate()?;
        Ok(next)
    }
}
