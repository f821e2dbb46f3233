//! `include` directives: path resolution, merging, scoping and failures.

use std::path::{Path, PathBuf};

use conf::Value;

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rnatsd-conf-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn include_is_relative_to_the_including_file() {
    let dir = TempDir::new("relative");
    dir.write("sub/deeper/d.conf", "dd = \"deep\"\n");
    dir.write("sub/a.conf", "sa = 1\ninclude deeper/d.conf\n");
    let main = dir.write("main.conf", "port = 4222\ninclude sub/a.conf\n");
    let m = conf::parse_file(&main).unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), ["port", "sa", "dd"]);
    assert_eq!(m.get("dd").unwrap().value, Value::String("deep".into()));
    // Included entries are positioned in the file that defined them.
    let dd = m.get("dd").unwrap();
    assert_eq!(
        dd.pos.file.as_deref().map(|p| p.as_path()),
        Some(dir.path().join("sub/deeper/d.conf").as_path())
    );
    assert_eq!((dd.pos.line, dd.pos.col), (1, 0));
}

#[test]
fn include_forms_and_keyword_case() {
    let dir = TempDir::new("forms");
    dir.write("a.conf", "a = 1\n");
    dir.write("b c.conf", "b = 2\n");
    dir.write("d.conf", "d = 3\n");
    let main = dir.write(
        "main.conf",
        "include a.conf\nINCLUDE \"b c.conf\"\nInclude 'd.conf'\n",
    );
    let m = conf::parse_file(&main).unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "d"]);
}

#[test]
fn include_inside_a_map_merges_into_it() {
    let dir = TempDir::new("map");
    dir.write(
        "users.conf",
        "users = [ {user: a}, {user: b} ]\ntimeout = 2\n",
    );
    let main = dir.write(
        "main.conf",
        "authorization {\n  include \"users.conf\"\n  timeout = 5\n}\n",
    );
    let m = conf::parse_file(&main).unwrap();
    let auth = m.get("authorization").unwrap().value.as_map().unwrap();
    assert_eq!(
        auth.get("users").unwrap().value.as_array().unwrap().len(),
        2
    );
    // Later definitions win, whichever file they come from.
    assert_eq!(auth.get("timeout").unwrap().value, Value::Int(5));
}

#[test]
fn absolute_include_paths_are_joined_like_go() {
    // Go's filepath.Join appends even an absolute path to the directory.
    let dir = TempDir::new("absolute");
    dir.write("sub/x.conf", "x = 1\n");
    let main = dir.write("main.conf", "include /sub/x.conf\n");
    let m = conf::parse_file(&main).unwrap();
    assert_eq!(m.get("x").unwrap().value, Value::Int(1));
}

#[test]
fn included_files_do_not_see_the_includers_variables() {
    let dir = TempDir::new("scope");
    let inc = dir.write("v.conf", "uses = $outer\n");
    let main = dir.write("main.conf", "outer = 1\ninclude v.conf\n");
    let err = conf::parse_file(&main).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:9: error parsing include file 'v.conf', {}:1:8: variable reference for 'outer' on line 1 can not be found",
            main.display(),
            inc.display()
        )
    );
}

#[test]
fn parse_str_includes_relative_to_current_directory() {
    // cargo runs tests from the package directory.
    let m = conf::parse_str("include tests/fixtures/simple.conf\n").unwrap();
    assert_eq!(m.get("port").unwrap().value, Value::Int(4222));
}

#[test]
fn include_cycles_are_errors() {
    let dir = TempDir::new("cycle");
    dir.write("b.conf", "include a.conf\n");
    let a = dir.write("a.conf", "x = 1\ninclude b.conf\n");
    let err = conf::parse_file(&a).unwrap_err();
    assert!(err.message.contains("include cycle"), "{err}");
    let self_inc = dir.write("self.conf", "include self.conf\ninclude self.conf\n");
    assert!(conf::parse_file(&self_inc).is_err());
}

#[test]
fn missing_config_file() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("nope.conf");
    let err = conf::parse_file(&path).unwrap_err();
    assert_eq!(err.pos, None);
    assert_eq!(
        err.to_string(),
        format!("open {}: no such file or directory", path.display())
    );
}
