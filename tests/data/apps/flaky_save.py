#!/usr/bin/python3
"""A GTK3 app with a deliberate intermittent bug, for `mosdat confirm` tests.

    flaky_save.py STATE_FILE [--fixed]

Each launch appends its number and fate to STATE_FILE ("1 bug", "2 ok", ...): odd
launches have the bug, even ones do not — half of them, and the test can count which.
Pressing "Save" then shows "Saved" — or, with the bug, "Error: save failed" and a
file STATE_FILE.error (a crash-report-like trace a shell check finds). With --fixed
(the fixed build), no launch has the bug.
"""
import os
import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import Gtk  # noqa: E402

state = sys.argv[1]
fixed_build = "--fixed" in sys.argv[2:]
try:
    with open(state) as f:
        launch = sum(1 for line in f if line.strip()) + 1
except FileNotFoundError:
    launch = 1
buggy = not fixed_build and launch % 2 == 1
with open(state, "a") as f:
    f.write("%d %s\n" % (launch, "bug" if buggy else "ok"))
    f.flush()
    os.fsync(f.fileno())
try:
    os.unlink(state + ".error")  # each launch starts clean
except FileNotFoundError:
    pass

window = Gtk.Window(title="mosdat-flaky-save")
window.set_decorated(False)
window.set_default_size(400, 200)
window.move(0, 0)
box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=12)
window.add(box)
button = Gtk.Button(label="Save")
box.pack_start(button, False, False, 0)
status = Gtk.Label(label="Not saved yet")
box.pack_start(status, False, False, 0)


def on_save(_button):
    if buggy:
        status.set_text("Error: save failed")
        with open(state + ".error", "w") as f:
            f.write("save failed on launch %d\n" % launch)
    else:
        status.set_text("Saved")
    print("saved", "bug" if buggy else "ok", flush=True)


button.connect("clicked", on_save)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
