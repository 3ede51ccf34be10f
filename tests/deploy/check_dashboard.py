#!/usr/bin/env python3
"""Checks the shipped Grafana dashboard and alert rules without a server.

deploy/grafana/mosdat.json: valid JSON, unique panel ids, panels inside the 24-column
grid and not overlapping, every target with a refId and an expression that promtool
parses (each is written as a recording rule and checked with `promtool check rules`),
and every metric an expression names is one mOSdat exports (a "mosdat_..." string in
the services' sources) or one of PLANNED_METRICS. The coordinator's metrics listed in
REQUIRED_ON_DASHBOARD each have a panel.

deploy/prometheus/mosdat-alerts.yml: every alert has a severity and summary and
description annotations, and names only known metrics.

Usage: check_dashboard.py SOURCE_DIR. Prints every problem, exits 1 if there was one.
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

# Where the services define their metrics.
SOURCE_DIRS = ["coordinator", "runtime", "vnc-agent", "vlm-gateway", "proxmox-bridge", "cli", "core"]

# Metrics the coordinator's durable store, leases and retries add (being written in
# parallel); once exported they are found in the sources as well.
PLANNED_METRICS = {
    "mosdat_coordinator_queue_depth",
    "mosdat_coordinator_jobs",
    "mosdat_coordinator_lease_expiries_total",
    "mosdat_coordinator_retries_total",
    "mosdat_coordinator_agent_capacity",
    "mosdat_coordinator_agent_slots_in_use",
    "mosdat_coordinator_store_write_seconds",
}

REQUIRED_ON_DASHBOARD = PLANNED_METRICS | {
    "mosdat_coordinator_live_agents",
    "mosdat_jobs_finished_total",
    "mosdat_events_recorded_total",
}

HISTOGRAM_SERIES_SUFFIXES = ("_bucket", "_count", "_sum")
GRID_COLUMNS = 24


def exported_metrics(source_dir):
    names = set()
    for sub in SOURCE_DIRS:
        for path in (source_dir / sub).rglob("*"):
            if path.suffix in (".cc", ".h"):
                names.update(re.findall(r'"(mosdat_[a-z0-9_]+)"', path.read_text(errors="replace")))
    return names


def metric_families(expr, known):
    """The metric families an expression names: a histogram's _bucket/_count/_sum
    series count as the histogram's."""
    families = set()
    for name in re.findall(r"\b(mosdat_[a-z0-9_]+)", expr):
        for suffix in HISTOGRAM_SERIES_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in known:
                name = name[: -len(suffix)]
                break
        families.add(name)
    return families


def check_dashboard(dashboard, known, problems):
    """Returns {expression: where} for the PromQL check."""
    expressions = {}
    used = set()
    ids = set()
    boxes = []
    for index, panel in enumerate(dashboard.get("panels", [])):
        where = f'panel {panel.get("id")} "{panel.get("title", "")}"'
        if not panel.get("title"):
            problems.append(f"panels[{index}]: no title")
        if panel.get("id") in ids:
            problems.append(f"{where}: id {panel.get('id')} is used twice")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")):
            problems.append(f"{where}: gridPos needs integer x, y, w, h")
            continue
        if grid["x"] < 0 or grid["w"] <= 0 or grid["x"] + grid["w"] > GRID_COLUMNS:
            problems.append(f"{where}: gridPos {grid} leaves the {GRID_COLUMNS}-column grid")
        for other_where, other in boxes:
            if (grid["x"] < other["x"] + other["w"] and other["x"] < grid["x"] + grid["w"]
                    and grid["y"] < other["y"] + other["h"] and other["y"] < grid["y"] + grid["h"]):
                problems.append(f"{where}: overlaps {other_where}")
        boxes.append((where, grid))
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"{where}: datasource must be the ${{datasource}} variable")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{where}: no targets")
        ref_ids = [t.get("refId") for t in targets]
        if None in ref_ids or len(set(ref_ids)) != len(ref_ids):
            problems.append(f"{where}: every target needs its own refId, got {ref_ids}")
        for target in targets:
            expr = target.get("expr", "")
            if not expr.strip():
                problems.append(f"{where}: target {target.get('refId')} has no expr")
                continue
            expressions[expr] = where
            for family in metric_families(expr, known):
                used.add(family)
                if family not in known:
                    problems.append(f"{where}: {family} is not a metric mOSdat exports ({expr})")
    for name in sorted(REQUIRED_ON_DASHBOARD - used):
        problems.append(f"no panel shows {name}")
    return expressions


def check_promql(expressions, problems):
    """promtool parses each expression (as a recording rule's)."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": expr} for i, expr in enumerate(expressions)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as file:
        yaml.safe_dump(rules, file)
        file.flush()
        result = subprocess.run(["promtool", "check", "rules", file.name],
                                capture_output=True, text=True)
    if result.returncode != 0:
        problems.append("promtool cannot parse the dashboard's queries:\n" + result.stdout + result.stderr)


def check_alerts(alert_rules, known, problems):
    count = 0
    for group in alert_rules.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert")
            if name is None:
                continue
            count += 1
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                problems.append(f"alert {name}: needs a severity label (critical, warning or info)")
            for annotation in ("summary", "description"):
                if not rule.get("annotations", {}).get(annotation, "").strip():
                    problems.append(f"alert {name}: no {annotation} annotation")
            for family in metric_families(rule.get("expr", ""), known):
                if family not in known:
                    problems.append(f"alert {name}: {family} is not a metric mOSdat exports")
    if count == 0:
        problems.append("mosdat-alerts.yml has no alerts")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_dashboard.py SOURCE_DIR")
    source_dir = pathlib.Path(sys.argv[1])
    problems = []
    exported = exported_metrics(source_dir)
    if "mosdat_coordinator_live_agents" not in exported:
        problems.append(f"found no metrics in the sources under {source_dir}: wrong SOURCE_DIR?")
    known = exported | PLANNED_METRICS
    dashboard_path = source_dir / "deploy/grafana/mosdat.json"
    try:
        dashboard = json.loads(dashboard_path.read_text())
    except ValueError as error:
        sys.exit(f"{dashboard_path}: not valid JSON: {error}")
    expressions = check_dashboard(dashboard, known, problems)
    check_promql(expressions, problems)
    alert_rules = yaml.safe_load((source_dir / "deploy/prometheus/mosdat-alerts.yml").read_text())
    check_alerts(alert_rules, known, problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{len(dashboard['panels'])} panels, {len(expressions)} queries: all parse and name "
          f"known metrics; alert rules annotated")


if __name__ == "__main__":
    main()
