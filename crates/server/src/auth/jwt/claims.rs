//! Reading JWT claims as nats-io/jwt and nats-server read them: numeric
//! limits, permissions, scoped-key templates, `src` networks and connect
//! `times`.

use crate::config::types::{Permissions, ResponsePermission, SubjectPermission};
use serde_json::Value as Json;
use std::net::IpAddr;
use std::time::Duration;

/// A numeric limit of a claim's `limits` (account) or of the claim itself
/// (user): absent is 0.
pub(super) fn limit(nats: &Json, key: &str) -> i64 {
    limit_or(nats, key, 0)
}

/// The JetStream limits of an account claim, as nats-server reads them:
/// JetStream is on when `mem_storage` or `disk_storage` is not 0, or when
/// there are tiered limits (whose `R1` tier applies on a single server).
pub(super) fn jetstream_limits(nats: &Json) -> Option<crate::config::types::JsAccountLimits> {
    let limits = nats.get("limits")?;
    let tiered = limits.get("tiered_limits").and_then(Json::as_object);
    let l = match tiered.filter(|t| !t.is_empty()) {
        Some(t) => t.get("R1").or_else(|| t.values().next())?,
        None => limits,
    };
    let n = |k: &str| l.get(k).and_then(Json::as_i64).unwrap_or(0);
    if tiered.is_none_or(|t| t.is_empty()) && n("mem_storage") == 0 && n("disk_storage") == 0 {
        return None;
    }
    // 0 (or absent) is no limit, which account info shows as -1.
    let unset = |v: i64| if v == 0 { -1 } else { v };
    let ack = n("max_ack_pending");
    Some(crate::config::types::JsAccountLimits {
        max_memory: n("mem_storage"),
        max_store: n("disk_storage"),
        max_streams: n("streams"),
        max_consumers: n("consumer"),
        max_bytes_required: l
            .get("max_bytes_required")
            .and_then(Json::as_bool)
            .unwrap_or(false),
        memory_max_stream_bytes: unset(n("mem_max_stream_bytes")),
        store_max_stream_bytes: unset(n("disk_max_stream_bytes")),
        max_ack_pending: unset(ack),
    })
}

/// [`limit`] with `absent` for a missing value.
pub(super) fn limit_or(nats: &Json, key: &str, absent: i64) -> i64 {
    nats.get("limits")
        .unwrap_or(nats)
        .get(key)
        .and_then(Json::as_i64)
        .unwrap_or(absent)
}

pub(super) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A string claim, or "" when absent.
pub(super) fn s(v: Option<&Json>) -> String {
    v.and_then(Json::as_str).unwrap_or("").to_string()
}

pub(super) fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        Some(Json::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// nats-server's `buildPermissionsFromJwt`: `pub`, `sub` and `resp` of a
/// user (or an account's `default_permissions`).
pub(super) fn permissions(p: &Json) -> Option<Permissions> {
    let side = |k: &str| {
        let s = p.get(k)?;
        let allow = strings(s.get("allow"));
        let deny = strings(s.get("deny"));
        (!allow.is_empty() || !deny.is_empty()).then(|| SubjectPermission {
            allow: (!allow.is_empty()).then_some(allow),
            deny: (!deny.is_empty()).then_some(deny),
        })
    };
    let mut out = Permissions {
        publish: side("pub"),
        subscribe: side("sub"),
        response: None,
    };
    if let Some(r) = p.get("resp").filter(|r| r.is_object()) {
        let max = r.get("max").and_then(Json::as_i64).unwrap_or(0);
        let ttl = r.get("ttl").and_then(Json::as_i64).unwrap_or(0);
        let dflt = ResponsePermission::default();
        out.response = Some(ResponsePermission {
            max_msgs: if max == 0 { dflt.max_msgs } else { max },
            expires: if ttl == 0 {
                dflt.expires
            } else {
                Some(Duration::from_nanos(ttl.max(0) as u64))
            },
        });
        // A response permission turns off the blanket publish allow.
        let publish = out.publish.get_or_insert_with(SubjectPermission::default);
        if publish.allow.is_none() {
            publish.allow = Some(Vec::new());
        }
    }
    (out.publish.is_some() || out.subscribe.is_some() || out.response.is_some()).then_some(out)
}

/// True when the user claim sets no permission or limit of its own (what a
/// scoped signing key requires): every field of nats-io/jwt's
/// `UserPermissionLimits` at its zero value.
pub(super) fn no_own_limits(nats: &Json) -> bool {
    let absent = |v: Option<&Json>| match v {
        None | Some(Json::Null) => true,
        Some(Json::String(s)) => s.is_empty(),
        Some(Json::Number(n)) => n.as_f64() == Some(0.0),
        Some(Json::Bool(b)) => !b,
        _ => false,
    };
    let side = |k: &str| match nats.get(k) {
        None | Some(Json::Null) => true,
        Some(s) => absent(s.get("allow")) && absent(s.get("deny")),
    };
    side("pub")
        && side("sub")
        && absent(nats.get("resp"))
        && [
            "src",
            "times",
            "times_location",
            "subs",
            "data",
            "payload",
            "bearer_token",
            "allowed_connection_types",
        ]
        .iter()
        .all(|k| absent(nats.get(*k)))
}

/// What a scope template's functions expand to.
pub(super) struct TemplateVars<'a> {
    pub(super) name: &'a str,
    pub(super) subject: &'a str,
    pub(super) account_name: &'a str,
    pub(super) account_subject: &'a str,
    pub(super) tags: Vec<String>,
    pub(super) account_tags: Vec<String>,
}

/// nats-server's `processUserPermissionsTemplate` for one list: tokens
/// `{{name()}}`, `{{subject()}}`, `{{account-name()}}`,
/// `{{account-subject()}}`, `{{tag(x)}}` and `{{account-tag(x)}}` are
/// replaced (tags give one subject per matching value); subjects that come
/// out invalid are dropped, or fail the whole template when `strict`.
pub(super) fn apply_template(
    list: Vec<String>,
    v: &TemplateVars,
    strict: bool,
) -> Result<Vec<String>, ()> {
    let is_fn = |tk: &str| tk.starts_with("{{") && tk.ends_with("}}");
    if !list.iter().any(|s| s.split('.').any(is_fn)) {
        return Ok(list);
    }
    let mut out = Vec::new();
    for subj in &list {
        let mut tokens: Vec<Option<String>> = Vec::new();
        let mut tag_values: Vec<Vec<String>> = Vec::new();
        for tk in subj.split('.') {
            if !is_fn(tk) {
                tokens.push(Some(tk.to_string()));
                continue;
            }
            let op = tk[2..tk.len() - 2].to_lowercase();
            let tag_fn = |prefix: &str| {
                op.strip_prefix(prefix)
                    .and_then(|r| r.strip_suffix(')'))
                    .map(|t| format!("{t}:"))
            };
            let filled = match op.as_str() {
                "name()" => Some(v.name.to_string()),
                "subject()" => Some(v.subject.to_string()),
                "account-name()" => Some(v.account_name.to_string()),
                "account-subject()" => Some(v.account_subject.to_string()),
                _ => {
                    let (tags, prefix) = match (tag_fn("account-tag("), tag_fn("tag(")) {
                        (Some(p), _) => (&v.account_tags, Some(p)),
                        (None, Some(p)) => (&v.tags, Some(p)),
                        _ => (&v.tags, None),
                    };
                    match prefix {
                        Some(p) => {
                            let values: Vec<String> = tags
                                .iter()
                                .filter_map(|t| t.strip_prefix(p.as_str()).map(str::to_string))
                                .collect();
                            if !values.is_empty() {
                                tag_values.push(values);
                            }
                            None
                        }
                        // An unknown function spoils the subject on purpose.
                        None => Some(" ".to_string()),
                    }
                }
            };
            tokens.push(filled);
        }
        // One subject per combination of tag values (the empty
        // combination when there are none).
        let mut combos: Vec<Vec<&String>> = vec![Vec::new()];
        for values in &tag_values {
            combos = combos
                .iter()
                .flat_map(|c| {
                    values.iter().map(move |x| {
                        let mut n = c.clone();
                        n.push(x);
                        n
                    })
                })
                .collect();
        }
        for combo in combos {
            let mut next = combo.into_iter();
            let parts: Vec<String> = tokens
                .iter()
                .map(|t| match t {
                    Some(s) => s.clone(),
                    None => next.next().cloned().unwrap_or_default(),
                })
                .collect();
            let s = parts.join(".");
            if sublist::is_valid_subject(s.as_bytes()) {
                out.push(s);
            } else if strict {
                return Err(());
            }
        }
    }
    Ok(out)
}

/// Applies a scope template: the permissions with their functions filled
/// in, and `deny >` where an allow list came out empty.
pub(super) fn fill_perms(template: &Json, v: &TemplateVars) -> Option<Json> {
    let mut t = template.clone();
    for side in ["pub", "sub"] {
        let allow = strings(t.get(side).and_then(|s| s.get("allow")));
        let deny = strings(t.get(side).and_then(|s| s.get("deny")));
        let had_allow = !allow.is_empty();
        let allow = apply_template(allow, v, false).ok()?;
        let mut deny = apply_template(deny, v, true).ok()?;
        if had_allow && allow.is_empty() {
            deny.push(">".to_string());
        }
        if let Some(obj) = t.as_object_mut() {
            obj.insert(
                side.to_string(),
                serde_json::json!({"allow": allow, "deny": deny}),
            );
        }
    }
    Some(t)
}

/// Parses `a.b.c.d/n` or an IPv6 CIDR, and tells whether `ip` is inside.
pub(super) fn cidr_contains(cidr: &str, ip: IpAddr) -> Option<bool> {
    let (net, bits) = cidr.trim().split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        _ => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(n) & mask == u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(n) & mask == u128::from(a) & mask)
        }
        (_, _) if bits <= 128 => Some(false),
        _ => None,
    }
}

/// nats-server's `validateSrc`: no list allows every address; otherwise the
/// client's address must be in one of the CIDRs (a bad CIDR refuses).
pub(super) fn src_allowed(src: &[String], host: IpAddr) -> bool {
    if src.is_empty() {
        return true;
    }
    let mut ok = false;
    for c in src {
        match cidr_contains(c, host) {
            Some(true) => ok = true,
            Some(false) => {}
            None => return false,
        }
    }
    ok
}

/// `times`: `[{start: "HH:MM:SS", end: "HH:MM:SS"}]` in local time. Returns
/// whether now is inside one of the ranges, and for how long.
pub(super) fn times_allowed(times: &Json, location: &str) -> Result<Option<Duration>, String> {
    let Some(ranges) = times.as_array().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if !location.is_empty() && location != "Local" && location != "UTC" {
        return Err(format!("times_location {location:?} is not supported"));
    }
    use chrono::Timelike;
    let secs = if location == "UTC" {
        chrono::Utc::now().num_seconds_from_midnight()
    } else {
        chrono::Local::now().num_seconds_from_midnight()
    } as i64;
    let parse = |v: Option<&Json>| -> Option<i64> {
        let s = v?.as_str()?;
        let t = chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").ok()?;
        Some(t.num_seconds_from_midnight() as i64)
    };
    for r in ranges {
        let (Some(start), Some(end)) = (parse(r.get("start")), parse(r.get("end"))) else {
            return Err("bad time range".into());
        };
        let left = if start <= end {
            (start <= secs && secs < end).then(|| end - secs)
        } else if secs >= start {
            Some(86_400 - secs + end)
        } else {
            (secs < end).then(|| end - secs)
        };
        if let Some(left) = left {
            return Ok(Some(Duration::from_secs(left as u64)));
        }
    }
    Err("Outside connect times".into())
}
