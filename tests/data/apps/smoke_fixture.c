/* A small GTK3 app for smoke tests: how it ends is chosen by its first argument.
 *
 *   exit0          shows a window, then exits 0 after a moment
 *   hang           shows a window and stays up (a smoke test passes it at 124)
 *   wayland-crash  segfaults at start when WAYLAND_DISPLAY names a socket that does not
 *                  exist (the original mOSdat's real bug: no fallback to X11); otherwise
 *                  shows a window and stays up
 *   abort          shows a window, then abort()s (134)
 *   exit N         shows a window, then exits N
 *
 * The tests build it with `gcc $(pkg-config --cflags --libs gtk+-3.0)`.
 */
#include <gtk/gtk.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int exit_code = 0;
static int do_abort = 0;

static gboolean end_now(gpointer data) {
  (void)data;
  if (do_abort) abort();
  exit(exit_code);
  return G_SOURCE_REMOVE;
}

/* True when WAYLAND_DISPLAY is set and names no socket. */
static int wayland_socket_missing(void) {
  const char* name = getenv("WAYLAND_DISPLAY");
  if (name == NULL || name[0] == '\0') return 0;
  char path[4096];
  if (name[0] == '/') {
    snprintf(path, sizeof path, "%s", name);
  } else {
    const char* runtime = getenv("XDG_RUNTIME_DIR");
    snprintf(path, sizeof path, "%s/%s", runtime ? runtime : "", name);
  }
  struct stat st;
  return stat(path, &st) != 0;
}

static void crash(void) {
  volatile int* nowhere = NULL;
  *nowhere = 1; /* SIGSEGV, as a dereference of a missing display connection would */
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "hang";
  int stays_up = 0;
  if (strcmp(mode, "wayland-crash") == 0) {
    if (wayland_socket_missing()) {
      fprintf(stderr, "smoke_fixture: no Wayland socket at WAYLAND_DISPLAY=%s; crashing\n",
              getenv("WAYLAND_DISPLAY"));
      crash();
    }
    stays_up = 1;
  } else if (strcmp(mode, "hang") == 0) {
    stays_up = 1;
  } else if (strcmp(mode, "abort") == 0) {
    do_abort = 1;
  } else if (strcmp(mode, "exit") == 0 && argc > 2) {
    exit_code = atoi(argv[2]);
  } else if (strcmp(mode, "exit0") != 0) {
    fprintf(stderr, "smoke_fixture: unknown mode \"%s\"\n", mode);
    return 2;
  }
  gtk_init(&argc, &argv);
  GdkDisplay* display = gdk_display_get_default();
  printf("smoke_fixture: mode %s on %s\n", mode, G_OBJECT_TYPE_NAME(display));
  fflush(stdout);
  GtkWidget* window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
  gtk_window_set_title(GTK_WINDOW(window), "smoke fixture");
  gtk_window_set_default_size(GTK_WINDOW(window), 400, 300);
  gtk_container_add(GTK_CONTAINER(window), gtk_label_new("mOSdat smoke fixture"));
  gtk_widget_show_all(window);
  if (!stays_up) g_timeout_add(500, end_now, NULL);
  gtk_main();
  return 0;
}
