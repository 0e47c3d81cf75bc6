//! Turns the Fluent catalogues in `locales/<language>/*.ftl` into typed Rust:
//! one method per message on `Language`, taking the message's variables as
//! arguments in the order the English text first uses them. A message
//! missing from a language, or a language using other variables than
//! English, fails the build, so no screen can ship half translated; and
//! nothing parses Fluent at run time, so the browser bundle carries only the
//! strings.
//!
//! The Fluent subset understood: text, `{ $variable }`, string literals, and
//! `{ $count -> [one] … *[other] … }` selects on a number (the CLDR plural
//! categories of English and Spanish: `one` for 1, `other` otherwise; a
//! number key like `[0]` matches exactly).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use fluent_syntax::ast::{
    Entry, Expression, InlineExpression, Pattern, PatternElement, VariantKey,
};

/// The catalogues, English first (the fallback and the reference).
const LANGUAGES: [(&str, &str); 2] = [("En", "en"), ("Es", "es")];

struct Message {
    /// Per language, the Rust statements that write the message into `out`.
    bodies: Vec<String>,
    /// Plain text in every language: returned as `&'static str`.
    literal: Option<Vec<String>>,
    /// In the order English first uses them: the method's parameters.
    variables: Vec<String>,
    selectors: BTreeSet<String>,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut messages: BTreeMap<String, Message> = BTreeMap::new();
    for (index, (_, code)) in LANGUAGES.iter().enumerate() {
        let folder = root.join(code);
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", folder.display()))
            .map(|entry| entry.expect("a catalogue file").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "ftl"))
            .collect();
        files.sort();
        let mut seen = BTreeSet::new();
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
            let text = std::fs::read_to_string(&file).expect("a readable catalogue");
            let resource =
                fluent_syntax::parser::parse(text.as_str()).unwrap_or_else(|(_, errors)| {
                    panic!("{}: Fluent syntax errors: {errors:?}", file.display())
                });
            for entry in resource.body {
                let Entry::Message(message) = entry else {
                    if let Entry::Junk { content } = entry {
                        panic!("{}: cannot read {content:?}", file.display());
                    }
                    continue;
                };
                let id = message.id.name.to_owned();
                let pattern = message
                    .value
                    .unwrap_or_else(|| panic!("{}: {id} has no text", file.display()));
                assert!(
                    seen.insert(id.clone()),
                    "{}: {id} is defined twice",
                    file.display()
                );
                let mut variables = Vec::new();
                let mut selectors = BTreeSet::new();
                let mut body = String::new();
                write_pattern(&pattern, &mut body, &mut variables, &mut selectors, &id);
                let literal = literal_text(&pattern);
                if index == 0 {
                    messages.insert(
                        id,
                        Message {
                            bodies: vec![body],
                            literal: literal.map(|text| vec![text]),
                            variables,
                            selectors,
                        },
                    );
                    continue;
                }
                let english = messages.get_mut(&id).unwrap_or_else(|| {
                    panic!("{}: {id} is not in the English catalogue", file.display())
                });
                let same = |a: &[String], b: &[String]| {
                    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
                };
                assert!(
                    same(&english.variables, &variables),
                    "{}: {id} uses {variables:?}, English uses {:?}",
                    file.display(),
                    english.variables
                );
                english.selectors.extend(selectors);
                english.bodies.push(body);
                english.literal = match (english.literal.take(), literal) {
                    (Some(mut texts), Some(text)) => {
                        texts.push(text);
                        Some(texts)
                    }
                    _ => None,
                };
            }
        }
        for (id, message) in &messages {
            assert!(
                message.bodies.len() == index + 1,
                "{}: {id} is missing",
                folder.display()
            );
        }
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("messages.rs");
    std::fs::write(out, generate(&messages)).expect("the generated catalogue is written");
}

fn literal_text(pattern: &Pattern<&str>) -> Option<String> {
    let mut text = String::new();
    for element in &pattern.elements {
        match element {
            PatternElement::TextElement { value } => text.push_str(value),
            PatternElement::Placeable {
                expression: Expression::Inline(InlineExpression::StringLiteral { value }),
            } => text.push_str(&unescape(value)),
            PatternElement::Placeable { .. } => return None,
        }
    }
    Some(text)
}

fn unescape(value: &str) -> String {
    value.replace("\\\"", "\"").replace("\\\\", "\\")
}

fn write_pattern(
    pattern: &Pattern<&str>,
    body: &mut String,
    variables: &mut Vec<String>,
    selectors: &mut BTreeSet<String>,
    id: &str,
) {
    for element in &pattern.elements {
        match element {
            PatternElement::TextElement { value } => {
                writeln!(body, "out.push_str({value:?});").unwrap();
            }
            PatternElement::Placeable { expression } => {
                write_expression(expression, body, variables, selectors, id)
            }
        }
    }
}

fn write_expression(
    expression: &Expression<&str>,
    body: &mut String,
    variables: &mut Vec<String>,
    selectors: &mut BTreeSet<String>,
    id: &str,
) {
    match expression {
        Expression::Inline(InlineExpression::VariableReference { id: variable }) => {
            let name = rust_name(variable.name);
            writeln!(body, "let _ = write!(out, \"{{}}\", {name});").unwrap();
            if !variables.contains(&name) {
                variables.push(name);
            }
        }
        Expression::Inline(InlineExpression::StringLiteral { value }) => {
            writeln!(body, "out.push_str({:?});", unescape(value)).unwrap();
        }
        Expression::Inline(InlineExpression::Placeable { expression }) => {
            write_expression(expression, body, variables, selectors, id)
        }
        Expression::Select { selector, variants } => {
            let InlineExpression::VariableReference { id: variable } = selector else {
                panic!("{id}: a select must be on a $variable");
            };
            let name = rust_name(variable.name);
            if !variables.contains(&name) {
                variables.push(name.clone());
            }
            selectors.insert(name.clone());
            let mut arms = String::new();
            let mut default = None;
            for variant in variants {
                let mut arm = String::new();
                write_pattern(&variant.value, &mut arm, variables, selectors, id);
                if variant.default {
                    default = Some(arm.clone());
                }
                match variant.key {
                    VariantKey::NumberLiteral { value } => {
                        writeln!(arms, "_ if {name} == {value} => {{ {arm} }}").unwrap();
                    }
                    VariantKey::Identifier { name: "one" } => {
                        writeln!(arms, "_ if {name} == 1 => {{ {arm} }}").unwrap();
                    }
                    VariantKey::Identifier { name: "other" } => {}
                    VariantKey::Identifier { name: category } => {
                        panic!("{id}: English and Spanish use the plural categories one and other, not {category}")
                    }
                }
            }
            let default = default.unwrap_or_else(|| panic!("{id}: a select needs a *[default]"));
            writeln!(body, "match () {{ {arms} _ => {{ {default} }} }}").unwrap();
        }
        other => panic!("{id}: this catalogue does not support {other:?}"),
    }
}

/// `attempts-left` → `attempts_left`
fn rust_name(fluent: &str) -> String {
    fluent.replace('-', "_")
}

fn generate(messages: &BTreeMap<String, Message>) -> String {
    let mut code = String::from(
        "// Generated by shared/build.rs from locales/*/*.ftl. Do not edit.\n\
         #[allow(clippy::all, unused_imports)]\n\
         impl Language {\n",
    );
    for (id, message) in messages {
        let name = rust_name(id);
        writeln!(code, "    /// `{id}`").unwrap();
        if let Some(texts) = &message.literal {
            writeln!(
                code,
                "    pub fn {name}(self) -> &'static str {{\n        match self {{"
            )
            .unwrap();
            for ((variant, _), text) in LANGUAGES.iter().zip(texts) {
                writeln!(code, "            Language::{variant} => {text:?},").unwrap();
            }
            code.push_str("        }\n    }\n");
            continue;
        }
        let parameters: Vec<String> = message
            .variables
            .iter()
            .map(|variable| {
                if message.selectors.contains(variable) {
                    format!("{variable}: u64")
                } else {
                    format!("{variable}: impl std::fmt::Display")
                }
            })
            .collect();
        writeln!(
            code,
            "    pub fn {name}(self, {}) -> String {{\n        use std::fmt::Write as _;\n        let mut out = String::new();\n        match self {{",
            parameters.join(", ")
        )
        .unwrap();
        for ((variant, _), body) in LANGUAGES.iter().zip(&message.bodies) {
            writeln!(code, "            Language::{variant} => {{ {body} }}").unwrap();
        }
        code.push_str("        }\n        out\n    }\n");
    }
    code.push_str("}\n");
    code
}
