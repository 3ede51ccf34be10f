#!/usr/bin/python3
"""A real GTK3 window with widgets at fixed places, for input and capture tests.

Toggle button at (20, 20) size 160x40 in the window; entry at (20, 80) size 300x36;
a label at (20, 140) that shows the last key combination GTK received.
Everything GTK receives is also printed to stdout ("text ...", "toggled ...", "combo ...")
so tests can check what the app really got, not only what the screen shows.
The window is undecorated and moved to the screen origin so coordinates are absolute.
"""
import gi

gi.require_version("Gtk", "3.0")
from gi.repository import Gdk, Gtk  # noqa: E402

window = Gtk.Window(title="mosdat-fixed-layout")
window.set_decorated(False)
window.set_default_size(400, 300)
window.move(0, 0)
fixed = Gtk.Fixed()
window.add(fixed)

toggle = Gtk.ToggleButton(label="Toggle me")
toggle.set_size_request(160, 40)
fixed.put(toggle, 20, 20)

entry = Gtk.Entry()
entry.set_size_request(300, 36)
fixed.put(entry, 20, 80)

entry.connect("changed", lambda e: print("text", e.get_text(), flush=True))
toggle.connect("toggled", lambda t: print("toggled", t.get_active(), flush=True))

label = Gtk.Label(label="keys: none")
label.set_size_request(300, 30)
fixed.put(label, 20, 140)


def on_key(_widget, event):
    state = event.state & Gtk.accelerator_get_default_mod_mask()
    name = Gtk.accelerator_name(event.keyval, state)
    if state & (Gdk.ModifierType.CONTROL_MASK | Gdk.ModifierType.MOD1_MASK):
        label.set_text("keys: " + name)
        print("combo", name, flush=True)
        return True
    return False


window.connect("key-press-event", on_key)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
