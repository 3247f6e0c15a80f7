/*
 * registry: service name -> ServingStatus, the watchers of each name, and
 * the shutdown/resume state. The only writer of statuses: flags, the
 * control API, timelines and signals all enter through registry_set(),
 * registry_remove() and registry_shutdown().
 *
 * It knows no transport. A transport that streams statuses (gRPC Watch)
 * opens a registry_watch and is handed statuses through a notify callback;
 * the watch is a small state machine that keeps exactly one send in flight,
 * coalesces what changes meanwhile (latest wins, H-WATCH-6) and never hands
 * out the status that was last sent (no consecutive duplicates, H-WATCH-5).
 *
 * Thread safety: every function may be called from any thread. Reads
 * (registry_get, registry_snapshot) share a read lock; writers are
 * serialised. Notify callbacks run on the writer's thread with the
 * registry's write lock held: they must not call back into the registry
 * and must not block; starting a gRPC batch is fine.
 *
 * Memory: names are copied in; the caller keeps ownership of what it
 * passes. registry_snapshot() returns an array the caller frees with
 * registry_snapshot_free().
 */
#ifndef HC_REGISTRY_H
#define HC_REGISTRY_H

#include <stddef.h>

#include "faults.h"

typedef struct registry registry;
typedef struct registry_watch registry_watch;

/* Errors are negative errno values: -EINVAL (status outside 0-3, or a NULL
 * name), -ENOENT (no such service), -ENOMEM, -ESHUTDOWN (set or remove
 * refused while shut down, H-WATCH-9). */

/* Called when a watch has a status to send; the watch is then marked busy
 * until registry_watch_sent(). Runs with the registry locked (see above). */
typedef void (*registry_notify_fn)(void *ctx, int status);

int registry_new(registry **out);
/* Frees the registry. Every watch must have been stopped first. */
void registry_free(registry *r);

/* Sets `name` to `status` (0-3), creating it if needed, and notifies its
 * watchers. Setting the status a name already has is a no-op for watchers.
 * -ESHUTDOWN while shut down (the state is unchanged). */
int registry_set(registry *r, const char *name, int status);

/* Removes `name`: Check then answers NOT_FOUND and its watchers are handed
 * SERVICE_UNKNOWN (H-WATCH-3). -ENOENT if it was not there. */
int registry_remove(registry *r, const char *name);

/* *status = the status of `name`; -ENOENT if unknown. */
int registry_get(registry *r, const char *name, int *status);

/* Number of known services. */
size_t registry_count(registry *r);

typedef struct registry_entry {
  char *name;
  int status;
} registry_entry;

/* A copy of every known service, sorted by name (H-LIST-2). */
int registry_snapshot(registry *r, registry_entry **entries, size_t *count);
void registry_snapshot_free(registry_entry *entries, size_t count);

/* Sets every known service NOT_SERVING and refuses later sets and removes
 * until registry_resume(), as grpc-go's Shutdown() (H-WATCH-9). */
void registry_shutdown(registry *r);
/* Sets every known service SERVING and accepts sets again (grpc-go Resume). */
void registry_resume(registry *r);
int registry_is_shut_down(registry *r);
/* 1 while registry_set() and registry_remove() answer REGISTRY_ESHUTDOWN:
 * shut down, unless shutdown-accepts-sets breaks that on purpose. Every
 * other way in (timelines) follows the same rule. */
int registry_refuses_changes(registry *r);

/* Opens a watch on `name` (H-WATCH-1): *first receives the status to send
 * at once (SERVICE_UNKNOWN for an unknown name, H-WATCH-3) and the watch is
 * busy until registry_watch_sent(). Later changes are handed to notify. */
int registry_watch_start(registry *r, const char *name, registry_notify_fn notify, void *ctx,
                         registry_watch **out, int *first);

/* The send handed out last completed. Returns 1 and sets *next when a newer
 * status is pending (the watch stays busy: send it), 0 when idle. */
int registry_watch_sent(registry_watch *w, int *next);

/* Detaches and frees the watch. After it returns, notify is never called
 * for this watch again. */
void registry_watch_stop(registry_watch *w);

/* Lets the registry consult the violation knobs at run time (issue 6):
 * watch-duplicates, watch-drop-last, watch-notify-one, watch-no-updates,
 * watch-no-late-known, shutdown-keeps-serving, shutdown-accepts-sets.
 * Borrowed; must outlive the registry. NULL (the default): none is on, and
 * the registry behaves as described above. Call before any watch starts. */
void registry_set_faults(registry *r, const faults *f);

/* Number of open watches (for leak checks and figures). */
size_t registry_watch_count(registry *r);

#endif
