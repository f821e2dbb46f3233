//! The server crate's layering, checked: each top-level module of
//! `crates/server/src` belongs to a layer, and code in one layer names
//! (`crate::…`) only modules of its own layer or of the layers below.
//! `docs/ARCHITECTURE.md` explains the layers; a new module must be given
//! one here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layers, bottom up.
const LAYERS: &[(&str, &[&str])] = &[
    // Plain data and helpers every layer may use.
    ("foundation", &["config", "util", "log"]),
    // Credentials, permissions and the bytes between socket and protocol.
    ("auth and transport", &["auth", "transport"]),
    // The shared state and the message path: accounts and their sublists,
    // the subscriptions and outbound queues they hold, the server registry
    // and the cluster registry delivery forwards through.
    (
        "core",
        &["accounts", "delivery", "server", "cluster", "leafs"],
    ),
    // One connection's protocol: clients, routes, and the coming system
    // account, leafnodes and JetStream glue.
    (
        "connections",
        &["client", "route", "system", "leaf", "jetstream"],
    ),
    // What watches and drives the whole: monitoring, the process (signals,
    // reload, health probe) and the crate root.
    ("top", &["monitor", "process", "lib", "main"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// The top-level module a source file belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Modules named as `crate::NAME` in `line`'s code (comments left out).
fn named_modules(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        // `crate::{a, b}` and macros (`crate::info!`) name no module.
        let is_macro = rest[name.len()..].starts_with('!');
        if !name.is_empty() && !is_macro {
            out.push(name);
        }
    }
    out
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 20,
        "sources not found under {}",
        src.display()
    );
    let mut violations = Vec::new();
    let mut unknown = BTreeMap::new();
    let mut checked = 0;
    for f in &files {
        let from = module_of(&src, f);
        let Some(from_layer) = layer_of(&from) else {
            unknown.insert(from.clone(), f.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for to in named_modules(line) {
                if to == from {
                    continue;
                }
                checked += 1;
                match layer_of(&to) {
                    None => {
                        unknown.insert(to.clone(), format!("{}:{}", f.display(), n + 1));
                    }
                    Some(l) if l > from_layer => violations.push(format!(
                        "{}:{}: {from} ({}) names {to} ({}): {}",
                        f.display(),
                        n + 1,
                        LAYERS[from_layer].0,
                        LAYERS[l].0,
                        line.trim()
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules without a layer (add them to LAYERS): {unknown:?}"
    );
    assert!(checked > 100, "only {checked} crate paths found");
    assert!(
        violations.is_empty(),
        "imports against the layering:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    assert_eq!(
        named_modules("use crate::delivery::outbound::{self, Msg}; // crate::route"),
        ["delivery"]
    );
    assert_eq!(
        named_modules("crate::info!(\"x\"); crate::client::run(a)"),
        ["client"]
    );
    assert!(named_modules("/// [`crate::route`]").is_empty());
    assert_eq!(layer_of("config"), Some(0));
    assert!(layer_of("monitor") > layer_of("delivery"));
}
