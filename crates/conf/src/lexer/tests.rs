//! Unit tests for the lexer.

use super::*;

fn kinds(src: &str) -> Vec<(Kind, String)> {
    let mut lx = Lexer::new(src.as_bytes());
    let mut out = Vec::new();
    loop {
        let it = lx.next_item();
        let stop = matches!(it.kind, Kind::Eof | Kind::Error);
        out.push((it.kind, it.val));
        if stop {
            return out;
        }
    }
}

#[test]
fn simple_tokens() {
    use Kind::*;
    let got = kinds("foo = [1, 'a', \"b\\tc\", yes, $v, 1.5, 2m]\n");
    let want = [
        (Key, "foo"),
        (ArrayStart, ""),
        (Integer, "1"),
        (String, "a"),
        (String, "b\tc"),
        (Bool, "yes"),
        (Variable, "v"),
        (Float, "1.5"),
        (String, "2m"), // "]" does not end a number in Go
        (ArrayEnd, ""),
        (Eof, ""),
    ];
    let want: Vec<_> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn comments_and_includes() {
    use Kind::*;
    let got = kinds("a 1 # x\ninclude \"f.conf\"\n");
    let want = [
        (Key, "a"),
        (Integer, "1"),
        (CommentStart, ""),
        (Text, " x"),
        (Include, "f.conf"),
        (Eof, ""),
    ];
    let want: Vec<_> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn positions_follow_go() {
    let mut lx = Lexer::new(b"a = 1\n  bb = 2\n");
    let a = lx.next_item();
    assert_eq!((a.line, a.col), (1, 0));
    let one = lx.next_item();
    assert_eq!((one.line, one.col), (1, 4));
    let bb = lx.next_item();
    assert_eq!((bb.kind, bb.line, bb.col), (Kind::Key, 2, 3));
}

#[test]
fn error_stops_lexing() {
    let mut lx = Lexer::new(b"a = 1 x\n");
    assert_eq!(lx.next_item().kind, Kind::Key);
    assert_eq!(lx.next_item().kind, Kind::Integer);
    let err = lx.next_item();
    assert_eq!(err.kind, Kind::Error);
    assert_eq!((err.line, err.col), (1, 6));
    assert_eq!(lx.next_item().kind, Kind::Eof);
    assert_eq!(lx.next_item().kind, Kind::Eof);
}
