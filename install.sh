#!/bin/sh
# kasmos installer.
#
#   curl -fsSL https://github.com/kastheco/kasmos-ts/releases/latest/download/install.sh | sh
#   sh install.sh [--prefix DIR] [--version V] [--from-source [DIR]] [--help]
#
# Downloads the prebuilt static binary for this machine, verifies it against the
# release's SHA256SUMS, and installs it atomically as DIR/kasmos plus a `kas` symlink.
# Nothing is written into the install directory unless the checksum matches.
#
# Environment:
#   KASMOS_INSTALL_BASE_URL  override the release download base URL (mirrors, tests)
#   KASMOS_INSTALL_AS_ROOT   1/0: force the root / non-root default prefix choice
set -eu

REPO_URL="https://github.com/kastheco/kasmos-ts"
BIN_NAME="kasmos"
ALIAS_NAME="kas"

PREFIX=""
PREFIX_GIVEN=""
VERSION=""
FROM_SOURCE=0
SOURCE_DIR=""
TMPDIR_INSTALL=""
STAGED=""

say() {
  printf 'kasmos-install: %s\n' "$*"
}

err() {
  printf 'kasmos-install: error: %s\n' "$*" >&2
}

die() {
  err "$*"
  exit 1
}

usage() {
  cat <<'EOF'
kasmos installer

Usage:
  curl -fsSL https://github.com/kastheco/kasmos-ts/releases/latest/download/install.sh | sh
  sh install.sh [options]
  curl -fsSL <url>/install.sh | sh -s -- [options]

Options:
  --prefix DIR         Directory the binaries are placed in (a bin directory):
                       installs DIR/kasmos and the DIR/kas -> kasmos symlink.
                       Default: /usr/local/bin when run as root, else ~/.local/bin.
  --version V          Install release V (e.g. 0.1.0 or v0.1.0) instead of the latest.
  --from-source [DIR]  Build from a source checkout instead of downloading
                       (default DIR: the directory containing install.sh).
                       Installs bun via `npm install -g bun` if it is missing.
  -h, --help           Show this help and exit.

Environment:
  KASMOS_INSTALL_BASE_URL  Download base URL (default: the GitHub release of --version,
                           or the latest release). Must serve kasmos-linux-<arch> and SHA256SUMS.
  KASMOS_INSTALL_AS_ROOT   1 or 0: override root detection for the default prefix.

Supported platforms: Linux x86_64 (x64) and aarch64 (arm64).

Examples:
  # latest release into ~/.local/bin (or /usr/local/bin as root)
  curl -fsSL https://github.com/kastheco/kasmos-ts/releases/latest/download/install.sh | sh

  # a specific version into a custom bin directory
  sh install.sh --version 0.1.0 --prefix "$HOME/bin"

  # build and install from a local checkout
  sh install.sh --from-source ~/src/kasmos-ts
EOF
}

cleanup() {
  if [ -n "$STAGED" ] && [ -e "$STAGED" ]; then
    rm -f "$STAGED"
  fi
  if [ -n "$TMPDIR_INSTALL" ] && [ -d "$TMPDIR_INSTALL" ]; then
    rm -rf "$TMPDIR_INSTALL"
  fi
}

# ---------------------------------------------------------------------------
# argument parsing

while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --prefix)
      [ $# -ge 2 ] || {
        err "--prefix requires a directory argument"
        exit 2
      }
      PREFIX="$2"
      PREFIX_GIVEN=1
      shift 2
      ;;
    --prefix=*)
      PREFIX="${1#--prefix=}"
      PREFIX_GIVEN=1
      shift
      ;;
    --version)
      [ $# -ge 2 ] || {
        err "--version requires a version argument"
        exit 2
      }
      VERSION="$2"
      shift 2
      ;;
    --version=*)
      VERSION="${1#--version=}"
      shift
      ;;
    --from-source)
      FROM_SOURCE=1
      shift
      if [ $# -gt 0 ]; then
        case "$1" in
          -*) ;;
          *)
            SOURCE_DIR="$1"
            shift
            ;;
        esac
      fi
      ;;
    --from-source=*)
      FROM_SOURCE=1
      SOURCE_DIR="${1#--from-source=}"
      shift
      ;;
    *)
      err "unknown option: $1"
      printf 'Run with --help for usage.\n' >&2
      exit 2
      ;;
  esac
done

if [ -n "${PREFIX_GIVEN:-}" ] && [ -z "$PREFIX" ]; then
  err "--prefix must not be empty"
  exit 2
fi

# ---------------------------------------------------------------------------
# platform detection

detect_platform() {
  os=$(uname -s)
  case "$os" in
    Linux) OS=linux ;;
    Darwin) die "macOS is not supported yet (only Linux x64/arm64 binaries are published); try --from-source" ;;
    *) die "unsupported operating system: $os (only Linux is supported)" ;;
  esac
  machine=$(uname -m)
  case "$machine" in
    x86_64 | amd64) ARCH=x64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) die "unsupported architecture: $machine (supported: x86_64, aarch64)" ;;
  esac
}

is_root() {
  case "${KASMOS_INSTALL_AS_ROOT:-}" in
    1 | true | yes) return 0 ;;
    0 | false | no) return 1 ;;
  esac
  [ "$(id -u)" -eq 0 ]
}

resolve_prefix() {
  if [ -z "$PREFIX" ]; then
    if is_root; then
      PREFIX=/usr/local/bin
    else
      [ -n "${HOME:-}" ] || die "HOME is not set; pass --prefix DIR"
      PREFIX="$HOME/.local/bin"
    fi
  fi
  if ! mkdir -p "$PREFIX" 2>/dev/null; then
    die "cannot create install directory $PREFIX (try --prefix DIR, or run as root)"
  fi
  [ -w "$PREFIX" ] || die "install directory $PREFIX is not writable (try --prefix DIR, or run as root)"
  # absolute path for the messages and the PATH check
  PREFIX=$(cd "$PREFIX" && pwd -P)
}

make_tmpdir() {
  TMPDIR_INSTALL=$(mktemp -d 2>/dev/null || mktemp -d -t kasmos-install)
  [ -d "$TMPDIR_INSTALL" ] || die "could not create a temporary directory"
}

# ---------------------------------------------------------------------------
# download + verify

download() { # url dest
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" || return 1
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || return 1
  else
    return 1
  fi
}

sha256_of() { # file -> hex on stdout
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  fi
}

require_tools() {
  command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1 ||
    die "neither curl nor wget is available; install one of them and retry"
  command -v sha256sum >/dev/null 2>&1 || command -v shasum >/dev/null 2>&1 ||
    die "neither sha256sum nor shasum is available; cannot verify the download"
}

base_url() {
  if [ -n "${KASMOS_INSTALL_BASE_URL:-}" ]; then
    printf '%s\n' "${KASMOS_INSTALL_BASE_URL%/}"
  elif [ -n "$VERSION" ]; then
    printf '%s/releases/download/v%s\n' "$REPO_URL" "${VERSION#v}"
  else
    printf '%s/releases/latest/download\n' "$REPO_URL"
  fi
}

fetch_release() { # -> path of the verified binary in TMPDIR_INSTALL
  asset="$BIN_NAME-$OS-$ARCH"
  base=$(base_url)
  if [ -n "$VERSION" ] && [ -n "${KASMOS_INSTALL_BASE_URL:-}" ]; then
    say "note: KASMOS_INSTALL_BASE_URL is set; --version $VERSION only affects the default URL"
  fi

  say "downloading $asset from $base"
  download "$base/$asset" "$TMPDIR_INSTALL/$asset" ||
    die "failed to download $base/$asset (does the release exist for $OS-$ARCH${VERSION:+ and version $VERSION}?)"
  download "$base/SHA256SUMS" "$TMPDIR_INSTALL/SHA256SUMS" ||
    die "failed to download $base/SHA256SUMS; refusing to install an unverified binary"

  # line format: "<hex>  <file>" (or "<hex> *<file>" in binary mode)
  expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$TMPDIR_INSTALL/SHA256SUMS")
  [ -n "$expected" ] || die "SHA256SUMS has no checksum line for $asset; refusing to install an unverified binary"
  actual=$(sha256_of "$TMPDIR_INSTALL/$asset")
  expected=$(printf '%s' "$expected" | tr 'A-F' 'a-f')
  if [ "$expected" != "$actual" ]; then
    err "checksum mismatch for $asset"
    err "  expected: $expected"
    err "  actual:   $actual"
    die "checksum verification failed; nothing was installed"
  fi
  say "checksum verified (sha256 $actual)"
  RESULT_BIN="$TMPDIR_INSTALL/$asset"
}

# ---------------------------------------------------------------------------
# from source

build_from_source() { # -> path of dist/kasmos
  if [ -z "$SOURCE_DIR" ]; then
    script_dir=""
    case "$0" in
      */*) script_dir=$(cd "$(dirname "$0")" 2>/dev/null && pwd -P) || script_dir="" ;;
      *.sh) if [ -f "$0" ]; then script_dir=$(pwd -P); fi ;;
      *) ;; # piped into sh: there is no checkout next to the script
    esac
    if [ -n "$script_dir" ] && [ -f "$script_dir/package.json" ]; then
      SOURCE_DIR="$script_dir"
    else
      die "--from-source: no checkout found next to install.sh; pass the directory: --from-source DIR"
    fi
  fi
  [ -d "$SOURCE_DIR" ] || die "--from-source: $SOURCE_DIR is not a directory"
  [ -f "$SOURCE_DIR/package.json" ] || die "--from-source: $SOURCE_DIR has no package.json (not a kasmos checkout)"

  if ! command -v bun >/dev/null 2>&1; then
    command -v npm >/dev/null 2>&1 || die "bun is not installed and npm is unavailable to install it (see https://bun.sh)"
    say "bun not found; installing it with npm install -g bun"
    npm install -g bun || die "npm install -g bun failed"
    command -v bun >/dev/null 2>&1 || die "bun was installed but is not on PATH ($(npm prefix -g 2>/dev/null)/bin)"
  fi

  say "building kasmos in $SOURCE_DIR with bun $(bun --version)"
  (cd "$SOURCE_DIR" && bun install --frozen-lockfile) || die "bun install --frozen-lockfile failed"
  (cd "$SOURCE_DIR" && bun run build) || die "bun run build failed"
  [ -f "$SOURCE_DIR/dist/$BIN_NAME" ] || die "build did not produce $SOURCE_DIR/dist/$BIN_NAME"
  RESULT_BIN="$SOURCE_DIR/dist/$BIN_NAME"
}

# ---------------------------------------------------------------------------
# install

install_binary() { # src
  STAGED="$PREFIX/.$BIN_NAME.install.$$"
  cp "$1" "$STAGED" || die "could not write to $PREFIX"
  chmod 755 "$STAGED"
  mv -f "$STAGED" "$PREFIX/$BIN_NAME" || die "could not move the binary into $PREFIX"
  STAGED=""
  # kas -> kasmos (relative, so the pair can be moved together)
  if [ -e "$PREFIX/$ALIAS_NAME" ] || [ -L "$PREFIX/$ALIAS_NAME" ]; then
    if [ -L "$PREFIX/$ALIAS_NAME" ] || [ -f "$PREFIX/$ALIAS_NAME" ]; then
      rm -f "$PREFIX/$ALIAS_NAME"
    else
      die "$PREFIX/$ALIAS_NAME exists and is not a file or symlink; remove it and retry"
    fi
  fi
  ln -s "$BIN_NAME" "$PREFIX/$ALIAS_NAME"
}

next_steps() {
  installed_version=$("$PREFIX/$BIN_NAME" --version 2>/dev/null || true)
  say "installed $BIN_NAME${installed_version:+ ($installed_version)} to $PREFIX/$BIN_NAME (alias: $PREFIX/$ALIAS_NAME)"
  echo
  echo "Next steps:"
  case ":${PATH:-}:" in
    *":$PREFIX:"*) ;;
    *)
      echo "  * $PREFIX is not on your PATH. Add it, e.g. in ~/.profile or your shell rc:"
      echo "      export PATH=\"$PREFIX:\$PATH\""
      ;;
  esac
  echo "  * Start the daemon:   $BIN_NAME daemon start"
  echo "  * Or keep it running as a systemd user service: create"
  echo "    ~/.config/systemd/user/kasmos.service containing"
  echo "      [Unit]"
  echo "      Description=kasmos daemon"
  echo "      [Service]"
  echo "      ExecStart=$PREFIX/$BIN_NAME daemon start --foreground"
  echo "      Restart=on-failure"
  echo "      [Install]"
  echo "      WantedBy=default.target"
  echo "    then: systemctl --user daemon-reload && systemctl --user enable --now kasmos"
  echo "  * Help:               $ALIAS_NAME --help"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  RESULT_BIN=""
  if [ "$FROM_SOURCE" -eq 1 ]; then
    build_from_source
    resolve_prefix
  else
    detect_platform
    require_tools
    make_tmpdir
    fetch_release
    resolve_prefix
  fi
  install_binary "$RESULT_BIN"
  next_steps
}

main
