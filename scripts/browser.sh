#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the console's browser tests
# (internal/console, driven through chromedp). Used by `make test` and
# .ci/run; safe to run repeatedly.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "browser: installing chromium"
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
