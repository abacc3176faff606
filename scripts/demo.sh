#!/usr/bin/env bash
# custos demo in one command: installs PostgreSQL when it is missing (Debian
# or Ubuntu, with apt), builds custos and runs `custos demo`, which starts a
# throwaway cluster and a custos server, shows policies enforced for two
# database users and the writes of a third, bound by the same row filter
# and masks, and removes everything it started when it ends. custos
# connects as least-privileged roles, never as a superuser: it registers
# with a role that can only read and enforces with one that administers the
# shop's tables; a superuser runs custos's setup script once
# (docs/enforcement.md, "Least privilege").
#
#   ./scripts/demo.sh          # run the demo
#   ./scripts/demo.sh --keep   # leave it running to explore; Ctrl-C cleans up
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

apt_install() {
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold "$@" >/dev/null
}

if ! have_postgres; then
  echo "PostgreSQL is not installed: installing it with apt-get."
  if ! command -v apt-get >/dev/null; then
    echo "No apt-get here: install PostgreSQL 14 or later (server binaries and pgaudit) and run this again." >&2
    exit 1
  fi
  # The demo runs its own throwaway cluster: keep the package from creating
  # and starting a system-wide one.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $sudo apt-get update -qq
  apt_install postgresql
fi

major=$(ls -d /usr/lib/postgresql/*/bin/initdb | sed 's#/usr/lib/postgresql/\([0-9]*\)/.*#\1#' | sort -n | tail -1)
if [ ! -e "/usr/lib/postgresql/$major/lib/pgaudit.so" ] && command -v apt-get >/dev/null; then
  echo "Installing pgaudit for query audit (postgresql-$major-pgaudit)."
  apt_install "postgresql-$major-pgaudit" || echo "pgaudit could not be installed: the demo runs without query audit."
fi

if ! command -v go >/dev/null; then
  echo "custos is built with Go (1.26 or later): install it from https://go.dev/dl and run this again." >&2
  exit 1
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
echo "Building custos ..."
go build -o "$bin/custos" ./cmd/custos
export CUSTOS_PG_BIN="/usr/lib/postgresql/$major/bin"
"$bin/custos" demo "$@"
