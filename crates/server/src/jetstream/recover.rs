//! Stream files: where a stream lives, its metadata, opening its store, and
//! loading every stream of an account at start.

use super::{Entry, JetStream, JsAccount};
use crate::server::Server;
use jsmodel::config::Storage;
use jsmodel::{Stream, StreamConfig};
use parking_lot::Mutex;
use std::sync::Arc;
use store::os::OsFs;
use store::{FileStore, FileStoreOptions, MemStore, MsgStore};

/// The metadata file of a stream, in its directory.
const META: &str = "meta.rn";

/// A stream's directory, relative to the JetStream root.
pub fn stream_dir(account: &str, name: &str) -> String {
    format!("{account}/streams/{name}")
}

/// What a stream's metadata file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    config: StreamConfig,
    created: i64,
}

/// Opens (recovering) the store of a stream.
pub fn open_store(
    js: &JetStream,
    dir: &str,
    cfg: &StreamConfig,
) -> Result<Box<dyn MsgStore>, String> {
    let scfg = jsmodel::stream::store_config(cfg);
    Ok(match cfg.storage {
        Storage::Memory => Box::new(MemStore::new(scfg)),
        Storage::File => Box::new(
            FileStore::open(OsFs::new(&js.root), dir, scfg, FileStoreOptions::default())
                .map_err(|e| e.to_string())?,
        ),
    })
}

/// Writes a stream's metadata, atomically and durably.
pub fn write_meta(
    js: &JetStream,
    dir: &str,
    cfg: &StreamConfig,
    created: i64,
) -> Result<(), String> {
    let mut fs = OsFs::new(&js.root);
    store::Fs::create_dir_all(&mut fs, dir).map_err(|e| e.to_string())?;
    let body = serde_json::to_vec(&Meta {
        config: cfg.clone(),
        created,
    })
    .map_err(|e| e.to_string())?;
    store::meta::write(&mut fs, &format!("{dir}/{META}"), &body).map_err(|e| e.to_string())
}

/// Loads every stream of `jsa` found on disk. A stream whose metadata is
/// damaged is reported and left on disk, never deleted.
pub fn streams(srv: &Server, js: &Arc<JetStream>, jsa: &Arc<JsAccount>) {
    let base = js.root.join(&jsa.account.name).join("streams");
    let Ok(dirs) = std::fs::read_dir(&base) else {
        return;
    };
    let mut names: Vec<String> = dirs
        .filter_map(|d| d.ok())
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let dir = stream_dir(&jsa.account.name, &name);
        let mut fs = OsFs::new(&js.root);
        let meta = match store::meta::read(&mut fs, &format!("{dir}/{META}")) {
            Ok(b) => b,
            Err(e) => {
                crate::error!(
                    "  Error recovering stream '{} > {name}': {e}; left on disk, not loaded",
                    jsa.account.name
                );
                continue;
            }
        };
        let meta: Meta = match serde_json::from_slice(&meta) {
            Ok(m) => m,
            Err(e) => {
                crate::error!(
                    "  Error recovering stream '{} > {name}': metadata unreadable: {e}",
                    jsa.account.name
                );
                continue;
            }
        };
        let store = match open_store(js, &dir, &meta.config) {
            Ok(s) => s,
            Err(e) => {
                crate::error!(
                    "  Error recovering stream '{} > {name}': {e}",
                    jsa.account.name
                );
                continue;
            }
        };
        let st = store.fast_state();
        crate::info!(
            "  Restored {} messages for stream '{} > {name}' in {:?}",
            st.msgs,
            jsa.account.name,
            std::time::Duration::ZERO
        );
        if let Some(lost) = &st.lost {
            crate::warn!(
                "  Stream '{} > {name}' found {} damaged messages ({} bytes); they are reported in its state",
                jsa.account.name,
                lost.msgs.len(),
                lost.bytes
            );
        }
        let mut stream = Stream::new(meta.config, js.domain.clone(), store);
        stream.rebuild_dedup(super::now_nanos());
        let entry = Arc::new(Mutex::new(Entry {
            stream,
            created: meta.created,
            sids: Vec::new(),
            consumers: std::collections::BTreeMap::new(),
            dir,
            sources: Default::default(),
        }));
        jsa.streams.lock().insert(name, entry.clone());
        js.capture(srv, jsa, &entry);
        super::sources::start(js, &mut entry.lock());
        super::consumers::recover(srv, js, jsa, &entry);
    }
}
