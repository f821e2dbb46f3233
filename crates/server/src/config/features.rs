//! `websocket`, `mqtt` and `jetstream` blocks.

use super::auth::go_value;
use super::auth::{non_empty, parse_simple_auth, parse_string_array};
use super::tls::{parse_tls, TlsContext};
use super::types::{JetStreamOpts, MqttOpts, WebsocketOpts};
use super::value::{go_duration, go_quote, nanos, parse_listen, Ctx, R};
use conf::{Spanned, Value};
use std::time::Duration;

/// Go's `parseWebsocket`.
pub(crate) fn parse_websocket(cx: &mut Ctx, item: &Spanned, w: &mut WebsocketOpts) -> R<()> {
    let m = cx.map_or_fail(item, "Expected websocket to be a map")?;
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "listen" => match parse_listen(&v.value) {
                Ok((h, p)) => {
                    w.host = h;
                    w.port = p;
                }
                Err(e) => cx.err(&v.pos, e),
            },
            "port" => w.port = cx.int32(v)?,
            "host" | "net" => w.host = cx.str(v)?,
            "advertise" => w.advertise = Some(cx.str(v)?),
            "no_tls" => w.no_tls = cx.bool(v)?,
            "tls" => {
                if let Some(t) = parse_tls(cx, v, TlsContext::Client)? {
                    w.tls = Some(t);
                }
            }
            "same_origin" => w.same_origin = cx.bool(v)?,
            "allowed_origins" | "allowed_origin" | "allow_origins" | "allow_origin" | "origins"
            | "origin" => {
                w.allowed_origins = parse_string_array(cx, "allowed origins", v).unwrap_or_default()
            }
            "handshake_timeout" => {
                w.handshake_timeout = match &v.value {
                    Value::Int(n) => nanos(n.saturating_mul(1_000_000_000)),
                    Value::String(s) => match go_duration(s) {
                        Ok(d) => nanos(d),
                        Err(e) => {
                            cx.err(&v.pos, e);
                            continue;
                        }
                    },
                    other => {
                        cx.err(
                            &v.pos,
                            format!(
                                "error parsing handshake timeout: unsupported type {}",
                                other.type_name()
                            ),
                        );
                        None
                    }
                }
            }
            "compress" | "compression" => w.compression = cx.bool(v)?,
            "authorization" | "authentication" => {
                let a = parse_simple_auth(cx, v)?;
                w.username = non_empty(a.user);
                w.password = non_empty(a.pass);
                w.token = non_empty(a.token);
                w.auth_timeout = a.timeout;
            }
            "jwt_cookie" => w.jwt_cookie = Some(cx.str(v)?),
            "no_auth_user" => w.no_auth_user = non_empty(cx.str(v)?),
            "headers" => {
                let Value::Map(hm) = &v.value else {
                    cx.err(
                        &v.pos,
                        format!(
                            "error parsing headers: unsupported type {}",
                            v.value.type_name()
                        ),
                    );
                    continue;
                };
                w.headers.clear();
                for (hk, hv) in hm.iter() {
                    match &hv.value {
                        Value::String(s) => w.headers.push((hk.to_string(), s.clone())),
                        other => cx.err(
                            &hv.pos,
                            format!(
                                "error parsing header key {hk}: unsupported type {}",
                                other.type_name()
                            ),
                        ),
                    }
                }
            }
            "ping_interval" => {
                w.ping_interval = nanos(cx.duration_or_secs("ping_interval", v)?);
            }
            _ => cx.unknown(k, v),
        }
    }
    Ok(())
}

/// Go's `parseMQTT`. Negative `ack_wait` is only rejected at startup, so
/// it is reported in `cx.deferred`.
pub(crate) fn parse_mqtt(cx: &mut Ctx, item: &Spanned, q: &mut MqttOpts) -> R<()> {
    let m = cx.map_or_fail(item, "Expected mqtt to be a map")?;
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "listen" => match parse_listen(&v.value) {
                Ok((h, p)) => {
                    q.host = h;
                    q.port = p;
                }
                Err(e) => cx.err(&v.pos, e),
            },
            "port" => q.port = cx.int32(v)?,
            "host" | "net" => q.host = cx.str(v)?,
            "tls" => {
                if let Some(t) = parse_tls(cx, v, TlsContext::Client)? {
                    q.tls = Some(t);
                }
            }
            "authorization" | "authentication" => {
                let a = parse_simple_auth(cx, v)?;
                q.username = non_empty(a.user);
                q.password = non_empty(a.pass);
                q.token = non_empty(a.token);
                q.auth_timeout = a.timeout;
            }
            "no_auth_user" => q.no_auth_user = non_empty(cx.str(v)?),
            "ack_wait" | "ackwait" => {
                let d = cx.duration_or_secs("ack_wait", v)?;
                if d < 0 {
                    cx.deferred.push("ack wait must be a positive value".into());
                }
                q.ack_wait = nanos(d).filter(|d| !d.is_zero());
            }
            "max_ack_pending" | "max_pending" | "max_inflight" => {
                let n = cx.int(v)?;
                if !(0..=0xFFFF).contains(&n) {
                    cx.err(
                        &v.pos,
                        format!("invalid value {n}, should in [0..{}] range", 0xFFFF),
                    );
                } else {
                    q.max_ack_pending = n as u16;
                }
            }
            "js_domain" => q.js_domain = Some(cx.str(v)?),
            "stream_replicas" => q.stream_replicas = cx.int(v)?,
            "consumer_replicas" => cx.warn_field(
                &v.pos,
                k,
                "consumer replicas setting ignored in this server version",
            ),
            "consumer_memory_storage" => q.consumer_memory_storage = cx.bool(v)?,
            "consumer_inactive_threshold" | "consumer_auto_cleanup" => {
                let d = cx.duration_or_secs("consumer_inactive_threshold", v)?;
                q.consumer_inactive_threshold = nanos(d).filter(|d| !d.is_zero());
            }
            _ => cx.unknown(k, v),
        }
    }
    Ok(())
}

/// Go's `getStorageSize`: an integer, or a string like `10G` (powers of 1024).
fn storage_size(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => {
            let (num, suffix) = s.split_at(s.len() - s.chars().last().map_or(0, char::len_utf8));
            let n: i64 = super::value::atoi(num).ok_or_else(|| {
                format!(
                    "strconv.ParseInt: parsing {}: invalid syntax",
                    go_quote(num)
                )
            })?;
            let shift = match suffix {
                "K" => 10,
                "M" => 20,
                "G" => 30,
                "T" => 40,
                _ => return Err("sizes defined as strings must end in K, M, G, T".into()),
            };
            Ok(n.wrapping_shl(shift))
        }
        _ => Err("must be int64 or string".into()),
    }
}

/// Go's `parseJetStream` (a `store_dir` already set at the top level makes
/// one in the block a duplicate).
pub(crate) fn parse_jetstream(cx: &mut Ctx, item: &Spanned, js: &mut JetStreamOpts) -> R<()> {
    match &item.value {
        Value::Bool(b) => js.enabled = *b,
        Value::String(s) => match s.to_lowercase().as_str() {
            "enabled" | "enable" => js.enabled = true,
            "disabled" | "disable" => js.enabled = false,
            _ => {
                return cx.fail(
                    &item.pos,
                    format!("Expected 'enabled' or 'disabled' for string value, got '{s}'"),
                )
            }
        },
        Value::Map(m) => {
            let mut enable = true;
            for (k, v) in m.iter() {
                let lk = k.to_ascii_lowercase();
                match lk.as_str() {
                    "store" | "store_dir" | "storedir" => {
                        if js.store_dir.as_deref().is_some_and(|s| !s.is_empty()) {
                            return cx.fail(&v.pos, "Duplicate 'store_dir' configuration");
                        }
                        js.store_dir = Some(cx.str(v)?);
                    }
                    "max_memory_store" | "max_mem_store" | "max_mem" => {
                        match storage_size(&v.value) {
                            Ok(n) => js.max_memory = n,
                            Err(e) => return cx.fail(&v.pos, format!("max_mem_store {e}")),
                        }
                    }
                    "max_file_store" | "max_file" => match storage_size(&v.value) {
                        Ok(n) => js.max_store = n,
                        Err(e) => return cx.fail(&v.pos, format!("max_file_store {e}")),
                    },
                    "domain" => js.domain = Some(cx.str(v)?),
                    "enable" | "enabled" => enable = cx.bool(v)?,
                    "key" | "ek" | "encryption_key" => js.key = Some(cx.str(v)?),
                    "cipher" => {
                        let s = cx.str(v)?;
                        js.cipher = Some(match s.to_lowercase().as_str() {
                            "chacha" | "chachapoly" => "chachapoly".into(),
                            "aes" => "aes".into(),
                            _ => {
                                return cx
                                    .fail(&v.pos, format!("Unknown cipher type: {}", go_quote(&s)))
                            }
                        });
                    }
                    "extension_hint" => js.extension_hint = Some(cx.str(v)?),
                    "limits" => parse_js_limits(cx, v, js)?,
                    "unique_tag" => js.unique_tag = Some(cx.str(v)?.trim().to_lowercase()),
                    "max_outstanding_catchup" => match storage_size(&v.value) {
                        Ok(n) => js.max_catchup = Some(n),
                        Err(e) => return cx.fail(&v.pos, format!("{lk} {e}")),
                    },
                    "strict" => match &v.value {
                        Value::Bool(b) => js.strict = *b,
                        other => {
                            return cx.fail(
                                &v.pos,
                                format!(
                                    "Expected 'true' or 'false' for bool value, got '{}'",
                                    go_value(other)
                                ),
                            )
                        }
                    },
                    "sync" | "sync_interval" => match &v.value {
                        Value::String(s) if s.eq_ignore_ascii_case("always") => {
                            js.sync_always = true;
                            js.sync_interval = Some(Duration::from_secs(120));
                        }
                        _ => {
                            let ns = cx.duration_or_secs(k, v)?;
                            js.sync_interval = nanos(ns);
                        }
                    },
                    "prev_key" | "prev_ek" | "prev_encryption_key" => {
                        js.prev_key = Some(cx.str(v)?)
                    }
                    "tpm" => parse_js_tpm(cx, v)?,
                    "max_buffered_size" => match storage_size(&v.value) {
                        Ok(n) => js.max_buffered_size = Some(n),
                        Err(e) => return cx.fail(&v.pos, format!("{lk} {e}")),
                    },
                    "max_buffered_msgs" | "request_queue_limit" => match &v.value {
                        Value::Int(n) => {
                            if lk == "max_buffered_msgs" {
                                js.max_buffered_msgs = Some(*n);
                            } else {
                                js.request_queue_limit = Some(*n);
                            }
                        }
                        other => {
                            return cx.fail(
                                &v.pos,
                                format!(
                                    "Expected a parseable size for {}, got {}",
                                    go_quote(k),
                                    go_value(other)
                                ),
                            )
                        }
                    },
                    "meta_compact" => match &v.value {
                        Value::Int(n) if *n >= 0 => js.meta_compact = Some(*n as u64),
                        other => {
                            return cx.fail(
                                &v.pos,
                                format!(
                                    "Expected an absolute size for {}, got {}",
                                    go_quote(k),
                                    go_value(other)
                                ),
                            )
                        }
                    },
                    "meta_compact_size" => match storage_size(&v.value) {
                        Ok(n) if n >= 0 => js.meta_compact_size = Some(n as u64),
                        Ok(_) => {
                            return cx.fail(
                                &v.pos,
                                format!(
                                    "Expected an absolute size for {}, got {}",
                                    go_quote(k),
                                    go_value(&v.value)
                                ),
                            )
                        }
                        Err(e) => return cx.fail(&v.pos, format!("{lk} {e}")),
                    },
                    _ => cx.unknown(k, v),
                }
            }
            js.enabled = enable;
        }
        other => {
            return cx.fail(
                &item.pos,
                format!(
                    "Expected map, bool or string to define JetStream, got {}",
                    other.type_name()
                ),
            )
        }
    }
    Ok(())
}

/// Go's `parseJetStreamTPM`: the keys are checked (a TPM is not used).
fn parse_js_tpm(cx: &mut Ctx, item: &Spanned) -> R<()> {
    let m = cx.map_or_fail(item, "Expected a map to define JetStreamLimits")?;
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "keys_file" | "encryption_password" | "srk_password" => {
                cx.str(v)?;
            }
            "pcr" => {
                cx.int(v)?;
            }
            "cipher" => {
                let s = cx.str(v)?;
                if !matches!(s.to_lowercase().as_str(), "chacha" | "chachapoly" | "aes") {
                    return cx.fail(&v.pos, format!("Unknown cipher type: {}", go_quote(&s)));
                }
            }
            _ => cx.unknown(k, v),
        }
    }
    Ok(())
}

/// Go's `parseJetStreamLimits`.
fn parse_js_limits(cx: &mut Ctx, item: &Spanned, js: &mut JetStreamOpts) -> R<()> {
    let m = cx.map_or_fail(item, "Expected a map to define JetStreamLimits")?;
    let mut lim = super::types::JsLimitOpts::default();
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "max_ack_pending" => lim.max_ack_pending = cx.int(v)?,
            "max_ha_assets" => lim.max_ha_assets = cx.int(v)?,
            "max_request_batch" => lim.max_request_batch = cx.int(v)?,
            "duplicate_window" => {
                let s = cx.str(v)?;
                match go_duration(&s) {
                    Ok(d) => lim.duplicate_window = nanos(d),
                    Err(e) => cx.err_bare(e),
                }
            }
            _ => cx.unknown(k, v),
        }
    }
    js.limits = lim;
    Ok(())
}
