#!/usr/bin/env bash
# Make sure a mosquitto binary exists: install Debian's package when it is missing and we may
# (root, or passwordless sudo); otherwise say exactly what to do. The demo and the tests start their
# own private broker from this binary, so the system service need not run.
set -euo pipefail
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
  if [ "$SUDO" != none ]; then
    echo "mosquitto is missing: installing Debian's package" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
    exit 0
  fi
fi
echo "mosquitto (the MQTT broker) is not installed and cannot be installed from here." >&2
echo "Install it, e.g. 'sudo apt-get install mosquitto' (Debian/Ubuntu) or 'brew install mosquitto', then rerun." >&2
exit 1
