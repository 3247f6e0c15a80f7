/* registry: statuses, watchers, shutdown. See registry.h for the contract.
 *
 * THREADS: any thread may call any function. One rwlock, r->lock, guards
 * every entry and watch: readers (get, count, snapshot) share it, writers
 * (set, remove, shutdown, resume, the watch calls) hold it alone.
 * LOCK ORDER (outermost first): a caller's own lock (timelines' t->lock, a
 * transport's per-call lock) -> r->lock -> whatever a notify callback takes
 * (the transport's server and wake-up locks). Notify callbacks run with
 * r->lock held for writing: they must not call back into the registry and
 * must not take a lock that is held around registry calls. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np, strdup */
#include "registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire.h"

/* watch-drop-last: changes closer together than this form a burst. */
#define BURST_WINDOW_MS 250

/* A name that is known (has a status) or is only being watched. */
typedef struct entry {
  char *name;
  int status;
  int known;
  registry_watch *watchers; /* doubly linked */
} entry;

struct registry_watch {
  registry *r;
  entry *e;
  registry_notify_fn notify;
  void *ctx;
  int latest;    /* newest status offered */
  int last_sent; /* status of the last completed send; -1 before any */
  int sending;   /* status of the send in flight */
  int busy;      /* a send is in flight */
  /* Violation knobs only (faults.h): */
  int dup_pending;     /* watch-duplicates: an equal status awaits sending */
  int began_unknown;   /* watch-no-late-known: the name was unknown at start */
  int offered;         /* watch-drop-last: the last status offered */
  int held;            /* watch-drop-last: held back until the next change; -1 */
  long last_change_ms; /* watch-drop-last: when `offered` changed; 0 never */
  registry_watch *prev, *next;
};

struct registry {
  pthread_rwlock_t lock;
  entry **entries; /* sorted by name */
  size_t count, cap;
  size_t known;
  size_t watches;
  int shut_down;
  const faults *faults; /* NULL: no violation */
};

int registry_new(registry **out) {
  pthread_rwlockattr_t attr;
  registry *r = calloc(1, sizeof(*r));

  if (!r)
    return -ENOMEM;
  /* Writers (status flips) must not starve behind a flood of Checks. */
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&r->lock, &attr);
  pthread_rwlockattr_destroy(&attr);
  *out = r;
  return 0;
}

void registry_free(registry *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->count; i++) {
    free(r->entries[i]->name);
    free(r->entries[i]);
  }
  free(r->entries);
  pthread_rwlock_destroy(&r->lock);
  free(r);
}

/* Index of `name`, or of where it would be inserted (with *found = 0). */
static size_t find(const registry *r, const char *name, int *found) {
  size_t lo = 0, hi = r->count;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(r->entries[mid]->name, name);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

static entry *lookup(const registry *r, const char *name) {
  int found;
  size_t i = find(r, name, &found);

  return found ? r->entries[i] : NULL;
}

/* The entry for `name`, created (unknown, unwatched) if missing. */
static entry *lookup_or_insert(registry *r, const char *name) {
  int found;
  size_t i = find(r, name, &found);
  entry *e;

  if (found)
    return r->entries[i];
  if (r->count == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    entry **grown = realloc(r->entries, cap * sizeof(*grown));
    if (!grown)
      return NULL;
    r->entries = grown;
    r->cap = cap;
  }
  e = calloc(1, sizeof(*e));
  if (!e)
    return NULL;
  e->name = strdup(name);
  if (!e->name) {
    free(e);
    return NULL;
  }
  memmove(&r->entries[i + 1], &r->entries[i], (r->count - i) * sizeof(*r->entries));
  r->entries[i] = e;
  r->count++;
  return e;
}

/* Drops an entry that is neither known nor watched. */
static void drop_if_unused(registry *r, entry *e) {
  int found;
  size_t i;

  if (e->known || e->watchers)
    return;
  i = find(r, e->name, &found);
  memmove(&r->entries[i], &r->entries[i + 1], (r->count - i - 1) * sizeof(*r->entries));
  r->count--;
  free(e->name);
  free(e);
}

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Violation watch-drop-last (T20): a change less than BURST_WINDOW_MS
 * after the previous one is held back and let through only when the next
 * change comes, so the last change of a burst is never sent. Returns 0
 * with the status to offer in *status, -1 when there is nothing to offer. */
static int lag_one_behind(registry_watch *w, int *status) {
  long now = now_ms();
  int burst = w->last_change_ms && now - w->last_change_ms < BURST_WINDOW_MS;
  int held = w->held;

  if (*status == w->offered)
    return -1;
  w->offered = *status;
  w->last_change_ms = now;
  if (!burst) {
    w->held = -1;
    return 0;
  }
  w->held = *status;
  if (held < 0)
    return -1;
  *status = held;
  return 0;
}

/* H-WATCH-2/5/6: remember the newest status; start a send only when none
 * is in flight and it differs from what the client last received. */
static void watch_offer(const registry *r, registry_watch *w, int status) {
  if (faults_on(r->faults, VIOLATE_WATCH_NO_LATE_KNOWN) && w->began_unknown)
    return;
  if (faults_on(r->faults, VIOLATE_WATCH_DROP_LAST) && lag_one_behind(w, &status) < 0)
    return;
  if (faults_on(r->faults, VIOLATE_WATCH_DUPLICATES) && status == w->last_sent)
    w->dup_pending = 1; /* every set goes out, equal or not */
  w->latest = status;
  if (w->busy || (status == w->last_sent && !w->dup_pending))
    return;
  w->dup_pending = 0;
  w->busy = 1;
  w->sending = status;
  w->notify(w->ctx, status);
}

static void offer_all(const registry *r, entry *e) {
  int status = e->known ? e->status : WIRE_SERVICE_UNKNOWN;

  if (faults_on(r->faults, VIOLATE_WATCH_NO_UPDATES))
    return;
  for (registry_watch *w = e->watchers; w; w = w->next) {
    watch_offer(r, w, status);
    if (faults_on(r->faults, VIOLATE_WATCH_NOTIFY_ONE))
      break; /* the list starts with the newest watcher */
  }
}

static void set_locked(entry *e, registry *r, int status) {
  if (!e->known)
    r->known++;
  e->known = 1;
  e->status = status;
  offer_all(r, e);
}

/* H-WATCH-9: once shut down, statuses change only through Resume(),
 * unless shutdown-accepts-sets breaks that on purpose. Locked. */
static int refuses_changes(const registry *r) {
  return r->shut_down && !faults_on(r->faults, VIOLATE_SHUTDOWN_ACCEPTS_SETS);
}

int registry_set(registry *r, const char *name, int status) {
  entry *e;
  int rv = 0;

  if (!name || status < 0 || status > WIRE_STATUS_MAX)
    return -EINVAL;
  pthread_rwlock_wrlock(&r->lock);
  if (refuses_changes(r)) {
    rv = -ESHUTDOWN;
    goto out;
  }
  e = lookup_or_insert(r, name);
  if (!e) {
    rv = -ENOMEM;
    goto out;
  }
  set_locked(e, r, status);
out:
  pthread_rwlock_unlock(&r->lock);
  return rv;
}

int registry_remove(registry *r, const char *name) {
  entry *e;
  int rv = 0;

  if (!name)
    return -EINVAL;
  pthread_rwlock_wrlock(&r->lock);
  if (refuses_changes(r)) {
    rv = -ESHUTDOWN;
    goto out;
  }
  e = lookup(r, name);
  if (!e || !e->known) {
    rv = -ENOENT;
    goto out;
  }
  e->known = 0;
  r->known--;
  offer_all(r, e); /* H-WATCH-3: watchers now see SERVICE_UNKNOWN */
  drop_if_unused(r, e);
out:
  pthread_rwlock_unlock(&r->lock);
  return rv;
}

int registry_get(registry *r, const char *name, int *status) {
  entry *e;
  int rv = -ENOENT;

  if (!name)
    return -EINVAL;
  pthread_rwlock_rdlock(&r->lock);
  e = lookup(r, name);
  if (e && e->known) {
    *status = e->status;
    rv = 0;
  }
  pthread_rwlock_unlock(&r->lock);
  return rv;
}

size_t registry_count(registry *r) {
  size_t n;

  pthread_rwlock_rdlock(&r->lock);
  n = r->known;
  pthread_rwlock_unlock(&r->lock);
  return n;
}

void registry_snapshot_free(registry_entry *entries, size_t count) {
  for (size_t i = 0; i < count; i++)
    free(entries[i].name);
  free(entries);
}

int registry_snapshot(registry *r, registry_entry **entries, size_t *count) {
  registry_entry *out;
  size_t n = 0;
  int rv = 0;

  pthread_rwlock_rdlock(&r->lock);
  out = calloc(r->known ? r->known : 1, sizeof(*out));
  if (!out) {
    rv = -ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < r->count; i++) {
    const entry *e = r->entries[i];
    if (!e->known)
      continue;
    out[n].name = strdup(e->name);
    if (!out[n].name) {
      registry_snapshot_free(out, n);
      rv = -ENOMEM;
      goto out;
    }
    out[n].status = e->status;
    n++;
  }
  *entries = out;
  *count = n;
out:
  pthread_rwlock_unlock(&r->lock);
  return rv;
}

static void set_all_locked(registry *r, int status) {
  for (size_t i = 0; i < r->count; i++) {
    entry *e = r->entries[i];
    if (e->known)
      set_locked(e, r, status);
  }
}

void registry_shutdown(registry *r) {
  pthread_rwlock_wrlock(&r->lock);
  if (!faults_on(r->faults, VIOLATE_SHUTDOWN_KEEPS_SERVING))
    set_all_locked(r, WIRE_NOT_SERVING); /* H-WATCH-9 */
  r->shut_down = 1;
  pthread_rwlock_unlock(&r->lock);
}

void registry_resume(registry *r) {
  pthread_rwlock_wrlock(&r->lock);
  r->shut_down = 0;
  set_all_locked(r, WIRE_SERVING);
  pthread_rwlock_unlock(&r->lock);
}

int registry_is_shut_down(registry *r) {
  int v;

  pthread_rwlock_rdlock(&r->lock);
  v = r->shut_down;
  pthread_rwlock_unlock(&r->lock);
  return v;
}

int registry_refuses_changes(registry *r) {
  int v;

  pthread_rwlock_rdlock(&r->lock);
  v = refuses_changes(r);
  pthread_rwlock_unlock(&r->lock);
  return v;
}

int registry_watch_start(registry *r, const char *name, registry_notify_fn notify, void *ctx,
                         registry_watch **out, int *first) {
  registry_watch *w;
  entry *e;
  int rv = 0;

  if (!name || !notify)
    return -EINVAL;
  w = calloc(1, sizeof(*w));
  if (!w)
    return -ENOMEM;
  pthread_rwlock_wrlock(&r->lock);
  e = lookup_or_insert(r, name);
  if (!e) {
    free(w);
    rv = -ENOMEM;
    goto out;
  }
  w->r = r;
  w->e = e;
  w->notify = notify;
  w->ctx = ctx;
  /* H-WATCH-1 / H-WATCH-3: the current status, or SERVICE_UNKNOWN. */
  w->latest = e->known ? e->status : WIRE_SERVICE_UNKNOWN;
  w->last_sent = -1;
  w->sending = w->latest;
  w->busy = 1;
  w->began_unknown = !e->known;
  w->offered = w->latest;
  w->held = -1;
  w->next = e->watchers;
  if (e->watchers)
    e->watchers->prev = w;
  e->watchers = w;
  r->watches++;
  *first = w->latest;
  *out = w;
out:
  pthread_rwlock_unlock(&r->lock);
  return rv;
}

int registry_watch_sent(registry_watch *w, int *next) {
  registry *r = w->r;
  int more = 0;

  pthread_rwlock_wrlock(&r->lock);
  w->last_sent = w->sending;
  w->busy = 0;
  if (w->latest != w->last_sent || w->dup_pending) {
    w->dup_pending = 0;
    w->busy = 1;
    w->sending = w->latest;
    *next = w->latest;
    more = 1;
  }
  pthread_rwlock_unlock(&r->lock);
  return more;
}

void registry_watch_stop(registry_watch *w) {
  registry *r;
  entry *e;

  if (!w)
    return;
  r = w->r;
  e = w->e;
  pthread_rwlock_wrlock(&r->lock);
  if (w->prev)
    w->prev->next = w->next;
  else
    e->watchers = w->next;
  if (w->next)
    w->next->prev = w->prev;
  r->watches--;
  drop_if_unused(r, e);
  pthread_rwlock_unlock(&r->lock);
  free(w);
}

size_t registry_watch_count(registry *r) {
  size_t n;

  pthread_rwlock_rdlock(&r->lock);
  n = r->watches;
  pthread_rwlock_unlock(&r->lock);
  return n;
}

void registry_set_faults(registry *r, const faults *f) {
  pthread_rwlock_wrlock(&r->lock);
  r->faults = f;
  pthread_rwlock_unlock(&r->lock);
}
