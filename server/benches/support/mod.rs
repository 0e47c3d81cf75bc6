//! What the benches share: their command-line options.

/// The value after `--name` on the bench's command line
/// (`cargo bench -p server --bench NAME -- --name value`).
pub fn option(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
}
