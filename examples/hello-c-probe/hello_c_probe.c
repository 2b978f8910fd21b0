/* hello_c: the hello probe in plain C11, against plugin_abi.h alone. Every interval_ms it emits
 * one `hello_c.tick` event about the agent's own process, with the configured name where a
 * process probe puts the process name, and one typed extra, `count` (1, 2, ...).
 * Rules a C plugin keeps by hand (the C++ SDK keeps them for you): nothing but the entry point is
 * exported; no function may let a signal or longjmp cross the boundary; errors are reported by
 * returning non-zero with a message in err; create touches nothing (--check-config calls it). */
#include <cellos/telemetry/plugin_abi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tick.h"

#if !CT_ABI_AT_LEAST(2, 0)
#error "hello_c needs ABI 2.0 (typed extras)"
#endif

typedef struct hello_c {
  const ct_host* host;
  uint64_t interval_ns;
  char name[CT_COMM_MAX_BYTES + 1];
  uint32_t pid;
  uint64_t count;
} hello_c;

/* Options arrive validated (type, range) and complete, in the order of the table below. */
enum { OPT_INTERVAL_MS, OPT_NAME, N_OPTIONS };
static const ct_option_spec options[N_OPTIONS] = {
    {"interval_ms", CT_OPT_INT, "how often to tick", 1000, 1, 3600000, NULL, NULL, NULL},
    {"name", CT_OPT_STRING, "sent as guest_comm: 1 to 15 bytes, like a process name", 0, 0, 0,
     "hello_c", NULL, NULL},
};

static int fail(char* err, size_t err_size, const char* message) {
  snprintf(err, err_size, "%s", message);
  return 1;
}

static int hello_create(const ct_host* host, const ct_option_value* values, uint32_t n_values,
                        void** instance, char* err, size_t err_size) {
  const char* name = values[OPT_NAME].string_value;
  size_t len = strlen(name);
  hello_c* p;
  if (n_values != N_OPTIONS) return fail(err, err_size, "unexpected option count");
  /* The agent disables a probe that emits a longer comm; said here, it is a config error. */
  if (len == 0 || len > CT_COMM_MAX_BYTES) {
    snprintf(err, err_size, "name must be 1 to %d bytes, not %zu", CT_COMM_MAX_BYTES, len);
    return 1;
  }
  p = calloc(1, sizeof *p);
  if (p == NULL) return fail(err, err_size, "out of memory");
  p->host = host;
  p->interval_ns = (uint64_t)values[OPT_INTERVAL_MS].int_value * 1000000u;
  memcpy(p->name, name, len + 1);
  p->pid = (uint32_t)getpid();
  *instance = p;
  return 0;
}

static void hello_destroy(void* instance) {
  free(instance);
}

static int hello_start(void* instance, char* err, size_t err_size) {
  hello_c* p = instance;
  if (p->host->arm_timer(p->host->ctx, p->interval_ns, p->interval_ns) != 0) {
    return fail(err, err_size, "cannot arm the timer");
  }
  return 0;
}

static int hello_stop(void* instance, char* err, size_t err_size) {
  hello_c* p = instance;
  (void)err;
  (void)err_size;
  p->host->arm_timer(p->host->ctx, 0, 0);
  return 0;
}

/* emit copies the event and its extras: locals are enough. */
static int hello_on_timer(void* instance, char* err, size_t err_size) {
  hello_c* p = instance;
  ct_extra count;
  ct_event e;
  (void)err;
  (void)err_size;
  memset(&count, 0, sizeof count);
  count.key = "count";
  count.value.type = CT_VALUE_UINT;
  count.value.as.u = ++p->count;
  memset(&e, 0, sizeof e);
  e.struct_size = sizeof e;
  e.probe_source = "hello_c.tick";
  e.guest_pid = p->pid;
  e.guest_comm = p->name;
  e.guest_monotonic_ns = hello_c_monotonic_ns();
  e.extras = &count;
  e.n_extras = 1;
  p->host->emit(p->host->ctx, &e);
  return 0;
}

/* Every probe_source it emits: the agent disables a probe that emits a name not listed. */
static const char* const emits[] = {"hello_c.tick", NULL};

const ct_plugin* cellos_telemetry_plugin(void) {
  static ct_plugin d;
  d.struct_size = sizeof d;
  d.abi_major = CT_ABI_MAJOR;
  d.abi_minor = CT_ABI_MINOR;
  d.kind = CT_KIND_PROBE;
  d.name = "hello_c";
  d.version = "0.1.0";
  d.summary = "a tick every interval_ms (the SDK's example probe in C)";
  d.options = options;
  d.n_options = N_OPTIONS;
  d.create = hello_create;
  d.destroy = hello_destroy;
  d.start = hello_start;
  d.stop = hello_stop;
  d.on_timer = hello_on_timer;
  d.emits = emits;
  return &d; /* consume and flush stay NULL: a sink's */
}
