#!/usr/bin/python3
"""mosdat guest-side AT-SPI helper: finds, inspects and acts on widgets for the agent.

Runs inside the guest's desktop session with the SYSTEM Python 3 and
gi.repository.Atspi (Debian: python3-gi, gir1.2-atspi-2.0). The agent starts it once
per VM and keeps it alive; it speaks JSON lines on stdin/stdout:

  request   {"id": N, "op": "...", ...}               one JSON object per line
  response  {"id": N, "ok": true, "result": ...}      one line per request, flushed
            {"id": N, "ok": false, "error": "...", "code": "...", "near": [...]}

Error codes say whose fault a failure is, so the agent can classify it:
  not_found     no such object (or app), or fewer matches than the index asks for
  not_showing   objects match, but none has the showing/visible state the query asks
  state         the object exists but lacks a required state ("checked", "focused")
  still_present wait_for exists=false: the object did not go away
  ambiguous     the request matched several things where it needs one
  no_action     the object has no such accessible action, or refused it
  bad_request   the request itself is wrong (unknown role/state/op, bad field)
  bus           the accessibility bus cannot be reached, or an AT-SPI call failed
  internal      a bug in the helper (logged to stderr with a traceback)
The first five are the app's or the scenario's doing (test failures); bus and
internal are the rig's (infrastructure errors). A reply without a code is internal.

A malformed line gets an error with "id": null; unknown ops are errors; the helper
never dies on a bad request. Only protocol lines go to stdout; logs go to stderr.

Ops
  ping                           -> {"version", "pid", "python"}
  apps                           -> [{"name", "pid", "children", "toolkit",
                                      "toolkit_version", "strategy"}]
  find      query                -> object (below); error + "near" when nothing matches
  wait_for  query, exists=true, timeout=5, interval=0.1
                                 -> object (exists) / null (not exists), polled in here
  action    query, action="click"
                                 -> {"action": done, "states": right after, "object"}
            The named action; for "click"/"activate"/"press" the first of click,
            activate, press, toggle; else the object's only action. States may lag
            (GTK4 ~0.3 s): follow with wait_for.
  at_point  x, y                 -> {"role", "name", "box", "app", "path"} or null
  text      query                -> {"text", "source": "text"|"name", "role", "name"}
  dump      app?, max_depth=64, boxes=true
                                 -> {"tree", "nodes", "elapsed_ms"}
  keymap    keysyms=[...], map=false
                                 -> {"pool", "missing", "scratch", "mapped"}
            Which of the keysyms no key of the X keyboard map produces ("missing"), which
            sit on the helper's scratch keycodes ("scratch"), and how many scratch
            keycodes there are ("pool": the keycodes that had no symbol when the helper
            first looked). With map=true every given keysym that is not on the map is
            put on a scratch keycode (least recently used ones are reassigned, never one
            of the given keysyms), so a VNC server finds it instead of borrowing a slot
            itself. More missing keysyms than the pool is an error.
  focused_text  max=4096        -> {"role", "name", "app", "caret", "before"} or null
            The focused object that has a Text interface (in the active window when
            several apps have one): its caret offset and up to `max` characters before
            the caret, read with explicit offsets (GTK 4 answers "" to GetText(0, -1)).
  quit                           -> {"bye": true}, then exit 0

  query = {"role", "name", "name_substr", "app", "index", "states": [...], "verify"}
    At least one of role/name/name_substr. role is an AT-SPI role name ("push button",
    "push_button"; aliases "button", "entry", "checkbox"); name matches exactly,
    name_substr case-insensitively; app is the application's accessible name (exact,
    else case-insensitive; default: all apps). index (default 0) picks the n-th match
    in depth-first tree order. states must all be set: "showing"/"visible" narrow the
    candidates (hidden objects take no index), any other state ("checked", "focused")
    is a condition on the picked object, so {"name": "togglebutton", "index": 1,
    "states": ["checked"]} always means the second togglebutton, checked or not yet.
    verify (default true) hit-tests the center.

  object = {"role", "name", "states", "app", "pid", "box": {"x","y","width","height"},
            "center": {"x","y"}, "actions", "path", "coords", "verified", "hit"}
    path: child indexes from the application (for Cache apps in the Cache's tree,
    which keeps the GTK4 stack pages that GetChildAtIndex skips). box/center are SCREEN pixels. GTK4
    reports extents relative to its window even for screen coordinates, so for GTK4
    the X11 origin of the toplevel plus its client-side-decoration margin
    (_GTK_FRAME_EXTENTS, else half the size difference) is added. "coords" says where
    the numbers come from: "screen", "gtk4 window origin from libX11" (or "xdotool",
    "xwininfo" when libX11 cannot be loaded), or "window-relative: <why>" when no X11
    means is available. "verified" is true when the accessible at the center, in the
    topmost X window there, is the object, a descendant, or an ancestor below the
    toplevel; "hit" says which ({"relation", "role", "name", "app"}).

Speed: the app list is cached (refreshed when the desktop's child count changes or an
app's pid disappears). Per app the cheapest search is used: the Collection interface
(GTK3: one GetMatches call answered from libatspi's cache), else the
org.a11y.atspi.Cache snapshot (GTK4: roles, names and states of the whole tree in one
GetItems call, kept between queries while no signal came from the app, and a kept
answer confirmed against the live object; see Snapshots and pick), else a pruned
depth-first walk. AT-SPI errors on objects that died
meanwhile are skipped. X11 lookups go through libX11 (ctypes), not processes.
"""

import ctypes
import dataclasses
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
import warnings

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, Gio, GLib  # noqa: E402

VERSION = "1.0"
ROOT_PATH = "/org/a11y/atspi/accessible/root"
MAX_DEPTH = 64
MAX_NODES = 20000
NEAR_LIMIT = 5
X_TOOL_TIMEOUT_S = 5

warnings.filterwarnings("ignore", category=DeprecationWarning)


def log(message):
    print(f"mosdat-atspi-helper: {message}", file=sys.stderr, flush=True)


class HelperError(Exception):
    """A failure the user can act on; `near` lists the closest candidates and `code`
    classifies it (see the module doc)."""

    def __init__(self, message, near=None, code="bad_request"):
        super().__init__(message)
        self.near = near or []
        self.code = code


def safe(fn, *args, default=None):
    """Calls an AT-SPI method; objects die at any time, so errors become `default`."""
    try:
        return fn(*args)
    except GLib.Error:
        return default


# ---------------------------------------------------------------------------------
# Roles and states by name.

def _norm(text):
    return re.sub(r"[\s_\-]+", " ", str(text).strip().lower())


ROLES = {_norm(Atspi.role_get_name(Atspi.Role(i))): Atspi.Role(i)
         for i in range(1, int(Atspi.Role.LAST_DEFINED))}
ROLE_ALIASES = {"button": "push button", "entry": "text", "checkbox": "check box",
                "textbox": "text", "togglebutton": "toggle button"}
STATE_NICKS = [Atspi.StateType(i).value_nick for i in range(int(Atspi.StateType.LAST_DEFINED))]
STATES = {_norm(nick): Atspi.StateType(i) for i, nick in enumerate(STATE_NICKS)}


def role_name(role):
    try:
        return Atspi.role_get_name(Atspi.Role(int(role)))
    except (ValueError, TypeError):
        return f"role {role}"


def parse_role(text):
    key = _norm(text)
    key = ROLE_ALIASES.get(key, key)
    if key in ROLES:
        return ROLES[key]
    close = difflib.get_close_matches(key, list(ROLES), n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise HelperError(f'unknown role "{text}"{hint}')


def parse_state(text):
    key = _norm(text)
    if key in STATES:
        return STATES[key]
    close = difflib.get_close_matches(key, list(STATES), n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise HelperError(f'unknown state "{text}"{hint}')


def state_names_from_bits(words):
    """The Cache interface sends states as two 32-bit words, bit n = StateType n."""
    names = []
    for word_index, word in enumerate(words):
        for bit in range(32):
            n = word_index * 32 + bit
            if word & (1 << bit) and n < len(STATE_NICKS):
                names.append(STATE_NICKS[n])
    return names


def state_names(acc):
    state_set = safe(acc.get_state_set)
    if state_set is None:
        return []
    return sorted(s.value_nick for s in state_set.get_states())


# ---------------------------------------------------------------------------------
# Queries.

VISIBILITY_STATES = ("showing", "visible")

@dataclasses.dataclass
class Query:
    role: object = None  # Atspi.Role or None
    name: str = None
    name_substr: str = None
    app: str = None
    app_substr: str = None
    index: int = 0
    states: tuple = ()  # state nicks
    verify: bool = True

    @property
    def filter_states(self):
        """showing/visible narrow which objects count for `index`."""
        return tuple(s for s in self.states if s in VISIBILITY_STATES)

    @property
    def required_states(self):
        """The other states are conditions on the picked object itself."""
        return tuple(s for s in self.states if s not in VISIBILITY_STATES)

    def selects(self, role, name, states):
        if self.role is not None and int(role) != int(self.role):
            return False
        if self.name is not None and name != self.name:
            return False
        if self.name_substr is not None and self.name_substr.lower() not in (name or "").lower():
            return False
        return all(s in states for s in self.filter_states)

    def satisfied_by(self, node):
        return all(s in node.states for s in self.required_states)

    def describe(self, with_states=True):
        what = role_name(self.role) if self.role is not None else "object"
        if self.name is not None:
            what += f' named "{self.name}"'
        elif self.name_substr is not None:
            what += f' with a name containing "{self.name_substr}"'
        shown = self.states if with_states else self.filter_states
        if shown:
            what += f" with states [{', '.join(shown)}]"
        return what


def parse_query(request):
    raw = request.get("query")
    if not isinstance(raw, dict):
        raise HelperError('missing "query": an object with role, name, name_substr, app, '
                          'index, states')
    unknown = set(raw) - {"role", "name", "name_substr", "app", "app_substr", "index", "states",
                          "verify"}
    if unknown:
        raise HelperError(f"unknown query field(s) {sorted(unknown)}; use role, name, "
                          "name_substr, app, app_substr, index, states, verify")
    for key in ("role", "name", "name_substr", "app", "app_substr"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise HelperError(f'query.{key} must be a string')
    if raw.get("role") is None and raw.get("name") is None and raw.get("name_substr") is None:
        raise HelperError("query needs at least one of role, name, name_substr")
    index = raw.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise HelperError("query.index must be an integer >= 0")
    states = raw.get("states") or []
    if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
        raise HelperError("query.states must be a list of state names, e.g. [\"checked\"]")
    return Query(
        role=parse_role(raw["role"]) if raw.get("role") is not None else None,
        name=raw.get("name"),
        name_substr=raw.get("name_substr"),
        app=raw.get("app"),
        app_substr=raw.get("app_substr"),
        index=index,
        states=tuple(parse_state(s).value_nick for s in states),
        verify=bool(raw.get("verify", True)),
    )


# ---------------------------------------------------------------------------------
# The accessibility bus, spoken directly for what libatspi cannot do: the Cache
# interface, and calls on objects known only by their D-Bus address.

ACCESSIBLE = "org.a11y.atspi.Accessible"
COMPONENT = "org.a11y.atspi.Component"
ACTION = "org.a11y.atspi.Action"
TEXT = "org.a11y.atspi.Text"
PROPERTIES = "org.freedesktop.DBus.Properties"
NULL_PATH = "/org/a11y/atspi/null"
SCREEN, WINDOW = 0, 1  # AT-SPI coordinate types
CALL_TIMEOUT_MS = 10000


class A11yBus:
    def __init__(self):
        self._connection = None

    @staticmethod
    def address():
        """Where libatspi looks: $AT_SPI_BUS_ADDRESS, the X root window's AT_SPI_BUS,
        then the session bus's org.a11y.Bus."""
        address = os.environ.get("AT_SPI_BUS_ADDRESS")
        if not address and os.environ.get("DISPLAY") and xlib() is not None:
            address = xlib().string_property(xlib().root, "AT_SPI_BUS")
        if not address:
            session = Gio.bus_get_sync(Gio.BusType.SESSION, None)
            reply = session.call_sync("org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus",
                                      "GetAddress", None, GLib.VariantType("(s)"),
                                      Gio.DBusCallFlags.NONE, 5000, None)
            address = reply.unpack()[0]
        return address

    def connection(self):
        """The accessibility bus. Raises HelperError when it cannot be reached; checked
        before libatspi touches the bus, because libatspi aborts the process then."""
        if self._connection is None or self._connection.is_closed():
            try:
                flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                         | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
                self._connection = Gio.DBusConnection.new_for_address_sync(
                    self.address(), flags, None, None)
            except GLib.Error as error:
                raise HelperError(
                    f"cannot reach the accessibility bus ({error.message}); is at-spi2-core "
                    "installed, and are DISPLAY and DBUS_SESSION_BUS_ADDRESS those of the "
                    "desktop session?", code="bus") from error
        return self._connection

    def call_raw(self, bus_name, path, interface, method, args=None, signature=None):
        """The reply as a GLib.Variant: big replies read field by field cost far less
        than unpack(), which builds Python objects for every value."""
        return self.connection().call_sync(
            bus_name, path, interface, method, args,
            GLib.VariantType(signature) if signature else None, Gio.DBusCallFlags.NONE,
            CALL_TIMEOUT_MS, None)

    def call(self, bus_name, path, interface, method, args=None, signature=None):
        return self.call_raw(bus_name, path, interface, method, args, signature).unpack()

    def call_many(self, calls, signature=None, in_flight=128):
        """Replies (unpacked, or None where the call failed) to (bus_name, path, interface,
        method, args) calls, sent without waiting for each other: n calls cost about one
        round trip plus the app's own time, not n round trips. A call may carry its own
        reply signature as a sixth element. One app answers its calls in the order sent."""
        connection = self.connection()
        replies = [None] * len(calls)
        context = GLib.MainContext.default()
        pending = [0]

        def finish(index):
            def done(source, result):
                pending[0] -= 1
                try:
                    replies[index] = source.call_finish(result).unpack()
                except GLib.Error:
                    pass
            return done

        for index, call in enumerate(calls):
            bus_name, path, interface, method, args = call[:5]
            reply_type = GLib.VariantType(call[5] if len(call) > 5 else signature)
            while pending[0] >= in_flight:
                context.iteration(True)
            pending[0] += 1
            connection.call(bus_name, path, interface, method, args, reply_type,
                            Gio.DBusCallFlags.NONE, CALL_TIMEOUT_MS, None, finish(index))
        while pending[0] > 0:
            context.iteration(True)
        return replies


A11Y_BUS = A11yBus()


class Ref:
    """An accessible object by its D-Bus address; each method is one round trip and
    raises GLib.Error when the object is gone. Role, name and extents read earlier in
    the same request by a pipelined batch (REQUEST.live) are not asked again."""

    __slots__ = ("bus_name", "path")

    def __init__(self, bus_name, path):
        self.bus_name = bus_name
        self.path = path

    @staticmethod
    def of(acc):
        return Ref(acc.app.bus_name if acc.app is not None else "", acc.path)

    @staticmethod
    def from_pair(pair):
        bus_name, path = pair
        return None if path == NULL_PATH or not bus_name else Ref(bus_name, path)

    def __eq__(self, other):
        return isinstance(other, Ref) and (self.bus_name, self.path) == (other.bus_name,
                                                                         other.path)

    def __hash__(self):
        return hash((self.bus_name, self.path))

    def _call(self, interface, method, args=None, signature=None):
        return A11Y_BUS.call(self.bus_name, self.path, interface, method, args, signature)

    def _property(self, name, interface=ACCESSIBLE):
        return self._call(PROPERTIES, "Get",
                          GLib.Variant("(ss)", (interface, name)), "(v)")[0]

    def _read(self, key, read):
        value = REQUEST.live.get((self.bus_name, self.path, key))
        return read() if value is None else value

    def role(self):
        return self._read("role", lambda: self._call(ACCESSIBLE, "GetRole", None, "(u)")[0])

    def name(self):
        return self._read("name", lambda: self._property("Name"))

    def states(self):
        return state_names_from_bits(self._call(ACCESSIBLE, "GetState", None, "(au)")[0])

    def interfaces(self):
        return self._call(ACCESSIBLE, "GetInterfaces", None, "(as)")[0]

    def parent(self):
        return Ref.from_pair(self._property("Parent"))

    def index_in_parent(self):
        return self._call(ACCESSIBLE, "GetIndexInParent", None, "(i)")[0]

    def children(self):
        pairs = self._call(ACCESSIBLE, "GetChildren", None, "(a(so))")[0]
        return [ref for ref in map(Ref.from_pair, pairs) if ref is not None]

    def extents(self, coord_type):
        return self._read(("extents", coord_type), lambda: tuple(self._call(
            COMPONENT, "GetExtents", GLib.Variant("(u)", (coord_type,)), "((iiii))")[0]))

    def at_point(self, x, y, coord_type):
        pair = self._call(COMPONENT, "GetAccessibleAtPoint",
                          GLib.Variant("(iiu)", (x, y, coord_type)), "((so))")[0]
        return Ref.from_pair(pair)

    def actions(self):
        """Action names as programs know them ("click"; GetActions would give the
        localized ones). GLib.Error when the object has no Action interface."""
        count = self._property("NActions", ACTION)
        return [self._call(ACTION, "GetName", GLib.Variant("(i)", (i,)), "(s)")[0]
                for i in range(count)]

    def do_action(self, index):
        return self._call(ACTION, "DoAction", GLib.Variant("(i)", (index,)), "(b)")[0]

    def text(self):
        """The whole text. GTK 4.8 answers GetText(0, -1) with "" for entries and
        labels, so ask for CharacterCount characters (GTK3 and Qt answer both ways);
        -1 only when the count cannot be read."""
        count = safe(self._property, "CharacterCount", TEXT)
        end = count if isinstance(count, int) and count >= 0 else -1
        return self.text_range(0, end)

    def text_range(self, start, end):
        return self._call(TEXT, "GetText", GLib.Variant("(ii)", (start, end)), "(s)")[0]

    def caret_offset(self):
        return self._property("CaretOffset", TEXT)


def read_call(key):
    """(interface, method, args, reply signature, reply -> value) of a read by key:
    "role", "name", "states", "parent", "nactions", ("extents", coord type),
    ("action", index) or ("at_point", x, y, coord type)."""
    def get(interface, name):
        return PROPERTIES, "Get", GLib.Variant("(ss)", (interface, name)), "(v)"
    first = lambda reply: reply[0]  # noqa: E731
    if key == "role":
        return ACCESSIBLE, "GetRole", None, "(u)", first
    if key == "name":
        return (*get(ACCESSIBLE, "Name"), first)
    if key == "states":
        return ACCESSIBLE, "GetState", None, "(au)", lambda r: state_names_from_bits(r[0])
    if key == "parent":
        return (*get(ACCESSIBLE, "Parent"), lambda reply: Ref.from_pair(reply[0]))
    if key == "nactions":
        return (*get(ACTION, "NActions"), first)
    if key[0] == "extents":
        return (COMPONENT, "GetExtents", GLib.Variant("(u)", key[1:]), "((iiii))",
                lambda reply: tuple(reply[0]))
    if key[0] == "action":
        return ACTION, "GetName", GLib.Variant("(i)", key[1:]), "(s)", first
    return (COMPONENT, "GetAccessibleAtPoint", GLib.Variant("(iiu)", key[1:]), "((so))",
            lambda reply: Ref.from_pair(reply[0]))


REMEMBERED = ("role", "name", "extents")


def read_many(reads):
    """The values of (Ref, key) reads (see read_call), all sent at once: one round trip
    to each app instead of one per read. None where a call failed. Role, name and
    extents are remembered for the rest of the request (Ref methods answer them)."""
    specs = [read_call(key) for _, key in reads]
    replies = A11Y_BUS.call_many([(ref.bus_name, ref.path, *spec[:4])
                                  for (ref, _), spec in zip(reads, specs)])
    values = []
    for (ref, key), spec, reply in zip(reads, specs, replies):
        value = None if reply is None else spec[4](reply)
        kind = key if isinstance(key, str) else key[0]
        if value is not None and kind in REMEMBERED:
            REQUEST.live[(ref.bus_name, ref.path, key)] = value
        values.append(value)
    return values


# ---------------------------------------------------------------------------------
# Applications.

REMOTE_ERRORS_WITHOUT_CACHE = ("UnknownMethod", "UnknownInterface", "UnknownObject")


class App:
    def __init__(self, acc):
        self.acc = acc
        self.ref = Ref.of(acc)
        self.bus_name = self.ref.bus_name
        self.name = safe(acc.get_name, default="") or ""
        self.pid = safe(acc.get_process_id, default=0) or 0
        self.toolkit = safe(acc.get_toolkit_name, default="") or ""
        self.toolkit_version = safe(acc.get_toolkit_version, default="") or ""
        self.is_gtk4 = self.toolkit.lower() == "gtk" and self.toolkit_version.startswith("4.")
        interfaces = safe(acc.get_interfaces, default=[]) or []
        # "cache" becomes "walk" when the app turns out to have no Cache interface.
        self.strategy = "collection" if "Collection" in interfaces else "cache"

    def snapshot(self, reuse=False):
        """A Snapshot read in this request, or with `reuse` one read earlier that no
        signal from the app has invalidated since (see Snapshots); None when the app has
        no usable Cache interface."""
        if self.strategy != "cache":
            return None
        try:
            return SNAPSHOTS.get(self, reuse)
        except GLib.Error as error:
            remote = Gio.DBusError.get_remote_error(error) or ""
            if remote.rsplit(".", 1)[-1] in REMOTE_ERRORS_WITHOUT_CACHE:
                log(f"{self.name}: no Cache interface ({remote}); walking its tree")
                self.strategy = "walk"
            else:
                log(f"{self.name}: Cache snapshot failed ({error.message}); walking this time")
            return None

    def alive(self):
        if self.pid <= 0:
            return True
        try:
            os.kill(self.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def summary(self):
        return {"name": self.name, "pid": self.pid,
                "children": safe(self.acc.get_child_count, default=0),
                "toolkit": self.toolkit, "toolkit_version": self.toolkit_version,
                "strategy": self.strategy}


class Snapshots:
    """Snapshots kept between requests while provably current. Every signal an app sends
    on the accessibility bus (Cache AddAccessible/RemoveAccessible, children-changed,
    StateChanged, PropertyChange, TextChanged, BoundsChanged, ...) counts as a change of
    that app; a kept snapshot is current while no signal came since its reading began.
    An app answers calls in order and sends its signals before the replies of calls it
    handles later, so once a reply from it has arrived and the main context is pumped,
    every change it signalled before answering has been counted: a reused snapshot is
    confirmed by the first batch of calls to its app after the search (see pick)."""

    def __init__(self):
        self.connection = None
        self.changes = {}  # bus name -> [signals seen from that app]
        self.subscriptions = {}  # bus name -> signal subscription id
        self.kept = {}  # bus name -> (Snapshot, changes when its reading began)

    def counter(self, bus_name):
        connection = A11Y_BUS.connection()
        if connection is not self.connection:  # subscriptions die with their connection
            self.connection = connection
            self.changes, self.subscriptions, self.kept = {}, {}, {}
        if bus_name not in self.changes:
            count = self.changes[bus_name] = [0]

            def changed(*_args):
                count[0] += 1
            # Adds the bus match rule before any later call of ours reaches the app.
            self.subscriptions[bus_name] = connection.signal_subscribe(
                bus_name, None, None, None, None, Gio.DBusSignalFlags.NONE, changed)
        return self.changes[bus_name]

    def get(self, app, reuse):
        count = self.counter(app.bus_name)
        kept = self.kept.get(app.bus_name)
        if kept is not None and kept[1] == count[0] and (
                reuse or kept[0].request == REQUEST.serial):
            return kept[0]
        pump_events()  # what was signalled before the reading is in it
        seen = count[0]
        snapshot = Snapshot(app)
        snapshot.request = REQUEST.serial
        self.kept[app.bus_name] = (snapshot, seen)
        return snapshot

    def current(self, snapshot):
        """Whether no signal came from the snapshot's app since its reading began. Only
        proof after a reply from the app arrived later than the changes in question."""
        pump_events()
        bus_name = snapshot.app.bus_name
        kept = self.kept.get(bus_name)
        return kept is not None and kept[0] is snapshot and kept[1] == self.changes[bus_name][0]

    def forget(self, app):
        self.kept.pop(app.bus_name, None)

    def keep_only(self, bus_names):
        """Stops watching apps that left the desktop."""
        for bus_name in [b for b in self.subscriptions if b not in bus_names]:
            self.connection.signal_unsubscribe(self.subscriptions.pop(bus_name))
            self.changes.pop(bus_name, None)
            self.kept.pop(bus_name, None)


SNAPSHOTS = Snapshots()


class Desktop:
    """The accessible applications, cached until the desktop's child count changes or
    an app's process is gone."""

    def __init__(self):
        self._apps = []
        self._count = -1

    def apps(self):
        A11Y_BUS.connection()
        PATHS.listen()
        desktop = Atspi.get_desktop(0)
        count = safe(desktop.get_child_count, default=0)
        if count != self._count or not all(app.alive() for app in self._apps):
            self._apps = self._load(desktop, count)
            self._count = count
            SNAPSHOTS.keep_only({app.bus_name for app in self._apps})
        return self._apps

    @staticmethod
    def _load(desktop, count):
        apps = []
        for i in range(count):
            acc = safe(desktop.get_child_at_index, i)
            if acc is not None:
                apps.append(App(acc))
        return apps

    def by_pid(self, pid):
        return [app for app in self.apps() if app.pid == pid]

    def select(self, app_name):
        apps = self.apps()
        if app_name is None:
            return apps
        chosen = self._named(apps, app_name)
        if not chosen:  # maybe it just started: reload once
            self._count = -1
            apps = self.apps()
            chosen = self._named(apps, app_name)
        if not chosen:
            names = sorted({a.name for a in apps})
            raise HelperError(f'no application named "{app_name}" on the desktop '
                              f"(running: {', '.join(names) or 'none'})",
                              near=[{"app": n} for n in difflib.get_close_matches(
                                  app_name, names, n=NEAR_LIMIT, cutoff=0.3)],
                              code="not_found")
        return chosen

    def select_for(self, query):
        """The applications a query searches: the one named `app`, those whose name
        contains `app_substr` in any case, or all of them."""
        if query.app_substr is None:
            return self.select(query.app)
        part = query.app_substr.lower()
        chosen = [a for a in self.apps() if part in a.name.lower()]
        if not chosen:  # maybe it just started: reload once
            self._count = -1
            chosen = [a for a in self.apps() if part in a.name.lower()]
        if not chosen:
            names = sorted({a.name for a in self.apps()})
            raise HelperError(f'no application whose name contains "{query.app_substr}" on the '
                              f"desktop (running: {', '.join(names) or 'none'})",
                              code="not_found")
        return chosen

    @staticmethod
    def _named(apps, app_name):
        chosen = [a for a in apps if a.name == app_name]
        return chosen or [a for a in apps if a.name.lower() == app_name.lower()]


DESKTOP = Desktop()


# ---------------------------------------------------------------------------------
# Nodes: an accessible seen by a search, with what the search learned about it.

@dataclasses.dataclass
class Node:
    app: App
    ref: Ref
    role: int
    name: str = None  # None until fetched
    states: list = None  # None until fetched
    path: list = None  # child indexes from the app; None until computed
    acc: object = None  # the Atspi.Accessible, when libatspi found it
    snapshot: object = None  # the Snapshot, when the Cache found it
    action_names: list = None  # read ahead by read_ahead()
    read_ahead_done: bool = False

    def fill(self):
        """Fetches name and states if the search did not; False if the object died."""
        if self.name is None:
            self.name = safe(self.acc.get_name) if self.acc is not None else safe(
                self.ref.name)
            if self.name is None:
                return False
        if self.states is None:
            self.states = state_names(self.acc) if self.acc is not None else (
                safe(self.ref.states, default=[]))
        return True

    def extents(self, coord_type):
        """(x, y, w, h); libatspi where it found the object (half the cost of a raw call)."""
        if self.acc is not None:
            rect = self.acc.get_extents(Atspi.CoordType(coord_type))
            return rect.x, rect.y, rect.width, rect.height
        return self.ref.extents(coord_type)

    def actions(self):
        if self.action_names is not None:
            return self.action_names
        if self.acc is not None:
            count = safe(self.acc.get_n_actions, default=0) or 0
            return [safe(self.acc.get_action_name, i, default="") or "" for i in range(count)]
        return safe(self.ref.actions, default=[]) or []

    def child_path(self):
        if self.path is None:
            self.path = path_of(self)
        return self.path

    def toplevel(self):
        """The Ref of the window (the app's child) holding this node."""
        if self.snapshot is not None:
            return self.snapshot.toplevel_of(self.ref.path)
        path = self.child_path()
        if not path:
            return None
        child = safe(self.app.acc.get_child_at_index, path[0])
        return Ref.of(child) if child is not None else None


class PathMemo:
    """Paths of objects found through libatspi (a round trip per level to compute),
    forgotten whenever any app reports a children-changed event."""

    def __init__(self):
        self.paths = {}
        self._listener = None

    def listen(self):
        if self._listener is None:
            self._listener = Atspi.EventListener.new(lambda _event: self.paths.clear())
            self._listener.register("object:children-changed")


PATHS = PathMemo()


def path_of(node):
    """Child indexes from the app down to the node: an identity for comparisons (from
    index_in_parent, or Cache positions), not always a GetChildAtIndex route."""
    if node.snapshot is not None:
        return node.snapshot.path_to(node.ref.path)
    if node.ref in PATHS.paths:
        return list(PATHS.paths[node.ref])
    path = []
    current = node.acc
    if current is not None:  # libatspi answers parents from its cache (GTK3)
        for _ in range(MAX_DEPTH):
            if current is None or current.path == ROOT_PATH:
                break
            path.append(safe(current.get_index_in_parent, default=-1))
            current = safe(current.get_parent)
        path.reverse()
        PATHS.paths[node.ref] = tuple(path)
        return path
    ref = node.ref
    for _ in range(MAX_DEPTH):
        if ref is None or ref.path == ROOT_PATH:
            break
        path.append(safe(ref.index_in_parent, default=-1))
        ref = safe(ref.parent)
    return list(reversed(path))


class Snapshot:
    """An app's whole tree from org.a11y.atspi.Cache.GetItems: roles, names and states
    of every object in one call. GTK4 lists only the objects it has exported so far, so
    where a node declares more children than the snapshot holds, GetChildren exports
    them and the snapshot is reloaded; once an app is fully exported (by its first
    query), a snapshot costs two calls. The tree is the Cache's: each object under its
    Parent (GTK4 puts stack pages between a stack and its pages' content, which
    GetChildren skips)."""

    def __init__(self, app):
        self.app = app
        self.items = {}  # path -> (parent path, index, role, name, states, child count)
        self.children = {}  # parent path -> [child path], in index order
        self.request = None  # REQUEST.serial of the request that read it
        self._by_role = None  # role -> [path] in tree order, built on first use
        # The root's entry says 0 children in GTK4 4.8: ask the root itself.
        self.root_child_count = len(app.ref.children())
        asked = set()
        for _ in range(MAX_DEPTH):
            self._load()
            incomplete = [p for p in self._incomplete() if p not in asked]
            if not incomplete:
                break
            for path in incomplete:
                asked.add(path)
                safe(Ref(app.bus_name, path).children)

    def _load(self):
        self.items.clear()
        self.children.clear()
        listed = A11Y_BUS.call_raw(self.app.bus_name, "/org/a11y/atspi/cache",
                                   "org.a11y.atspi.Cache", "GetItems").get_child_value(0)
        for i in range(listed.n_children()):
            path, parent, index, role, name, states, count = self._fields(
                listed.get_child_value(i))
            self.items[path] = (parent, index, role, name, states, count)
            self.children.setdefault(parent, []).append((index, path))
        for parent, kids in self.children.items():
            self.children[parent] = [path for _, path in sorted(kids)]

    @staticmethod
    def _fields(item):
        # a((so)(so)(so)iiassusau): self, app, parent, index, child count, interfaces,
        # name, role, description, states. Older toolkits send a(so) of children in
        # place of index and child count. Read from the Variant only what is used.
        n = item.n_children()
        path = item.get_child_value(0).get_child_value(1).get_string()
        parent = item.get_child_value(2).get_child_value(1).get_string()
        third = item.get_child_value(3)
        if third.get_type_string() == "i":
            index, count = third.get_int32(), item.get_child_value(4).get_int32()
        else:
            index, count = -1, third.n_children()
        role = item.get_child_value(n - 3).get_uint32()
        name = item.get_child_value(n - 4).get_string()
        states = state_names_from_bits(item.get_child_value(n - 1).unpack())
        return path, parent, index, role, name, states, count

    def _incomplete(self):
        """Reachable nodes that declare more children than the snapshot holds."""
        incomplete, stack = [], [ROOT_PATH]
        while stack:
            path = stack.pop()
            kids = self.children.get(path, [])
            declared = self.root_child_count if path == ROOT_PATH else self.items[path][5]
            if declared > len(kids):
                incomplete.append(path)
            stack.extend(kid for kid in kids if kid in self.items)
        return incomplete

    def nodes_with_role(self, role, prune_states=()):
        """The nodes of one role in tree order, as nodes() would give them, from an index
        built once per snapshot (a kept snapshot answers many queries)."""
        if self._by_role is None:
            self._by_role = {}
            for node in self.nodes():
                self._by_role.setdefault(node.role, []).append(node.ref.path)
        for path in self._by_role.get(int(role), []):
            if self._shown(path, prune_states):
                _, _, role_id, name, states, _ = self.items[path]
                yield Node(self.app, Ref(self.app.bus_name, path), role_id, name, states,
                           snapshot=self)

    def _shown(self, path, prune_states):
        """Whether the node and its ancestors below the root have `prune_states`."""
        while prune_states and path != ROOT_PATH and path in self.items:
            if not all(s in self.items[path][4] for s in prune_states):
                return False
            path = self.items[path][0]
        return True

    def nodes(self, prune_states=()):
        """Depth-first, in tree order; skips subtrees whose root lacks `prune_states`."""
        stack = [(ROOT_PATH, [])]
        while stack:
            path, child_path = stack.pop()
            item = self.items.get(path)
            if item is None:
                continue
            _, _, role, name, states, _ = item
            if child_path and not all(s in states for s in prune_states):
                continue
            yield Node(self.app, Ref(self.app.bus_name, path), role, name, states, child_path,
                       snapshot=self)
            kids = self.children.get(path, [])
            for position in range(len(kids) - 1, -1, -1):
                stack.append((kids[position], child_path + [position]))

    def parent_of(self, path):
        item = self.items.get(path)
        return item[0] if item else None

    def path_to(self, path):
        indexes = []
        while path and path != ROOT_PATH and path in self.items:
            parent = self.parent_of(path)
            indexes.append(self.children.get(parent, []).index(path))
            path = parent
        return list(reversed(indexes))

    def toplevel_of(self, path):
        while path in self.items:
            parent = self.parent_of(path)
            if parent == ROOT_PATH:
                return Ref(self.app.bus_name, path)
            path = parent
        return None


def walk_nodes(app, prune_states=(), leaf_roles=()):
    """A pruned depth-first walk through libatspi, for apps with neither Collection nor
    Cache. Subtrees whose root lacks `prune_states`, or has a role in `leaf_roles`,
    are not entered."""
    count = 0
    stack = [(app.acc, [])]
    while stack and count < MAX_NODES:
        acc, path = stack.pop()
        role = safe(acc.get_role)
        if role is None:
            continue
        count += 1
        states = None
        if path and prune_states:
            states = state_names(acc)
            if not all(s in states for s in prune_states):
                continue
        yield Node(app, Ref.of(acc), int(role), None, states, path, acc=acc)
        if len(path) >= MAX_DEPTH or int(role) in leaf_roles:
            continue
        n = safe(acc.get_child_count, default=0) or 0
        for i in range(n - 1, -1, -1):
            child = safe(acc.get_child_at_index, i)
            if child is not None:
                stack.append((child, path + [i]))


def collection_nodes(app, query):
    """Tree-order matches for role and showing/visible from the Collection interface
    (GTK3: one call; names and states then come from libatspi's cache)."""
    roles = [query.role] if query.role is not None else []
    return collection_matches(app, roles, [STATES[_norm(s)] for s in query.filter_states])


def collection_matches(app, roles, state_types):
    """Objects with any of `roles` (all when empty) and all of `state_types`, in tree
    order, through the Collection interface."""
    states = Atspi.StateSet.new(state_types)
    rule = Atspi.MatchRule.new(states, Atspi.CollectionMatchType.ALL, {},
                               Atspi.CollectionMatchType.ALL, roles,
                               Atspi.CollectionMatchType.ANY, [],
                               Atspi.CollectionMatchType.ALL, False)
    matches = Atspi.Collection.get_matches(app.acc, rule, Atspi.CollectionSortOrder.CANONICAL,
                                           0, True) or []
    for acc in matches:
        role = safe(acc.get_role)
        if role is not None:
            yield Node(app, Ref.of(acc), int(role), acc=acc)


# ---------------------------------------------------------------------------------
# Searching.

LEAF_ROLES = {int(r) for r in (Atspi.Role.LABEL, Atspi.Role.SEPARATOR, Atspi.Role.ICON,
                               Atspi.Role.IMAGE, Atspi.Role.PROGRESS_BAR)}


def candidate_nodes(app, query, reuse=False):
    """Nodes of one app that may match, in tree order, by the cheapest route. A hidden
    subtree holds no showing/visible object, so it is skipped when the query asks for
    those states. `reuse` may answer from a kept snapshot (see pick)."""
    prune = query.filter_states
    if app.strategy == "collection":
        return collection_nodes(app, query)
    snapshot = app.snapshot(reuse)
    if snapshot is not None:
        if query.role is not None:
            return snapshot.nodes_with_role(query.role, prune)
        return snapshot.nodes(prune)
    leaf = LEAF_ROLES if query.role is not None and int(query.role) not in LEAF_ROLES else ()
    return walk_nodes(app, prune, leaf)


def search(query, limit=None, reuse=False):
    """Objects selected by the query (role, name, showing/visible), in tree order across
    the selected apps; stops after `limit`."""
    found = []
    for app in DESKTOP.select_for(query):
        try:
            for node in candidate_nodes(app, query, reuse):
                if query.role is not None and node.role != int(query.role):
                    continue
                if not node.fill():
                    continue
                if query.selects(node.role, node.name, node.states):
                    found.append(node)
                    if limit is not None and len(found) >= limit:
                        return found
        except GLib.Error as error:
            log(f"searching {app.name}: {error.message}")
    return found


def pick(query):
    """(node, None) when the query's index-th object exists and has the required
    states; else (None or the node lacking states, the reason as a HelperError).

    Never from a stale tree: a query on one Cache app first searches the snapshot kept
    from an earlier request, and that answer stands only when the app's live role, name,
    states and parent of the object picked equal the snapshot's and no signal came from
    the app before those replies (Snapshots); otherwise, and whenever the kept snapshot
    finds too few objects, a snapshot read now decides."""
    apps = DESKTOP.select_for(query)
    if len(apps) == 1 and apps[0].strategy == "cache":
        found = search(query, limit=query.index + 1, reuse=True)
        node = found[query.index] if len(found) > query.index else None
        if node is not None and (node.snapshot is None or node.snapshot.request == REQUEST.serial
                                 or read_ahead(node, check=True)):
            return judge(query, found)
        SNAPSHOTS.forget(apps[0])
    return judge(query, search(query, limit=query.index + 1))


def judge(query, found):
    if len(found) <= query.index:
        return None, not_found_error(query, found)
    node = found[query.index]
    if query.satisfied_by(node):
        return node, None
    missing = [s for s in query.required_states if s not in node.states]
    which = f" (index {query.index})" if query.index else ""
    # The object itself was found: it is no "near match" of itself.
    return node, HelperError(
        f'{role_name(node.role)} "{node.name}"{which} found in {node.app.name}, but not '
        f"[{', '.join(missing)}]: its states are [{', '.join(node.states)}]", code="state")


def read_ahead(node, check=False):
    """Reads in one pipelined batch what describing a Cache node will ask its app: its
    screen extents, its window's extents, its action names (the first three before their
    count is known). With `check` also its role, name, states and parent: False when
    they differ from the snapshot's, or a signal from the app came before the replies
    (the snapshot is stale)."""
    if node.read_ahead_done:
        return True
    node.read_ahead_done = True
    ref, toplevel = node.ref, node.toplevel()
    reads = [(ref, ("extents", SCREEN)), (ref, "nactions")] + [
        (ref, ("action", i)) for i in range(3)]
    if toplevel is not None:
        reads += [(toplevel, ("extents", WINDOW)), (toplevel, ("extents", SCREEN))]
    if check:
        reads += [(ref, "role"), (ref, "name"), (ref, "states"), (ref, "parent")]
    values = read_many(reads)
    count, names = values[1], values[2:5]
    if isinstance(count, int) and 0 <= count <= len(names) and None not in names[:count]:
        node.action_names = names[:count]
    if not check:
        return True
    role, name, states, parent = values[-4:]
    return (SNAPSHOTS.current(node.snapshot) and role == node.role and name == node.name
            and states == node.states and parent is not None
            and parent.path == node.snapshot.parent_of(ref.path))


def find_node(query):
    """The query's object, or a HelperError with near candidates."""
    node, error = pick(query)
    if error is not None:
        raise error
    return node


def not_found_error(query, found):
    where = (f"in {query.app}" if query.app else
             f'in applications whose name contains "{query.app_substr}"' if query.app_substr
             else "on the desktop")
    what = query.describe(with_states=False)
    if found:
        near = [brief(n) for n in found[:NEAR_LIMIT]]
        matches = "match" if len(found) == 1 else "matches"
        return HelperError(f"only {len(found)} {matches} for {what} {where}; index "
                           f"{query.index} asked (indexes start at 0)", near=near,
                           code="not_found")
    if query.filter_states:
        hidden = search(dataclasses.replace(query, states=query.required_states),
                        limit=query.index + 1)
        if len(hidden) > query.index:
            node = hidden[query.index]
            return HelperError(
                f'{role_name(node.role)} "{node.name}" exists in {node.app.name} but is not '
                f"[{', '.join(query.filter_states)}]: its states are "
                f"[{', '.join(node.states)}]", code="not_showing")
    return HelperError(f"no {what} {where}", near=near_candidates(query), code="not_found")


def all_nodes(app):
    if app.strategy == "collection":
        return walk_nodes(app)  # cheap: GTK3 answers from libatspi's cache
    snapshot = app.snapshot()
    return snapshot.nodes() if snapshot is not None else walk_nodes(app)


def near_candidates(query):
    """Up to NEAR_LIMIT nodes most like the query: same role with similar names, or the
    same name with another role."""
    wanted = (query.name if query.name is not None else query.name_substr or "").lower()
    scored = []
    for app in DESKTOP.select_for(query):
        for node in all_nodes(app):
            if not node.fill():
                continue
            score = similarity(query, wanted, node)
            if score > 0:
                scored.append((score, len(scored), node))
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    return [brief(node) for _, _, node in scored[:NEAR_LIMIT]]


def similarity(query, wanted, node):
    name = (node.name or "").lower()
    same_role = query.role is None or node.role == int(query.role)
    if not wanted:
        return 0.5 if same_role else 0
    if name == wanted or (query.name_substr is not None and wanted in name):
        return 1.0 if same_role else 0.9  # another role
    if not name:
        return 0
    ratio = difflib.SequenceMatcher(None, wanted, name).ratio()
    if wanted in name or name in wanted:
        ratio = max(ratio, 0.7)
    if same_role and ratio >= 0.4:
        return 0.5 + ratio / 2.5
    if ratio >= 0.8:
        return ratio / 2
    return 0


def brief(node):
    """role/name/states/app/box of a candidate; box null when it is not on screen."""
    entry = {"role": role_name(node.role), "name": node.name, "states": node.states,
             "app": node.app.name, "box": None}
    try:
        box, _ = screen_box(node)
        entry["box"] = box_dict(box) if on_screen(box) else None
    except GLib.Error:
        pass
    return entry


# ---------------------------------------------------------------------------------
# X11: GTK4 extents are window-relative, so add the X window's origin; and which
# window is on top at a point. libX11 through ctypes answers in microseconds; without
# it, xdotool or xwininfo (a process per lookup); without those, coordinates stay
# window-relative and the results say so.

class XWindowAttributes(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int),
                ("height", ctypes.c_int), ("border_width", ctypes.c_int),
                ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
                ("root", ctypes.c_ulong), ("c_class", ctypes.c_int),
                ("bit_gravity", ctypes.c_int), ("win_gravity", ctypes.c_int),
                ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
                ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int),
                ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


IS_VIEWABLE = 2
X_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class Xlib:
    """The few libX11 calls the helper needs. Windows vanish at any time: X errors are
    ignored (a failed call returns nothing) instead of killing the process."""

    def __init__(self):
        try:
            self.lib = ctypes.CDLL("libX11.so.6")
        except OSError:  # find_library is slow (it runs ldconfig): only as a fallback
            from ctypes import util  # pylint: disable=import-outside-toplevel
            self.lib = ctypes.CDLL(util.find_library("X11") or "libX11.so")
        self._declare()
        self.display = self.lib.XOpenDisplay(None)
        if not self.display:
            raise OSError(f"cannot open X display {os.environ.get('DISPLAY')!r}")
        self._on_error = X_ERROR_HANDLER(lambda _display, _event: 0)
        self.lib.XSetErrorHandler(self._on_error)
        self.root = self.lib.XDefaultRootWindow(self.display)
        self.atoms = {}

    def _declare(self):
        lib, pointer, ulong = self.lib, ctypes.POINTER, ctypes.c_ulong
        lib.XOpenDisplay.restype = ctypes.c_void_p
        lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        lib.XSetErrorHandler.argtypes = [X_ERROR_HANDLER]
        lib.XDefaultRootWindow.restype = ulong
        lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        lib.XInternAtom.restype = ulong
        lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.XQueryTree.argtypes = [ctypes.c_void_p, ulong, pointer(ulong), pointer(ulong),
                                   pointer(pointer(ulong)), pointer(ctypes.c_uint)]
        lib.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ulong,
                                             pointer(XWindowAttributes)]
        lib.XTranslateCoordinates.argtypes = [ctypes.c_void_p, ulong, ulong, ctypes.c_int,
                                              ctypes.c_int, pointer(ctypes.c_int),
                                              pointer(ctypes.c_int), pointer(ulong)]
        lib.XGetWindowProperty.argtypes = [
            ctypes.c_void_p, ulong, ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int, ulong,
            pointer(ulong), pointer(ctypes.c_int), pointer(ulong), pointer(ulong),
            pointer(ctypes.c_void_p)]
        lib.XFree.argtypes = [ctypes.c_void_p]
        lib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]

    def atom(self, name):
        if name not in self.atoms:
            self.atoms[name] = self.lib.XInternAtom(self.display, name.encode(), 0)
        return self.atoms[name]

    def children(self, window):
        """Child windows, bottom to top."""
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        kids, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        if not self.lib.XQueryTree(self.display, window, ctypes.byref(root),
                                   ctypes.byref(parent), ctypes.byref(kids),
                                   ctypes.byref(count)):
            return []
        result = [kids[i] for i in range(count.value)]
        if kids:
            self.lib.XFree(kids)
        return result

    def geometry(self, window):
        """{"window", "x", "y", "width", "height"} in root coordinates if viewable."""
        attributes = XWindowAttributes()
        if not self.lib.XGetWindowAttributes(self.display, window, ctypes.byref(attributes)):
            return None
        if attributes.map_state != IS_VIEWABLE:
            return None
        x, y, child = ctypes.c_int(), ctypes.c_int(), ctypes.c_ulong()
        if not self.lib.XTranslateCoordinates(self.display, window, self.root, 0, 0,
                                              ctypes.byref(x), ctypes.byref(y),
                                              ctypes.byref(child)):
            return None
        return {"window": window, "x": x.value, "y": y.value, "width": attributes.width,
                "height": attributes.height}

    def _property(self, window, name, wanted_format, convert):
        """Reads a property and returns convert(data, count) when its format is
        `wanted_format`; None when absent or of another format. Frees the X buffer."""
        actual_type, actual_format = ctypes.c_ulong(), ctypes.c_int()
        count, remaining, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        status = self.lib.XGetWindowProperty(
            self.display, window, self.atom(name), 0, 4096, 0, 0, ctypes.byref(actual_type),
            ctypes.byref(actual_format), ctypes.byref(count), ctypes.byref(remaining),
            ctypes.byref(data))
        if status != 0 or not data.value:
            return None
        try:
            if actual_format.value != wanted_format:
                return None
            return convert(data, count.value)
        finally:
            self.lib.XFree(data)

    def cardinals(self, window, name):
        """A 32-bit-format property as a list of ints ([] when absent)."""
        def to_ints(data, count):
            # Format-32 properties are arrays of C longs on the client side.
            values = ctypes.cast(data, ctypes.POINTER(ctypes.c_long))
            return [values[i] & 0xFFFFFFFF for i in range(count)]
        return self._property(window, name, 32, to_ints) or []

    def string_property(self, window, name):
        """A STRING/UTF8_STRING property, or None."""
        return self._property(
            window, name, 8,
            lambda data, count: ctypes.string_at(data, count).decode("utf-8", "replace"))

    def pid_of(self, window, depth=0):
        """_NET_WM_PID of a top-level window or of the client inside a WM frame."""
        pid = self.cardinals(window, "_NET_WM_PID")
        if pid:
            return pid[0]
        if depth < 2:
            for child in reversed(self.children(window)):
                found = self.pid_of(child, depth + 1)
                if found:
                    return found
        return 0

    def client_windows(self, pid):
        """Viewable client windows of a process, with root geometry, bottom to top."""
        clients = self.cardinals(self.root, "_NET_CLIENT_LIST_STACKING")
        windows = []
        for window in clients or self.children(self.root):
            if self.pid_of(window) == pid:
                geometry = self.geometry(window)
                if geometry:
                    windows.append(geometry)
        return windows

    def title_of(self, window, depth=0):
        """_NET_WM_NAME (else WM_NAME) of a top-level window or of the client in a frame."""
        title = (self.string_property(window, "_NET_WM_NAME")
                 or self.string_property(window, "WM_NAME"))
        if title:
            return title
        if depth < 2:
            for child in reversed(self.children(window)):
                found = self.title_of(child, depth + 1)
                if found:
                    return found
        return ""

    def top_window_at(self, x, y):
        """The topmost viewable top-level window holding the point (a popup menu is one
        of its own) as its geometry plus "pid" (0 when it has no _NET_WM_PID) and
        "title"; None when no window holds the point."""
        for window in reversed(self.children(self.root)):
            geometry = self.geometry(window)
            if geometry and contains(box_of(geometry), x, y):
                geometry["pid"] = self.pid_of(window)
                geometry["title"] = self.title_of(window)
                return geometry
        return None

    def frame_margins(self, window):
        """(left, top) from _GTK_FRAME_EXTENTS (left, right, top, bottom), or None."""
        extents = self.cardinals(window, "_GTK_FRAME_EXTENTS")
        return (extents[0], extents[2]) if len(extents) == 4 else None


_XLIB = []


def xlib():
    """The shared Xlib connection, or None when libX11 or the display is unavailable."""
    if not _XLIB:
        try:
            _XLIB.append(Xlib())
        except (OSError, AttributeError) as error:
            log(f"libX11 unavailable ({error}); using xdotool/xwininfo")
            _XLIB.append(None)
    return _XLIB[0]


def run_tool(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=X_TOOL_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        log(f"{argv[0]}: {error}")
        return None
    return done.stdout if done.returncode == 0 else None


def x_windows_xdotool(pid):
    out = run_tool(["xdotool", "search", "--all", "--onlyvisible", "--pid", str(pid),
                    "--name", "", "getwindowgeometry", "--shell", "%@"])
    windows, current = [], {}
    for line in (out or "").splitlines():
        key, _, value = line.partition("=")
        if key == "WINDOW" and current:
            windows.append(current)
            current = {}
        if key in ("WINDOW", "X", "Y", "WIDTH", "HEIGHT"):
            current[key.lower()] = int(value)
    if current:
        windows.append(current)
    return [w for w in windows if {"window", "x", "y", "width", "height"} <= set(w)]


XWININFO_LINE = re.compile(r'^\s*(0x[0-9a-f]+) "(.*)":.*?\s(\d+)x(\d+)\+-?\d+\+-?\d+\s+'
                           r'\+(-?\d+)\+(-?\d+)\s*$')


def x_windows_xwininfo(title):
    out = run_tool(["xwininfo", "-root", "-tree"])
    windows = []
    for line in (out or "").splitlines():
        match = XWININFO_LINE.match(line)
        if match and match.group(2) == title:
            windows.append({"window": int(match.group(1), 16), "width": int(match.group(3)),
                            "height": int(match.group(4)), "x": int(match.group(5)),
                            "y": int(match.group(6))})
    return windows


def xprop_frame_margins(window):
    if not shutil.which("xprop"):
        return None
    out = run_tool(["xprop", "-id", str(window), "-notype", "_GTK_FRAME_EXTENTS"])
    numbers = re.findall(r"\d+", (out or "").partition("=")[2])
    return (int(numbers[0]), int(numbers[2])) if len(numbers) == 4 else None


def x_windows(app, toplevel):
    """(windows, source, margins function) by the best available means, or Nones."""
    x11 = xlib()
    if x11 is not None:
        return x11.client_windows(app.pid), "libX11", x11.frame_margins
    if shutil.which("xdotool"):
        return x_windows_xdotool(app.pid), "xdotool", xprop_frame_margins
    if shutil.which("xwininfo"):  # no pids there: match the window title
        title = safe(toplevel.name, default="") or ""
        return x_windows_xwininfo(title), "xwininfo", xprop_frame_margins
    return None, None, None


def window_origin(app, toplevel):
    """(x, y, source) of a GTK4 toplevel's content on the screen, or (0, 0, reason)."""
    frame = safe(toplevel.extents, WINDOW)
    if frame is None:
        return 0, 0, "window-relative: the toplevel has no extents"
    frame_x, frame_y, frame_width, frame_height = frame
    windows, source, margins_of = x_windows(app, toplevel)
    if windows is None:
        return 0, 0, ("window-relative: no libX11, xdotool or xwininfo to find the "
                      "window's origin")
    fitting = [w for w in windows if w["width"] >= frame_width and w["height"] >= frame_height]
    if not fitting:
        return 0, 0, f"window-relative: no X window of pid {app.pid} fits the toplevel"
    best = min(fitting, key=lambda w: (w["width"] - frame_width) + (w["height"] - frame_height))
    # Client-side decorations: the X window is larger than the frame by the shadow and
    # resize margins; _GTK_FRAME_EXTENTS says how much on each side, else assume even.
    margin_x = (best["width"] - frame_width) // 2
    margin_y = (best["height"] - frame_height) // 2
    if margin_x or margin_y:
        margins = margins_of(best["window"])
        if margins:
            margin_x, margin_y = margins
    return (best["x"] + margin_x - frame_x, best["y"] + margin_y - frame_y,
            f"gtk4 window origin from {source}")


class RequestCache:
    """Window origins and what pipelined batches read (REQUEST.live), valid for one
    request (windows may move between requests); `serial` tells requests apart."""

    def __init__(self):
        self.origins = {}
        self.live = {}  # (bus name, path, key) -> value, see read_many
        self.serial = 0

    def clear(self):
        self.origins.clear()
        self.live.clear()
        self.serial += 1

    def origin(self, app, toplevel):
        if toplevel not in self.origins:
            self.origins[toplevel] = window_origin(app, toplevel)
        return self.origins[toplevel]


REQUEST = RequestCache()


def to_screen(app, toplevel, box):
    """((x, y, w, h), coords): GTK4 boxes are moved by their window's origin."""
    if not app.is_gtk4:
        return box, "screen"
    if toplevel is None:
        return box, "window-relative: the object's window is unknown"
    ox, oy, source = REQUEST.origin(app, toplevel)
    return (box[0] + ox, box[1] + oy, box[2], box[3]), source


def screen_box(node):
    """The node's ((x, y, w, h), coords) in screen pixels; GLib.Error if it has none."""
    box = node.extents(SCREEN)
    return to_screen(node.app, node.toplevel() if node.app.is_gtk4 else None, box)


def box_dict(box):
    return {"x": box[0], "y": box[1], "width": box[2], "height": box[3]}


def box_of(geometry):
    return (geometry["x"], geometry["y"], geometry["width"], geometry["height"])


def on_screen(box):
    return box[2] > 0 and box[3] > 0 and box[0] > -(1 << 30) and box[1] > -(1 << 30)


def contains(box, x, y):
    return box[0] <= x < box[0] + box[2] and box[1] <= y < box[1] + box[3]


def contains_box(outer, inner, slack=4):
    """Whether `inner` lies inside `outer`, give or take `slack` pixels on each side."""
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[0] + inner[2] <= outer[0] + outer[2] + slack
            and inner[1] + inner[3] <= outer[1] + outer[3] + slack)


# ---------------------------------------------------------------------------------
# Hit testing.

def apps_on_top_at(x, y):
    """The apps that can own the point: the owner of the topmost X window there when X
    can tell, else every app (and then the active toplevel wins)."""
    apps = DESKTOP.apps()
    x11 = xlib()
    if x11 is None:
        return apps
    top = x11.top_window_at(x, y)
    if top is None:
        return []  # no window at all there
    owners = [app for app in apps if app.pid == top["pid"]]
    return owners or apps  # no _NET_WM_PID, or another pid namespace


def app_toplevels(app):
    """Nodes of the app's windows, states filled; through libatspi where it caches."""
    if app.strategy == "collection":
        count = safe(app.acc.get_child_count, default=0) or 0
        children = [safe(app.acc.get_child_at_index, i) for i in range(count)]
        nodes = [Node(app, Ref.of(acc), 0, acc=acc) for acc in children if acc is not None]
    else:  # the name is not needed here: skip that round trip
        nodes = [Node(app, ref, 0, name="") for ref in safe(app.ref.children, default=[]) or []]
    return [node for node in nodes if node.fill()]


def toplevels_at(x, y):
    """(app, toplevel Node, screen box) of visible toplevels holding the point, active
    ones first."""
    found = []
    for app in apps_on_top_at(x, y):
        for toplevel in app_toplevels(app):
            if "visible" not in toplevel.states and "showing" not in toplevel.states:
                continue
            extents = safe(toplevel.extents, SCREEN)
            if extents is None:
                continue
            box, _ = to_screen(app, toplevel.ref, extents)
            if on_screen(box) and contains(box, x, y):
                found.append(("active" not in toplevel.states, len(found), app, toplevel, box))
    found.sort(key=lambda entry: entry[:2])
    return [entry[2:] for entry in found]


def child_at(obj, x, y, coord_type):
    """The child of a libatspi object or Ref at a point (GTK4 answers the deepest)."""
    if isinstance(obj, Ref):
        return safe(obj.at_point, x, y, coord_type)
    return safe(obj.get_accessible_at_point, x, y, Atspi.CoordType(coord_type))


def deepest_at(toplevel, x, y, coord_type):
    """The Ref of the deepest accessible at a point, from a toplevel Node. For a Ref each
    probe also reads the role and name of the object probed, in the same round trip, for
    describing the hit."""
    obj = toplevel.acc if toplevel.acc is not None else toplevel.ref
    if isinstance(obj, Ref):
        for _ in range(MAX_DEPTH):
            child = read_many([(obj, ("at_point", x, y, coord_type)), (obj, "role"),
                               (obj, "name")])[0]
            if child is None or child.path == obj.path:
                break
            obj = child
        return obj
    for _ in range(MAX_DEPTH):
        child = child_at(obj, x, y, coord_type)
        if child is None or child.path == obj.path:
            break
        obj = child
    return obj if isinstance(obj, Ref) else Ref.of(obj)


def accessible_at(x, y):
    """(app, Ref, toplevel Ref) of the deepest accessible at a screen point, or None."""
    for app, toplevel, box in toplevels_at(x, y):
        if app.is_gtk4:  # GTK4 hit-tests in window coordinates whatever it is told
            return app, deepest_at(toplevel, x - box[0], y - box[1], WINDOW), toplevel.ref
        return app, deepest_at(toplevel, x, y, SCREEN), toplevel.ref
    return None


def ancestors(ref, snapshot=None, acc=None):
    """D-Bus paths from the object's parent up to the app root (included)."""
    paths = []
    if snapshot is not None and ref.path in snapshot.items:
        path = snapshot.parent_of(ref.path)
        while path and len(paths) < MAX_DEPTH:
            paths.append(path)
            if path == ROOT_PATH:
                break
            path = snapshot.parent_of(path)
        return paths
    if acc is not None:  # libatspi answers parents from its cache (GTK3)
        current = safe(acc.get_parent)
        while current is not None and len(paths) < MAX_DEPTH:
            paths.append(current.path)
            if current.path == ROOT_PATH:
                break
            current = safe(current.get_parent)
        return paths
    current = safe(ref.parent)
    while current is not None and len(paths) < MAX_DEPTH:
        paths.append(current.path)
        if current.path == ROOT_PATH:
            break
        current = safe(current.parent)
    return paths


def relation(node, hit_app, hit):
    """How the accessible hit at the node's center relates to the node: "self",
    "descendant", "ancestor" (below the toplevel) or "other"."""
    if hit_app.bus_name != node.app.bus_name:
        return "other"
    if hit == node.ref:
        return "self"
    if node.ref.path in ancestors(hit, node.snapshot):
        return "descendant"
    above = ancestors(node.ref, node.snapshot, node.acc)
    # The toplevel and the app contain everything: hitting them proves nothing.
    if hit.path in above[:-2]:
        return "ancestor"
    return "other"


# ---------------------------------------------------------------------------------
# Describing a node.

def describe(node, verify=True):
    if node.snapshot is not None:
        read_ahead(node)
    result = {"role": role_name(node.role), "name": node.name, "states": node.states,
              "app": node.app.name, "pid": node.app.pid, "path": node.child_path(),
              "actions": node.actions(), "box": None,
              "center": None, "coords": None, "verified": False, "hit": None}
    try:
        box, coords = screen_box(node)
    except GLib.Error as error:
        result["coords"] = f"no extents: {error.message}"
        return result
    result["box"] = box_dict(box)
    result["center"] = {"x": box[0] + box[2] // 2, "y": box[1] + box[3] // 2}
    result["coords"] = coords
    if verify:
        result["verified"], result["hit"] = verify_center(node, box)
    return result


def verify_center(node, box):
    """(verified, hit): may the pointer click the node's centre? Asks the X window that
    is on top there: another app's window refuses; the node's own window is hit-tested
    from its toplevel; another window of the same app is a dialog (refused) or a popup
    menu, which GTK3 does not expose as a toplevel, hit-tested from the node's parents.
    Every refusal says what is on top and why."""
    if not on_screen(box):
        return False, {"relation": "none", "reason": "the object has no on-screen box"}
    x, y = box[0] + box[2] // 2, box[1] + box[3] // 2
    x11 = xlib()
    top = x11.top_window_at(x, y) if x11 is not None else None
    if x11 is None or (top is not None and not top["pid"]):
        return verify_center_by_accessibility(node, x, y)  # X cannot tell the owner
    if top is None:
        return False, {"relation": "none",
                       "reason": f"no window at ({x}, {y}): the object is off-screen"}
    window = {"title": top["title"], "pid": top["pid"], "box": box_dict(box_of(top))}
    where = f'window "{top["title"]}" at {fmt_box(box_of(top))}'
    if top["pid"] != node.app.pid:
        owner = next((a.name for a in DESKTOP.apps() if a.pid == top["pid"]), None)
        whose = f'application "{owner}"' if owner else f"pid {top['pid']}"
        return False, {"relation": "covered", "window": window,
                       "reason": f"covered: the topmost window at ({x}, {y}) is {where} of "
                                 f"{whose}, not one of {node.app.name}"}
    toplevel = node.toplevel()
    toplevel_box = screen_box_of(node.app, toplevel)
    if toplevel_box is not None and contains_box(box_of(top), toplevel_box):
        return hit_in_window(node, toplevel, toplevel_box, x, y, window)
    for other in app_toplevels(node.app):
        if other.ref == toplevel:
            continue
        other_box = screen_box_of(node.app, other.ref)
        if other_box is not None and contains_box(box_of(top), other_box):
            other.fill()
            return False, {"relation": "covered", "window": window,
                           "role": role_name(safe(other.ref.role, default=0)),
                           "name": safe(other.ref.name, default=""), "app": node.app.name,
                           "reason": f"covered: another window of {node.app.name}, {where}, is "
                                     f"on top at ({x}, {y})"}
    return hit_in_popup(node, x, y, top, window, where)


def fmt_box(box):
    return f"({box[0]},{box[1]} {box[2]}x{box[3]})"


def screen_box_of(app, toplevel):
    """A toplevel's box in screen pixels, or None."""
    if toplevel is None:
        return None
    extents = safe(toplevel.extents, SCREEN)
    if extents is None or not on_screen(extents):
        return None
    return to_screen(app, toplevel, extents)[0]


def hit_in_window(node, toplevel, toplevel_box, x, y, window):
    """The node's own window is on top: ask its toplevel what is at the point. A hit on
    the toplevel itself is how GTK 4 answers for some widgets (switches, entries): the
    X window on top is the node's, so the click lands in it; accepted, marked imprecise."""
    start = Node(node.app, toplevel, 0, name="")
    if node.app.is_gtk4:  # GTK4 hit-tests in window coordinates whatever it is told
        hit = deepest_at(start, x - toplevel_box[0], y - toplevel_box[1], WINDOW)
    else:
        hit = deepest_at(start, x, y, SCREEN)
    how = relation(node, node.app, hit)
    if how == "other" and hit == toplevel:
        return True, {"relation": "window", "imprecise": True, "window": window,
                      "role": role_name(safe(hit.role, default=0)),
                      "name": safe(hit.name, default=""), "app": node.app.name,
                      "reason": "the toolkit answers the hit test with the window itself, "
                                "which is on top at the centre"}
    return describe_hit(node, hit, how, x, y, window)


def describe_hit(node, hit, how, x, y, window):
    if how == "self":
        role, name = node.role, node.name
    else:
        role, name = safe(hit.role, default=0), safe(hit.name, default="")
    result = {"relation": how, "role": role_name(role), "name": name, "app": node.app.name,
              "window": window}
    if how not in ("self", "descendant", "ancestor"):
        result["reason"] = (f'covered: {role_name(role)} "{name}" of the same window is at '
                            f"({x}, {y})")
        return False, result
    return True, result


def hit_in_popup(node, x, y, top, window, where):
    """A window of the node's app with no accessible toplevel of its own is on top: a
    popup menu. Its items hang under the menu that opened it, so the node's parents are
    asked what is at the point, nearest first."""
    if not contains_box(box_of(top), screen_box_of_node(node) or (x, y, 0, 0)):
        return False, {"relation": "covered", "window": window,
                       "reason": f"covered: a popup of {node.app.name}, {where}, is on top at "
                                 f"({x}, {y}) and the object is not in it"}
    parents = ancestors(node.ref, node.snapshot, node.acc)[:-2]  # below the toplevel
    for path in parents:
        parent = Ref(node.app.bus_name, path)
        if node.app.is_gtk4:  # popups have their own surface: window coordinates
            hit = child_at(parent, x - top["x"], y - top["y"], WINDOW)
        else:
            hit = child_at(parent, x, y, SCREEN)
        if hit is None or hit == parent:
            continue
        hit = deepest_at(Node(node.app, hit, 0, name=""), x, y, SCREEN) \
            if not node.app.is_gtk4 else hit
        verified, result = describe_hit(node, hit, relation(node, node.app, hit), x, y, window)
        result["popup"] = True
        return verified, result
    return False, {"relation": "none", "window": window,
                   "reason": f"a popup of {node.app.name}, {where}, is on top at ({x}, {y}) "
                             "and none of the object's parents knows what is there"}


def screen_box_of_node(node):
    try:
        return screen_box(node)[0]
    except GLib.Error:
        return None


def verify_center_by_accessibility(node, x, y):
    """Without X (or when the window on top has no pid): the active toplevel holding
    the point is asked."""
    found = accessible_at(x, y)
    if found is None:
        return False, {"relation": "none", "reason": f"nothing accessible at ({x}, {y})"}
    hit_app, hit, _ = found
    how = relation(node, hit_app, hit)
    verified, result = describe_hit(node, hit, how, x, y, None)
    result["app"] = hit_app.name
    if how == "other" and hit_app.bus_name != node.app.bus_name:
        result["reason"] = f"covered: {hit_app.name} is on top at ({x}, {y})"
    return verified, result


# ---------------------------------------------------------------------------------
# Ops.

def op_ping(_request):
    return {"version": VERSION, "pid": os.getpid(), "python": sys.version.split()[0]}


def op_apps(_request):
    return [app.summary() for app in DESKTOP.apps()]


def op_find(request):
    query = parse_query(request)
    return describe(find_node(query), verify=query.verify)


def number(request, key, default, minimum=0.0):
    value = request.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
        raise HelperError(f'"{key}" must be a number >= {minimum:g}')
    return float(value)


def op_wait_for(request):
    query = parse_query(request)
    exists = request.get("exists", True)
    if not isinstance(exists, bool):
        raise HelperError('"exists" must be true or false')
    timeout = number(request, "timeout", 5.0)
    interval = max(number(request, "interval", 0.1), 0.01)
    deadline = time.monotonic() + timeout
    while True:
        REQUEST.clear()
        pump_events()
        try:
            node, error = pick(query)
        except HelperError as missing_app:  # the app may not have registered yet
            node, error = None, missing_app
        if (error is None) == exists:
            return describe(node, verify=query.verify) if exists else None
        if time.monotonic() >= deadline:
            break
        time.sleep(min(interval, max(deadline - time.monotonic(), 0)))
    if exists:
        raise HelperError(f"{error} (after waiting {timeout:g}s)", near=error.near,
                          code=error.code)
    raise HelperError(f"{query.describe()} still present in {node.app.name} after waiting "
                      f"{timeout:g}s", code="still_present")


ACTION_SYNONYMS = ("click", "activate", "press", "toggle")


def choose_action(names, wanted):
    """The index of the action to do: the named one; for a click-like name the first
    click-like action; else the only action; else None."""
    lowered = [n.lower() for n in names]
    if wanted.lower() in lowered:
        return lowered.index(wanted.lower())
    if wanted.lower() in ACTION_SYNONYMS:
        for synonym in ACTION_SYNONYMS:
            if synonym in lowered:
                return lowered.index(synonym)
    if len(names) == 1:
        return 0
    return None


def op_action(request):
    query = parse_query(request)
    wanted = request.get("action", "click")
    if not isinstance(wanted, str) or not wanted:
        raise HelperError('"action" must be an action name, e.g. "click"')
    node = find_node(query)
    names = node.actions()
    what = f'{role_name(node.role)} "{node.name}" in {node.app.name}'
    if not names:
        raise HelperError(f"{what} has no accessible actions; click its center instead",
                          code="no_action")
    index = choose_action(names, wanted)
    if index is None:
        raise HelperError(f'{what} has no action "{wanted}"; it has: {", ".join(names)}',
                          code="no_action")
    if not node.ref.do_action(index):
        raise HelperError(f'{what} refused its action "{names[index]}"', code="no_action")
    pump_events()
    return {"action": names[index], "states": safe(node.ref.states, default=[]),
            "object": {"role": role_name(node.role), "name": node.name, "app": node.app.name,
                       "path": node.child_path()}}


def op_at_point(request):
    x, y = request.get("x"), request.get("y")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
        raise HelperError('at_point needs numeric "x" and "y" (screen pixels)')
    found = accessible_at(round(x), round(y))
    if found is None:
        return None
    app, hit, toplevel = found
    snapshot = app.snapshot() if app.strategy == "cache" else None
    node = Node(app, hit, safe(hit.role, default=0), snapshot=snapshot)
    extents = safe(hit.extents, SCREEN)
    box = box_dict(to_screen(app, toplevel, extents)[0]) if extents is not None else None
    return {"role": role_name(node.role), "name": safe(hit.name, default=""), "box": box,
            "app": app.name, "path": path_of(node)}


def op_text(request):
    node = find_node(parse_query(request))
    if TEXT in (safe(node.ref.interfaces, default=[]) or []):
        text = safe(node.ref.text)
        if text is not None:
            return {"text": text, "source": "text", "role": role_name(node.role),
                    "name": node.name}
    return {"text": node.name or "", "source": "name", "role": role_name(node.role),
            "name": node.name}


class Dumper:
    """The tree as nested {role, name, states, box, children}, from the Cache snapshot
    when the app has one, else through libatspi. Boxes are asked for all at once when
    the tree is known (one extents call per node, none waiting for another)."""

    def __init__(self, max_depth, boxes):
        self.max_depth = max_depth
        self.boxes = boxes
        self.count = 0
        self.unboxed = []  # (app, node dict, Ref, toplevel Ref) still without a box

    def node(self, app, ref, toplevel, role, name, states):
        node = {"role": role, "name": name, "states": states, "box": None, "children": []}
        if self.boxes and toplevel is not None:
            self.unboxed.append((app, node, ref, toplevel))
        return node

    def fill_boxes(self):
        calls = [(ref.bus_name, ref.path, COMPONENT, "GetExtents", GLib.Variant("(u)", (SCREEN,)))
                 for _, _, ref, _ in self.unboxed]
        for (app, node, _, toplevel), reply in zip(
                self.unboxed, A11Y_BUS.call_many(calls, "((iiii))")):
            if reply is not None:
                node["box"] = box_dict(to_screen(app, toplevel, tuple(reply[0]))[0])
        self.unboxed = []

    def app_tree(self, app):
        snapshot = app.snapshot()
        if snapshot is not None:
            return self.snapshot_tree(app, snapshot, ROOT_PATH, None, 0)
        return self.walk_tree(app, app.acc, None, 0)

    def snapshot_tree(self, app, snapshot, path, toplevel, depth):
        self.count += 1
        _, _, role, name, states, _ = snapshot.items.get(path, (None, 0, 0, "", [], 0))
        node = self.node(app, Ref(app.bus_name, path), toplevel, role_name(role), name, states)
        if depth < self.max_depth and self.count < MAX_NODES:
            for kid in snapshot.children.get(path, []):
                node["children"].append(self.snapshot_tree(
                    app, snapshot, kid, toplevel or Ref(app.bus_name, kid), depth + 1))
        return node

    def walk_tree(self, app, acc, toplevel, depth):
        self.count += 1
        node = self.node(app, Ref.of(acc), toplevel, safe(acc.get_role_name, default=""),
                         safe(acc.get_name, default=""), state_names(acc))
        if depth < self.max_depth and self.count < MAX_NODES:
            for i in range(safe(acc.get_child_count, default=0) or 0):
                child = safe(acc.get_child_at_index, i)
                if child is not None:
                    node["children"].append(
                        self.walk_tree(app, child, toplevel or Ref.of(child), depth + 1))
        return node


def op_dump(request):
    app_name = request.get("app")
    if app_name is not None and not isinstance(app_name, str):
        raise HelperError('"app" must be a string')
    dumper = Dumper(int(number(request, "max_depth", MAX_DEPTH)), bool(request.get("boxes", True)))
    start = time.monotonic()
    trees = [dumper.app_tree(app) for app in DESKTOP.select(app_name)]
    dumper.fill_boxes()
    tree = trees[0] if app_name is not None and len(trees) == 1 else {
        "role": "desktop frame", "name": "main", "states": [], "box": None, "children": trees}
    return {"tree": tree, "nodes": dumper.count,
            "elapsed_ms": round((time.monotonic() - start) * 1000, 1)}


class Quit(Exception):
    pass


def op_quit(_request):
    raise Quit()


# ---------------------------------------------------------------------------------
# Typing support: scratch keycodes for characters the keyboard map lacks, and the text
# before the caret of the focused object, so the agent can confirm what arrived.

NO_SYMBOL = 0


def is_unicode_keysym(keysym):
    """0x01000100-0x0110FFFF: a Unicode character beyond Latin-1 (XF86 keysyms are
    0x1008xxxx, above this range)."""
    return 0x01000100 <= keysym <= 0x0110FFFF


class Keymap:
    """Keysyms the agent types that no key produces, placed on keycodes that had no
    symbol. A VNC server would otherwise borrow (TigerVNC 1.12: ~19 free keycodes, then
    it drops keys) or reuse slots (later versions) on its own, racing the app that has
    not yet translated the keys that used them. Here the agent decides when a slot may
    be reused: only after it confirmed the keys that used it arrived."""

    def __init__(self, x):
        self.x = x
        lib = x.lib
        lib.XDisplayKeycodes.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                                         ctypes.POINTER(ctypes.c_int)]
        lib.XGetKeyboardMapping.restype = ctypes.POINTER(ctypes.c_ulong)
        lib.XGetKeyboardMapping.argtypes = [ctypes.c_void_p, ctypes.c_ubyte, ctypes.c_int,
                                            ctypes.POINTER(ctypes.c_int)]
        lib.XChangeKeyboardMapping.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                               ctypes.POINTER(ctypes.c_ulong), ctypes.c_int]
        low, high = ctypes.c_int(), ctypes.c_int()
        lib.XDisplayKeycodes(x.display, ctypes.byref(low), ctypes.byref(high))
        self.low, self.high = low.value, high.value
        # Keycodes without a symbol, and those holding nothing but one Unicode keysym
        # (what a VNC server left there when it borrowed the keycode for an earlier
        # session's typing; no keyboard layout puts those on keys). Keycode 8 and below
        # are not real keys on X servers with XKB.
        table = self.table()
        self.pool = [code for code, syms in table.items()
                     if code > 8 and all(s == NO_SYMBOL or is_unicode_keysym(s) for s in syms)
                     and len({s for s in syms if s != NO_SYMBOL}) <= 2]
        self.on_scratch = {}  # keysym -> keycode
        for code in self.pool:
            for keysym in table[code][:1]:
                if keysym != NO_SYMBOL:
                    self.on_scratch[keysym] = code
        self.recency = list(self.pool)  # keycodes, least recently used first

    def table(self):
        """{keycode: [keysyms]} of the whole map, as the server has it now."""
        per = ctypes.c_int()
        count = self.high - self.low + 1
        syms = self.x.lib.XGetKeyboardMapping(self.x.display, self.low, count,
                                              ctypes.byref(per))
        if not syms:
            raise HelperError("cannot read the X keyboard map", code="internal")
        try:
            return {self.low + i: [syms[i * per.value + j] for j in range(per.value)]
                    for i in range(count)}
        finally:
            self.x.lib.XFree(syms)

    def state(self, keysyms):
        table = self.table()
        scratch_codes = set(self.on_scratch.values())
        produced = {s for code, syms in table.items() if code not in scratch_codes
                    for s in syms if s != NO_SYMBOL}
        # A scratch keycode counts only while it still holds what the helper put there.
        self.on_scratch = {s: c for s, c in self.on_scratch.items() if s in table.get(c, [])}
        missing = [k for k in keysyms if k not in produced and k not in self.on_scratch]
        scratch = [k for k in keysyms if k not in produced and k in self.on_scratch]
        return missing, scratch

    def place(self, keysyms):
        missing, scratch = self.state(keysyms)
        if len(missing) + len(scratch) > len(self.pool):
            raise HelperError(
                f"{len(missing) + len(scratch)} characters need scratch keycodes at once, "
                f"and there are {len(self.pool)}", code="internal")
        keep = set(self.on_scratch[k] for k in scratch)
        free = [c for c in self.pool if c not in self.on_scratch.values()]
        reusable = [c for c in self.recency if c not in keep and c not in free]
        # recency lists every pool keycode, so `free + reusable` covers what `missing`
        # needs: len(missing) <= len(pool) - len(keep).
        for keysym in missing:
            code = free.pop(0) if free else reusable.pop(0)
            for old, used in list(self.on_scratch.items()):
                if used == code:
                    del self.on_scratch[old]
            # Both levels hold the keysym: the server reaches it without faking Shift.
            pair = (ctypes.c_ulong * 2)(keysym, keysym)
            self.x.lib.XChangeKeyboardMapping(self.x.display, code, 2, pair, 1)
            self.on_scratch[keysym] = code
        for code in [self.on_scratch[k] for k in keysyms if k in self.on_scratch]:
            if code in self.recency:
                self.recency.remove(code)
            self.recency.append(code)
        self.x.lib.XSync(self.x.display, 0)
        return len(missing)


_KEYMAP = []


def keymap():
    if not _KEYMAP:
        x = xlib()
        if x is None:
            raise HelperError("the X display cannot be opened, so characters outside the "
                              "keyboard map cannot be mapped", code="internal")
        _KEYMAP.append(Keymap(x))
    return _KEYMAP[0]


def op_keymap(request):
    keysyms = request.get("keysyms")
    if not isinstance(keysyms, list) or not all(
            isinstance(k, int) and not isinstance(k, bool) and 0 < k < 1 << 29 for k in keysyms):
        raise HelperError('"keysyms" must be a list of X keysyms (positive integers)')
    if len(keysyms) > 4096:
        raise HelperError('at most 4096 "keysyms" per request')
    km = keymap()
    keysyms = list(dict.fromkeys(keysyms))
    mapped = km.place(keysyms) if request.get("map") is True else 0
    missing, scratch = km.state(keysyms)
    return {"pool": len(km.pool), "missing": missing, "scratch": scratch, "mapped": mapped}


def focused_nodes(app):
    """Objects of `app` with the focused state, by the cheapest route."""
    if app.strategy == "collection":
        yield from collection_matches(app, [], [Atspi.StateType.FOCUSED])
        return
    # The snapshot is in memory already: no pruning (GTK 4.8 leaves "showing" unset on
    # many widgets); a walk costs a round trip per node, so hidden subtrees are skipped.
    snapshot = app.snapshot()
    nodes = snapshot.nodes() if snapshot is not None else walk_nodes(app, ("showing",))
    for node in nodes:
        if node.fill() and "focused" in node.states:
            yield node


def op_focused_text(request):
    most = int(number(request, "max", 4096, minimum=1))
    found = []
    for app in DESKTOP.apps():
        try:
            for node in focused_nodes(app):
                if TEXT in (safe(node.ref.interfaces, default=[]) or []):
                    found.append(node)
        except GLib.Error as error:
            log(f"searching {app.name} for the focus: {error.message}")
    if not found:
        return None

    def active(node):
        toplevel = node.toplevel()
        return toplevel is not None and "active" in (safe(toplevel.states, default=[]) or [])
    node = next((n for n in found if active(n)), found[0])
    node.fill()
    caret = node.ref.caret_offset()
    before = node.ref.text_range(max(0, caret - most), caret) if caret > 0 else ""
    return {"role": role_name(node.role), "name": node.name or "", "app": node.app.name,
            "caret": caret, "before": before}


OPS = {"ping": op_ping, "apps": op_apps, "find": op_find, "wait_for": op_wait_for,
       "action": op_action, "at_point": op_at_point, "text": op_text, "dump": op_dump,
       "keymap": op_keymap, "focused_text": op_focused_text, "quit": op_quit}


# ---------------------------------------------------------------------------------
# The protocol loop.

def pump_events():
    """Lets libatspi apply queued cache updates (state and name changes)."""
    context = GLib.MainContext.default()
    for _ in range(1000):
        if not context.iteration(False):
            break


def handle(line):
    try:
        request = json.loads(line)
    except ValueError as error:
        return {"id": None, "ok": False,
                "error": f"malformed request ({error}); send one JSON object per line",
                "code": "bad_request"}
    if not isinstance(request, dict):
        return {"id": None, "ok": False, "error": "a request must be a JSON object",
                "code": "bad_request"}
    request_id = request.get("id")
    op = request.get("op")
    if op not in OPS:
        known = ", ".join(sorted(OPS))
        return {"id": request_id, "ok": False,
                "error": f"unknown op {json.dumps(op)}; known ops: {known}",
                "code": "bad_request"}
    REQUEST.clear()
    try:
        pump_events()
        return {"id": request_id, "ok": True, "result": OPS[op](request)}
    except Quit:
        raise
    except HelperError as error:
        return {"id": request_id, "ok": False, "error": str(error), "code": error.code,
                "near": error.near}
    except GLib.Error as error:
        return {"id": request_id, "ok": False, "code": "bus",
                "error": f"AT-SPI call failed: {error.message} (the app may have exited "
                         "or stopped responding)"}
    except Exception as error:  # pylint: disable=broad-except
        log(traceback.format_exc())
        return {"id": request_id, "ok": False, "code": "internal",
                "error": f"internal error in the AT-SPI helper: {error!r}"}


def main():
    # Keep stdout for protocol lines only: anything else written to fd 1 (by us or by C
    # libraries) goes to stderr.
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(response):
        data = json.dumps(response, ensure_ascii=False, separators=(",", ":")) + "\n"
        protocol.write(data.encode("utf-8"))

    for raw in sys.stdin.buffer:
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            send({"id": None, "ok": False, "error": "malformed request: not UTF-8",
                  "code": "bad_request"})
            continue
        if not line:
            continue
        try:
            send(handle(line))
        except Quit:
            send({"id": json.loads(line).get("id"), "ok": True, "result": {"bye": True}})
            return 0
        except BrokenPipeError:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
