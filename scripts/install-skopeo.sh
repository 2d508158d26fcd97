#!/usr/bin/env bash
# install-skopeo.sh: a skopeo that can check and make sigstore (cosign) signatures, for the
# tests that check ferry's signatures against it. Debian 12 has only skopeo 1.9.3, built without
# sigstore; Debian 13 (trixie) has 1.18, built with it. This script downloads the trixie skopeo
# and the trixie shared libraries it links (glibc >= 2.38, gpgme, assuan, gpg-error, sqlite)
# with apt (a private sources list and state, so apt checks the archive's signature and every
# file's hash), unpacks them with `dpkg-deb -x` into a private prefix and writes a wrapper that
# runs the binary through the trixie dynamic loader. Nothing is installed system-wide: the
# system's libc and apt state are not touched.
#
# Idempotent: returns at once when the stamp says this version is installed.
#   FERRY_SKOPEO_PREFIX  where to unpack  (default: ~/.cache/gitops-peers/skopeo-trixie)
#   FERRY_SKOPEO_BIN     where the wrapper goes (default: ~/.cache/gitops-peers/bin)
#   FERRY_SKOPEO_MIRROR  Debian archive URI (default: the one this machine's apt uses for its
#                        own release, from /etc/apt/sources.list and /etc/apt/sources.list.d/)
#   FERRY_SKOPEO_SUITE   Debian suite     (default: trixie)
#
# The wrapper uses the prefix's etc/containers/policy.json when no --policy is given and a
# private registries.conf (CONTAINERS_REGISTRIES_CONF, when unset), so nothing is read from a
# missing /etc/containers.
set -euo pipefail
peers=${HOME:?}/.cache/gitops-peers
prefix=${FERRY_SKOPEO_PREFIX:-$peers/skopeo-trixie}
bindir=${FERRY_SKOPEO_BIN:-$peers/bin}
suite=${FERRY_SKOPEO_SUITE:-trixie}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# What skopeo links and what it reads its defaults from; ld.so --list names the libraries.
packages=(skopeo libc6 libgpgme11t64 libassuan9 libgpg-error0 libsqlite3-0 golang-github-containers-common)
stamp_want="suite=$suite packages=${packages[*]} wrapper=2"
stamp=$prefix/.installed

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ] && [ -x "$bindir/skopeo" ]; then
  exit 0
fi
[ "$(uname -m)" = x86_64 ] || { echo "install-skopeo.sh: only x86_64 is supported" >&2; exit 1; }
for t in apt-get dpkg-deb; do
  command -v "$t" >/dev/null || { echo "install-skopeo.sh: $t is needed (a Debian-like system)" >&2; exit 1; }
done
[ -f "$keyring" ] || { echo "install-skopeo.sh: $keyring is missing (apt-get install debian-archive-keyring)" >&2; exit 1; }

# The Debian archive this machine's apt already uses: the URI of an enabled `deb` source for the
# system's own release (VERSION_CODENAME), in one-line (.list) or deb822 (.sources) form. The
# same archive serves the newer suite; no host name is written here.
debian_archive() {
  local codename id
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
  [ "$id" = debian ] && [ -n "$codename" ] || return 0
  local files=()
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk -v want="$codename" '
    function flush() {
      if (types ~ /(^| )deb( |$)/ && enabled != "no")
        for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) if (s[j] == want) { print u[i]; found = 1; exit }
      types = ""; enabled = ""; nu = 0; ns = 0
    }
    FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
    /^[ \t]*#/ { next }
    !deb822 && $1 == "deb" {
      k = 2
      if ($k ~ /^\[/) { while ($k !~ /\]$/ && k < NF) k++; k++ }
      if ($(k + 1) == want) { print $k; found = 1; exit }
      next
    }
    deb822 && /^[ \t]*$/ { flush(); next }
    deb822 {
      key = tolower($1); sub(/:$/, "", key)
      if (key == "types") { types = ""; for (i = 2; i <= NF; i++) types = types " " $i; types = types " " }
      else if (key == "uris") { nu = 0; for (i = 2; i <= NF; i++) u[++nu] = $i }
      else if (key == "suites") { ns = 0; for (i = 2; i <= NF; i++) s[++ns] = $i }
      else if (key == "enabled") enabled = tolower($2)
    }
    END { if (!found) flush() }
  ' "${files[@]}"
}
mirror=${FERRY_SKOPEO_MIRROR:-$(debian_archive)}
mirror=${mirror%/}
if [ -z "$mirror" ]; then
  echo "install-skopeo.sh: no Debian archive found in /etc/apt/sources.list or /etc/apt/sources.list.d/ for this system's release" >&2
  echo "hint: set FERRY_SKOPEO_MIRROR to the URI of a Debian archive this machine may use" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/parts" "$work/prefs"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::Etc::Preferences=$work/prefs/none"
  -o "Dir::Etc::PreferencesParts=$work/prefs"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "Acquire::Languages=none"
  -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
  -o "Debug::NoLocking=1"
)
# apt drops to the _apt user for downloads; it must be able to write the download directory.
if [ "$(id -u)" = 0 ]; then
  apt_opts+=(-o "APT::Sandbox::User=root")
fi
echo "install-skopeo.sh: fetching skopeo and its libraries from $mirror $suite" >&2
apt-get "${apt_opts[@]}" -q update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }
(cd "$work/debs" && apt-get "${apt_opts[@]}" -q download "${packages[@]}") >"$work/download.log" 2>&1 ||
  { cat "$work/download.log" >&2; exit 1; }

new=$prefix.new
rm -rf "$new"
mkdir -p "$new"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$new"
  basename "$deb" >>"$new/.debs"
done
lib=$new/usr/lib/x86_64-linux-gnu
[ -x "$lib/ld-linux-x86-64.so.2" ] && [ -x "$new/usr/bin/skopeo" ] ||
  { echo "install-skopeo.sh: the packages did not hold skopeo and ld-linux-x86-64.so.2" >&2; exit 1; }
# Every library skopeo needs must resolve inside the prefix.
if "$lib/ld-linux-x86-64.so.2" --library-path "$lib" --list "$new/usr/bin/skopeo" | grep -q 'not found'; then
  "$lib/ld-linux-x86-64.so.2" --library-path "$lib" --list "$new/usr/bin/skopeo" >&2
  echo "install-skopeo.sh: libraries are missing from $new" >&2
  exit 1
fi
# An empty registries.conf: no short-name search, no mirrors; tests name full references.
printf '%s\n' '# written by install-skopeo.sh: fully qualified references only' \
  'unqualified-search-registries = []' >"$new/etc/containers/registries.conf"
rm -rf "$prefix"
mv "$new" "$prefix"

mkdir -p "$bindir"
lib=$prefix/usr/lib/x86_64-linux-gnu
cat >"$bindir/skopeo.part" <<EOF
#!/bin/sh
# skopeo from Debian $suite, run with its own glibc (written by ferry's scripts/install-skopeo.sh).
: "\${CONTAINERS_REGISTRIES_CONF:=$prefix/etc/containers/registries.conf}"
export CONTAINERS_REGISTRIES_CONF
for a in "\$@"; do
  case \$a in
    --policy|--policy=*|--insecure-policy|--insecure-policy=*) exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$prefix/usr/bin/skopeo" "\$@" ;;
  esac
done
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$prefix/usr/bin/skopeo" --policy "$prefix/etc/containers/policy.json" "\$@"
EOF
chmod 755 "$bindir/skopeo.part"
mv "$bindir/skopeo.part" "$bindir/skopeo"
"$bindir/skopeo" --version >&2
echo "$stamp_want" >"$stamp"
