#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (never a downloaded browser).
# Install it when missing and we are allowed to (root with apt-get); otherwise those tests skip.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "could not install chromium; browser tests will be skipped"
fi
