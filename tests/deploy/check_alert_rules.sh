#!/usr/bin/env bash
# The shipped Prometheus alert rules: valid (promtool check rules), referenced by the
# shipped prometheus.yml (promtool check config loads them), and each alert fires and
# stays quiet as its unit tests say (promtool test rules). Usage: check_alert_rules.sh SOURCE_DIR
set -euo pipefail
source_dir=${1:?usage: check_alert_rules.sh SOURCE_DIR}
prometheus_dir="$source_dir/deploy/prometheus"

if ! command -v promtool >/dev/null; then
  echo "promtool not found: install Debian's prometheus package (deploy/install-deps.sh)" >&2
  exit 1
fi
promtool check rules "$prometheus_dir/mosdat-alerts.yml"
# Loads rule_files too: a config that does not name the rules (or names a missing file)
# fails here.
config_check=$(promtool check config "$prometheus_dir/prometheus.yml")
echo "$config_check"
if ! grep -q "1 rule files found" <<<"$config_check"; then
  echo "prometheus.yml does not load mosdat-alerts.yml (rule_files)" >&2
  exit 1
fi
# promtool resolves rule_files relative to the test file.
promtool test rules "$prometheus_dir/mosdat-alerts.test.yml"
