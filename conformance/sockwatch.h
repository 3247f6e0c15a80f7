/*
 * sockwatch: a deadline libcurl cannot miss. curl checks its own timeouts
 * between reads, and against a peer that floods frames which never reach
 * a callback (zero-length DATA, unknown frame types) its HTTP/2 reader
 * never comes back to check: the transfer runs on far past
 * CURLOPT_TIMEOUT_MS (issue 13 measured 256 s for a 2 s timeout). A
 * sockwatch owns the transfer's sockets (CURLOPT_OPENSOCKETFUNCTION /
 * CLOSESOCKETFUNCTION) and a thread that shuts them down at the deadline,
 * which ends any read at once.
 *
 * Use: sockwatch_start, sockwatch_curl on the handle, curl_easy_perform,
 * sockwatch_stop, then curl_easy_cleanup (which closes the sockets through
 * the watch: it must outlive the handle's connections, so keep it until
 * after the cleanup and only then forget it). One transfer at a time per
 * sockwatch; distinct sockwatches are independent.
 */
#ifndef HC_SOCKWATCH_H
#define HC_SOCKWATCH_H

#include <pthread.h>

#include <curl/curl.h>

#define SOCKWATCH_FDS 4

typedef struct sockwatch {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t thread;
  int fds[SOCKWATCH_FDS]; /* open sockets of the transfer, -1 when free */
  long long deadline;     /* monotime_ms() */
  int stop, fired, started;
} sockwatch;

/* Starts the watch: at monotime_ms() + timeout_ms it shuts the sockets
 * down. 0 or a negative errno (then nothing was started). */
int sockwatch_start(sockwatch *w, int timeout_ms);

/* Routes the handle's socket opening and closing through the watch. */
void sockwatch_curl(sockwatch *w, CURL *h);

/* Stops the thread; 1 if the deadline fired, else 0. Safe after a failed
 * start. Call sockwatch_free after curl_easy_cleanup. */
int sockwatch_stop(sockwatch *w);

/* Releases the lock and condition; the sockets are closed by then. */
void sockwatch_free(sockwatch *w);

#endif
