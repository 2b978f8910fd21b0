/* The plugin boundary of cellos-telemetry: the only thing a plugin and the agent share.
 *
 * Rules that keep it stable (see docs/writing-a-probe.md for the policy):
 *  - Plain C types only: no exception, no C++ object and no allocation crosses it. Every string
 *    and array handed across is owned by the side that handed it and valid only for the call.
 *  - ct_plugin and ct_host start with struct_size, so either side can tell which fields the
 *    other knows: appending a field to them bumps CT_ABI_MINOR. ct_event, ct_extra,
 *    ct_option_spec and ct_option_value travel in arrays without a size, so any change to them,
 *    like any other change, bumps CT_ABI_MAJOR (docs/writing-a-probe.md has the policy).
 *  - Every call into a plugin happens on the agent's single event-loop thread and must not
 *    block. Functions that can fail return 0 on success, or non-zero with a NUL-terminated
 *    message written into err (at most err_size bytes).
 *  - The agent runs plugins as its own user (root in a guest), so it loads only a file no one
 *    else can change: a regular file owned by root or the agent's user and writable by neither
 *    its group (any group, root's included) nor others; every directory on the way to it and
 *    of its real path up to / owned by root or the agent's user and writable by neither group
 *    nor others (a sticky directory such as /tmp excepted); every symbolic link followed owned
 *    by root or the agent's user. It opens the file once and maps that open file, never the
 *    path again (docs/writing-a-probe.md, section 1).
 *  - The agent checks every declaration of the descriptor before reading it, and refuses the
 *    file naming the field (exit 78): all strings present, names and option keys plain
 *    identifiers ([a-z_][a-z0-9_]*), keys unique and not the core's, defaults valid.
 */
#ifndef CELLOS_TELEMETRY_PLUGIN_ABI_H
#define CELLOS_TELEMETRY_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_ABI_MAJOR 1
#define CT_ABI_MINOR 0

/* The one exported symbol: `const ct_plugin* cellos_telemetry_plugin(void)`. */
#define CT_ENTRY_POINT "cellos_telemetry_plugin"

typedef enum ct_kind { CT_KIND_PROBE = 1, CT_KIND_SINK = 2 } ct_kind;

typedef enum ct_option_type {
  CT_OPT_BOOL = 1,
  CT_OPT_INT = 2,
  CT_OPT_STRING = 3,
  CT_OPT_STRING_LIST = 4
} ct_option_type;

/* One declared option. The agent validates the instance's TOML table against these, fills in
 * defaults, and generates --help and the README options table from them. The table is an array
 * of n_options entries and has no terminator: an empty {} entry at its end is an option without
 * a key, and the plugin is refused. */
typedef struct ct_option_spec {
  const char* key; /* [a-z_][a-z0-9_]*, unique; not enabled, nor match/queue_capacity for sinks */
  ct_option_type type;
  const char* description;
  int64_t int_default; /* CT_OPT_INT (within the range), and CT_OPT_BOOL as 0/1 */
  int64_t int_min;     /* CT_OPT_INT: inclusive range, int_min <= int_max */
  int64_t int_max;
  const char* string_default;      /* CT_OPT_STRING: required ("" for none), among choices */
  const char* const* choices;      /* CT_OPT_STRING: NULL-terminated allowed values, or NULL */
  const char* const* list_default; /* CT_OPT_STRING_LIST: NULL-terminated, or NULL */
  /* choices and list_default: at most 256 entries before the NULL. */
} ct_option_spec;

/* A validated option value, one per declared option, in declaration order. */
typedef struct ct_option_value {
  const char* key;
  ct_option_type type;
  int64_t int_value; /* CT_OPT_INT, CT_OPT_BOOL */
  const char* string_value;
  const char* const* list_values;
  uint32_t list_size;
} ct_option_value;

/* Extra unsigned keys that follow the five wire keys (for example dropped_count). */
typedef struct ct_extra {
  const char* key;
  uint64_t value;
} ct_extra;

/* One event, field names as on the wire. guest_comm handed to a sink is always valid UTF-8:
 * the agent repairs what probes emit. */
typedef struct ct_event {
  const char* probe_source;
  uint32_t guest_pid;
  const char* guest_comm;
  uint64_t guest_monotonic_ns;
  const ct_extra* extras;
  uint32_t n_extras;
} ct_event;

enum { CT_LOG_ERROR = 0, CT_LOG_WARN = 1, CT_LOG_INFO = 2 };

/* epoll-compatible readiness bits for watch_fd and on_fd. */
enum { CT_FD_READ = 0x001, CT_FD_WRITE = 0x004, CT_FD_ERROR = 0x008, CT_FD_HANGUP = 0x010 };

/* What the agent offers an instance. Valid from create until destroy returns. */
typedef struct ct_host {
  uint32_t struct_size;
  void* ctx;
  const char* instance_name; /* e.g. "probes.process[0]" */
  /* Probes: hand one event to the bus. Copies everything; returns at once. */
  void (*emit)(void* ctx, const ct_event* event);
  /* Add or change interest in an fd on the event loop; on_fd is then called. 0 or -errno. */
  int (*watch_fd)(void* ctx, int fd, uint32_t events);
  int (*unwatch_fd)(void* ctx, int fd);
  /* The instance's one timer: first expiry after first_ns, then every interval_ns (0: once).
   * first_ns = 0 disarms. on_timer is then called. 0 or -errno. */
  int (*arm_timer)(void* ctx, uint64_t first_ns, uint64_t interval_ns);
  void (*log)(void* ctx, int level, const char* message);
  /* Sinks: after consume accepted fewer events than offered, the agent offers no more until
   * the sink calls wake (typically when its socket becomes writable again). */
  void (*wake)(void* ctx);
} ct_host;

typedef struct ct_plugin {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  ct_kind kind;
  const char* name;    /* as in the config section: [[probes.NAME]] */
  const char* version; /* the plugin's own version */
  const char* summary; /* one line for --help and --check-config */
  const ct_option_spec* options;
  uint32_t n_options;

  /* Also called by --check-config, which never calls start: create may validate (and read)
   * but must not touch the world: no file written, no socket, no process or thread. */
  int (*create)(const ct_host* host, const ct_option_value* values, uint32_t n_values,
                void** instance, char* err, size_t err_size);
  void (*destroy)(void* instance);
  /* Probes begin observing; sinks make their first connection attempt. */
  int (*start)(void* instance, char* err, size_t err_size);
  /* Probes stop emitting. Sinks: no more events will be offered; flush follows. */
  int (*stop)(void* instance, char* err, size_t err_size);
  int (*on_fd)(void* instance, int fd, uint32_t events, char* err, size_t err_size);
  int (*on_timer)(void* instance, char* err, size_t err_size);
  /* Sinks only: take up to n events; *accepted says how many were taken (a prefix). */
  int (*consume)(void* instance, const ct_event* events, size_t n, size_t* accepted, char* err,
                 size_t err_size);
  /* Sinks only, at shutdown, called until *done is non-zero or the deadline passes. */
  int (*flush)(void* instance, int* done, char* err, size_t err_size);
} ct_plugin;

typedef const ct_plugin* (*ct_entry_point_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
