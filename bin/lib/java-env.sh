# shellcheck shell=bash
# Sourced by bin/* scripts: picks a JDK >= 21 and checks for SoftHSM2. Prints exactly what to
# install when something is missing.

# Major version of a java binary ("17.0.15" -> 17, "1.8.0" -> 8, "25" -> 25), or nothing.
hsmkms_java_major() {
  local version
  version=$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  [ -n "$version" ] || return 1
  case "$version" in
    1.*) version=${version#1.} ;;
  esac
  echo "${version%%[.+-]*}"
}

hsmkms_java_ok() {
  local major
  [ -x "$1" ] || return 1
  major=$(hsmkms_java_major "$1") || return 1
  [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null
}

# Exports JAVA_HOME and PATH for a JDK >= 21: $JAVA_HOME if good, else the newest under
# ${HSMKMS_JVM_DIR:-/usr/lib/jvm} (Temurin preferred), else `java` on PATH.
hsmkms_select_java() {
  local dir candidate best="" best_major=0 major
  if [ -n "${JAVA_HOME:-}" ] && hsmkms_java_ok "$JAVA_HOME/bin/java" && [ -x "$JAVA_HOME/bin/javac" ]; then
    export PATH="$JAVA_HOME/bin:$PATH"
    hsmkms_quiet_maven
    return 0
  fi
  dir=${HSMKMS_JVM_DIR:-/usr/lib/jvm}
  for candidate in "$dir"/temurin-* "$dir"/*; do
    if [ ! -x "$candidate/bin/java" ] || [ ! -x "$candidate/bin/javac" ]; then
      continue
    fi
    major=$(hsmkms_java_major "$candidate/bin/java") || continue
    if [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null && [ "$major" -gt "$best_major" ]; then
      best=$candidate
      best_major=$major
    fi
  done
  if [ -z "$best" ] && command -v javac >/dev/null 2>&1 && hsmkms_java_ok "$(command -v java)"; then
    best=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
  fi
  if [ -z "$best" ]; then
    echo "HSM-KMS needs a JDK 21 or newer and found none (default java: $(java -version 2>&1 | head -n 1))." >&2
    echo "Install a JDK 21+ under /usr/lib/jvm or point JAVA_HOME at one: on Debian 13," >&2
    echo "  apt-get install -y openjdk-21-jdk-headless ; on Debian 12 use Eclipse Temurin 21 or 25." >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
  hsmkms_quiet_maven
}

# Maven builds the project; say so plainly when it is missing.
hsmkms_require_maven() {
  if ! command -v mvn >/dev/null 2>&1; then
    echo "HSM-KMS builds with Maven 3.8+ and found no mvn on PATH. Install it: apt-get install -y maven" >&2
    return 1
  fi
}

# Maven 3.8's bundled Guava uses sun.misc.Unsafe, which JDK 24+ warns about on every run.
hsmkms_quiet_maven() {
  local major
  major=$(hsmkms_java_major "$JAVA_HOME/bin/java") || return 0
  if [ "$major" -ge 24 ] 2>/dev/null; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
}

# Usage: hsmkms_require_softhsm server|tools. Makes sure SoftHSM2 (and, for "tools", OpenSC's
# pkcs11-tool) is installed; installs it with
# apt-get when running as root or with passwordless sudo, else says what to run.
hsmkms_require_softhsm() {
  local need_tools=$1 missing=""
  [ -r /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null 2>&1 || missing=yes
  if [ "$need_tools" = tools ] && ! command -v pkcs11-tool >/dev/null 2>&1; then
    missing=yes
  fi
  [ -z "$missing" ] && return 0
  if ! hsmkms_apt_install "SoftHSM2 and OpenSC" softhsm2 opensc; then
    echo "SoftHSM2 is missing. Install it, then run this again:" >&2
    echo "  sudo sh -c 'apt-get update -qq && apt-get install -y -qq softhsm2 opensc'" >&2
    return 1
  fi
}

# Usage: hsmkms_apt_install WHAT PACKAGE... Installs the packages with apt-get when running as root
# or with passwordless sudo; returns 1 (installing nothing) otherwise.
hsmkms_apt_install() {
  local what=$1
  shift
  local install="apt-get update -qq && apt-get install -y -qq $*"
  if [ "$(id -u)" = 0 ]; then
    echo "Installing $what: $install" >&2
    sh -c "$install" >&2
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "Installing $what: sudo sh -c '$install'" >&2
    sudo sh -c "$install" >&2
  else
    return 1
  fi
}

# For bin/test: the PostgreSQL tests start a private cluster from the Debian postgresql package
# (initdb, pg_ctl) unless HSMKMS_TEST_POSTGRES_URL names a server. Installs the package like
# SoftHSM2 above when it can; otherwise says that those tests will be skipped (in CI they fail).
hsmkms_offer_postgresql() {
  [ -n "${HSMKMS_TEST_POSTGRES_URL:-}" ] && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0
  if ! hsmkms_apt_install "PostgreSQL for the multi-node tests" postgresql; then
    echo "PostgreSQL is missing: its tests will be skipped. To run them:" >&2
    echo "  sudo sh -c 'apt-get update -qq && apt-get install -y -qq postgresql'" >&2
  fi
}
