#!/usr/bin/env bash
# Installs what the project needs from Debian's packages, once: a second run installs nothing.
# With arguments, installs those packages instead (scripts/fuzz.sh uses it for clang-14).
set -euo pipefail

packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(
  build-essential cmake ninja-build pkg-config git
  librdkafka-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libflatbuffers-dev flatbuffers-compiler libjsoncpp-dev libvalijson-dev libyaml-cpp-dev
  doctest-dev libbenchmark-dev kcat openssl clang-format
  openjdk-17-jre-headless maven
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
