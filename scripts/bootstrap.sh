#!/usr/bin/env bash
# Installs the Debian packages glassbox builds against, if any are missing.
# Idempotent and silent when everything is present; called by `make`. Extra package names
# given as arguments are installed too (`make bench` asks for Debian's XGBoost this way).
set -euo pipefail

packages=(cmake gcc make pkg-config libjson-c-dev libcmocka-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev libpq-dev libopenblas-dev libgomp1 libprotobuf-c-dev protobuf-c-compiler libonnx-dev libzip-dev libhdf5-dev libpng-dev libjpeg-dev libcairo2-dev fonts-dejavu-core "$@")

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo_cmd="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >/dev/null || true
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
