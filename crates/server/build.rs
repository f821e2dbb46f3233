//! Records the git commit of the build for INFO `git_commit` and the
//! start-up banner, as nats-server does; empty outside a git checkout.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=RNATSD_GIT_COMMIT={commit}");
    for f in ["../../.git/HEAD", "../../.git/logs/HEAD"] {
        if std::path::Path::new(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
}
