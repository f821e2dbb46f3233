//! Account `exports` and `imports` entries.

use super::auth::go_value;
use super::types::{Export, ExportKind, Import, Latency, ResponseType};
use super::value::{go_duration, go_quote, nanos, Ctx, R};
use conf::{Pos, Spanned, Value};

/// Go's `parseAccountExports`.
pub(crate) fn parse_exports(cx: &mut Ctx, item: &Spanned) -> R<Vec<Export>> {
    let Value::Array(a) = &item.value else {
        cx.err(
            &item.pos,
            format!("Exports should be an array, got {}", item.value.type_name()),
        );
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in a {
        if let Some(x) = parse_export(cx, e)? {
            out.push(x);
        }
    }
    Ok(out)
}

/// Go's `parseExportStreamOrService`.
fn parse_export(cx: &mut Ctx, item: &Spanned) -> R<Option<Export>> {
    let Value::Map(m) = &item.value else {
        cx.err(
            &item.pos,
            format!(
                "Export Items should be a map with type entry, got {}",
                item.value.type_name()
            ),
        );
        return Ok(None);
    };
    let mut kind: Option<(ExportKind, String)> = None;
    let mut accounts: Option<Vec<String>> = None;
    let mut rt: Option<ResponseType> = None;
    let mut rt_pos: Option<Pos> = None;
    let mut lat: Option<Latency> = None;
    let mut lat_pos: Option<Pos> = None;
    let mut thresh: Option<std::time::Duration> = None;
    let mut thresh_seen = false;
    let mut tpos = 0u32;
    for (k, v) in m.iter() {
        let is_stream = matches!(kind, Some((ExportKind::Stream, _)));
        let is_service = matches!(kind, Some((ExportKind::Service, _)));
        match k.to_ascii_lowercase().as_str() {
            "stream" => {
                if is_service {
                    cx.err(
                        &v.pos,
                        format!(
                            "Detected stream {} but already saw a service",
                            go_quote(&go_value(&v.value))
                        ),
                    );
                    continue;
                }
                if let Some(p) = &rt_pos {
                    cx.err(p, "Detected response directive on non-service");
                    continue;
                }
                if let Some(p) = &lat_pos {
                    cx.err(p, "Detected latency directive on non-service");
                    continue;
                }
                let Value::String(s) = &v.value else {
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected stream name to be string, got {}",
                            v.value.type_name()
                        ),
                    );
                    continue;
                };
                kind = Some((ExportKind::Stream, s.clone()));
            }
            "service" => {
                if is_stream {
                    cx.err(
                        &v.pos,
                        format!(
                            "Detected service {} but already saw a stream",
                            go_quote(&go_value(&v.value))
                        ),
                    );
                    continue;
                }
                let Value::String(s) = &v.value else {
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected service name to be string, got {}",
                            v.value.type_name()
                        ),
                    );
                    continue;
                };
                kind = Some((ExportKind::Service, s.clone()));
            }
            "response" | "response_type" => {
                if rt_pos.is_some() {
                    cx.err(&v.pos, "Duplicate response type definition");
                    continue;
                }
                rt_pos = Some(v.pos.clone());
                let Value::String(s) = &v.value else {
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected response type to be string, got {}",
                            v.value.type_name()
                        ),
                    );
                    continue;
                };
                rt = Some(match s.to_lowercase().as_str() {
                    "single" | "singleton" => ResponseType::Singleton,
                    "stream" => ResponseType::Streamed,
                    "chunk" | "chunked" => ResponseType::Chunked,
                    _ => {
                        cx.err(&v.pos, format!("Unknown response type: {}", go_quote(s)));
                        continue;
                    }
                });
                if is_stream {
                    cx.err(&v.pos, "Detected response directive on non-service");
                }
            }
            "threshold" | "response_threshold" | "response_max_time" | "response_time" => {
                if thresh_seen {
                    cx.err(&v.pos, "Duplicate response threshold detected");
                    continue;
                }
                thresh_seen = true;
                let Value::String(s) = &v.value else {
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected response threshold to be a parseable time duration, got {}",
                            v.value.type_name()
                        ),
                    );
                    continue;
                };
                match go_duration(s) {
                    Ok(d) => thresh = nanos(d),
                    Err(_) => {
                        cx.err(
                            &v.pos,
                            format!(
                                "Expected response threshold to be a parseable time duration, got {}",
                                go_quote(s)
                            ),
                        );
                        continue;
                    }
                }
                if is_stream {
                    cx.err(&v.pos, "Detected response directive on non-service");
                }
            }
            "accounts" => {
                let list = cx.array(v)?;
                let mut names = Vec::new();
                for n in list {
                    names.push(cx.str(n)?);
                }
                accounts = (!names.is_empty()).then_some(names);
            }
            "latency" => {
                lat_pos = Some(v.pos.clone());
                match parse_latency(cx, v) {
                    Some(l) => lat = Some(l),
                    None => continue,
                }
                if is_stream {
                    cx.err(&v.pos, "Detected latency directive on non-service");
                    continue;
                }
            }
            "account_token_position" => tpos = cx.int(v)? as u32,
            _ => cx.unknown(k, v),
        }
    }
    Ok(kind.map(|(kind, subject)| Export {
        kind,
        subject,
        accounts,
        response_type: if kind == ExportKind::Service {
            rt.unwrap_or_default()
        } else {
            ResponseType::Singleton
        },
        latency: if kind == ExportKind::Service {
            lat
        } else {
            None
        },
        response_threshold: if kind == ExportKind::Service {
            thresh
        } else {
            None
        },
        account_token_position: tpos,
    }))
}

/// Go's `parseServiceLatency`: a subject, or `{ sampling, subject }`.
fn parse_latency(cx: &mut Ctx, item: &Spanned) -> Option<Latency> {
    let m = match &item.value {
        Value::String(s) => {
            return Some(Latency {
                subject: s.clone(),
                sampling: 100,
            })
        }
        Value::Map(m) => m,
        other => {
            cx.err(
                &item.pos,
                format!(
                    "Expected latency entry to be a map/struct or string, got {}",
                    other.type_name()
                ),
            );
            return None;
        }
    };
    let mut sampling = 100u8;
    if let Some(v) = m.get_exact("sampling") {
        let (sample, header) = match &v.value {
            Value::Int(n) => (*n, false),
            Value::String(s) if s.trim().eq_ignore_ascii_case("headers") => (0, true),
            Value::String(s) => {
                let t = s.strip_suffix('%').unwrap_or(s);
                match super::value::atoi(t) {
                    Some(n) => (n, false),
                    None => {
                        cx.err(
                            &v.pos,
                            format!(
                                "Failed to parse latency sample: strconv.Atoi: parsing {}: invalid syntax",
                                go_quote(t)
                            ),
                        );
                        return None;
                    }
                }
            }
            other => {
                cx.err(
                    &v.pos,
                    format!(
                        "Expected latency sample to be a string or map/struct, got {}",
                        other.type_name()
                    ),
                );
                return None;
            }
        };
        if !header && !(1..=100).contains(&sample) {
            cx.err(&v.pos, "bad sampling percentage, should be 1-100");
            return None;
        }
        sampling = sample as u8;
    }
    let Some(v) = m.get_exact("subject") else {
        cx.err(&item.pos, "Latency subject required, but missing");
        return None;
    };
    let Value::String(subject) = &v.value else {
        cx.err(
            &v.pos,
            "Expected latency subject to be a string, got string",
        );
        return None;
    };
    Some(Latency {
        subject: subject.clone(),
        sampling,
    })
}

/// Go's `parseAccountImports`.
pub(crate) fn parse_imports(cx: &mut Ctx, item: &Spanned) -> R<Vec<Import>> {
    let Value::Array(a) = &item.value else {
        cx.err(
            &item.pos,
            format!("Imports should be an array, got {}", item.value.type_name()),
        );
        return Ok(Vec::new());
    };
    let mut out: Vec<Import> = Vec::new();
    for e in a {
        let Some(imp) = parse_import(cx, e)? else {
            continue;
        };
        if imp.kind == ExportKind::Service {
            let to = imp.to.clone().unwrap_or_else(|| imp.subject.clone());
            if let Some(dup) = out.iter().find(|d| {
                d.kind == ExportKind::Service
                    && d.to.clone().unwrap_or_else(|| d.subject.clone()) == to
            }) {
                let msg = format!(
                    "Duplicate service import subject {}, previously used in import for account {}, subject {}",
                    go_quote(&to),
                    go_quote(&dup.account),
                    go_quote(&dup.subject)
                );
                cx.err(&e.pos, msg);
                continue;
            }
        }
        out.push(imp);
    }
    Ok(out)
}

/// Go's `parseImportStreamOrService`.
fn parse_import(cx: &mut Ctx, item: &Spanned) -> R<Option<Import>> {
    let Value::Map(m) = &item.value else {
        cx.err(
            &item.pos,
            format!(
                "Import Items should be a map with type entry, got {}",
                item.value.type_name()
            ),
        );
        return Ok(None);
    };
    let mut cur: Option<Import> = None;
    let mut pre: Option<String> = None;
    let mut to: Option<String> = None;
    let mut share = false;
    for (k, v) in m.iter() {
        let lk = k.to_ascii_lowercase();
        match lk.as_str() {
            "stream" | "service" => {
                let kind = if lk == "stream" {
                    ExportKind::Stream
                } else {
                    ExportKind::Service
                };
                if cur.as_ref().is_some_and(|c| c.kind != kind) {
                    let msg = if kind == ExportKind::Stream {
                        "Detected stream but already saw a service"
                    } else {
                        "Detected service but already saw a stream"
                    };
                    cx.err(&v.pos, msg);
                    continue;
                }
                let Value::Map(am) = &v.value else {
                    let what = if kind == ExportKind::Stream {
                        "Stream"
                    } else {
                        "Service"
                    };
                    cx.err(
                        &v.pos,
                        format!(
                            "{what} entry should be an account map, got {}",
                            v.value.type_name()
                        ),
                    );
                    continue;
                };
                let mut account = String::new();
                let mut subject = String::new();
                for (ak, av) in am.iter() {
                    match ak.to_ascii_lowercase().as_str() {
                        "account" => account = cx.str(av)?,
                        "subject" => subject = cx.str(av)?,
                        _ => cx.unknown(ak, av),
                    }
                }
                if account.is_empty() || subject.is_empty() {
                    cx.err(&v.pos, "Expect an account name and a subject");
                    continue;
                }
                cur = Some(Import {
                    kind,
                    account,
                    subject,
                    to: to.clone(),
                    prefix: if kind == ExportKind::Stream {
                        pre.clone()
                    } else {
                        None
                    },
                    share: kind == ExportKind::Service && share,
                });
            }
            "prefix" => {
                let p = cx.str(v)?;
                pre = Some(p.clone());
                if let Some(c) = cur.as_mut().filter(|c| c.kind == ExportKind::Stream) {
                    c.prefix = Some(p);
                }
            }
            "to" => {
                let t = cx.str(v)?;
                to = Some(t.clone());
                if let Some(c) = cur.as_mut() {
                    c.to = Some(t);
                    if c.kind == ExportKind::Stream
                        && c.prefix.as_deref().is_some_and(|p| !p.is_empty())
                    {
                        cx.err(
                            &v.pos,
                            "Stream import can not have a 'prefix' and a 'to' property",
                        );
                        continue;
                    }
                }
            }
            "share" => {
                share = cx.bool(v)?;
                if let Some(c) = cur.as_mut().filter(|c| c.kind == ExportKind::Service) {
                    c.share = share;
                }
            }
            _ => cx.unknown(k, v),
        }
    }
    Ok(cur)
}
