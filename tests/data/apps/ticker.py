#!/usr/bin/python3
"""A real GTK3 window whose label changes every 50 ms and never settles: the screen a
test needs when it asks what happens when a region never holds still. Undecorated, at
the screen origin; the label is inside (20, 20) size 300x40."""
import itertools

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402

window = Gtk.Window(title="mosdat-ticker")
window.set_decorated(False)
window.set_default_size(340, 80)
window.move(0, 0)
fixed = Gtk.Fixed()
window.add(fixed)
label = Gtk.Label(label="tick 0")
label.set_size_request(300, 40)
fixed.put(label, 20, 20)
counter = itertools.count(1)


def tick():
    label.set_text(f"tick {next(counter)}")
    return True


GLib.timeout_add(50, tick)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
