#!/usr/bin/python3
"""A real GTK3 window with widgets at fixed places, for input and capture tests.

Toggle button at (20, 20) size 160x40 in the window; entry at (20, 80) size 300x36;
a label at (20, 140) that shows the last key combination GTK received.
A pointer pad at (20, 190) size 360x90 reports presses, double clicks, drags, scrolls
and hovering. Everything GTK receives is also printed to stdout ("text ...", "toggled ...", "combo ...")
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


# A pointer pad at (20, 190) size 360x90 that reports what the pointer does to it.
pad = Gtk.EventBox()
pad.set_size_request(360, 90)
pad.add(Gtk.Label(label="pointer pad"))
pad.add_events(Gdk.EventMask.BUTTON_PRESS_MASK | Gdk.EventMask.BUTTON_RELEASE_MASK
               | Gdk.EventMask.SCROLL_MASK | Gdk.EventMask.ENTER_NOTIFY_MASK)
fixed.put(pad, 20, 190)
pressed_at = {}


def on_press(_widget, event):
    if event.type == Gdk.EventType.DOUBLE_BUTTON_PRESS:
        print("double button=%d" % event.button, flush=True)
    elif event.type == Gdk.EventType.BUTTON_PRESS:
        pressed_at[event.button] = (int(event.x), int(event.y))
        print("press button=%d" % event.button, flush=True)
    return True


def on_release(_widget, event):
    x0, y0 = pressed_at.pop(event.button, (int(event.x), int(event.y)))
    x1, y1 = int(event.x), int(event.y)
    if abs(x1 - x0) + abs(y1 - y0) > 20:
        print("drag button=%d from %d,%d to %d,%d" % (event.button, x0, y0, x1, y1), flush=True)
    return True


def on_scroll(_widget, event):
    names = {Gdk.ScrollDirection.UP: "up", Gdk.ScrollDirection.DOWN: "down",
             Gdk.ScrollDirection.LEFT: "left", Gdk.ScrollDirection.RIGHT: "right"}
    print("scroll %s" % names.get(event.direction, "smooth"), flush=True)
    return True


pad.connect("button-press-event", on_press)
pad.connect("button-release-event", on_release)
pad.connect("scroll-event", on_scroll)
pad.connect("enter-notify-event", lambda *_: print("hover pad", flush=True))


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
