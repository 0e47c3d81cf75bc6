//! Records the commit the binary is built from, for `gridlink --version`:
//! `GRIDLINK_BUILD_COMMIT` when set (a build from a source archive), else
//! what git says, else "unknown commit".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GRIDLINK_BUILD_COMMIT");
    for watched in ["../.git/HEAD", "../.git/refs/heads", "../.git/packed-refs"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let commit = std::env::var("GRIDLINK_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown commit".to_owned());
    println!("cargo:rustc-env=GRIDLINK_COMMIT={}", commit.trim());
}

fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?;
    let commit = commit.trim();
    if !output.status.success() || commit.is_empty() {
        return None;
    }
    Some(commit.to_owned())
}
