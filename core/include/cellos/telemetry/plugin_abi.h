/* The plugin boundary of cellos-telemetry: the only thing a plugin and the agent share.
 *
 * Rules that keep it stable (docs/writing-a-probe.md, section 6, has the policy and the history):
 *  - Plain C types only: no exception, no C++ object and no allocation crosses it. Every string
 *    and array handed across is owned by the side that handed it and valid only for the call.
 *  - Structs that start with struct_size (ct_plugin, ct_host, ct_event) grow by appending fields
 *    in a minor version; the reader checks struct_size before it reads an appended field. Arrays
 *    of them are never indexed by sizeof: sinks receive events as an array of pointers.
 *  - Structs that travel in arrays indexed by sizeof (ct_extra, ct_option_spec, ct_option_value)
 *    never change size within a major. ct_value's union is 16 bytes for good, so new value types
 *    fit without changing ct_extra's stride.
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
 *    identifiers ([a-z_][a-z0-9_]*), keys unique and not the core's, defaults valid, a probe's
 *    emitted names declared (emits) and not the core's.
 *
 * Lifecycle, in the order the agent runs it (core/src/agent.cpp, instance.cpp, bus.cpp):
 *  1. load: the entry point returns the descriptor; the loader checks ABI, completeness, kind.
 *  2. create: every sink instance, then every probe instance.
 *  3. start: every sink, then every probe (a probe may emit from start).
 *  4. running: on_fd and on_timer for any instance; probes emit; the agent calls consume on
 *     sinks with what their queues hold; a sink that took fewer than offered is offered nothing
 *     until it calls wake. A new VM generation (ABI 2.1): sinks are offered agent.restored in
 *     their queue order, then resync is called on every probe that has one.
 *  5. SIGTERM or SIGINT: stop on every probe (emits after it are ignored); sinks are offered
 *     what is still queued (consume), then flush is called until it reports done or
 *     [agent] shutdown_timeout_ms passes; then stop on every sink.
 *  6. destroy: every probe, then every sink. The shared object is unloaded after the last
 *     instance it created is destroyed.
 *  --check-config runs stages 1, 2 and 6 only.
 *  An instance whose call fails, throws (SDK) or overruns [agent] call_time_limit_ms is disabled:
 *  none of its functions except destroy is called again.
 */
#ifndef CELLOS_TELEMETRY_PLUGIN_ABI_H
#define CELLOS_TELEMETRY_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Plain integer literals: usable in #if and static assertions. ABI 2.0 (from 1.0): typed
 * extras, ct_event.struct_size, consume takes an array of pointers, ct_plugin.emits (owned event
 * names; added before 2.0 shipped, so still 2.0). ABI 2.1 (appended, size-checked): the
 * stream's identity for sinks (ct_host.stream) and ct_plugin.resync for a change of VM
 * generation (docs: "what bumped"). */
#define CT_ABI_MAJOR 2
#define CT_ABI_MINOR 1
#define CT_ABI_VERSION ((CT_ABI_MAJOR << 16) | CT_ABI_MINOR)
/* True when the header offers what ABI major.minor defines: `#if CT_ABI_AT_LEAST(2, 0)`. */
#define CT_ABI_AT_LEAST(major, minor) (CT_ABI_MAJOR == (major) && CT_ABI_MINOR >= (minor))

/* The one exported symbol, declared below with its prototype. */
#define CT_ENTRY_POINT "cellos_telemetry_plugin"

/* A plugin may write any value into an enum field of a struct it hands over. The two last
 * members of each enum below widen its range to every 32-bit value (C and C++ define an enum's
 * values by the range of its members), so the agent reads a broken value without undefined
 * behaviour and refuses it. They are not values a plugin may use. */
typedef enum ct_kind {
  CT_KIND_PROBE = 1,
  CT_KIND_SINK = 2,
  CT_KIND_RANGE_MIN_ = -2147483647 - 1,
  CT_KIND_RANGE_MAX_ = 2147483647
} ct_kind;

typedef enum ct_option_type {
  CT_OPT_BOOL = 1,
  CT_OPT_INT = 2,
  CT_OPT_STRING = 3,
  CT_OPT_STRING_LIST = 4,
  CT_OPT_RANGE_MIN_ = -2147483647 - 1, /* range only, see ct_kind */
  CT_OPT_RANGE_MAX_ = 2147483647
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

/* The type of an extra's value; each maps to one CBOR form on the wire (shortest encoding).
 * New types may be added in a minor version. A sink or encoder that meets a type it does not
 * know skips that extra (and only that extra); the agent refuses an unknown type from a probe. */
typedef enum ct_value_type {
  CT_VALUE_UINT = 1,      /* as.u; CBOR major type 0 */
  CT_VALUE_NEGINT = 2,    /* as.i, always < 0 (0 and up are CT_VALUE_UINT); CBOR major type 1 */
  CT_VALUE_BOOL = 3,      /* as.b: 0 false, anything else true; CBOR simple values 20/21 */
  CT_VALUE_TEXT = 4,      /* as.text; CBOR major type 3 */
  CT_VALUE_TEXT_LIST = 5, /* as.list; CBOR major type 4 whose items are all major type 3 */
  CT_VALUE_RANGE_MIN_ = -2147483647 - 1, /* range only, see ct_kind */
  CT_VALUE_RANGE_MAX_ = 2147483647
} ct_value_type;

/* Text with its length: need not be NUL-terminated. A probe may hand any bytes; the agent
 * repairs invalid UTF-8 (U+FFFD) before a sink sees it, so a sink always gets valid UTF-8. */
typedef struct ct_text {
  const char* ptr; /* may be NULL when len is 0 */
  uint32_t len;
} ct_text;

typedef struct ct_text_list {
  const ct_text* items; /* may be NULL when n is 0 */
  uint32_t n;
} ct_text_list;

/* A tagged value. type holds a ct_value_type (a plain uint32_t so that an unknown value is
 * representable); the union is exactly 16 bytes in every ABI 2.x. */
typedef struct ct_value {
  uint32_t type;
  uint32_t reserved_; /* 0 */
  union {
    uint64_t u;
    int64_t i;
    int b;
    ct_text text;
    ct_text_list list;
    uint64_t reserved_[2]; /* fixes the size: a new type must fit in 16 bytes */
  } as;
} ct_value;

/* A key beyond the five wire keys, with its value. Limits (enforced on emit; a probe that breaks
 * them is disabled): at most CT_MAX_EXTRAS per event; a key of 1 to 32 word characters
 * ([a-z0-9_]), not one of the five wire keys, not "extras_truncated" nor "seq" (the sinks'), not
 * repeated; a text (or list item) of at most CT_MAX_TEXT_BYTES before repair; a list of at most
 * CT_MAX_LIST_ITEMS; at most CT_MAX_EXTRAS_TEXT_BYTES of text in all of an event's extras
 * together. */
typedef struct ct_extra {
  const char* key; /* NUL-terminated */
  ct_value value;
} ct_extra;

enum {
  CT_MAX_EXTRAS = 32,
  CT_MAX_TEXT_BYTES = 1024,
  CT_MAX_LIST_ITEMS = 256,
  CT_MAX_EXTRAS_TEXT_BYTES = 16384
};

/* guest_comm is at most this many bytes (the kernel's task comm, TASK_COMM_LEN less its NUL):
 * the agent rejects an event with a longer one. A probe cutting a name to fit cuts at a UTF-8
 * character boundary. */
enum { CT_COMM_MAX_BYTES = 15 };

/* One event, field names as on the wire. struct_size is sizeof(ct_event) of the side that
 * filled it in: fields may be appended in a minor version, and a reader reads an appended field
 * only when struct_size covers it. guest_comm and text values handed to a sink are always valid
 * UTF-8: the agent repairs what probes emit. */
typedef struct ct_event {
  uint32_t struct_size;
  const char* probe_source;
  uint32_t guest_pid;
  const char* guest_comm;
  uint64_t guest_monotonic_ns;
  const ct_extra* extras;
  uint32_t n_extras;
} ct_event;

/* The smallest struct_size of an ABI 2.x event: everything up to and including n_extras. */
#define CT_EVENT_SIZE_2_0 (offsetof(ct_event, n_extras) + sizeof(uint32_t))

/* ABI 2.1. Who is speaking, for a sink that introduces its output (the vsock sink's agent.hello
 * frame). Owned by the agent; valid from create until destroy. struct_size grows by appending. */
typedef struct ct_stream_info {
  uint32_t struct_size;
  /* Random, drawn at the agent's start (getrandom); never 0. The first stream: at every change
   * of VM generation the agent draws a new one and offers every sink, whatever its match, an
   * agent.restored event (extras stream_id, previous_stream_id) that is never dropped from its
   * queue: the events before it belong to the stream before, it and those after to the new one.
   * A sink numbering its output (seq) starts again from 1 with it. */
  uint64_t stream_id;
  const char* boot_id;       /* /proc/sys/kernel/random/boot_id, "" when unreadable */
  const char* agent_version; /* the agent's version, e.g. "0.1.0" */
  /* SHA-256 (64 lower-case hex digits) of the merged configuration in its canonical form
   * (docs/stream-identity.md): equal digests, equal configurations. */
  const char* config_digest;
} ct_stream_info;

enum { CT_LOG_ERROR = 0, CT_LOG_WARN = 1, CT_LOG_INFO = 2 };

/* epoll-compatible readiness bits for watch_fd and on_fd: each equals its EPOLL* value, and
 * the agent hands watch_fd's bits to epoll and epoll's to on_fd unchanged. CT_FD_PRIORITY
 * (EPOLLPRI: a PSI trigger firing, a socket's urgent data) was named after 2.0 shipped; it is
 * still 2.0 because every 2.0 agent already passed it through, so a plugin using it runs on all
 * of them (docs/writing-a-probe.md, section 6). */
enum {
  CT_FD_READ = 0x001,
  CT_FD_PRIORITY = 0x002,
  CT_FD_WRITE = 0x004,
  CT_FD_ERROR = 0x008,
  CT_FD_HANGUP = 0x010
};

/* What the agent offers an instance. Valid from create until destroy returns. Every function
 * is always present (never NULL). */
typedef struct ct_host {
  uint32_t struct_size;
  void* ctx;
  const char* instance_name; /* e.g. "probes.process[0]" */
  /* Probes only (a sink that emits is disabled): hand one event to the bus. Copies everything;
   * returns at once. */
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
  /* ABI 2.1: the stream's identity (ct_stream_info); never NULL. Read it only when struct_size
   * covers it (CT_HOST_SIZE_2_1), as for every appended field. */
  const ct_stream_info* stream;
} ct_host;

/* An ABI 2.1 host: stream is there. */
#define CT_HOST_SIZE_2_1 (offsetof(ct_host, stream) + sizeof(void*))

/* The descriptor. Each field is marked REQUIRED (the loader refuses the plugin, naming the
 * field: "invalid descriptor: create is missing"), OPTIONAL (NULL: the agent does nothing in
 * its place), or SINK ONLY (required for sinks; ignored for probes, which leave it NULL). */
typedef struct ct_plugin {
  uint32_t struct_size;          /* REQUIRED: sizeof(ct_plugin) as the plugin knows it */
  uint16_t abi_major;            /* REQUIRED: CT_ABI_MAJOR; must equal the agent's */
  uint16_t abi_minor;            /* REQUIRED: CT_ABI_MINOR; must not be newer than the agent's */
  ct_kind kind;                  /* REQUIRED */
  const char* name;              /* REQUIRED: as in the config section, [[probes.NAME]] */
  const char* version;           /* REQUIRED: the plugin's own version */
  const char* summary;           /* REQUIRED: one line for --help and --check-config */
  const ct_option_spec* options; /* REQUIRED when n_options > 0 */
  uint32_t n_options;

  /* REQUIRED. Makes an instance from validated options (stage 2). Also called by
   * --check-config, which never calls start: create may validate (and read) but must not touch
   * the world: no file written, no socket, no process or thread. */
  int (*create)(const ct_host* host, const ct_option_value* values, uint32_t n_values,
                void** instance, char* err, size_t err_size);
  /* REQUIRED. Must not fail (stage 6). */
  void (*destroy)(void* instance);
  /* OPTIONAL. Probes begin observing; sinks make their first connection attempt (stage 3). */
  int (*start)(void* instance, char* err, size_t err_size);
  /* OPTIONAL. Probes: stop emitting (stage 5, before any flush). Sinks: called last, after
   * flush; nothing more will be offered. */
  int (*stop)(void* instance, char* err, size_t err_size);
  /* OPTIONAL (required once the instance watches an fd). */
  int (*on_fd)(void* instance, int fd, uint32_t events, char* err, size_t err_size);
  /* OPTIONAL (required once the instance arms its timer). */
  int (*on_timer)(void* instance, char* err, size_t err_size);
  /* SINK ONLY, required. Take up to n events, events[0..n); *accepted says how many were taken
   * (a prefix). Each events[k] points at a ct_event of its own struct_size: read fields beyond
   * CT_EVENT_SIZE_2_0 only when struct_size covers them. */
  int (*consume)(void* instance, const ct_event* const* events, size_t n, size_t* accepted,
                 char* err, size_t err_size);
  /* SINK ONLY, optional (NULL: nothing held). At shutdown, after the queue was offered, called
   * until *done is non-zero or the deadline passes (stage 5). */
  int (*flush)(void* instance, int* done, char* err, size_t err_size);
  /* PROBES: REQUIRED; SINKS: NULL (or empty). The probe_source values the probe emits, a
   * NULL-terminated array (at most 256 entries): exact names word.word, or patterns word.* (any
   * name under that first word). Each valid, unique, and neither agent.* nor telemetry.*, which
   * are the core's. A probe that emits a name none of them matches is disabled, as for any
   * malformed event. --help and --check-config list them, for operators' match globs. Part of
   * ABI 2.0 (appended before 2.0 shipped): every 2.x descriptor has it. */
  const char* const* emits;
  /* ABI 2.1, PROBES, OPTIONAL (NULL, or a descriptor whose struct_size does not cover it:
   * nothing is called). The VM generation changed (a snapshot was restored, or this VM is a
   * clone): what the probe knows of the world may be stale, and events between the snapshot
   * and now were never seen. Re-read the world (the process probe sweeps /proc) and report the
   * difference. Called after agent.restored was routed, so what it emits follows it. */
  int (*resync)(void* instance, char* err, size_t err_size);
} ct_plugin;

/* An ABI 2.1 descriptor: resync is there. */
#define CT_PLUGIN_SIZE_2_1 (offsetof(ct_plugin, resync) + sizeof(void*))

typedef const ct_plugin* (*ct_entry_point_fn)(void);

#if defined(__GNUC__)
#define CT_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define CT_PLUGIN_EXPORT
#endif
#ifdef __cplusplus
#define CT_NOEXCEPT noexcept
#else
#define CT_NOEXCEPT
#endif

/* The entry point every plugin defines (the SDK's macros do it): returns the descriptor, which
 * must stay valid while the library is loaded. Declared here so that a C plugin built with
 * -Wmissing-prototypes compiles cleanly and is exported even with hidden visibility. In C++,
 * define it noexcept (CT_NOEXCEPT). */
CT_PLUGIN_EXPORT const ct_plugin* cellos_telemetry_plugin(void) CT_NOEXCEPT;

#ifdef __cplusplus
}
#endif

/* The sizes ABI 2 promises on LP64 (x86_64, aarch64), checked wherever the header is used. */
#if defined(__LP64__)
#ifdef __cplusplus
static_assert(sizeof(ct_value) == 24 && sizeof(ct_extra) == 32, "ABI 2 value layout");
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(ct_value) == 24 && sizeof(ct_extra) == 32, "ABI 2 value layout");
#endif
#endif

#endif
