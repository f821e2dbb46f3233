//! Stream config checks and defaults, in nats-server 2.12.4's order and with its errors.

use crate::config::{Discard, PersistMode, Placement, Retention, Storage, StreamConfig};
use crate::{ApiError, ErrorKind};
use std::collections::HashSet;

/// Longest stream or consumer name.
pub const MAX_NAME_LEN: usize = 255;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 4096;
/// Most metadata bytes (keys and values).
pub const MAX_METADATA_LEN: usize = 128 * 1024;
/// Most replicas.
pub const MAX_REPLICAS: i64 = 5;
/// The default `duplicate_window`: two minutes.
pub const DEFAULT_DUPLICATE_WINDOW: i64 = 120_000_000_000;
const MS_100: i64 = 100_000_000;
const SECOND: i64 = 1_000_000_000;

/// What the checks need to know of the server and the account.
pub struct CheckContext<'a> {
    /// Pedantic mode: refuse what would otherwise be adjusted.
    pub pedantic: bool,
    /// The server's `limits { duplicate_window }`, 0 for none.
    pub max_duplicate_window: i64,
    /// The account's existing streams, by name.
    pub lookup: &'a dyn Fn(&str) -> Option<StreamConfig>,
    /// Whether the account's limits require `max_bytes`.
    pub max_bytes_required: bool,
    /// The account's per-stream byte limit, 0 for none.
    pub max_bytes_limit: i64,
}

/// nats-server's `isValidName`: not empty, no whitespace, `.`, `*` or `>`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains([' ', '\t', '\r', '\n', '\x0c', '.', '*', '>'])
}

fn invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::err(ErrorKind::StreamInvalidConfig, why)
}

fn pedantic(why: &str) -> ApiError {
    ApiError::err(ErrorKind::Pedantic, why)
}

fn valid_subject(s: &str) -> bool {
    sublist::is_valid_subject(s.as_bytes())
}

fn collide(a: &str, b: &str) -> bool {
    sublist::subjects_collide(a.as_bytes(), b.as_bytes())
}

/// Whether every subject `subject` matches is also matched by `test`.
pub fn subject_is_subset_match(subject: &str, test: &str) -> bool {
    let s: Vec<&str> = subject.split('.').collect();
    let t: Vec<&str> = test.split('.').collect();
    for (i, tt) in t.iter().enumerate() {
        let Some(st) = s.get(i) else { return false };
        match *tt {
            ">" => return true,
            "*" if *st != ">" => {}
            _ if tt == st => {}
            _ => return false,
        }
    }
    s.len() == t.len()
}

fn valid_publish_subject(s: &str) -> bool {
    sublist::is_valid_literal_subject(s.as_bytes())
}

fn valid_mapping(src: &str, dest: &str) -> Result<(), &'static str> {
    let src = if src.is_empty() { ">" } else { src };
    if dest.is_empty() {
        return Ok(());
    }
    sublist::transform::Transform::new(src, dest)
        .map(|_| ())
        .ok_or("invalid mapping destination")
}

/// Checks a stream config and fills in nats-server's defaults.
pub fn check_stream_config(
    config: &StreamConfig,
    ctx: &CheckContext,
) -> Result<StreamConfig, ApiError> {
    if !is_valid_name(&config.name) {
        return Err(invalid(
            "stream name is required and can not contain '.', '*', '>'",
        ));
    }
    if config.name.len() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "stream name is too long, maximum allowed is {MAX_NAME_LEN}"
        )));
    }
    if config.description.len() > MAX_DESCRIPTION_LEN {
        return Err(invalid(format!(
            "stream description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}"
        )));
    }
    let meta_len: usize = config
        .metadata
        .iter()
        .flatten()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if meta_len > MAX_METADATA_LEN {
        return Err(invalid(format!(
            "stream metadata exceeds maximum size of {MAX_METADATA_LEN} bytes"
        )));
    }
    let mut cfg = config.clone();
    if cfg.num_replicas == 0 {
        cfg.num_replicas = 1;
    }
    if cfg.num_replicas > MAX_REPLICAS {
        return Err(invalid(format!("maximum replicas is {MAX_REPLICAS}")));
    }
    if cfg.num_replicas < 0 {
        return Err(ApiError::new(ErrorKind::ReplicasCountCannotBeNegative));
    }
    for (value, name) in [
        (&mut cfg.max_msgs, "max_msgs"),
        (&mut cfg.max_msgs_per_subject, "max_msgs_per_subject"),
        (&mut cfg.max_bytes, "max_bytes"),
    ] {
        if *value == 0 || *value < -1 {
            if ctx.pedantic && *value < -1 {
                return Err(pedantic(&format!("{name} must be set to -1")));
            }
            *value = -1;
        }
    }
    if cfg.max_msg_size == 0 || cfg.max_msg_size < -1 {
        if ctx.pedantic && cfg.max_msg_size < -1 {
            return Err(pedantic("max_msg_size must be set to -1"));
        }
        cfg.max_msg_size = -1;
    }
    if cfg.max_consumers == 0 || cfg.max_consumers < -1 {
        if ctx.pedantic && cfg.max_consumers < -1 {
            return Err(pedantic("max_consumers must be set to -1"));
        }
        cfg.max_consumers = -1;
    }
    if cfg.max_age < 0 {
        return Err(invalid("max age can not be negative"));
    }
    if cfg.max_age != 0 && cfg.max_age < MS_100 {
        return Err(invalid("max age needs to be >= 100ms"));
    }
    let lim = ctx.max_duplicate_window;
    if cfg.duplicate_window == 0 && cfg.mirror.is_none() {
        let mut window = DEFAULT_DUPLICATE_WINDOW;
        if lim > 0 && window > lim {
            if ctx.pedantic {
                return Err(pedantic(
                    "duplicate window limits are higher than current limits",
                ));
            }
            window = lim;
        }
        if cfg.max_age != 0 && cfg.max_age < window {
            if ctx.pedantic {
                return Err(pedantic("duplicate window cannot be bigger than max age"));
            }
            cfg.duplicate_window = cfg.max_age;
        } else {
            cfg.duplicate_window = window;
        }
    }
    if cfg.duplicate_window < 0 {
        return Err(invalid("duplicates window can not be negative"));
    }
    if cfg.max_age != 0 && cfg.duplicate_window > cfg.max_age {
        return Err(invalid("duplicates window can not be larger then max age"));
    }
    if lim > 0 && cfg.duplicate_window > lim {
        return Err(invalid(format!(
            "duplicates window can not be larger then server limit of {}",
            go_duration(lim)
        )));
    }
    if cfg.duplicate_window > 0 && cfg.duplicate_window < MS_100 {
        return Err(invalid("duplicates window needs to be >= 100ms"));
    }
    if cfg.deny_purge && cfg.allow_rollup_hdrs {
        return Err(invalid("roll-ups require the purge permission"));
    }
    if cfg.allow_msg_counter {
        if cfg.discard == Discard::New {
            return Err(invalid("counter stream cannot use discard new"));
        }
        if cfg.allow_msg_ttl {
            return Err(invalid("counter stream cannot use message TTLs"));
        }
        if cfg.retention != Retention::Limits {
            return Err(invalid("counter stream can only use limits retention"));
        }
    }
    if cfg.discard_new_per_subject {
        if cfg.discard != Discard::New {
            return Err(invalid(
                "discard new per subject requires discard new policy to be set",
            ));
        }
        if cfg.max_msgs_per_subject <= 0 {
            return Err(invalid(
                "discard new per subject requires max msgs per subject > 0",
            ));
        }
    }
    if cfg.subject_delete_marker_ttl > 0 {
        if cfg.subject_delete_marker_ttl < SECOND {
            return Err(invalid(
                "subject delete marker TTL must be at least 1 second",
            ));
        }
        if !cfg.allow_msg_ttl {
            if ctx.pedantic {
                return Err(invalid(
                    "subject delete marker cannot be set if message TTLs are disabled",
                ));
            }
            cfg.allow_msg_ttl = true;
        }
        if !cfg.allow_rollup_hdrs {
            if ctx.pedantic {
                return Err(invalid(
                    "subject delete marker cannot be set if roll-ups are disabled",
                ));
            }
            cfg.allow_rollup_hdrs = true;
            cfg.deny_purge = false;
        }
    } else if cfg.subject_delete_marker_ttl < 0 {
        return Err(invalid("subject delete marker TTL must not be negative"));
    }
    if cfg.allow_msg_schedules && !cfg.allow_rollup_hdrs {
        if ctx.pedantic {
            return Err(invalid(
                "message scheduling cannot be set if roll-ups are disabled",
            ));
        }
        cfg.allow_rollup_hdrs = true;
        cfg.deny_purge = false;
    }
    if cfg.persist_mode == PersistMode::Async {
        if cfg.storage != Storage::File {
            return Err(invalid(
                "async persist mode is only supported on file storage",
            ));
        }
        if cfg.num_replicas > 1 {
            return Err(invalid(
                "async persist mode is not supported on replicated streams",
            ));
        }
        if cfg.allow_atomic {
            return Err(invalid(
                "async persist mode is not supported with atomic batch publish",
            ));
        }
    }
    check_origins(&mut cfg, ctx)?;
    check_subjects(&mut cfg, ctx)?;
    if let Some(p) = &cfg.placement {
        if *p == Placement::default() {
            cfg.placement = None;
        } else if !p.preferred.is_empty() {
            return Err(invalid("preferred server not permitted in placement"));
        }
    }
    Ok(cfg)
}

/// Mirror and source rules, prefix overlaps and cycles.
fn check_origins(cfg: &mut StreamConfig, ctx: &CheckContext) -> Result<(), ApiError> {
    let mut stream_subs: Vec<String> = Vec::new();
    let mut deliver_prefixes: Vec<String> = Vec::new();
    let mut api_prefixes: Vec<String> = Vec::new();
    if let Some(m) = cfg.mirror.clone() {
        if cfg.first_seq > 0 {
            return Err(ApiError::new(ErrorKind::MirrorWithFirstSeq));
        }
        if !cfg.subjects.is_empty() {
            return Err(ApiError::new(ErrorKind::MirrorWithSubjects));
        }
        if !cfg.sources.is_empty() {
            return Err(ApiError::new(ErrorKind::MirrorWithSources));
        }
        if cfg.allow_msg_counter {
            return Err(ApiError::new(ErrorKind::MirrorWithCounters));
        }
        if cfg.allow_atomic {
            return Err(ApiError::new(ErrorKind::MirrorWithAtomicPublish));
        }
        if cfg.allow_msg_schedules {
            return Err(ApiError::new(ErrorKind::MirrorWithMsgSchedules));
        }
        if !m.filter_subject.is_empty() && !m.subject_transforms.is_empty() {
            return Err(ApiError::new(ErrorKind::MirrorMultipleFiltersNotAllowed));
        }
        if cfg.subject_delete_marker_ttl > 0 {
            return Err(invalid("subject delete markers forbidden on mirrors"));
        }
        for (i, tr) in m.subject_transforms.iter().enumerate() {
            if !tr.src.is_empty() && !valid_subject(&tr.src) {
                return Err(ApiError::err(
                    ErrorKind::MirrorInvalidSubjectFilter,
                    format!("invalid subject {}", tr.src),
                ));
            }
            if let Err(e) = valid_mapping(&tr.src, &tr.dest) {
                return Err(ApiError::err(
                    ErrorKind::MirrorInvalidTransformDestination,
                    e,
                ));
            }
            if m.subject_transforms
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && collide(&tr.src, &o.src))
            {
                return Err(ApiError::new(ErrorKind::MirrorOverlappingSubjectFilters));
            }
        }
        match &m.external {
            None => {
                if !is_valid_name(&m.name) {
                    return Err(ApiError::new(ErrorKind::MirrorInvalidStreamName));
                }
                if let Some(origin) = (ctx.lookup)(&m.name) {
                    stream_subs.extend(origin.subjects.iter().cloned());
                    if cfg.max_msg_size > 0
                        && origin.max_msg_size > 0
                        && cfg.max_msg_size < origin.max_msg_size
                    {
                        return Err(ApiError::new(ErrorKind::MirrorMaxMessageSizeTooBig));
                    }
                    if ctx.pedantic && cfg.mirror_direct != origin.allow_direct {
                        return Err(pedantic(
                            "origin stream has direct get set, mirror has it disabled",
                        ));
                    }
                    cfg.mirror_direct = origin.allow_direct;
                }
            }
            Some(ext) => {
                if !ext.deliver.is_empty() {
                    deliver_prefixes.push(ext.deliver.clone());
                }
                if !ext.api.is_empty() {
                    api_prefixes.push(ext.api.clone());
                }
            }
        }
    }
    if !cfg.sources.is_empty() && cfg.allow_msg_schedules {
        return Err(ApiError::new(ErrorKind::SourceWithMsgSchedules));
    }
    let mut inames = HashSet::new();
    for src in &cfg.sources {
        if !is_valid_name(&src.name) {
            return Err(ApiError::new(ErrorKind::SourceInvalidStreamName));
        }
        if !inames.insert(source_iname(src)) {
            return Err(ApiError::new(ErrorKind::SourceDuplicateDetected));
        }
        match &src.external {
            None => {
                if let Some(origin) = (ctx.lookup)(&src.name) {
                    stream_subs.extend(origin.subjects.iter().cloned());
                    if cfg.max_msg_size > 0
                        && origin.max_msg_size > 0
                        && cfg.max_msg_size < origin.max_msg_size
                    {
                        return Err(ApiError::new(ErrorKind::SourceMaxMessageSizeTooBig));
                    }
                }
                if !src.filter_subject.is_empty() && !src.subject_transforms.is_empty() {
                    return Err(ApiError::new(ErrorKind::SourceMultipleFiltersNotAllowed));
                }
                for tr in &src.subject_transforms {
                    if !tr.src.is_empty() && !valid_subject(&tr.src) {
                        return Err(ApiError::err(
                            ErrorKind::SourceInvalidSubjectFilter,
                            format!("invalid subject {}", tr.src),
                        ));
                    }
                    if let Err(e) = valid_mapping(&tr.src, &tr.dest) {
                        return Err(ApiError::err(
                            ErrorKind::SourceInvalidTransformDestination,
                            e,
                        ));
                    }
                }
                for (i, tr) in src.subject_transforms.iter().enumerate() {
                    for (j, o) in src.subject_transforms.iter().enumerate() {
                        if i != j && subject_is_subset_match(&tr.src, &o.src) {
                            return Err(ApiError::new(ErrorKind::SourceOverlappingSubjectFilters));
                        }
                    }
                }
            }
            Some(ext) => {
                if !ext.deliver.is_empty() {
                    deliver_prefixes.push(ext.deliver.clone());
                }
                if !ext.api.is_empty() {
                    api_prefixes.push(ext.api.clone());
                }
            }
        }
    }
    for pfx in &deliver_prefixes {
        if !valid_publish_subject(pfx) {
            return Err(ApiError::with(
                ErrorKind::StreamInvalidExternalDeliverySubj,
                &[("prefix", pfx)],
            ));
        }
        for sub in &stream_subs {
            if collide(sub, &format!("{pfx}.{sub}")) {
                return Err(ApiError::with(
                    ErrorKind::StreamExternalDelPrefixOverlaps,
                    &[("prefix", pfx), ("subject", sub)],
                ));
            }
        }
    }
    for pfx in &api_prefixes {
        if !valid_publish_subject(pfx) {
            let quoted = serde_json::to_string(pfx).expect("a string serialises");
            return Err(invalid(format!(
                "stream external api prefix {quoted} must be a valid subject without wildcards"
            )));
        }
        if collide(pfx, "$JS.API") {
            return Err(ApiError::with(
                ErrorKind::StreamExternalApiOverlap,
                &[("prefix", pfx), ("subject", &"$JS.API")],
            ));
        }
    }
    check_cycles(cfg, ctx)
}

/// A source's identity for the duplicate check: name, filters and external API.
fn source_iname(src: &crate::config::StreamSource) -> String {
    let mut s = src.name.clone();
    if let Some(ext) = &src.external {
        s.push(':');
        s.push_str(&ext.api);
    }
    if !src.filter_subject.is_empty() {
        s.push(' ');
        s.push_str(&src.filter_subject);
    }
    for tr in &src.subject_transforms {
        s.push(' ');
        s.push_str(&tr.src);
        s.push(' ');
        s.push_str(&tr.dest);
    }
    s
}

fn check_cycles(cfg: &StreamConfig, ctx: &CheckContext) -> Result<(), ApiError> {
    let overlaps = |subjects: &[String], filter: &str| {
        filter.is_empty() || subjects.iter().any(|s| collide(s, filter))
    };
    let mut to_visit = vec![cfg.clone()];
    let mut visited = HashSet::new();
    while !to_visit.is_empty() {
        let c = to_visit.remove(0);
        visited.insert(c.name.clone());
        for src in c.sources.iter().filter(|s| s.external.is_none()) {
            if visited.contains(&src.name) {
                if overlaps(&c.subjects, &src.filter_subject) {
                    return Err(invalid("detected cycle"));
                }
            } else if let Some(o) = (ctx.lookup)(&src.name) {
                to_visit.push(o);
            }
        }
        if let Some(m) = c.mirror.as_ref().filter(|m| m.external.is_none()) {
            if visited.contains(&m.name) {
                return Err(invalid("detected cycle"));
            }
            if let Some(o) = (ctx.lookup)(&m.name) {
                to_visit.push(o);
            }
        }
    }
    Ok(())
}

/// Subject rules: defaults, validity, duplicates, API overlaps, limits, transforms, republish.
fn check_subjects(cfg: &mut StreamConfig, ctx: &CheckContext) -> Result<(), ApiError> {
    if cfg.subjects.is_empty() {
        if cfg.mirror.is_none() && cfg.sources.is_empty() {
            cfg.subjects.push(cfg.name.clone());
        }
    } else {
        if cfg.mirror.is_some() {
            return Err(ApiError::new(ErrorKind::MirrorWithSubjects));
        }
        let mut seen = HashSet::new();
        for subj in &cfg.subjects {
            if !valid_subject(subj) {
                return Err(invalid("invalid subject"));
            }
            if !seen.insert(subj.as_str()) {
                return Err(invalid("duplicate subjects detected"));
            }
            if subj == ">" {
                if !cfg.no_ack {
                    return Err(invalid("capturing all subjects requires no-ack to be true"));
                }
                if cfg.num_replicas != 1 {
                    return Err(invalid("capturing all subjects requires replicas of 1"));
                }
            }
            if !cfg.no_ack {
                for ns in ["$JS.>", "$JSC.>", "$NRG.>"] {
                    if collide(subj, ns) && !subject_is_subset_match(subj, "$JS.EVENT.>") {
                        return Err(invalid(
                            "subjects that overlap with jetstream api require no-ack to be true",
                        ));
                    }
                }
                if collide(subj, "$SYS.>") && !subject_is_subset_match(subj, "$SYS.ACCOUNT.>") {
                    return Err(invalid(
                        "subjects that overlap with system api require no-ack to be true",
                    ));
                }
            }
        }
    }
    if cfg.subjects.is_empty() && cfg.sources.is_empty() && cfg.mirror.is_none() {
        return Err(invalid(
            "stream needs at least one configured subject or be a source/mirror",
        ));
    }
    if ctx.max_bytes_required && cfg.max_bytes <= 0 {
        return Err(ApiError::new(ErrorKind::StreamMaxBytesRequired));
    }
    if ctx.max_bytes_limit > 0 && cfg.max_bytes > ctx.max_bytes_limit {
        return Err(ApiError::new(ErrorKind::StreamMaxStreamBytesExceeded));
    }
    if cfg.subjects.len() > 1 {
        for a in &cfg.subjects {
            for b in &cfg.subjects {
                if a != b && collide(a, b) {
                    let (qa, qb) = (
                        serde_json::to_string(a).unwrap(),
                        serde_json::to_string(b).unwrap(),
                    );
                    return Err(invalid(format!("subject {qa} overlaps with {qb}")));
                }
            }
        }
    }
    if let Some(tr) = &cfg.subject_transform {
        if !tr.src.is_empty() && !valid_subject(&tr.src) {
            return Err(ApiError::err(
                ErrorKind::StreamTransformInvalidSource,
                format!("invalid subject {}", tr.src),
            ));
        }
        if let Err(e) = valid_mapping(&tr.src, &tr.dest) {
            return Err(ApiError::err(
                ErrorKind::StreamTransformInvalidDestination,
                e,
            ));
        }
    }
    if let Some(rp) = cfg.republish.as_mut() {
        if rp.src.is_empty() {
            if ctx.pedantic {
                return Err(pedantic("republish source can not be empty"));
            }
            rp.src = ">".into();
        }
        if let Some(tr) = &cfg.subject_transform {
            if rp.dest == ">"
                && rp.src == ">"
                && cfg.subjects.len() == 1
                && tr.src == cfg.subjects[0]
            {
                if ctx.pedantic {
                    return Err(pedantic("implicit republish based on subject transform"));
                }
                rp.src = tr.dest.clone();
                rp.dest = tr.dest.clone();
            }
        }
        if cfg.subjects.iter().any(|s| collide(&rp.dest, s)) {
            return Err(invalid(
                "stream configuration for republish destination forms a cycle",
            ));
        }
        if sublist::transform::Transform::new(&rp.src, &rp.dest).is_none() {
            return Err(invalid(format!(
                "stream configuration for republish with transform from '{}' to '{}' not valid",
                rp.src, rp.dest
            )));
        }
    }
    Ok(())
}

/// Go's `time.Duration.String()`.
pub fn go_duration(ns: i64) -> String {
    conf::format_go_duration(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<StreamConfig> {
        None
    }

    fn ctx() -> CheckContext<'static> {
        CheckContext {
            pedantic: false,
            max_duplicate_window: 0,
            lookup: &none,
            max_bytes_required: false,
            max_bytes_limit: 0,
        }
    }

    fn check(json: &str) -> Result<StreamConfig, ApiError> {
        check_stream_config(&serde_json::from_str(json).unwrap(), &ctx())
    }

    fn err(json: &str) -> (u16, String) {
        let e = check(json).unwrap_err();
        (e.err_code, e.description)
    }

    #[test]
    fn defaults_as_nats_server_fills_them() {
        let c = check(r#"{"name":"ORDERS"}"#).unwrap();
        assert_eq!(c.subjects, ["ORDERS"]);
        assert_eq!(
            (
                c.max_msgs,
                c.max_bytes,
                c.max_msgs_per_subject,
                c.max_msg_size,
                c.max_consumers
            ),
            (-1, -1, -1, -1, -1)
        );
        assert_eq!(
            (c.num_replicas, c.duplicate_window),
            (1, DEFAULT_DUPLICATE_WINDOW)
        );
        let c = check(r#"{"name":"S","max_age":1000000000}"#).unwrap();
        assert_eq!(
            c.duplicate_window, 1_000_000_000,
            "the window follows a shorter max_age"
        );
        let c = check(r#"{"name":"S","subject_delete_marker_ttl":1000000000}"#).unwrap();
        assert!(c.allow_msg_ttl && c.allow_rollup_hdrs && !c.deny_purge);
        let c = check(r#"{"name":"S","placement":{}}"#).unwrap();
        assert!(c.placement.is_none());
    }

    #[test]
    fn errors_as_nats_server_words_them() {
        let bad_name = (
            10052,
            "stream name is required and can not contain '.', '*', '>'".to_string(),
        );
        assert_eq!(err(r#"{"name":"a.b"}"#), bad_name);
        assert_eq!(err(r#"{"name":""}"#), bad_name);
        assert_eq!(err(r#"{"name":"S","num_replicas":-1}"#).0, 10133);
        assert_eq!(
            err(r#"{"name":"S","num_replicas":6}"#),
            (10052, "maximum replicas is 5".into())
        );
        assert_eq!(
            err(r#"{"name":"S","max_age":5}"#),
            (10052, "max age needs to be >= 100ms".into())
        );
        assert_eq!(
            err(r#"{"name":"S","max_age":1000000000,"duplicate_window":2000000000}"#),
            (
                10052,
                "duplicates window can not be larger then max age".into()
            )
        );
        assert_eq!(
            err(r#"{"name":"S","subjects":["a","a"]}"#),
            (10052, "duplicate subjects detected".into())
        );
        assert_eq!(
            err(r#"{"name":"S","subjects":["a.*","a.b"]}"#),
            (10052, r#"subject "a.*" overlaps with "a.b""#.into())
        );
        assert_eq!(
            err(r#"{"name":"S","subjects":["$JS.API.>"]}"#),
            (
                10052,
                "subjects that overlap with jetstream api require no-ack to be true".into()
            )
        );
        assert!(check(r#"{"name":"S","subjects":["$JS.EVENT.x"]}"#).is_ok());
        assert_eq!(
            err(r#"{"name":"S","subjects":[">"]}"#),
            (
                10052,
                "capturing all subjects requires no-ack to be true".into()
            )
        );
        assert_eq!(
            err(r#"{"name":"S","deny_purge":true,"allow_rollup_hdrs":true}"#).1,
            "roll-ups require the purge permission"
        );
        assert_eq!(
            err(r#"{"name":"S","mirror":{"name":"O"},"subjects":["x"]}"#).0,
            10034
        );
        assert_eq!(
            err(r#"{"name":"S","sources":[{"name":"O"},{"name":"O"}]}"#).0,
            10140
        );
        assert_eq!(
            err(r#"{"name":"S","discard_new_per_subject":true}"#).1,
            "discard new per subject requires discard new policy to be set"
        );
        assert_eq!(
            err(r#"{"name":"S","republish":{"src":">","dest":"S"}}"#).1,
            "stream configuration for republish destination forms a cycle"
        );
        assert_eq!(
            err(r#"{"name":"S","placement":{"preferred":"n1"}}"#).1,
            "preferred server not permitted in placement"
        );
    }

    #[test]
    fn subset_and_durations() {
        assert!(subject_is_subset_match("$JS.EVENT.a", "$JS.EVENT.>"));
        assert!(!subject_is_subset_match("$JS.>", "$JS.EVENT.>"));
        assert!(subject_is_subset_match("a.*", "a.*"));
        assert!(!subject_is_subset_match("a.>", "a.*"));
        assert_eq!(go_duration(120_000_000_000), "2m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(250_000_000), "250ms");
    }
}
