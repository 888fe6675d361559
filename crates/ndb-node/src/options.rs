//! Options objects: collection settings and search requests.

use crate::error::{Failure, Result};
use crate::js::{self, Vector};
use napi::bindgen_prelude::{Object, Unknown};
use ndb::{
    CollectionConfig, ConfigUpdate, Distance, Durability, Filter, IndexConfig, PayloadIndexKind,
    Search,
};
use serde_json::Value;

/// Parse one of the library's enum names (its serde names, e.g. `"dot_product"`).
fn library_name<T: serde::de::DeserializeOwned>(name: String, what: &str) -> Result<T> {
    serde_json::from_value(Value::String(name))
        .map_err(|e| Failure::invalid(format!("{what}: {e}")))
}

pub fn distance(v: &Unknown<'_>, what: &str) -> Result<Distance> {
    library_name(js::string(v, what)?, what)
}

pub fn durability(v: &Unknown<'_>, what: &str) -> Result<Durability> {
    let name = js::string(v, what)?;
    // "sync" is the Node name of the library's fdatasync-each-batch mode.
    if name == "sync" {
        return Ok(Durability::FdatasyncEachBatch);
    }
    library_name(name, what)
}

pub fn payload_index_kind(v: &Unknown<'_>, what: &str) -> Result<PayloadIndexKind> {
    library_name(js::string(v, what)?, what)
}

/// `createCollection`'s options: `{ distance, durability, flushThresholdBytes, index,
/// quantization }`.
pub fn collection_config(dim: usize, options: Option<Object<'_>>) -> Result<CollectionConfig> {
    let mut config = CollectionConfig::new(dim);
    let Some(o) = options else {
        return Ok(config);
    };
    const W: &str = "options";
    if let Some(v) = js::property(&o, "distance", W)? {
        config = config.with_distance(distance(&v, "options.distance")?);
    }
    if let Some(v) = js::property(&o, "durability", W)? {
        config = config.with_durability(durability(&v, "options.durability")?);
    }
    if let Some(v) = js::property(&o, "flushThresholdBytes", W)? {
        config = config.with_flush_threshold_bytes(js::count(&v, "options.flushThresholdBytes")?);
    }
    if let Some(v) = js::property(&o, "quantization", W)? {
        let name = js::string(&v, "options.quantization")?;
        config = config.with_quantization(ndb::Quantization::from_name(&name).map_err(|_| {
            Failure::invalid(format!(
                "options.quantization: {name:?} is not 'none', 'int8' or 'binary'"
            ))
        })?);
    }
    if let Some(v) = js::property(&o, "index", W)? {
        let ix = js::object(&v, "options.index")?;
        let mut index = IndexConfig::default();
        const I: &str = "options.index";
        for (key, slot) in [
            ("m", &mut index.m),
            ("efConstruction", &mut index.ef_construction),
            ("efSearch", &mut index.ef_search),
            ("minRows", &mut index.min_rows),
        ] {
            if let Some(v) = js::property(&ix, key, I)? {
                *slot = js::count(&v, &format!("{I}.{key}"))?;
            }
        }
        config = config.with_index(index);
    }
    Ok(config)
}

/// `updateConfig`'s settings: each camelCase key becomes the library's snake_case name
/// (`efSearch` -> `ef_search`) and each value text, both given to `ConfigUpdate::set`, which
/// decides what exists and what is acceptable. A refused one fails the whole update.
pub fn config_update(v: &Unknown<'_>) -> Result<ConfigUpdate> {
    const W: &str = "settings";
    let o = js::object(v, W)?;
    let mut update = ConfigUpdate::new();
    for key in js::keys(&o, W)? {
        let Some(value) = js::property(&o, &key, W)? else {
            continue;
        };
        let what = format!("{W}.{key}");
        let value = js::text(&value, &what)?;
        update = update.set(&snake_case(&key), &value).map_err(|e| match e {
            ndb::Error::InvalidArgument(why) => Failure::invalid(format!("{what}: {why}")),
            e => Failure::from(e),
        })?;
    }
    Ok(update)
}

/// `efSearch` -> `ef_search`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A search request without its vector: `{ topK, filter, exact, ef, distance, oversampling,
/// rescore }`.
#[derive(Clone, Default)]
pub struct SearchSpec {
    top_k: Option<usize>,
    filter: Option<Filter>,
    exact: Option<bool>,
    ef: Option<usize>,
    distance: Option<Distance>,
    oversampling: Option<f32>,
    rescore: Option<bool>,
}

impl SearchSpec {
    /// The library's search for `query`.
    pub fn apply(self, query: &[f32]) -> Search<'_> {
        let mut s = Search::new(query);
        if let Some(k) = self.top_k {
            s = s.top_k(k);
        }
        if let Some(f) = self.filter {
            s = s.filter(f);
        }
        if let Some(exact) = self.exact {
            s = s.approximate(!exact);
        }
        if let Some(ef) = self.ef {
            s = s.ef(ef);
        }
        if let Some(d) = self.distance {
            s = s.distance(d);
        }
        if let Some(o) = self.oversampling {
            s = s.oversampling(o);
        }
        if let Some(r) = self.rescore {
            s = s.rescore(r);
        }
        s
    }
}

/// Parse `{ vector, topK, filter, exact, ef, distance }`.
pub fn search<'env>(v: &Unknown<'env>) -> Result<(Vector<'env>, SearchSpec)> {
    const W: &str = "search";
    let o = js::object(v, W)?;
    search_with(|key| js::property(&o, key, W))
}

/// The properties of a search request, read by `index.js` and passed in this order (the
/// request object was checked to be an object there).
pub struct SearchArgs<'env> {
    pub vector: Unknown<'env>,
    pub top_k: Unknown<'env>,
    pub filter: Unknown<'env>,
    pub exact: Unknown<'env>,
    pub ef: Unknown<'env>,
    pub distance: Unknown<'env>,
}

/// Parse a search request given as its properties: the same checks and messages as [`search`],
/// without an N-API property lookup per option.
pub fn search_args<'env>(args: &SearchArgs<'env>) -> Result<(Vector<'env>, SearchSpec)> {
    search_with(|key| {
        let v = match key {
            "vector" => &args.vector,
            "topK" => &args.top_k,
            "filter" => &args.filter,
            "exact" => &args.exact,
            "ef" => &args.ef,
            "distance" => &args.distance,
            // Requests with other options take the general path (index.js).
            _ => return Ok(None),
        };
        Ok((!js::is_nullish(v)?).then_some(*v))
    })
}

/// Parse a search request whose properties `get` reads (`None`: undefined or null).
fn search_with<'env>(
    mut get: impl FnMut(&str) -> Result<Option<Unknown<'env>>>,
) -> Result<(Vector<'env>, SearchSpec)> {
    let vector = match get("vector")? {
        Some(v) => js::vector(&v, "search.vector")?,
        None => return Err(Failure::invalid("search.vector is required")),
    };
    let mut spec = SearchSpec::default();
    if let Some(v) = get("topK")? {
        spec.top_k = Some(js::count(&v, "search.topK")?);
    }
    if let Some(v) = get("filter")? {
        let json = js::json(&v, "search.filter")?;
        spec.filter = Some(Filter::from_json(&json).map_err(Failure::from)?);
    }
    if let Some(v) = get("exact")? {
        spec.exact = Some(js::boolean(&v, "search.exact")?);
    }
    if let Some(v) = get("ef")? {
        spec.ef = Some(js::count(&v, "search.ef")?);
    }
    if let Some(v) = get("distance")? {
        spec.distance = Some(distance(&v, "search.distance")?);
    }
    if let Some(v) = get("oversampling")? {
        spec.oversampling = Some(js::number(&v, "search.oversampling")? as f32);
    }
    if let Some(v) = get("rescore")? {
        spec.rescore = Some(js::boolean(&v, "search.rescore")?);
    }
    Ok((vector, spec))
}
