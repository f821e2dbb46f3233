//! Direct get (`$JS.API.DIRECT.GET.<stream>[.<subject>]`), served by streams
//! with `allow_direct`: the stored message itself, with `Nats-Stream`,
//! `Nats-Subject`, `Nats-Sequence` and `Nats-Time-Stamp` headers, or a
//! status, as nats-server 2.12.4 answers.

use super::Entry;
use serde::Deserialize;

/// The request body (`JSApiMsgGetRequest`), the fields a single get uses.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Request {
    seq: u64,
    last_by_subj: String,
    next_by_subj: String,
    batch: i64,
    multi_last: Vec<String>,
    start_time: Option<String>,
    up_to_seq: u64,
    up_to_time: Option<String>,
    no_hdr: bool,
}

/// An answer: a header block and a payload.
pub type Reply = (Vec<u8>, Vec<u8>);

fn status(line: &str) -> Reply {
    (format!("NATS/1.0 {line}\r\n\r\n").into_bytes(), Vec::new())
}

/// Appends `key: value` to a header block.
fn add_header(hdr: &mut Vec<u8>, key: &str, value: &str) {
    if hdr.ends_with(b"\r\n\r\n") {
        hdr.truncate(hdr.len() - 2);
    }
    hdr.extend_from_slice(format!("{key}: {value}\r\n\r\n").as_bytes());
}

/// Answers a direct get on `subject` (after the stream name, `key` is the
/// subject of a last-by-subject get).
pub fn get(e: &mut Entry, key: Option<&str>, body: &[u8]) -> Reply {
    let mut req = Request::default();
    match key {
        Some(k) => {
            if !body.is_empty() {
                match jsmodel::from_json::<Request>(body) {
                    Ok(r) => req = r,
                    Err(_) => return status("408 Malformed Request"),
                }
            }
            if k.is_empty() {
                return status("408 Bad Request");
            }
            if !req.last_by_subj.is_empty()
                || !req.next_by_subj.is_empty()
                || !req.multi_last.is_empty()
                || req.seq != 0
                || req.batch != 0
                || req.start_time.is_some()
                || req.up_to_seq != 0
                || req.up_to_time.is_some()
            {
                return status("408 Bad Request");
            }
            req.last_by_subj = k.to_string();
        }
        None => {
            if body.is_empty() {
                return status("408 Empty Request");
            }
            req = match jsmodel::from_json(body) {
                Ok(r) => r,
                Err(_) => return status("408 Malformed Request"),
            };
            if req.seq == 0
                && req.last_by_subj.is_empty()
                && req.next_by_subj.is_empty()
                && req.multi_last.is_empty()
                && req.start_time.is_none()
            {
                return status("408 Empty Request");
            }
            let last = !req.last_by_subj.is_empty();
            if (req.seq > 0 && (last || req.start_time.is_some()))
                || (req.start_time.is_some() && last)
                || (last && !req.next_by_subj.is_empty())
                || (last && req.batch > 0)
                || (last && !req.multi_last.is_empty())
                || (!req.next_by_subj.is_empty() && !req.multi_last.is_empty())
                || (req.up_to_seq > 0 && req.up_to_time.is_some())
            {
                return status("408 Bad Request");
            }
        }
    }
    let store = &mut e.stream.store;
    let mut seq = req.seq;
    if let Some(t) = req.start_time.as_deref() {
        seq = jsmodel::consumer::parse_time(t).map_or(0, |ts| store.seq_from_time(ts));
    }
    let found = if !req.next_by_subj.is_empty() {
        store.load_next(&req.next_by_subj, seq)
    } else if seq > 0 {
        store.load(seq)
    } else {
        store.load_last(&req.last_by_subj)
    };
    let Ok(m) = found else {
        return status("404 Message Not Found");
    };
    let ts = super::info::time(m.ts);
    let hdr = if req.no_hdr {
        Vec::new()
    } else if m.hdr().is_empty() {
        format!(
            "NATS/1.0\r\nNats-Stream: {}\r\nNats-Subject: {}\r\nNats-Sequence: {}\r\nNats-Time-Stamp: {ts}\r\n\r\n",
            e.stream.cfg.name, m.subject, m.seq
        )
        .into_bytes()
    } else {
        let mut h = m.hdr().to_vec();
        add_header(&mut h, "Nats-Stream", &e.stream.cfg.name);
        add_header(&mut h, "Nats-Subject", &m.subject);
        add_header(&mut h, "Nats-Sequence", &m.seq.to_string());
        add_header(&mut h, "Nats-Time-Stamp", &ts);
        h
    };
    (hdr, m.msg().to_vec())
}
