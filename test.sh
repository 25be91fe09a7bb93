#!/usr/bin/env bash
# Runs the test suite (unit, numerics against PyTorch vectors, memory, end-to-end). Needs only a JDK 17 and Maven.
set -euo pipefail
cd "$(dirname "$0")"
exec mvn -B -ntp test "$@"
