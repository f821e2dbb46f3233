//! Unit tests of the JWT trust chain and claim reading.

use super::*;
use crate::config::types::ResponsePermission;

#[test]
fn export_subsets() {
    assert!(subset("a.b", "a.>"));
    assert!(subset("a.*", "a.*"));
    assert!(subset("a.b", "a.*"));
    assert!(!subset("a.*", "a.b"));
    assert!(!subset("a.>", "a.*"));
    assert!(subset("a.b.c", "a.>"));
    assert!(!subset("a", "a.>"));
    assert!(!subset("a.b.c", "a.*"));
    assert!(subset("x", "x"));
}

#[test]
fn limits() {
    let mut v = NO_LIMIT;
    assert!(min_limit(&mut v, 10));
    assert_eq!(v, 10);
    assert!(!min_limit(&mut v, NO_LIMIT));
    assert!(!min_limit(&mut v, 20));
    assert!(min_limit(&mut v, 0));
    assert_eq!(v, 0);
    let acc = serde_json::json!({"limits": {"conn": 2}});
    assert_eq!(limit(&acc, "conn"), 2);
    assert_eq!(limit(&acc, "subs"), 0);
    let user = serde_json::json!({"subs": -1});
    assert_eq!(limit(&user, "subs"), NO_LIMIT);
}

#[test]
fn cidr() {
    let ip: IpAddr = "10.1.2.3".parse().unwrap();
    assert_eq!(cidr_contains("10.0.0.0/8", ip), Some(true));
    assert_eq!(cidr_contains("10.2.0.0/16", ip), Some(false));
    assert_eq!(cidr_contains("0.0.0.0/0", ip), Some(true));
    assert_eq!(cidr_contains("::1/128", "::1".parse().unwrap()), Some(true));
    assert_eq!(cidr_contains("bogus", ip), None);
    assert!(src_allowed(&[], ip));
    assert!(!src_allowed(&["192.168.0.0/16".into()], ip));
    assert!(!src_allowed(&["10.0.0.0/8".into(), "x/1".into()], ip));
}

#[test]
fn templates() {
    let v = TemplateVars {
        name: "bob",
        subject: "UABC",
        account_name: "A",
        account_subject: "AKEY",
        tags: vec!["dept:eng".into(), "dept:ops".into(), "x:y".into()],
        account_tags: vec![],
    };
    let t =
        |l: &[&str], strict| apply_template(l.iter().map(|s| s.to_string()).collect(), &v, strict);
    assert_eq!(
        t(&["a.{{name()}}.{{Subject()}}", "{{account-name()}}"], false).unwrap(),
        vec!["a.bob.UABC", "A"]
    );
    assert_eq!(
        t(&["d.{{tag(dept)}}"], false).unwrap(),
        vec!["d.eng", "d.ops"]
    );
    // Unknown functions and spaces give invalid subjects: dropped from
    // allow lists, fatal in deny lists.
    assert_eq!(t(&["a.{{ name() }}", "b"], false).unwrap(), vec!["b"]);
    assert!(t(&["a.{{nope()}}"], true).is_err());
    assert_eq!(t(&["plain"], true).unwrap(), vec!["plain"]);
    let tpl = serde_json::json!({"pub": {"allow": ["{{bad()}}"]}});
    let f = fill_perms(&tpl, &v).unwrap();
    assert_eq!(f["pub"]["deny"], serde_json::json!([">"]));
}

#[test]
fn jwt_permissions() {
    let p: Json = serde_json::json!({"pub": {"allow": ["a.>"]}, "sub": {"deny": ["b"]}});
    let perms = permissions(&p).unwrap();
    assert_eq!(perms.publish.unwrap().allow.unwrap(), vec!["a.>"]);
    assert_eq!(perms.subscribe.unwrap().deny.unwrap(), vec!["b"]);
    assert!(permissions(&serde_json::json!({"pub": {}, "sub": {}})).is_none());
    let r = permissions(&serde_json::json!({"resp": {"max": 0, "ttl": 0}})).unwrap();
    assert_eq!(r.response, Some(ResponsePermission::default()));
    assert_eq!(r.publish.unwrap().allow, Some(Vec::new()));
}
