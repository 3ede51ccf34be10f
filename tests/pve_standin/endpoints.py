"""Endpoint table of the Proxmox VE stand-in, written by hand from the PVE API
documentation (api-viewer, 8.4 and 9.1), and PVE's own parameter validation
rules (PVE::JSONSchema: booleans are exactly 0/1, integers are digits, formats,
patterns, maxLength, minimum/maximum, enums, unknown parameters refused).

Every parameter is a small dict: {"type": ..., "optional": bool, ...}.
Error texts are the ones PVE::JSONSchema produces.
"""

import re

# --- parameter helpers -------------------------------------------------------


def P(type_, optional=False, **kw):
    d = {"type": type_, "optional": optional}
    d.update(kw)
    return d


def boolean(optional=True):
    return P("boolean", optional)


def integer(optional=True, minimum=None, maximum=None):
    return P("integer", optional, minimum=minimum, maximum=maximum)


def string(optional=True, **kw):
    return P("string", optional, **kw)


def enum(values, optional=True):
    return P("string", optional, enum=list(values))


NODE = string(False, format="pve-node")
VMID = P("integer", False, format="pve-vmid", minimum=100, maximum=999999999)
SNAPNAME = string(False, format="pve-configid", maxLength=40)

# --- formats -----------------------------------------------------------------

CONFIGID_RE = re.compile(r"[a-z][a-z0-9_-]+", re.I)
NODE_RE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?")
DNS_PART = r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"
DNS_RE = re.compile(rf"({DNS_PART}\.)*{DNS_PART}")
PCIRE = r"(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])?"
HEXID = r"0x[0-9a-fA-F]{4}"

# property-string formats (key -> param spec); "_default" names the default key
HOSTPCI_FORMAT = {
    "_default": "host",
    "host": string(pattern=rf"{PCIRE}(;{PCIRE})*"),
    "mapping": string(format="pve-configid"),
    "rombar": boolean(),
    "romfile": string(pattern=r"[^,;]+"),
    "pcie": boolean(),
    "x-vga": boolean(),
    "legacy-igd": boolean(),
    "mdev": string(pattern=r"[^/\.:]+"),
    "vendor-id": string(pattern=HEXID),
    "device-id": string(pattern=HEXID),
    "sub-vendor-id": string(pattern=HEXID),
    "sub-device-id": string(pattern=HEXID),
}
HOSTPCI_FORMAT_9 = dict(HOSTPCI_FORMAT, driver=enum(["vfio", "keep"]))

MACHINE_TYPE_RE = (r"(pc|pc(-i440fx)?-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|q35|"
                   r"pc-q35-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|virt(?:-\d+(\.\d+)+)?(\+pve\d+)?)")
MACHINE_FORMAT = {
    "_default": "type",
    "type": string(pattern=MACHINE_TYPE_RE, maxLength=40),
    "viommu": enum(["intel", "virtio"]),
    "aw-bits": P("number", True, minimum=32, maximum=64),
    "enable-s3": boolean(),
    "enable-s4": boolean(),
}
AGENT_FORMAT = {
    "_default": "enabled",
    "enabled": boolean(False),
    "freeze-fs": boolean(),
    "freeze-fs-on-backup": boolean(),
    "guest-fsfreeze": boolean(),
    "fstrim_cloned_disks": boolean(),
    "type": enum(["virtio", "isa"]),
}
MEMORY_FORMAT = {"_default": "current", "current": integer(False, minimum=16)}
VGA_FORMAT = {
    "_default": "type",
    "type": enum(["cirrus", "qxl", "qxl2", "qxl3", "qxl4", "none", "serial0",
                  "serial1", "serial2", "serial3", "std", "virtio", "virtio-gl",
                  "vmware"]),
    "memory": integer(minimum=4, maximum=512),
    "clipboard": enum(["vnc"]),
}

# --- the config keys of a VM (POST/PUT .../config) ---------------------------

OSTYPES = ["other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8",
           "win10", "win11", "l24", "l26", "solaris"]


def _indexed(name, count, spec):
    return {f"{name}{i}": spec for i in range(count)}


def vm_config_params(version, for_post):
    hostpci = HOSTPCI_FORMAT_9 if version >= (9, 0) else HOSTPCI_FORMAT
    params = {
        "node": NODE, "vmid": VMID,
        "acpi": boolean(), "agent": string(format=AGENT_FORMAT),
        "arch": enum(["x86_64", "aarch64"]), "args": string(),
        "autostart": boolean(), "balloon": integer(minimum=0),
        "bios": enum(["seabios", "ovmf"]), "boot": string(),
        "bootdisk": string(), "cdrom": string(), "cicustom": string(),
        "cipassword": string(), "citype": enum(["configdrive2", "nocloud", "opennebula"]),
        "ciupgrade": boolean(), "ciuser": string(),
        "cores": integer(minimum=1), "cpu": string(), "cpulimit": P("number", True, minimum=0, maximum=128),
        "cpuunits": integer(minimum=1, maximum=262144),
        "delete": string(format="pve-configid-list"),
        "description": string(maxLength=8192), "digest": string(maxLength=40),
        "efidisk0": string(), "force": boolean(), "freeze": boolean(),
        "hookscript": string(), "hotplug": string(), "hugepages": enum(["any", "2", "1024"]),
        "keephugepages": boolean(), "keyboard": string(), "kvm": boolean(),
        "localtime": boolean(),
        "lock": enum(["backup", "clone", "create", "migrate", "rollback", "snapshot",
                      "snapshot-delete", "suspending", "suspended"]),
        "machine": string(format=MACHINE_FORMAT),
        "memory": string(format=MEMORY_FORMAT),
        "migrate_downtime": P("number", True, minimum=0),
        "migrate_speed": integer(minimum=0),
        "name": string(format="dns-name"), "nameserver": string(),
        "numa": boolean(), "onboot": boolean(), "ostype": enum(OSTYPES),
        "protection": boolean(), "reboot": boolean(),
        "revert": string(format="pve-configid-list"),
        "rng0": string(), "scsihw": enum(["lsi", "lsi53c810", "virtio-scsi-pci",
                                          "virtio-scsi-single", "megasas", "pvscsi"]),
        "searchdomain": string(), "shares": integer(minimum=0, maximum=50000),
        "skiplock": boolean(), "smbios1": string(maxLength=512), "smp": integer(minimum=1),
        "sockets": integer(minimum=1), "spice_enhancements": string(), "sshkeys": string(),
        "startdate": string(), "startup": string(), "tablet": boolean(),
        "tags": string(), "tdf": boolean(), "template": boolean(),
        "tpmstate0": string(), "vcpus": integer(minimum=1),
        "vga": string(format=VGA_FORMAT), "vmgenid": string(),
        "vmstatestorage": string(), "watchdog": string(),
        "affinity": string(), "audio0": string(), "ivshmem": string(),
    }
    params.update(_indexed("hostpci", 16, string(format=hostpci)))
    params.update(_indexed("net", 32, string()))
    params.update(_indexed("ide", 4, string()))
    params.update(_indexed("sata", 6, string()))
    params.update(_indexed("scsi", 31, string()))
    params.update(_indexed("virtio", 16, string()))
    params.update(_indexed("usb", 14 if version >= (8, 0) else 5, string()))
    params.update(_indexed("serial", 4, string()))
    params.update(_indexed("parallel", 3, string()))
    params.update(_indexed("unused", 256, string()))
    params.update(_indexed("ipconfig", 32, string()))
    params.update(_indexed("numa", 8, string()))
    if version >= (8, 3):
        params.update(_indexed("virtiofs", 10, string()))
        params["allow-ksm"] = boolean()
        params["amd-sev"] = string()
    if version >= (9, 0):
        params["intel-tdx"] = string()
    if for_post:
        params["background_delay"] = integer(minimum=1, maximum=30)
        if version >= (8, 2):
            params["import-working-storage"] = string()
    return params


# --- privileges ----------------------------------------------------------------

def perm(path, privs, any_=False):
    return {"check": (path, tuple(privs), any_)}


PERM_ALL_USERS = {"user": "all"}
PERM_WORLD = {"user": "world"}
CONFIG_MODIFY = perm("/vms/{vmid}", ["VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU",
                                     "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
                                     "VM.Config.Options", "VM.Config.Cloudinit"], any_=True)


def agent_perm(version, kind):
    """Guest agent privileges: 8.x VM.Monitor; 9.x the VM.GuestAgent.* set."""
    if version < (9, 0):
        return perm("/vms/{vmid}", ["VM.Monitor"])
    if kind == "audit":
        return perm("/vms/{vmid}", ["VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"], True)
    if kind == "file-write":
        return perm("/vms/{vmid}", ["VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted"], True)
    return perm("/vms/{vmid}", ["VM.GuestAgent.Unrestricted"])


ALL_PRIVILEGES = [
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
    "Datastore.Audit", "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use",
    "Permissions.Modify", "Pool.Allocate", "Pool.Audit", "Realm.Allocate",
    "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit", "SDN.Use", "Sys.AccessNetwork",
    "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt",
    "Sys.Syslog", "User.Modify", "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone",
    "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk",
    "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options",
    "VM.Console", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate",
    "VM.Snapshot", "VM.Snapshot.Rollback",
]
PRIVILEGES_8 = ALL_PRIVILEGES + ["VM.Monitor"]
PRIVILEGES_9 = ALL_PRIVILEGES + ["VM.GuestAgent.Audit", "VM.GuestAgent.FileRead",
                                 "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
                                 "VM.GuestAgent.Unrestricted"]


def privileges_for(version):
    return PRIVILEGES_9 if version >= (9, 0) else PRIVILEGES_8


# --- the table ---------------------------------------------------------------

Q = "/nodes/{node}/qemu/{vmid}"


def endpoint_table(version):
    """[(method, path, params, permissions, handler, proxyto_node)]"""
    E = []

    def add(method, path, params, permissions, handler, proxyto=False, allowtoken=True):
        E.append({"method": method, "path": path, "params": params,
                  "permissions": permissions, "handler": handler,
                  "proxyto": proxyto, "allowtoken": allowtoken})

    add("GET", "/version", {}, PERM_ALL_USERS, "version")
    add("GET", "/nodes", {}, PERM_ALL_USERS, "nodes")
    add("GET", "/cluster/resources", {"type": enum(["vm", "storage", "node", "sdn"])},
        PERM_ALL_USERS, "cluster_resources")
    add("POST", "/access/ticket", {
        "username": string(False, maxLength=64), "password": string(False),
        "realm": string(format="pve-realm", maxLength=32), "otp": string(),
        "path": string(maxLength=64, requires="privs"),
        "privs": string(format="pve-priv-list", maxLength=64, requires="path"),
        "new-format": boolean(), "tfa-challenge": string()},
        PERM_WORLD, "ticket", allowtoken=False)
    add("GET", "/access/permissions", {
        "path": string(),
        "userid": string(pattern=r"[^\s:/]+@[A-Za-z][A-Za-z0-9\.\-_]+(?:![A-Za-z][A-Za-z0-9\.\-_]+)?")},
        PERM_ALL_USERS, "permissions")
    add("GET", "/nodes/{node}/qemu", {"node": NODE, "full": boolean()},
        PERM_ALL_USERS, "qemu_list", proxyto=True)
    add("GET", Q + "/config", {"node": NODE, "vmid": VMID, "current": boolean(),
                               "snapshot": string(format="pve-configid", maxLength=40)},
        perm("/vms/{vmid}", ["VM.Audit"]), "config_get", proxyto=True)
    add("POST", Q + "/config", vm_config_params(version, True), CONFIG_MODIFY,
        "config_post", proxyto=True)
    add("PUT", Q + "/config", vm_config_params(version, False), CONFIG_MODIFY,
        "config_put", proxyto=True)
    add("GET", Q + "/pending", {"node": NODE, "vmid": VMID},
        perm("/vms/{vmid}", ["VM.Audit"]), "pending_get", proxyto=True)
    add("GET", Q + "/status/current", {"node": NODE, "vmid": VMID},
        perm("/vms/{vmid}", ["VM.Audit"]), "status_current", proxyto=True)
    start_params = {"node": NODE, "vmid": VMID, "skiplock": boolean(),
                    "stateuri": string(maxLength=128), "migratedfrom": string(format="pve-node"),
                    "migration_type": enum(["secure", "insecure"]),
                    "migration_network": string(), "machine": string(format=MACHINE_FORMAT),
                    "targetstorage": string(), "timeout": integer(minimum=0),
                    "force-cpu": string()}
    if version >= (8, 1):
        start_params["nets-host-mtu"] = string(pattern=r"net\d+=\d+(,net\d+=\d+)*")
    if version >= (8, 3):
        start_params["with-conntrack-state"] = boolean()
    power = perm("/vms/{vmid}", ["VM.PowerMgmt"])
    add("POST", Q + "/status/start", start_params, power, "vm_start", proxyto=True)
    add("POST", Q + "/status/shutdown", {
        "node": NODE, "vmid": VMID, "skiplock": boolean(), "timeout": integer(minimum=0),
        "forceStop": boolean(), "keepActive": boolean()}, power, "vm_shutdown", proxyto=True)
    stop_params = {"node": NODE, "vmid": VMID, "skiplock": boolean(),
                   "migratedfrom": string(format="pve-node"), "timeout": integer(minimum=0),
                   "keepActive": boolean()}
    if version >= (8, 1):
        stop_params["overrule-shutdown"] = boolean()
    add("POST", Q + "/status/stop", stop_params, power, "vm_stop", proxyto=True)
    add("POST", Q + "/status/reset", {"node": NODE, "vmid": VMID, "skiplock": boolean()},
        power, "vm_reset", proxyto=True)
    add("GET", Q + "/snapshot", {"node": NODE, "vmid": VMID},
        perm("/vms/{vmid}", ["VM.Audit"]), "snapshot_list", proxyto=True)
    add("POST", Q + "/snapshot", {"node": NODE, "vmid": VMID, "snapname": SNAPNAME,
                                  "description": string(), "vmstate": boolean()},
        perm("/vms/{vmid}", ["VM.Snapshot"]), "snapshot_create", proxyto=True)
    add("POST", Q + "/snapshot/{snapname}/rollback", {
        "node": NODE, "vmid": VMID, "snapname": SNAPNAME, "start": boolean()},
        perm("/vms/{vmid}", ["VM.Snapshot", "VM.Snapshot.Rollback"], True),
        "snapshot_rollback", proxyto=True)
    add("GET", "/nodes/{node}/tasks/{upid}/status", {"node": NODE, "upid": string(False)},
        PERM_ALL_USERS, "task_status", proxyto=True)
    add("GET", "/nodes/{node}/tasks/{upid}/log", {
        "node": NODE, "upid": string(False), "start": integer(minimum=0),
        "limit": integer(minimum=0), "download": boolean()},
        PERM_ALL_USERS, "task_log", proxyto=True)
    vm_only = {"node": NODE, "vmid": VMID}
    add("POST", Q + "/agent/ping", vm_only, agent_perm(version, "audit"), "agent_ping", True)
    add("GET", Q + "/agent/network-get-interfaces", vm_only, agent_perm(version, "audit"),
        "agent_network", True)
    add("POST", Q + "/agent/exec", {
        "node": NODE, "vmid": VMID, "command": P("array", False, items=string(False)),
        "input-data": string(maxLength=65536)}, agent_perm(version, "exec"), "agent_exec", True)
    add("GET", Q + "/agent/exec-status", {"node": NODE, "vmid": VMID, "pid": integer(False)},
        agent_perm(version, "exec"), "agent_exec_status", True)
    add("POST", Q + "/agent/file-write", {
        "node": NODE, "vmid": VMID, "file": string(False),
        "content": string(False, maxLength=61440), "encode": boolean()},
        agent_perm(version, "file-write"), "agent_file_write", True)
    add("GET", "/nodes/{node}/hardware/pci", {
        "node": NODE, "pci-class-blacklist": string(format="string-list"),
        "verbose": boolean()},
        perm("/", ["Sys.Audit", "Sys.Modify"], True), "hardware_pci", proxyto=True)
    add("GET", "/cluster/mapping/pci", {"check-node": string(format="pve-node")},
        PERM_ALL_USERS, "mapping_pci")
    add("POST", Q + "/vncproxy", {"node": NODE, "vmid": VMID, "websocket": boolean(),
                                  "generate-password": boolean()},
        perm("/vms/{vmid}", ["VM.Console"]), "vncproxy")
    add("GET", Q + "/vncwebsocket", {"node": NODE, "vmid": VMID,
                                     "vncticket": string(False, maxLength=512),
                                     "port": integer(False, minimum=5900, maximum=5999)},
        perm("/vms/{vmid}", ["VM.Console"]), "vncwebsocket")
    return E


# --- matching and validation -------------------------------------------------

def _compile(path):
    rx = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return re.compile("^" + rx + "$")


class Router:
    def __init__(self, version):
        self.entries = endpoint_table(version)
        for e in self.entries:
            e["rx"] = _compile(e["path"])

    def find(self, method, rel_path):
        """-> (entry, uri_params) or (None, None)"""
        for e in self.entries:
            if e["method"] != method:
                continue
            m = e["rx"].match(rel_path)
            if m:
                return e, m.groupdict()
        return None, None


INT_RE = re.compile(r"^-?\d+$")
NUM_RE = re.compile(r"^[+-]?(\d+\.\d*|\d*\.\d+|\d+)([eE][+-]?\d+)?$")


def _check_format(fmt, value, path):
    """Raises ValueError(msg) like PVE's format checkers."""
    if isinstance(fmt, dict):
        _check_property_string(fmt, value, path)
        return
    name, kind = fmt, None
    m = re.match(r"^(.*?)-(list|opt)$", fmt)
    if m and m.group(1) in ("pve-configid", "pve-node", "pve-vmid", "string", "pve-priv"):
        name, kind = m.group(1), m.group(2)
    if kind == "list":
        for v in [x for x in re.split(r"[,;\s\0]+", value) if x]:
            _check_single_format(name, v)
    elif kind == "opt":
        if value:
            _check_single_format(name, value)
    else:
        _check_single_format(name, value)


def _check_single_format(name, value):
    if name == "pve-vmid" and not re.fullmatch(r"[1-9][0-9]{2,8}", value):
        raise ValueError("value does not look like a valid VM ID\n")
    if name == "pve-node" and not NODE_RE.fullmatch(value):
        raise ValueError("value does not look like a valid node name\n")
    if name == "pve-configid" and not CONFIGID_RE.fullmatch(value):
        raise ValueError(f"invalid configuration ID '{value}'\n")
    if name == "dns-name" and not DNS_RE.fullmatch(value):
        raise ValueError("value does not look like a valid DNS name\n")
    if name == "pve-realm" and not re.fullmatch(r"[A-Za-z][A-Za-z0-9\.\-_]+", value):
        raise ValueError("value does not look like a valid realm\n")


def _check_property_string(fmt, value, path):
    parsed = {}
    for part in value.split(","):
        if part == "":
            continue
        if "=" in part:
            k, v = part.split("=", 1)
        else:
            k, v = fmt.get("_default"), part
            if k is None:
                raise ValueError("value without key, but schema does not define a default key\n")
        if k in parsed:
            raise ValueError(f"duplicate key in comma-separated list property: {k}\n")
        if k not in fmt or k == "_default":
            raise ValueError(f"invalid key in comma-separated list property: {k}\n")
        parsed[k] = v
    errors = {}
    for k, spec in fmt.items():
        if k == "_default":
            continue
        _check_value(parsed.get(k), spec, f"{path}.{k}" if path else k, errors)
    if errors:
        lines = "".join(f"{k}: {v}\n" for k, v in errors.items())
        raise ValueError("format error\n" + lines)


def _add_error(errors, path, msg):
    errors[path] = errors[path] + "\\n" + msg if path in errors else msg


def _check_value(value, spec, path, errors):
    if value is None:
        if not spec.get("optional"):
            _add_error(errors, path, "property is missing and it is not optional")
        return
    t = spec["type"]
    if t == "array":
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            _check_value(v, spec.get("items", string()), f"{path}[{i}]", errors)
        return
    if isinstance(value, list):
        _add_error(errors, path, f"type check ('{t}') failed - got ARRAY")
        return
    if isinstance(value, bool):  # a JSON body's true/false: PVE accepts JSON booleans
        if t == "boolean":
            return
        value = "1" if value else "0"
    value = str(value)
    if t == "boolean" and value not in ("0", "1"):
        _add_error(errors, path, f"type check ('boolean') failed - got '{value}'")
        return
    if t == "integer" and not INT_RE.match(value):
        _add_error(errors, path, f"type check ('integer') failed - got '{value}'")
        return
    if t == "number" and not NUM_RE.match(value):
        _add_error(errors, path, f"type check ('number') failed - got '{value}'")
        return
    if spec.get("format"):
        try:
            _check_format(spec["format"], value, path)
        except ValueError as exc:
            _add_error(errors, path, f"invalid format - {exc}")
            return
    if spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        _add_error(errors, path, "value does not match the regex pattern")
        return
    if spec.get("maxLength") is not None and len(value) > spec["maxLength"]:
        _add_error(errors, path, f"value may only be {spec['maxLength']} characters long")
        return
    if NUM_RE.match(value):
        if spec.get("maximum") is not None and float(value) > spec["maximum"]:
            _add_error(errors, path, f"value must have a maximum value of {spec['maximum']}")
            return
        if spec.get("minimum") is not None and float(value) < spec["minimum"]:
            _add_error(errors, path, f"value must have a minimum value of {spec['minimum']}")
            return
    if spec.get("enum") and value not in spec["enum"]:
        _add_error(errors, path, f"value '{value}' does not have a value in the enumeration '"
                   + ", ".join(spec["enum"]) + "'")


def validate(params_spec, params):
    """PVE::JSONSchema::validate for a method's parameters -> errors dict."""
    errors = {}
    for name, spec in params_spec.items():
        _check_value(params.get(name), spec, name, errors)
    for name, value in params.items():
        spec = params_spec.get(name)
        if spec is None:
            _add_error(errors, name, "property is not defined in schema and the schema "
                       "does not allow additional properties")
        elif spec.get("requires") and params.get(spec["requires"]) is None:
            _add_error(errors, spec["requires"], f"missing property required by '{name}'")
    return errors


def parse_property_string(fmt, value):
    """Parsed dict of a property string already validated against fmt."""
    res = {}
    for part in value.split(","):
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
        else:
            k, v = fmt["_default"], part
        res[k] = v
    return res
