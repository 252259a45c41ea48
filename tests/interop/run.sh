#!/usr/bin/env bash
# Interop check against real third-party SIP clients (sipsak, sipp, pjsua2, baresip and our
# own CLI): see run.py, which does the work. Kept as the entry point the README and .ci/run
# name. Usage: tests/interop/run.sh [-k SUBSTRING]...  (PARLEY_BIN=path/to/parley to test a
# given binary)
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/run.py" "$@"
