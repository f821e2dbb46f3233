//! `authorization` blocks, user lists, nkey users and permissions.

use super::types::{
    AuthCallout, NkeyUser, Permissions, ResponsePermission, SubjectPermission, UserEntry,
};
use super::value::{
    fields, go_duration, go_quote, nanos, valid_public_nkey, valid_subject, Ctx, R,
};
use conf::{Spanned, Value};

/// What an `authorization` block holds (nats-server's `authorization`).
#[derive(Debug, Default)]
pub(crate) struct Authorization {
    pub user: String,
    pub pass: String,
    pub token: String,
    pub timeout: f64,
    /// `Some` as soon as a `users` key is present, even if empty.
    pub users: Option<Vec<UserEntry>>,
    pub nkeys: Vec<NkeyUser>,
    pub default_permissions: Option<Permissions>,
    pub auth_callout: Option<AuthCallout>,
    pub proxy_required: bool,
}

/// Go's `parseAuthCallout`.
fn parse_auth_callout(cx: &mut Ctx, item: &Spanned) -> R<Option<AuthCallout>> {
    let Value::Map(m) = &item.value else {
        cx.err(
            &item.pos,
            format!(
                "Expected authorization callout to be a map/struct, got {}",
                go_value(&item.value)
            ),
        );
        return Ok(None);
    };
    let mut ac = AuthCallout::default();
    // Go reports the missing fields at the last value it read.
    let mut last = &item.pos;
    for (k, v) in m.iter() {
        last = &v.pos;
        match k.to_ascii_lowercase().as_str() {
            "issuer" => {
                ac.issuer = cx.str(v)?;
                if !valid_public_key(&ac.issuer, 'A') {
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected callout user to be a valid public account nkey, got {}",
                            go_quote(&ac.issuer)
                        ),
                    );
                    return Ok(None);
                }
            }
            "account" | "acc" => ac.account = cx.str(v)?,
            "auth_users" | "users" | "allowed_accounts" => {
                let Value::Array(a) = &v.value else {
                    let what = if k.eq_ignore_ascii_case("allowed_accounts") {
                        "allowed accounts field"
                    } else {
                        "auth_users field"
                    };
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected {what} to be an array, got {}",
                            v.value.type_name()
                        ),
                    );
                    return Ok(None);
                };
                let mut list = Vec::new();
                for e in a {
                    list.push(cx.str(e)?);
                }
                if k.eq_ignore_ascii_case("allowed_accounts") {
                    ac.allowed_accounts = list;
                } else {
                    ac.auth_users.extend(list);
                }
            }
            "xkey" | "key" => {
                let x = cx.str(v)?;
                if !valid_public_key(&x, 'X') {
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected callout xkey to be a valid public xkey, got {}",
                            go_quote(&x)
                        ),
                    );
                    return Ok(None);
                }
                ac.xkey = Some(x);
            }
            _ => {
                if !cx.used_vars.contains(k) {
                    cx.err(
                        &v.pos,
                        format!(
                            "Unknown field {} parsing authorization callout",
                            go_quote(k)
                        ),
                    );
                }
            }
        }
    }
    if ac.account.is_empty() {
        ac.account = "$G".into();
    }
    if ac.issuer.is_empty() {
        cx.err(
            last,
            "Authorization callouts require an issuer to be specified",
        );
        return Ok(None);
    }
    if ac.auth_users.is_empty() {
        cx.err(
            last,
            "Authorization callouts require authorized users to be specified",
        );
        return Ok(None);
    }
    Ok(Some(ac))
}

/// A public nkey of the kind its first letter names (`A`, `U`, `X`, ...).
fn valid_public_key(key: &str, prefix: char) -> bool {
    if !key.starts_with(prefix) {
        return false;
    }
    if prefix == 'X' {
        nkeys::XKey::from_public_key(key).is_ok()
    } else {
        nkeys::KeyPair::from_public_key(key).is_ok()
    }
}

/// Go's `parseAuthorization`.
pub(crate) fn parse_authorization(cx: &mut Ctx, item: &Spanned) -> R<Authorization> {
    let m = cx.map(item)?;
    let mut auth = Authorization::default();
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "user" | "username" => auth.user = cx.str(v)?,
            "pass" | "password" => auth.pass = cx.str(v)?,
            "token" => auth.token = cx.str(v)?,
            "timeout" => auth.timeout = Ctx::auth_timeout(v),
            "users" => match parse_users(cx, v) {
                Ok(Some((nkeys, users))) => {
                    auth.users = Some(users);
                    auth.nkeys = nkeys;
                }
                Ok(None) => {}
                Err(e) => return Err(e),
            },
            "default_permission" | "default_permissions" | "permissions" => {
                if let Some(p) = parse_user_permissions(cx, v)? {
                    auth.default_permissions = Some(p);
                }
            }
            "auth_callout" | "auth_hook" => {
                auth.auth_callout = parse_auth_callout(cx, v)?;
            }
            "proxy_required" => auth.proxy_required = cx.bool(v)?,
            _ => {
                cx.unknown(k, v);
                continue;
            }
        }
        apply_default_permissions(
            auth.users.as_deref_mut().unwrap_or_default(),
            &mut auth.nkeys,
            auth.default_permissions.as_ref(),
        );
    }
    Ok(auth)
}

/// Gives users without permissions the defaults.
pub(crate) fn apply_default_permissions(
    users: &mut [UserEntry],
    nkeys: &mut [NkeyUser],
    defaults: Option<&Permissions>,
) {
    let Some(d) = defaults else { return };
    for u in users.iter_mut().filter(|u| u.permissions.is_none()) {
        u.permissions = Some(d.clone());
    }
    for u in nkeys.iter_mut().filter(|u| u.permissions.is_none()) {
        u.permissions = Some(d.clone());
    }
}

/// Go's `parseUsers`. `Ok(None)`: an error was recorded and the list is
/// dropped (Go returns an error value, not a panic).
pub(crate) fn parse_users(
    cx: &mut Ctx,
    item: &Spanned,
) -> R<Option<(Vec<NkeyUser>, Vec<UserEntry>)>> {
    let Value::Array(list) = &item.value else {
        cx.err(
            &item.pos,
            format!(
                "Expected users field to be an array, got {}",
                go_value(&item.value)
            ),
        );
        return Ok(None);
    };
    let mut nkeys = Vec::new();
    let mut users = Vec::new();
    for u in list {
        let Value::Map(um) = &u.value else {
            cx.err(
                &u.pos,
                format!(
                    "Expected user entry to be a map/struct, got {}",
                    go_value(&u.value)
                ),
            );
            continue;
        };
        let mut user = UserEntry::default();
        let mut nkey = NkeyUser::default();
        let mut perms = None;
        let mut last = u;
        for (k, v) in um.iter() {
            last = v;
            match k.to_ascii_lowercase().as_str() {
                "nkey" => nkey.nkey = cx.str(v)?,
                "user" | "username" => user.username = cx.str(v)?,
                "pass" | "password" => user.password = cx.str(v)?,
                "permission" | "permissions" | "authorization" => {
                    if let Some(p) = parse_user_permissions(cx, v)? {
                        perms = Some(p);
                    }
                }
                "allowed_connection_types" | "connection_types" | "clients" => {
                    let cts = parse_connection_types(cx, v);
                    nkey.allowed_connection_types = cts.clone();
                    user.allowed_connection_types = cts;
                }
                // Users that must come through a trusted proxy (2.12).
                "proxy_required" => {
                    cx.bool(v)?;
                }
                _ => cx.unknown(k, v),
            }
        }
        if let Some(p) = perms {
            if nkey.nkey.is_empty() {
                user.permissions = Some(p);
            } else {
                nkey.permissions = Some(p);
            }
        }
        if nkey.nkey.is_empty() && user.username.is_empty() {
            cx.err(&last.pos, "User entry requires a user");
            return Ok(None);
        } else if !nkey.nkey.is_empty() {
            if !valid_public_nkey(&nkey.nkey, 'U') {
                cx.err(&last.pos, "Not a valid public nkey for a user");
                return Ok(None);
            }
            if !user.username.is_empty() || !user.password.is_empty() {
                cx.err(&last.pos, "Nkey users do not take usernames or passwords");
                return Ok(None);
            }
            nkeys.push(nkey);
        } else {
            users.push(user);
        }
    }
    Ok(Some((nkeys, users)))
}

/// Go's `%v` of a config value, for messages that print one.
pub(crate) fn go_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e21 {
                format!("{f:.0}")
            } else {
                f.to_string()
            }
        }
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(|_| "0xc000000000".to_string()).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Map(_) => "map[...]".into(),
    }
}

const CONNECTION_TYPES: &[&str] = &[
    "STANDARD",
    "WEBSOCKET",
    "LEAFNODE",
    "LEAFNODE_WS",
    "MQTT",
    "MQTT_WS",
];

/// `allowed_connection_types`: a string or an array of strings, each a
/// known type (case-insensitive).
fn parse_connection_types(cx: &mut Ctx, item: &Spanned) -> Option<Vec<String>> {
    let list = parse_string_array(cx, "allowed connection types", item)?;
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for s in list {
        let up = s.to_uppercase();
        if CONNECTION_TYPES.contains(&up.as_str()) {
            if !out.contains(&up) {
                out.push(up);
            }
        } else {
            unknown.push(go_quote(&up));
        }
    }
    if !unknown.is_empty() {
        cx.err(
            &item.pos,
            format!("invalid connection types [{}]", unknown.join(" ")),
        );
    }
    Some(out)
}

/// Go's `parseStringArray`: a string or an array of strings.
pub(crate) fn parse_string_array(cx: &mut Ctx, field: &str, item: &Spanned) -> Option<Vec<String>> {
    match &item.value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => {
            let mut out = Vec::new();
            for v in a {
                match &v.value {
                    Value::String(s) => out.push(s.clone()),
                    other => cx.err(
                        &v.pos,
                        format!(
                            "error parsing {field}: unsupported type in array {}",
                            other.type_name()
                        ),
                    ),
                }
            }
            Some(out)
        }
        other => {
            cx.err(
                &item.pos,
                format!(
                    "error parsing {field}: unsupported type {}",
                    other.type_name()
                ),
            );
            None
        }
    }
}

/// Go's `parseUserPermissions`. `Ok(None)`: error recorded, no permissions.
pub(crate) fn parse_user_permissions(cx: &mut Ctx, item: &Spanned) -> R<Option<Permissions>> {
    let Value::Map(pm) = &item.value else {
        cx.err(
            &item.pos,
            format!(
                "Expected permissions to be a map/struct, got {}",
                go_value(&item.value)
            ),
        );
        return Ok(None);
    };
    let mut p = Permissions::default();
    for (k, v) in pm.iter() {
        match k.to_ascii_lowercase().as_str() {
            "pub" | "publish" | "import" => {
                if let Some(sp) = parse_variable_permissions(cx, v, false)? {
                    p.publish = sp;
                }
            }
            "sub" | "subscribe" | "export" => {
                if let Some(sp) = parse_variable_permissions(cx, v, false)? {
                    p.subscribe = sp;
                }
            }
            "publish_allow_responses" | "allow_responses" => {
                match &v.value {
                    Value::Bool(true) => p.response = Some(ResponsePermission::default()),
                    Value::Bool(false) => {}
                    _ => p.response = parse_allow_responses(cx, v)?,
                }
                if p.response.is_some() {
                    let publish = p.publish.get_or_insert_with(SubjectPermission::default);
                    if publish.allow.is_none() {
                        publish.allow = Some(Vec::new());
                    }
                }
            }
            _ => cx.unknown_msg(
                k,
                v,
                format!("Unknown field {} parsing permissions", go_quote(k)),
            ),
        }
    }
    Ok(Some(p))
}

/// Go's `parseVariablePermissions`: a map with allow/deny, or the old
/// style (a subject or a list). `Ok(Some(None))` is an empty map. Errors
/// on subjects here carry no position when `positioned` is false, as in Go.
fn parse_variable_permissions(
    cx: &mut Ctx,
    item: &Spanned,
    positioned: bool,
) -> R<Option<Option<SubjectPermission>>> {
    match &item.value {
        Value::Map(m) => {
            if m.is_empty() {
                return Ok(Some(None));
            }
            let mut sp = SubjectPermission::default();
            for (k, v) in m.iter() {
                match k.to_ascii_lowercase().as_str() {
                    "allow" => {
                        if let Some(s) = parse_perm_subjects(cx, v, true)? {
                            sp.allow = Some(s);
                        }
                    }
                    "deny" => {
                        if let Some(s) = parse_perm_subjects(cx, v, true)? {
                            sp.deny = Some(s);
                        }
                    }
                    _ => cx.unknown_msg(
                        k,
                        v,
                        format!(
                            "Unknown field name {} parsing subject permissions, only 'allow' or 'deny' are permitted",
                            go_quote(k)
                        ),
                    ),
                }
            }
            Ok(Some(Some(sp)))
        }
        _ => Ok(parse_perm_subjects(cx, item, positioned)?.map(|s| {
            Some(SubjectPermission {
                allow: Some(s),
                deny: None,
            })
        })),
    }
}

/// Go's `parsePermSubjects`: a subject or an array of subjects, each valid
/// (a queue-qualified `subject queue` is accepted). `Ok(None)`: error recorded.
pub(crate) fn parse_perm_subjects(
    cx: &mut Ctx,
    item: &Spanned,
    positioned: bool,
) -> R<Option<Vec<String>>> {
    let report = |cx: &mut Ctx, pos: &conf::Pos, msg: String| {
        if positioned {
            cx.err(pos, msg)
        } else {
            cx.err_bare(msg)
        }
    };
    let subjects = match &item.value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => {
            let mut out = Vec::new();
            for v in a {
                match &v.value {
                    Value::String(s) => out.push(s.clone()),
                    _ => {
                        cx.err(
                            &v.pos,
                            "Subject in permissions array cannot be cast to string",
                        );
                        return Ok(None);
                    }
                }
            }
            out
        }
        other => {
            report(
                cx,
                &item.pos,
                format!(
                    "Expected subject permissions to be a subject, or array of subjects, got {}",
                    other.type_name()
                ),
            );
            return Ok(None);
        }
    };
    for s in &subjects {
        if !valid_subject(s) {
            let parts = fields(s);
            let bad = if parts.len() != 2 {
                Some(s.as_str())
            } else if !valid_subject(parts[0]) {
                Some(parts[0])
            } else {
                None
            };
            if let Some(b) = bad {
                report(
                    cx,
                    &item.pos,
                    format!("subject {} is not a valid subject", go_quote(b)),
                );
                return Ok(None);
            }
        }
    }
    Ok(Some(subjects))
}

/// Go's `parseAllowResponses` (the map form).
fn parse_allow_responses(cx: &mut Ctx, item: &Spanned) -> R<Option<ResponsePermission>> {
    let Value::Map(m) = &item.value else {
        cx.err(
            &item.pos,
            "error parsing response permissions, expected a boolean or a map",
        );
        return Ok(None);
    };
    let mut rp = ResponsePermission::default();
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "max" | "max_msgs" | "max_messages" | "max_responses" => {
                let n = cx.int(v)?;
                if n != 0 {
                    rp.max_msgs = n;
                }
            }
            "expires" | "expiration" | "ttl" => match &v.value {
                Value::String(s) => match go_duration(s) {
                    Ok(0) => {}
                    Ok(d) => rp.expires = nanos(d),
                    Err(e) => {
                        cx.err(&v.pos, format!("error parsing expires: {e}"));
                        return Ok(None);
                    }
                },
                _ => {
                    cx.err(&v.pos, "error parsing expires, not a duration string");
                    return Ok(None);
                }
            },
            _ => cx.unknown_msg(
                k,
                v,
                format!("Unknown field {} parsing permissions", go_quote(k)),
            ),
        }
    }
    Ok(Some(rp))
}

/// Go's `parseSimpleAuth` (websocket and MQTT `authorization`).
pub(crate) fn parse_simple_auth(cx: &mut Ctx, item: &Spanned) -> R<Authorization> {
    let m = cx.map(item)?;
    let mut auth = Authorization::default();
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "user" | "username" => auth.user = cx.str(v)?,
            "pass" | "password" => auth.pass = cx.str(v)?,
            "token" => auth.token = cx.str(v)?,
            "timeout" => auth.timeout = Ctx::auth_timeout(v),
            _ => cx.unknown(k, v),
        }
    }
    Ok(auth)
}

/// A non-empty string as an option.
pub(crate) fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}
