/* engines: the core and wire engines as one. See engines.h. */
#include "engines.h"

#include <errno.h>
#include <stdlib.h>

#include "wire_engine.h"
#include "xalloc.h"

#define ENGINES_MAX_PORTS 64

struct engines {
  health_server *core; /* NULL: no port on it */
  wengine *wire;
};

/* The options of one engine: the ports given to it. */
static size_t pick(const health_server_options *opts, const int *wire, int want, int *ports,
                   size_t *index) {
  size_t n = 0;

  for (size_t i = 0; i < opts->n_ports; i++) {
    if (!wire[i] == !want) {
      index[n] = i;
      ports[n++] = opts->ports[i];
    }
  }
  return n;
}

int engines_start(const health_server_options *opts, const int *wire, engines **out,
                  int *bound_ports, char *err, size_t errlen) {
  engines *e = xcalloc(1, sizeof(*e));
  int ports[ENGINES_MAX_PORTS], bound[ENGINES_MAX_PORTS];
  size_t index[ENGINES_MAX_PORTS];
  int rc = 0;

  if (opts->n_ports > ENGINES_MAX_PORTS) {
    free(e);
    return -EINVAL;
  }
  for (int w = 0; w <= 1 && rc == 0; w++) {
    health_server_options o = *opts;

    o.ports = ports;
    o.n_ports = pick(opts, wire, w, ports, index);
    if (o.n_ports == 0)
      continue;
    rc = w ? wengine_start(&o, &e->wire, bound, err, errlen)
           : health_server_start(&o, &e->core, bound, err, errlen);
    for (size_t i = 0; i < o.n_ports && rc == 0; i++)
      bound_ports[index[i]] = bound[i];
  }
  if (rc < 0) {
    engines_stop(e);
    return rc;
  }
  *out = e;
  return 0;
}

size_t engines_activity(engines *e) {
  return (e->core ? health_server_activity(e->core) : 0) +
         (e->wire ? wengine_activity(e->wire) : 0);
}

int engines_drain(engines *e, int timeout_ms) {
  int rc = e->core ? health_server_drain(e->core, timeout_ms) : 0;

  if (e->wire && wengine_drain(e->wire, rc == 0 ? timeout_ms : 0) < 0)
    rc = -ETIMEDOUT;
  return rc;
}

void engines_end_watches(engines *e, int code, const char *details) {
  if (e->core)
    health_server_end_watches(e->core, code, details);
  if (e->wire)
    wengine_end_watches(e->wire, code, details);
}

void engines_begin_shutdown(engines *e) {
  if (e->core)
    health_server_begin_shutdown(e->core);
  if (e->wire)
    wengine_begin_shutdown(e->wire);
}

int engines_wait_idle(engines *e, int timeout_ms) {
  int rc = e->core ? health_server_wait_idle(e->core, timeout_ms) : 0;

  if (e->wire && wengine_wait_idle(e->wire, rc == 0 ? timeout_ms : 0) < 0)
    rc = -ETIMEDOUT;
  return rc;
}

void engines_stop(engines *e) {
  if (!e)
    return;
  health_server_stop(e->core);
  wengine_stop(e->wire);
  free(e);
}
