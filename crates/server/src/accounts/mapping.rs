//! Subject mappings of an account (`mappings { src: dest }`), applied to
//! what its clients publish, as nats-server's `selectMappedSubject`:
//! weighted destinations (the rest of 100% keeps the original subject),
//! cluster-scoped destinations, and the transform functions of
//! [`sublist::transform`].

use crate::config::types::{MapDest, Mapping};
use std::collections::HashMap;
use sublist::transform::Transform;

/// The mappings a JetStream account of domain `domain` gets, so requests
/// to `$JS.<domain>.API.…` reach its own JetStream (nats-server's
/// `generateJSMappingTable`).
pub fn js_domain_mappings(domain: &str) -> Vec<Mapping> {
    [
        ("INFO", "$JS.API.INFO"),
        ("STREAM.>", "$JS.API.STREAM.>"),
        ("CONSUMER.>", "$JS.API.CONSUMER.>"),
        ("DIRECT.>", "$JS.API.DIRECT.>"),
        ("META.>", "$JS.API.META.>"),
        ("SERVER.>", "$JS.API.SERVER.>"),
        ("ACCOUNT.>", "$JS.API.ACCOUNT.>"),
        ("$KV.>", "$KV.>"),
        ("$OBJ.>", "$OBJ.>"),
    ]
    .into_iter()
    .map(|(src, to)| Mapping {
        source: format!("$JS.{domain}.API.{src}"),
        destinations: vec![MapDest {
            subject: to.to_string(),
            weight: 100,
            cluster: None,
        }],
    })
    .collect()
}

/// A destination with its cumulative weight (0..=100).
#[derive(Debug)]
struct Dest {
    tr: Transform,
    upto: u8,
}

/// One mapping, ready to apply.
#[derive(Debug)]
pub struct SubjectMapping {
    src: String,
    wildcard: bool,
    dests: Vec<Dest>,
    cluster_dests: HashMap<String, Vec<Dest>>,
}

impl SubjectMapping {
    /// The source subject.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Builds a mapping the config layer has already checked; `None` when
    /// a destination cannot be applied.
    pub fn new(m: &Mapping) -> Option<SubjectMapping> {
        let src = m.source.clone();
        let wildcard = src.split('.').any(|t| t == "*" || t == ">");
        let mut plain: Vec<&MapDest> = Vec::new();
        let mut scoped: HashMap<String, Vec<&MapDest>> = HashMap::new();
        for d in &m.destinations {
            match d.cluster.as_deref().filter(|c| !c.is_empty()) {
                Some(c) => scoped.entry(c.to_string()).or_default().push(d),
                None => plain.push(d),
            }
        }
        let has_src = m.destinations.iter().any(|d| d.subject == src);
        let build = |ds: &[&MapDest]| -> Option<Vec<Dest>> {
            let mut out: Vec<(Transform, u8)> = Vec::new();
            for d in ds {
                out.push((Transform::new(&src, &d.subject)?, d.weight));
            }
            let total: u32 = ds.iter().map(|d| u32::from(d.weight)).sum();
            if total != 100 && !has_src {
                let dest = if wildcard {
                    crate::config::mapping::transform_tokenize(&src)
                } else {
                    src.clone()
                };
                let rest = if ds.is_empty() {
                    100
                } else {
                    100 - total as u8
                };
                out.push((Transform::new(&src, &dest)?, rest));
            }
            out.sort_by_key(|(_, w)| *w);
            let mut upto = 0u8;
            Some(
                out.into_iter()
                    .map(|(tr, w)| {
                        upto = upto.saturating_add(w);
                        Dest { tr, upto }
                    })
                    .collect(),
            )
        };
        let dests = build(&plain)?;
        let mut cluster_dests = HashMap::new();
        for (c, ds) in scoped {
            cluster_dests.insert(c, build(&ds)?);
        }
        Some(SubjectMapping {
            src,
            wildcard,
            dests,
            cluster_dests,
        })
    }

    fn matches(&self, subject: &str) -> bool {
        if self.wildcard {
            sublist::subject_matches(self.src.as_bytes(), subject.as_bytes())
        } else {
            self.src == subject
        }
    }
}

/// The subject `subject` is published to after the first mapping that
/// matches it (`None`: no mapping applies). An empty subject means the
/// message is dropped (weights below 100% without the source). `cluster`
/// gives this server's cluster name, asked only for cluster-scoped
/// destinations.
pub fn select(
    mappings: &[SubjectMapping],
    subject: &str,
    cluster: impl FnOnce() -> String,
) -> Option<String> {
    let m = mappings.iter().find(|m| m.matches(subject))?;
    let dests = if m.cluster_dests.is_empty() {
        &m.dests
    } else {
        let name = cluster();
        m.cluster_dests.get(&name).unwrap_or(&m.dests)
    };
    let d = match dests.as_slice() {
        [only] if only.upto == 100 => Some(only),
        _ => {
            let w = fastrand::u8(0..100);
            dests.iter().find(|d| w < d.upto)
        }
    };
    let mut out = String::new();
    if let Some(d) = d {
        d.tr.apply(subject, &mut out);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(src: &str, dests: &[(&str, u8, Option<&str>)]) -> SubjectMapping {
        SubjectMapping::new(&Mapping {
            source: src.into(),
            destinations: dests
                .iter()
                .map(|(s, w, c)| MapDest {
                    subject: s.to_string(),
                    weight: *w,
                    cluster: c.map(str::to_string),
                })
                .collect(),
        })
        .unwrap()
    }

    #[test]
    fn weights_clusters_and_fallthrough() {
        let ms = vec![mapping("a.*", &[("b.$1", 100, None)])];
        assert_eq!(select(&ms, "a.x", String::new).as_deref(), Some("b.x"));
        assert_eq!(select(&ms, "c.x", String::new), None);
        // 30% to one subject, the rest keeps the original.
        let ms = vec![mapping("w", &[("w.moved", 30, None)])];
        let moved = (0..2000)
            .filter(|_| select(&ms, "w", String::new).as_deref() == Some("w.moved"))
            .count();
        assert!((400..800).contains(&moved), "{moved}");
        // A cluster-scoped destination wins in that cluster only.
        let ms = vec![mapping(
            "c",
            &[("c.any", 100, None), ("c.east", 100, Some("east"))],
        )];
        assert_eq!(
            select(&ms, "c", || "east".into()).as_deref(),
            Some("c.east")
        );
        assert_eq!(select(&ms, "c", || "west".into()).as_deref(), Some("c.any"));
    }
}
