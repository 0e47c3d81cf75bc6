//! Every dependency's licence is compatible with Gridlink's Apache-2.0: each
//! package in `cargo metadata` must offer at least one combination of
//! licences from the allowed list (an `OR` is a choice, an `AND` needs all).
//! No dependency ships an Apache `NOTICE` file, so Gridlink needs none.

use std::process::Command;

/// Permissive licences Apache-2.0 software may depend on.
const ALLOWED: &[&str] = &[
    "Apache-2.0",
    "MIT",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "BSL-1.0",
    "CC0-1.0",
    "Unlicense",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "MPL-2.0",
];

/// Whether an SPDX expression (with the old `/` for `OR`) can be met with `ALLOWED`.
fn satisfiable(expression: &str) -> bool {
    let spaced = expression
        .replace('/', " OR ")
        .replace('(', " ( ")
        .replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut position = 0;
    let result = or_expression(&tokens, &mut position);
    position == tokens.len() && result
}

fn or_expression(tokens: &[&str], position: &mut usize) -> bool {
    let mut any = and_expression(tokens, position);
    while tokens.get(*position) == Some(&"OR") {
        *position += 1;
        any |= and_expression(tokens, position);
    }
    any
}

fn and_expression(tokens: &[&str], position: &mut usize) -> bool {
    let mut all = term(tokens, position);
    while tokens.get(*position) == Some(&"AND") {
        *position += 1;
        all &= term(tokens, position);
    }
    all
}

fn term(tokens: &[&str], position: &mut usize) -> bool {
    match tokens.get(*position) {
        Some(&"(") => {
            *position += 1;
            let inner = or_expression(tokens, position);
            if tokens.get(*position) == Some(&")") {
                *position += 1;
            }
            inner
        }
        Some(licence) => {
            *position += 1;
            // `X WITH exception` only adds a permission to X.
            if tokens.get(*position) == Some(&"WITH") {
                *position += 2;
            }
            ALLOWED.contains(licence)
        }
        None => false,
    }
}

#[test]
fn licence_expressions_are_read_as_spdx_says() {
    assert!(satisfiable("MIT OR Apache-2.0"));
    assert!(satisfiable("MIT/Apache-2.0"));
    assert!(satisfiable("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(satisfiable("Apache-2.0 WITH LLVM-exception OR MIT"));
    assert!(satisfiable("MIT OR Apache-2.0 OR LGPL-2.1-or-later"));
    assert!(!satisfiable("GPL-3.0-only"));
    assert!(!satisfiable("MIT AND GPL-2.0-only"));
    assert!(!satisfiable(""));
}

#[test]
fn every_dependency_has_a_licence_compatible_with_apache_2() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    assert!(packages.len() > 100, "only {} packages", packages.len());
    let refused: Vec<String> = packages
        .iter()
        .filter(|package| !package["license"].as_str().is_some_and(satisfiable))
        .map(|package| {
            format!(
                "{} {}: {}",
                package["name"], package["version"], package["license"]
            )
        })
        .collect();
    assert!(refused.is_empty(), "licences not allowed: {refused:#?}");
}
