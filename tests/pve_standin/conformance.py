#!/usr/bin/python3
"""Check every request a client sent to the Proxmox stand-in against the official
PVE API schema (pve-docs api-viewer apidata.js, read from its path at run time).

  conformance.py --schema /work/shared/pve/apidata-8.4.0.js --requests DIR/requests.jsonl

Per request: the path exists, the method exists, every parameter is known and has
the right type (booleans 0/1, integers), enum value, pattern, format, length and
range; required parameters are present. Prints each violation with its request;
exit status 1 if there is any. Requests the test marked as deliberately invalid
(header X-Standin-Expect-Invalid, recorded as "expect_invalid") are skipped.
"""

import argparse
import json
import re
import sys


def load_schema(path):
    text = open(path, encoding="utf-8").read()
    start = text.index("[")
    end = text.index("\n]\n;") + 2 if "\n]\n;" in text else text.rindex("]") + 1
    return json.loads(text[start:end])


def index_schema(tree):
    out = {}

    def walk(nodes):
        for n in nodes:
            out[n["path"]] = n.get("info", {})
            walk(n.get("children", []))
    walk(tree)
    return out


def match_path(index, path):
    """-> (schema_path, uri_params); literal segments win over {placeholders}."""
    segs = [s for s in path.split("/") if s]
    best = None
    for sp in index:
        ssegs = [s for s in sp.split("/") if s]
        if len(ssegs) != len(segs):
            continue
        params, literal = {}, 0
        for s, v in zip(ssegs, segs):
            m = re.fullmatch(r"\{(\w+)\}", s)
            if m:
                params[m.group(1)] = v
            elif s == v:
                literal += 1
            else:
                break
        else:
            if best is None or literal > best[2]:
                best = (sp, params, literal)
    return (best[0], best[1]) if best else (None, None)


def perl_re(rx):
    """Perl regex text from the schema -> Python regex."""
    return rx.replace("(?^:", "(?:").replace("\\Z", "$")


INT_RE = re.compile(r"^-?\d+$")
NUM_RE = re.compile(r"^[+-]?(\d+\.\d*|\d*\.\d+|\d+)([eE][+-]?\d+)?$")
NAMED_FORMATS = {
    "pve-vmid": r"[1-9][0-9]{2,8}",
    "pve-node": r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?",
    "pve-configid": r"[a-z][a-z0-9_-]+",
    "dns-name": r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?",
    "pve-realm": r"[A-Za-z][A-Za-z0-9\.\-_]+",
}


def check_named_format(fmt, value):
    m = re.fullmatch(r"(.*?)(?:-(list|opt))?", fmt)
    name, kind = m.group(1), m.group(2)
    rx = NAMED_FORMATS.get(name)
    if rx is None:
        return None  # a format this checker does not know: not checked
    values = [v for v in re.split(r"[,;\s\0]+", value) if v] if kind == "list" else (
        [value] if value or kind != "opt" else [])
    for v in values:
        if not re.fullmatch(rx, v, re.I if name == "pve-configid" else 0):
            return f"value '{v}' does not match format '{name}'"
    return None


def check_property_string(fmt, value, path):
    errors = []
    default_key = next((k for k, s in fmt.items() if s.get("default_key")), None)
    seen = {}
    for part in [p for p in value.split(",") if p]:
        k, v = part.split("=", 1) if "=" in part else (default_key, part)
        if k is None:
            errors.append(f"{path}: value without key, but schema has no default key")
            continue
        if k not in fmt:
            errors.append(f"{path}: invalid key in property string: {k}")
            continue
        if "alias" in fmt[k]:
            k = fmt[k]["alias"]
        seen[k] = v
    for k, spec in fmt.items():
        if "alias" in spec:
            continue
        errors += check_value(seen.get(k), spec, f"{path}.{k}")
    return errors


def format_from_typetext(typetext):
    """A named property-string format (e.g. pve-qm-hostpci) rebuilt from its typetext:
    '[[host=]<...>] [,pcie=<1|0>] [,driver=<vfio|keep>]' -> {key: spec}."""
    fmt = {}
    for m in re.finditer(r"\[(\[)?,?([\w-]+)=\]?<([^>]*)>", typetext):
        default, key, kind = m.group(1), m.group(2), m.group(3)
        spec = {"type": "string", "optional": True}
        if kind == "1|0":
            spec["type"] = "boolean"
        elif kind == "integer":
            spec["type"] = "integer"
        elif re.fullmatch(r"[\w.-]+(\|[\w.-]+)+", kind):
            spec["enum"] = kind.split("|")
        if default:
            spec["default_key"] = 1
        fmt[key] = spec
    return fmt or None


def check_value(value, spec, path):
    if value is None:
        if not spec.get("optional") and spec.get("type") != "null":
            return [f"{path}: required parameter is missing"]
        return []
    t = spec.get("type", "string")
    if t == "array":
        items = value if isinstance(value, list) else [value]
        errs = []
        for i, v in enumerate(items):
            errs += check_value(v, spec.get("items", {"type": "string"}), f"{path}[{i}]")
        return errs
    if isinstance(value, list):
        return [f"{path}: given {len(value)} times, but it is not an array"]
    if isinstance(value, bool):
        return [] if t == "boolean" else [f"{path}: JSON boolean for a '{t}'"]
    value = str(value)
    if t == "boolean" and value not in ("0", "1"):
        return [f"{path}: boolean must be 0 or 1, got '{value}'"]
    if t == "integer" and not INT_RE.match(value):
        return [f"{path}: not an integer: '{value}'"]
    if t == "number" and not NUM_RE.match(value):
        return [f"{path}: not a number: '{value}'"]
    fmt = spec.get("format")
    if isinstance(fmt, dict):
        errs = check_property_string(fmt, value, path)
        if errs:
            return errs
    elif isinstance(fmt, str) and "=" in spec.get("typetext", "") and "[" in spec["typetext"]:
        errs = check_property_string(format_from_typetext(spec["typetext"]), value, path)
        if errs:
            return errs
    elif isinstance(fmt, str):
        err = check_named_format(fmt, value)
        if err:
            return [f"{path}: {err}"]
    if spec.get("pattern") and not re.fullmatch(perl_re(spec["pattern"]), value):
        return [f"{path}: '{value}' does not match pattern {spec['pattern']}"]
    if spec.get("maxLength") is not None and len(value) > spec["maxLength"]:
        return [f"{path}: longer than {spec['maxLength']} characters"]
    if spec.get("minLength") is not None and len(value) < spec["minLength"]:
        return [f"{path}: shorter than {spec['minLength']} characters"]
    if NUM_RE.match(value) and t in ("integer", "number"):
        if spec.get("maximum") is not None and float(value) > float(spec["maximum"]):
            return [f"{path}: {value} > maximum {spec['maximum']}"]
        if spec.get("minimum") is not None and float(value) < float(spec["minimum"]):
            return [f"{path}: {value} < minimum {spec['minimum']}"]
    if spec.get("enum") and value not in spec["enum"]:
        return [f"{path}: '{value}' not in enum {spec['enum']}"]
    return []


def property_spec(props, name):
    """Schema entry of a parameter; 'hostpci[n]' style entries match hostpci0.."""
    if name in props:
        return props[name]
    for key, spec in props.items():
        m = re.fullmatch(r"(\w+)\[n\]", key)
        if m and re.fullmatch(re.escape(m.group(1)) + r"\d+", name):
            return spec
    return None


def check_request(index, req):
    schema_path, uri = match_path(index, req["path"])
    if schema_path is None:
        return [f"path does not exist in the API: {req['path']}"]
    info = index[schema_path].get(req["method"])
    if info is None:
        return [f"method {req['method']} not defined for {schema_path}"]
    params = dict(uri)
    params.update(req.get("params", {}))
    pdef = info.get("parameters", {})
    props = pdef.get("properties", {})
    errors = []
    for name, value in params.items():
        spec = property_spec(props, name)
        if spec is None:
            if not pdef.get("additionalProperties"):
                errors.append(f"{name}: unknown parameter")
            continue
        errors += check_value(value, spec, name)
        req_key = spec.get("requires")
        if isinstance(req_key, str) and req_key not in params:
            errors.append(f"{req_key}: required by '{name}' but missing")
    for name, spec in props.items():
        if "[n]" in name or spec.get("optional") or name in params:
            continue
        errors.append(f"{name}: required parameter is missing")
    return errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schema", required=True)
    ap.add_argument("--requests", required=True)
    args = ap.parse_args(argv)
    index = index_schema(load_schema(args.schema))
    checked = skipped = bad = 0
    for line in open(args.requests, encoding="utf-8"):
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("expect_invalid"):
            skipped += 1
            continue
        checked += 1
        errors = check_request(index, req)
        if errors:
            bad += 1
            shown = json.dumps({k: req.get(k) for k in ("method", "path", "params", "status")})
            print(f"VIOLATION {shown}")
            for e in errors:
                print(f"    {e}")
    print(f"conformance ({args.schema.rsplit('/', 1)[-1]}): {checked} requests checked, "
          f"{bad} with violations, {skipped} marked invalid on purpose and skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
