//! Accounts: separate subject spaces, and the stream and service imports
//! that connect them (`accounts { A: { users, exports, imports } }`).
//!
//! Every client belongs to one account (`$G`, the global account, unless
//! its user says otherwise) and its subscriptions live in that account's
//! sublist, so messages never cross accounts by themselves. A stream import
//! copies messages published in the exporting account to the importer
//! (under a `prefix` or `to` subject). A service import forwards a request
//! from the importer to the exporter and rewrites its reply subject to a
//! one-time `_R_.` subject in the exporting account, which routes the
//! response back to the requester's reply subject.
//!
//! Layer: core. Owns accounts, their sublists and imports; may use the
//! foundation, `auth`, and the rest of the core (the sublists hold
//! `delivery` subscriptions).

pub mod mapping;

use crate::config::options::Options;
use crate::config::types::ExportKind;
use crate::delivery::outbound::SubRef;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};
use sublist::Sublist;

/// The global account's name.
pub const GLOBAL: &str = "$G";
/// Prefix of rewritten reply subjects of service imports.
pub const REPLY_PREFIX: &[u8] = b"_R_.";
/// How long a rewritten reply subject stays valid.
const RESPONSE_TTL: Duration = Duration::from_secs(120);
/// Most pending responses per account.
const RESPONSES_MAX: usize = 100_000;

/// Messages published in an account that also go to an importing account.
#[derive(Debug)]
pub struct StreamOut {
    /// Exported subject pattern (in the exporting account).
    pub pattern: Box<[u8]>,
    /// The importing account.
    pub to: Weak<Account>,
    /// Prepended to the subject in the importer (`prefix`).
    pub prefix: Option<String>,
    /// Literal subject in the importer (`to`), for literal imports.
    pub rename: Option<String>,
}

/// Requests in this account that go to an exporting account.
#[derive(Debug)]
pub struct ServiceImport {
    /// Subject clients of this account publish to.
    pub local: Box<[u8]>,
    /// Subject in the exporting account.
    pub remote: Box<[u8]>,
    /// The exporting account.
    pub target: Weak<Account>,
}

impl ServiceImport {
    /// Service import `imp` of `exporter`: what the importer publishes to
    /// (`to`, else the exported subject) and the subject in the exporter.
    fn new(imp: &crate::config::types::Import, exporter: &Arc<Account>) -> ServiceImport {
        ServiceImport {
            local: imp
                .to
                .clone()
                .unwrap_or_else(|| imp.subject.clone())
                .into_bytes()
                .into(),
            remote: imp.subject.as_bytes().into(),
            target: Arc::downgrade(exporter),
        }
    }
}

/// Links between accounts, set once after all accounts exist.
#[derive(Debug, Default)]
pub struct Links {
    /// Stream exports with their importers.
    pub streams_out: Vec<StreamOut>,
    /// Service imports of this account.
    pub services: Vec<ServiceImport>,
}

/// Where a response to a rewritten reply subject goes: the requester's
/// account, its reply subject, when the request went out, and whether
/// more than one response may come (a streamed service, such as a request
/// every server of a cluster answers).
type PendingResponse = (Weak<Account>, Box<[u8]>, Instant, bool);

/// One account.
#[derive(Debug)]
pub struct Account {
    /// Name.
    pub name: String,
    /// Its subscriptions.
    pub sublist: Arc<RwLock<Sublist<SubRef>>>,
    /// Imports and exports.
    pub links: OnceLock<Links>,
    /// Rewritten reply subjects: `_R_.x` in this account → (requester's
    /// account, original reply subject).
    responses: Mutex<HashMap<Box<[u8]>, PendingResponse>>,
    /// First token of this account's rewritten reply subjects.
    reply_prefix: String,
    /// Local interest announced to routes: `subject` or `subject queue` →
    /// number of local subscriptions.
    pub route_interest: Mutex<HashMap<Box<[u8]>, u32>>,
    /// Interest in this account's rewritten reply subjects was announced
    /// to routes (responses may come back through another server).
    reply_announced: std::sync::atomic::AtomicBool,
    /// Connected clients in this account (for JWT `limits.conn`).
    pub clients: std::sync::atomic::AtomicI64,
    /// Subject mappings applied to what its clients publish.
    pub mappings: OnceLock<Vec<mapping::SubjectMapping>>,
    /// What its closed clients sent and received: messages and bytes in,
    /// messages and bytes out, slow consumers (live ones are counted on
    /// their connections).
    pub closed_stats: Mutex<[u64; 5]>,
    /// Its connections on the other servers of the cluster, by server id
    /// (from their announcements), and their sum.
    remote_conns: Mutex<HashMap<String, i64>>,
    /// The sum of `remote_conns`.
    pub remote_total: std::sync::atomic::AtomicI64,
}

/// `n` random characters from nats-server's reply alphabet.
fn random_token(n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|_| DIGITS[fastrand::usize(..DIGITS.len())] as char)
        .collect()
}

impl Account {
    /// A new, unlinked account.
    pub fn new(name: &str, sublist: Arc<RwLock<Sublist<SubRef>>>) -> Arc<Account> {
        Arc::new(Account {
            name: name.to_string(),
            sublist,
            links: OnceLock::new(),
            responses: Mutex::new(HashMap::new()),
            reply_prefix: random_token(6),
            route_interest: Mutex::new(HashMap::new()),
            reply_announced: std::sync::atomic::AtomicBool::new(false),
            clients: std::sync::atomic::AtomicI64::new(0),
            mappings: OnceLock::new(),
            closed_stats: Mutex::new([0; 5]),
            remote_conns: Mutex::new(HashMap::new()),
            remote_total: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// Records server `server`'s count of this account's connections;
    /// returns the other servers' total.
    pub fn set_remote_conns(&self, server: &str, conns: i64) -> i64 {
        let mut m = self.remote_conns.lock();
        if conns <= 0 {
            m.remove(server);
        } else {
            m.insert(server.to_string(), conns);
        }
        let total: i64 = m.values().sum();
        self.remote_total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        total
    }

    /// True when messages published here may go to other accounts.
    pub fn has_links(&self) -> bool {
        self.links
            .get()
            .is_some_and(|l| !l.streams_out.is_empty() || !l.services.is_empty())
    }

    /// Records a rewritten reply subject and returns it.
    pub fn add_response(&self, from: &Arc<Account>, reply: &[u8]) -> Vec<u8> {
        self.add_response_kind(from, reply, false)
    }

    /// Records a rewritten reply subject that takes any number of responses
    /// until it expires.
    pub fn add_streamed_response(&self, from: &Arc<Account>, reply: &[u8]) -> Vec<u8> {
        self.add_response_kind(from, reply, true)
    }

    fn add_response_kind(&self, from: &Arc<Account>, reply: &[u8], streamed: bool) -> Vec<u8> {
        // `_R_.<account prefix>.<random>`, shaped as nats-server makes them.
        let mut id = REPLY_PREFIX.to_vec();
        id.extend_from_slice(self.reply_prefix.as_bytes());
        id.push(b'.');
        id.extend_from_slice(random_token(6).as_bytes());
        let mut r = self.responses.lock();
        if r.len() >= RESPONSES_MAX {
            r.retain(|_, (_, _, at, _)| at.elapsed() < RESPONSE_TTL);
        }
        r.insert(
            id.clone().into(),
            (Arc::downgrade(from), reply.into(), Instant::now(), streamed),
        );
        id
    }

    /// `_R_.<prefix>.>` the first time it is asked for: the interest to
    /// announce to routes so responses from other servers come back here.
    pub fn reply_wildcard_once(&self) -> Option<Vec<u8>> {
        if self
            .reply_announced
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return None;
        }
        let mut w = REPLY_PREFIX.to_vec();
        w.extend_from_slice(self.reply_prefix.as_bytes());
        w.extend_from_slice(b".>");
        Some(w)
    }

    /// `_R_.<prefix>.>` once it has been announced.
    pub fn reply_wildcard(&self) -> Option<Vec<u8>> {
        if !self
            .reply_announced
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return None;
        }
        let mut w = REPLY_PREFIX.to_vec();
        w.extend_from_slice(self.reply_prefix.as_bytes());
        w.extend_from_slice(b".>");
        Some(w)
    }

    /// Takes the route of a response published to a rewritten reply subject.
    pub fn take_response(&self, subject: &[u8]) -> Option<(Arc<Account>, Box<[u8]>)> {
        if !subject.starts_with(REPLY_PREFIX) {
            return None;
        }
        let mut r = self.responses.lock();
        let (acc, reply, at) = match r.get(subject) {
            Some((acc, reply, at, true)) if at.elapsed() <= RESPONSE_TTL => {
                (acc.clone(), reply.clone(), *at)
            }
            _ => {
                let (acc, reply, at, _) = r.remove(subject)?;
                (acc, reply, at)
            }
        };
        drop(r);
        if at.elapsed() > RESPONSE_TTL {
            return None;
        }
        Some((acc.upgrade()?, reply))
    }
}

/// Maps a subject through a stream import.
pub fn stream_subject(out: &StreamOut, subject: &[u8]) -> Vec<u8> {
    match (&out.prefix, &out.rename) {
        (Some(p), _) => {
            let mut v = p.trim_end_matches('.').as_bytes().to_vec();
            v.push(b'.');
            v.extend_from_slice(subject);
            v
        }
        (None, Some(to)) if sublist::is_literal(out.pattern.as_ref()) => to.as_bytes().to_vec(),
        _ => subject.to_vec(),
    }
}

/// All accounts of a server.
#[derive(Debug)]
pub struct Accounts {
    by_name: RwLock<HashMap<String, Arc<Account>>>,
    global: Arc<Account>,
}

impl Accounts {
    /// The accounts configured in `opts`; `global` is the `$G` sublist.
    /// In operator mode, every account JWT of `trust` is an account named
    /// by its public key.
    pub fn new(
        opts: &Options,
        global: Arc<RwLock<Sublist<SubRef>>>,
        trust: Option<&crate::auth::jwt::Trust>,
    ) -> Accounts {
        let global = Account::new(GLOBAL, global);
        let mut by_name = HashMap::new();
        by_name.insert(GLOBAL.to_string(), global.clone());
        for key in trust.iter().flat_map(|t| t.account_keys()) {
            by_name.insert(
                key.clone(),
                Account::new(key, Arc::new(RwLock::new(Sublist::new()))),
            );
        }
        for a in &opts.accounts {
            by_name
                .entry(a.name.clone())
                .or_insert_with(|| Account::new(&a.name, Arc::new(RwLock::new(Sublist::new()))));
        }
        // The system account always exists (unless `no_system_account`),
        // with users or not.
        if let Some(sys) = opts.system_account_name() {
            by_name
                .entry(sys.clone())
                .or_insert_with(|| Account::new(&sys, Arc::new(RwLock::new(Sublist::new()))));
        }
        let mut links: HashMap<String, Links> = HashMap::new();
        let mut importers: Vec<(String, Vec<crate::config::types::Import>)> = opts
            .accounts
            .iter()
            .map(|a| (a.name.clone(), a.imports.clone()))
            .collect();
        if let Some(t) = trust {
            for key in t.account_keys() {
                importers.push((key.clone(), t.imports(key)));
            }
        }
        for (name, imports) in &importers {
            let Some(importer) = by_name.get(name) else {
                continue;
            };
            for imp in imports {
                let Some(exporter) = by_name.get(&imp.account) else {
                    continue;
                };
                match imp.kind {
                    ExportKind::Stream => links
                        .entry(imp.account.clone())
                        .or_default()
                        .streams_out
                        .push(StreamOut {
                            pattern: imp.subject.as_bytes().into(),
                            to: Arc::downgrade(importer),
                            prefix: imp.prefix.clone(),
                            rename: imp.to.clone(),
                        }),
                    ExportKind::Service => links
                        .entry(name.clone())
                        .or_default()
                        .services
                        .push(ServiceImport::new(imp, exporter)),
                }
            }
        }
        for (name, acc) in &by_name {
            let _ = acc.links.set(links.remove(name).unwrap_or_default());
            let configured = if name == GLOBAL {
                Some(&opts.mappings)
            } else {
                opts.accounts
                    .iter()
                    .find(|a| &a.name == name)
                    .map(|a| &a.mappings)
            };
            let js_domain = opts
                .jetstream
                .domain
                .as_deref()
                .filter(|d| !d.is_empty() && opts.jetstream.enabled)
                .filter(|_| {
                    if trust.is_some_and(|t| t.jetstream(name).is_some()) {
                        true
                    } else if opts.accounts.is_empty() {
                        name == GLOBAL
                    } else {
                        opts.accounts
                            .iter()
                            .any(|a| &a.name == name && a.jetstream.is_some())
                    }
                });
            let mut all: Vec<crate::config::types::Mapping> =
                configured.into_iter().flatten().cloned().collect();
            if let Some(d) = js_domain {
                for m in mapping::js_domain_mappings(d) {
                    if !all.iter().any(|c| c.source == m.source) {
                        all.push(m);
                    }
                }
            }
            let maps = all
                .iter()
                .filter_map(mapping::SubjectMapping::new)
                .collect();
            let _ = acc.mappings.set(maps);
        }
        Accounts {
            by_name: RwLock::new(by_name),
            global,
        }
    }

    /// The account named `name`, or the global one.
    pub fn get(&self, name: Option<&str>) -> Arc<Account> {
        name.and_then(|n| self.by_name.read().get(n).cloned())
            .unwrap_or_else(|| self.global.clone())
    }

    /// The account named `name` (as bytes from a route), if it exists.
    pub fn lookup(&self, name: &[u8]) -> Option<Arc<Account>> {
        let n = std::str::from_utf8(name).ok()?;
        self.by_name.read().get(n).cloned()
    }

    /// True when an account of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.read().contains_key(name)
    }

    /// Every account, for monitoring.
    pub fn all(&self) -> Vec<Arc<Account>> {
        self.by_name.read().values().cloned().collect()
    }

    /// Adds an account at run time (an account JWT pushed to the resolver)
    /// with its service `imports`; returns it, or the existing one of that
    /// name. Stream imports need the exporter's links, which are set once:
    /// they apply from the next start.
    /// With `js_domain`, the account gets the `$JS.<domain>.API` mappings of
    /// a JetStream account.
    pub fn add(
        &self,
        name: &str,
        imports: &[crate::config::types::Import],
        js_domain: Option<&str>,
    ) -> Arc<Account> {
        if let Some(a) = self.by_name.read().get(name) {
            return a.clone();
        }
        let acc = Account::new(name, Arc::new(RwLock::new(Sublist::new())));
        let mut links = Links::default();
        for imp in imports {
            let Some(exporter) = self.lookup(imp.account.as_bytes()) else {
                continue;
            };
            match imp.kind {
                ExportKind::Service => links.services.push(ServiceImport::new(imp, &exporter)),
                ExportKind::Stream => crate::warn!(
                    "Stream import of {:?} into account {name} applies from the next start",
                    imp.subject
                ),
            }
        }
        let _ = acc.links.set(links);
        let maps = js_domain
            .into_iter()
            .flat_map(mapping::js_domain_mappings)
            .filter_map(|m| mapping::SubjectMapping::new(&m))
            .collect();
        let _ = acc.mappings.set(maps);
        self.by_name
            .write()
            .entry(name.to_string())
            .or_insert(acc)
            .clone()
    }
}
