//! The Rust API surface: the engine called in process.

use crate::surface::{Hook, Msg, Outcome, PoolInfo, R, Start, Surface, TailResult, TailSpec};
use plasmite::filter::Filter;
use plasmite::message::{encode, to_value};
use plasmite::query::{DamagePolicy, Item, Predicate};
use plasmite::{CreateOptions, Durability, GapPolicy, Pool, Query, dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct Api {
    dir: PathBuf,
}

impl Api {
    pub(crate) fn new(dir: &Path) -> Api {
        Api {
            dir: dir.to_path_buf(),
        }
    }

    fn open(&self, pool: &str) -> R<Pool> {
        Ok(Pool::open(&dir::resolve(&self.dir, pool))?)
    }
}

fn refs(tags: &[String]) -> Vec<&str> {
    tags.iter().map(String::as_str).collect()
}

fn msg(v: &Value) -> R<Msg> {
    Msg::from_envelope(v).ok_or_else(|| Outcome::Broken(format!("not an envelope: {v}")))
}

impl Surface for Api {
    fn supports(&self, _op: &str) -> bool {
        true
    }

    fn create_pool(&mut self, pool: &str, size: u64) -> R<()> {
        let opts = CreateOptions {
            size,
            ..CreateOptions::default()
        };
        Pool::create(&dir::resolve(&self.dir, pool), opts)?;
        Ok(())
    }

    fn append(&mut self, pool: &str, data: &Value, tags: &[String]) -> R<u64> {
        let p = self.open(pool)?;
        let payload = encode(data, &refs(tags), p.max_payload_len())?;
        Ok(p.append(&payload, Durability::Fast)?.seq)
    }

    fn append_batch(&mut self, pool: &str, msgs: &[(Value, Vec<String>)]) -> R<(Option<u64>, u64)> {
        let p = self.open(pool)?;
        let payloads = msgs
            .iter()
            .map(|(d, t)| encode(d, &refs(t), p.max_payload_len()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        p.append_batch(&payloads, Durability::Fast, &mut out)?;
        Ok((out.first().map(|a| a.seq), out.len() as u64))
    }

    fn get(&mut self, pool: &str, seq: u64) -> R<Msg> {
        let p = self.open(pool)?;
        let m = p.get(seq)?;
        msg(&to_value(&m.printed())?)
    }

    fn tail(&mut self, pool: &str, spec: &TailSpec, hook: Hook<'_>) -> R<TailResult> {
        let p = self.open(pool)?;
        let start = match (spec.start, spec.since_seq) {
            (Start::Oldest, Some(s)) => plasmite::Start::Seq(s),
            (Start::Oldest, None) => plasmite::Start::Oldest,
            (Start::Live, _) => plasmite::Start::Live,
            (Start::Last(n), _) => plasmite::Start::Last(n),
        };
        let mut predicates: Vec<Arc<dyn Predicate>> = Vec::new();
        if !spec.wheres.is_empty() {
            predicates.push(Arc::new(
                Filter::compile(&spec.wheres).map_err(plasmite::Error::from)?,
            ));
        }
        let q = Query {
            start,
            tags: spec.tags.clone(),
            predicates,
            limit: spec.max,
            gap: if spec.gap_error {
                GapPolicy::Stop
            } else {
                GapPolicy::Continue
            },
            damage: DamagePolicy::Report,
            live: true,
            deadline: Instant::now().checked_add(Duration::from_millis(spec.timeout_ms)),
            notify: true,
            ..Query::default()
        };
        let mut stream = q.run(&p)?;
        let mut out = TailResult::default();
        hook(0).map_err(Outcome::Broken)?;
        loop {
            match stream.next(None) {
                Ok(Some(Item::Message(m))) => {
                    out.messages.push(msg(&to_value(&m.printed())?)?);
                    hook(out.messages.len()).map_err(Outcome::Broken)?;
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    out.error = Some(crate::surface::Failure::from_error(&e));
                    break;
                }
            }
        }
        Ok(out)
    }

    fn list_pools(&mut self) -> R<Vec<String>> {
        Ok(dir::list(&self.dir)?.into_iter().map(|l| l.name).collect())
    }

    fn pool_info(&mut self, pool: &str) -> R<PoolInfo> {
        let info = self.open(pool)?.info()?;
        let bounds = info.bounds();
        Ok(PoolInfo {
            file_size: info.geometry.file_size,
            ring_size: info.geometry.ring_size,
            oldest: bounds.map(|b| b.0),
            newest: bounds.map(|b| b.1),
        })
    }

    fn delete_pool(&mut self, pool: &str) -> R<()> {
        Ok(dir::delete(&dir::resolve(&self.dir, pool))?)
    }
}
