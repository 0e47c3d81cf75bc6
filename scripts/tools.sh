#!/usr/bin/env bash
# Installs, when missing, the tools that build and test Gridlink, and puts them
# on PATH. Sourced by scripts/run and scripts/test; safe to run again (it only
# installs what is absent or at the wrong version).
set -euo pipefail

GRIDLINK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION="0.21.14"
BINARYEN_VERSION="123"
TOOLS_DIR="$GRIDLINK_ROOT/.tools"

export PATH="$HOME/.cargo/bin:$TOOLS_DIR/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else fail "need root to run: $*"
    fi
}

locked_version() { # the version of a package in Cargo.lock
    awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' \
        "$GRIDLINK_ROOT/Cargo.lock"
}

ensure_rust_tools() {
    command -v cargo >/dev/null || fail "Rust is not installed: get it from rustup (https://rustup.rs), then run this again"
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        say "Adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
    if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
        say "Installing Trunk $TRUNK_VERSION (takes several minutes, once)"
        cargo install trunk --version "$TRUNK_VERSION" --locked
    fi
    local bindgen_version
    bindgen_version="$(locked_version wasm-bindgen)"
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen_version\$"; then
        say "Installing wasm-bindgen-cli $bindgen_version (must match Cargo.lock)"
        # Not --locked: that pins a dependency the registry no longer serves.
        cargo install wasm-bindgen-cli --version "$bindgen_version" --force
    fi
}

ensure_wasm_opt() {
    if ! wasm-opt --version 2>/dev/null | grep -q "version_$BINARYEN_VERSION"; then
        command -v npm >/dev/null || fail "npm is needed to install wasm-opt (binaryen): install Node.js"
        say "Installing wasm-opt (binaryen@$BINARYEN_VERSION) into .tools/"
        mkdir -p "$TOOLS_DIR"
        npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
    fi
}

ensure_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        say "Installing Chromium (Debian package) for the browser tests"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
}

ensure_end2end_packages() {
    local dir="$GRIDLINK_ROOT/end2end"
    if [ ! -d "$dir/node_modules/@playwright/test" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        say "Installing the end-to-end test packages"
        (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
    fi
}

build_web_app() {
    say "Building the web apps (Trunk, release): the dashboard, then Connect's own smaller bundle"
    # In this order: the first build replaces dist/ entirely, the second only dist/connect-app/.
    (cd "$GRIDLINK_ROOT" \
        && trunk build --release \
        && trunk build connect.html --release --dist dist/connect-app --public-url /connect-app/ \
        && node scripts/precompress.mjs dist)
}

# Turns TLS on for the local PostgreSQL behind the admin URL $1, with a
# certificate issued by a CA made here, and prints that CA's path. Needs the
# server's data folder on this machine (ALTER SYSTEM + pg_reload_conf, no
# restart). Prints nothing when it cannot; the caller then skips that test.
enable_postgres_tls() {
    local url="$1" data_dir dir
    command -v openssl >/dev/null && command -v psql >/dev/null || return 0
    data_dir="$(psql "$url" -Atqc 'SHOW data_directory' 2>/dev/null)" || return 0
    [ -n "$data_dir" ] && [ -d "$data_dir" ] && [ -w "$data_dir" ] || return 0
    dir="$GRIDLINK_ROOT/target/postgres-tls"
    mkdir -p "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -subj "/CN=Gridlink test PostgreSQL CA" -keyout ca.key -out ca.pem \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile server.ext -out server.crt
    ) >/dev/null 2>&1 || return 0
    install -m 600 -o "$(stat -c %U "$data_dir")" "$dir/server.crt" "$data_dir/gridlink-test-server.crt" 2>/dev/null || return 0
    install -m 600 -o "$(stat -c %U "$data_dir")" "$dir/server.key" "$data_dir/gridlink-test-server.key" 2>/dev/null || return 0
    psql "$url" -qc "ALTER SYSTEM SET ssl_cert_file = 'gridlink-test-server.crt'" \
        -c "ALTER SYSTEM SET ssl_key_file = 'gridlink-test-server.key'" \
        -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || return 0
    sleep 1
    psql "$url?sslmode=verify-full&sslrootcert=$dir/ca.pem" -Atqc 'SELECT 1' >/dev/null 2>&1 || return 0
    echo "$dir/ca.pem"
}

# schemathesis (PyPI) in a virtualenv under .tools/; sets $SCHEMATHESIS.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
    local venv="$TOOLS_DIR/schemathesis"
    SCHEMATHESIS="$venv/bin/schemathesis"
    if ! "$SCHEMATHESIS" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
        command -v python3 >/dev/null || fail "python3 is needed to install schemathesis"
        say "Installing schemathesis $SCHEMATHESIS_VERSION into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    fi
}

# cargo-deb (crates.io), for scripts/package.
CARGO_DEB_VERSION=3.8.0
ensure_cargo_deb() {
    if ! cargo deb --version 2>/dev/null | grep -q " $CARGO_DEB_VERSION\$"; then
        say "Installing cargo-deb $CARGO_DEB_VERSION (takes a few minutes, once)"
        cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
    fi
}

# promtool (Debian's prometheus package): scripts/test checks a real scrape with it.
ensure_promtool() {
    if ! command -v promtool >/dev/null; then
        say "Installing promtool (Debian package prometheus) to check the metrics"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    fi
}

# lintian (Debian), for scripts/package.
ensure_lintian() {
    if ! command -v lintian >/dev/null; then
        say "Installing lintian to check the Debian package"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lintian >/dev/null
    fi
}
