//! The server's floors (`docs/architecture.md`): each top-level folder of
//! `server/src` imports only the folders below it, so a newcomer can read one
//! floor without the ones above. This test reads every source file and fails
//! on a `crate::` path (in code or in a doc link) that reaches up or across,
//! and on HTTP types below `http`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each floor and the floors it may import, lowest first.
const FLOORS: &[(&str, &[&str])] = &[
    ("infra", &[]),
    ("domain", &["infra"]),
    ("jobs", &["domain", "infra"]),
    ("http", &["jobs", "domain", "infra"]),
    ("tools", &["infra"]),
    ("app", &["http", "jobs", "domain", "infra", "tools"]),
];

/// Words that mean HTTP, which the floors below `http` never mention.
const HTTP_WORDS: &[&str] = &["axum", "AppState"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules a file names through `crate::`, single
/// (`crate::domain::…`) or grouped (`crate::{domain, http::…}`).
fn crate_roots(text: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                roots.insert(leading_identifier(item.trim()));
            }
        } else {
            roots.insert(leading_identifier(rest));
        }
    }
    roots.remove("");
    roots
}

fn leading_identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn mentions_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let is_identifier = |c: char| c.is_ascii_alphanumeric() || c == '_';
        !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
    })
}

/// Every import of `src` that breaks a floor rule, as `file: what`.
fn broken_rules(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    assert!(files.len() > 100, "the scan found too few files");
    let floors: Vec<&str> = FLOORS.iter().map(|(floor, _)| *floor).collect();
    let mut broken = Vec::new();
    for path in files {
        let relative = path.strip_prefix(src).unwrap();
        let Some(floor) = relative.components().next() else {
            continue;
        };
        let floor = floor.as_os_str().to_string_lossy();
        let Some((_, below)) = FLOORS.iter().find(|(name, _)| *name == floor) else {
            // lib.rs and main.rs stand above every floor.
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for root in crate_roots(&text) {
            if root != floor && floors.contains(&root.as_str()) && !below.contains(&root.as_str()) {
                broken.push(format!("{}: crate::{root}", relative.display()));
            }
        }
        if floor == "infra" || floor == "domain" {
            for word in HTTP_WORDS {
                if mentions_word(&text, word) {
                    broken.push(format!("{}: {word}", relative.display()));
                }
            }
        }
    }
    broken
}

#[test]
fn every_floor_imports_only_the_floors_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let broken = broken_rules(&src);
    assert!(broken.is_empty(), "imports that break a floor: {broken:#?}");
}

#[test]
fn every_folder_of_the_server_is_a_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut floors: Vec<String> = FLOORS.iter().map(|(floor, _)| floor.to_string()).collect();
    floors.sort();
    assert_eq!(folders, floors, "a folder of server/src that is no floor");
    let loose: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "lib.rs" && name != "main.rs")
        .collect();
    assert!(loose.is_empty(), "modules outside every floor: {loose:?}");
}

#[test]
fn no_two_floors_may_import_each_other() {
    for (floor, below) in FLOORS {
        for lower in *below {
            let (_, below_lower) = FLOORS.iter().find(|(name, _)| name == lower).unwrap();
            assert!(
                !below_lower.contains(floor),
                "{floor} and {lower} would import each other"
            );
        }
    }
}

#[test]
fn the_scan_sees_what_breaks_a_floor() {
    let dir = std::env::temp_dir().join(format!("gridlink-floors-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    for (floor, _) in FLOORS {
        for index in 0..20 {
            write(&format!("{floor}/file_{index}.rs"), "//! nothing\n");
        }
    }
    write("infra/store.rs", "use crate::domain::ctx::Ctx;\n");
    write(
        "domain/notices.rs",
        "use crate::{infra::clock, http::error::ApiError};\n",
    );
    write("domain/cookies.rs", "use axum::http::HeaderValue;\n");
    write(
        "jobs/run.rs",
        "/// Sent by [`crate::http::router`].\nfn run() {}\n",
    );
    write("tools/kit.rs", "use crate::domain::ctx::Ctx;\n");
    write(
        "http/fine.rs",
        "use crate::jobs::JobCtx;\nuse crate::domain::ctx::Ctx;\n",
    );
    write(
        "domain/fine.rs",
        "// Words that only begin like them: AppStateful, axum_like.\n",
    );
    let mut broken = broken_rules(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    broken.sort();
    assert_eq!(
        broken,
        [
            "domain/cookies.rs: axum",
            "domain/notices.rs: crate::http",
            "infra/store.rs: crate::domain",
            "jobs/run.rs: crate::http",
            "tools/kit.rs: crate::domain",
        ]
    );
}
