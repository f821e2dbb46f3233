//! No input may panic, overflow the stack or blow up memory: every input
//! returns `Ok` or `Err`.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "a",
    "key",
    "include ",
    "include",
    " ",
    "\t",
    "\n",
    "\r\n",
    "=",
    ":",
    ";",
    ",",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\n)\n",
    "'",
    "\"",
    "#",
    "//",
    "/",
    "\\",
    "\\x4",
    "\\xzz",
    "\\t",
    "1",
    "-",
    ".",
    "0.5",
    "1.2.3.4:5",
    "2016-05-04T18:53:41Z",
    "2016-",
    "1k",
    "2MiB",
    "1e",
    "3kbb",
    "true",
    "$",
    "$a",
    "$key",
    "$2a$x",
    "$RNATSD_CONF_ROBUST",
    "é",
    "\u{663}",
    "\u{a0}",
    "\0",
    "\u{feff}",
    "99999999999999999999",
    "nats://h:1",
];

fn check(input: &str) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _ = conf::parse_str(input);
        let _ = conf::parse_bytes(input.as_bytes());
    }));
    assert!(result.is_ok(), "parser panicked on {input:?}");
}

fn check_bytes(input: &[u8]) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _ = conf::parse_bytes(input);
        let _ = conf::parse_str(&String::from_utf8_lossy(input));
    }));
    assert!(result.is_ok(), "parser panicked on {input:?}");
}

#[test]
fn random_garbage_never_panics() {
    std::env::set_var("RNATSD_CONF_ROBUST", "$RNATSD_CONF_ROBUST");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_bytes(&bytes);
    }
    for _ in 0..3000 {
        let n = 1 + rng.below(30);
        let text: String = (0..n)
            .map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())])
            .collect();
        check(&text);
    }
}

#[test]
fn truncated_and_mutated_fixtures_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let mut rng = Rng(42);
    for name in ["simple.conf", "nkeys.conf", "hub.conf"] {
        let text = std::fs::read(format!("{dir}{name}")).unwrap();
        for end in 0..=text.len() {
            check_bytes(&text[..end]);
        }
        for _ in 0..300 {
            let mut t = text.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(t.len() + 1);
                match rng.below(3) {
                    0 if at < t.len() => {
                        t.remove(at);
                    }
                    1 => t.insert(at, rng.next() as u8),
                    _ => {
                        let frag = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
                        t.splice(at..at, frag.iter().copied());
                    }
                }
            }
            check_bytes(&t);
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for open in ["[", "{ a = ", "[{a:", "{a {", "{ y = [ "] {
        let src = format!("k = {}", open.repeat(100_000));
        let e = conf::parse_str(&src).unwrap_err();
        assert!(e.message.contains("nested deeper than 256"), "{open}: {e}");
    }
    // Top-level `{ }` blocks nest without building values; like Go, an
    // unclosed top-level block is accepted.
    let blocks = "{".repeat(200_000);
    assert!(conf::parse_str(&blocks).unwrap().is_empty());
    let balanced = format!("{}a = 1{}", "{\n".repeat(10_000), "\n}".repeat(10_000));
    assert_eq!(conf::parse_str(&balanced).unwrap().len(), 1);
}

#[test]
fn deep_nesting_in_a_small_thread_stack() {
    // The parser is iterative; even a small stack handles the maximum depth.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let src = format!("a = {} 1 {}", "[".repeat(256), " ]".repeat(256));
            let m = conf::parse_str(&src).unwrap();
            drop(m);
            let _ = conf::parse_str(&format!("a = {}", "[".repeat(1_000_000)));
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn exponential_variable_expansion_is_bounded() {
    let mut src = String::from("v0 = [1, 2 ]\n");
    for i in 1..64 {
        src.push_str(&format!("v{i} = [$v{p}, $v{p} ]\n", p = i - 1));
    }
    let e = conf::parse_str(&src).unwrap_err();
    assert!(e.message.contains("more than"), "{e}");
}

#[test]
fn large_flat_configs_are_fine() {
    let mut src = String::from("resolver_preload {\n");
    for i in 0..50_000 {
        src.push_str(&format!(
            "  ACCOUNT{i}: eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.x{i}.y\n"
        ));
    }
    src.push_str("}\n");
    let m = conf::parse_str(&src).unwrap();
    let preload = m.get("resolver_preload").unwrap().value.as_map().unwrap();
    assert_eq!(preload.len(), 50_000);
    assert!(preload.get("account49999").is_some());
}
