/* lazylib: libmicrohttpd and GnuTLS through dlopen on first use
 * (lazylib.h says why). Each wrapper below has the library's own name and
 * prototype; the pointers are all taken at once under pthread_once, so a
 * call costs one load and an indirect jump. */
#include "lazylib.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <microhttpd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "errbuf.h"

/* The sonames the build links against (the Depends of cmake/packaging). */
#define LAZYLIB_MHD "libmicrohttpd.so.12"
#define LAZYLIB_GNUTLS "libgnutls.so.30"

/* X(library, return type, name, parameters, arguments) */
#define LAZYLIB_FUNCS(X)                                                                           \
  X(mhd, struct MHD_Daemon *, MHD_start_daemon_va,                                                 \
    (unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,               \
     MHD_AccessHandlerCallback dh, void *dh_cls, va_list ap),                                      \
    (flags, port, apc, apc_cls, dh, dh_cls, ap))                                                   \
  X(mhd, void, MHD_stop_daemon, (struct MHD_Daemon * daemon), (daemon))                            \
  X(mhd, enum MHD_Result, MHD_queue_response,                                                      \
    (struct MHD_Connection * connection, unsigned int status_code, struct MHD_Response *response), \
    (connection, status_code, response))                                                           \
  X(mhd, void, MHD_destroy_response, (struct MHD_Response * response), (response))                 \
  X(mhd, enum MHD_Result, MHD_add_response_header,                                                 \
    (struct MHD_Response * response, const char *header, const char *content),                     \
    (response, header, content))                                                                   \
  X(mhd, const char *, MHD_lookup_connection_value,                                                \
    (struct MHD_Connection * connection, enum MHD_ValueKind kind, const char *key),                \
    (connection, kind, key))                                                                       \
  X(mhd, struct MHD_Response *, MHD_create_response_from_buffer,                                   \
    (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))           \
  X(mhd, struct MHD_Response *, MHD_create_response_from_callback,                                 \
    (uint64_t size, size_t block_size, MHD_ContentReaderCallback crc, void *crc_cls,               \
     MHD_ContentReaderFreeCallback crfc),                                                          \
    (size, block_size, crc, crc_cls, crfc))                                                        \
  X(mhd, const char *, MHD_get_reason_phrase_for, (unsigned int code), (code))                     \
  X(mhd, const union MHD_ConnectionInfo *, MHD_get_connection_info,                                \
    (struct MHD_Connection * connection, enum MHD_ConnectionInfoType info_type, ...),              \
    (connection, info_type))                                                                       \
  X(mhd, const union MHD_DaemonInfo *, MHD_get_daemon_info,                                        \
    (struct MHD_Daemon * daemon, enum MHD_DaemonInfoType info_type, ...), (daemon, info_type))     \
  X(tls, const char *, gnutls_strerror, (int error), (error))                                      \
  X(tls, int, gnutls_certificate_allocate_credentials, (gnutls_certificate_credentials_t * res),   \
    (res))                                                                                         \
  X(tls, void, gnutls_certificate_free_credentials, (gnutls_certificate_credentials_t sc), (sc))   \
  X(tls, int, gnutls_certificate_set_x509_key_mem2,                                                \
    (gnutls_certificate_credentials_t res, const gnutls_datum_t *cert, const gnutls_datum_t *key,  \
     gnutls_x509_crt_fmt_t type, const char *pass, unsigned int flags),                            \
    (res, cert, key, type, pass, flags))                                                           \
  X(tls, void, gnutls_certificate_server_set_request,                                              \
    (gnutls_session_t session, gnutls_certificate_request_t req), (session, req))                  \
  X(tls, void, gnutls_session_set_verify_cert,                                                     \
    (gnutls_session_t session, const char *hostname, unsigned flags), (session, hostname, flags))  \
  X(tls, int, gnutls_x509_crt_list_import2,                                                        \
    (gnutls_x509_crt_t * *certs, unsigned int *size, const gnutls_datum_t *data,                   \
     gnutls_x509_crt_fmt_t format, unsigned int flags),                                            \
    (certs, size, data, format, flags))                                                            \
  X(tls, void, gnutls_x509_crt_deinit, (gnutls_x509_crt_t cert), (cert))                           \
  X(tls, int, gnutls_x509_privkey_init, (gnutls_x509_privkey_t * key), (key))                      \
  X(tls, void, gnutls_x509_privkey_deinit, (gnutls_x509_privkey_t key), (key))                     \
  X(tls, int, gnutls_x509_privkey_import2,                                                         \
    (gnutls_x509_privkey_t key, const gnutls_datum_t *data, gnutls_x509_crt_fmt_t format,          \
     const char *password, unsigned int flags),                                                    \
    (key, data, format, password, flags))

#define LAZYLIB_FIELD(lib, ret, name, params, args) ret(*name) params;

static struct {
  LAZYLIB_FUNCS(LAZYLIB_FIELD)
  gnutls_free_function *gnutls_free;
  int rc;
  char why[LAZYLIB_ERR_MAX];
} lazylib;
static pthread_once_t lazylib_once = PTHREAD_ONCE_INIT;

static void *lazylib_open(const char *soname) {
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

  if (!h) {
    snprintf(lazylib.why, sizeof(lazylib.why), "cannot load %s: %s", soname, dlerror());
    lazylib.rc = -ENOENT;
  }
  return h;
}

static void *lazylib_sym(void *h, const char *name) {
  void *p = h ? dlsym(h, name) : NULL;

  if (h && !p && lazylib.rc == 0) {
    snprintf(lazylib.why, sizeof(lazylib.why), "%s not found: %s", name, dlerror());
    lazylib.rc = -ENOENT;
  }
  return p;
}

static void lazylib_init(void) {
  /* GnuTLS first: libmicrohttpd needs it, and its constructor runs here. */
  void *tls = lazylib_open(LAZYLIB_GNUTLS);
  void *mhd = tls ? lazylib_open(LAZYLIB_MHD) : NULL;

#define LAZYLIB_RESOLVE(lib, ret, name, params, args) \
  *(void **)&lazylib.name = lazylib_sym(lib, #name);
  LAZYLIB_FUNCS(LAZYLIB_RESOLVE)
#undef LAZYLIB_RESOLVE
  lazylib.gnutls_free = lazylib_sym(tls, "gnutls_free");
}

int lazylib_load(char *err, size_t errlen) {
  pthread_once(&lazylib_once, lazylib_init);
  if (lazylib.rc < 0)
    return errbuf_fail(err, errlen, lazylib.rc, "%s", lazylib.why);
  return 0;
}

/* Loads on a first call too: a test program that links libmicrohttpd
 * itself has the library's own calls to these names land here. Callers
 * passed lazylib_load first: a pointer missing after it is a bug. */
static void lazylib_need(const void *const *fn, const char *name) {
  pthread_once(&lazylib_once, lazylib_init);
  if (!*fn) {
    fprintf(stderr, "lazylib: %s called before lazylib_load succeeded\n", name);
    abort();
  }
}

#define LAZYLIB_WRAP(lib, ret, name, params, args)           \
  ret name params {                                          \
    lazylib_need((const void *const *)&lazylib.name, #name); \
    return lazylib.name args;                                \
  }
/* MHD_get_connection_info and MHD_get_daemon_info take no argument after
 * the info type for the kinds the mock asks (0.9.75 ignores the rest). */
LAZYLIB_FUNCS(LAZYLIB_WRAP)

/* Variadic: libmicrohttpd's own MHD_start_daemon calls the _va form too. */
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls,
                                    ...) {
  struct MHD_Daemon *d;
  va_list ap;

  va_start(ap, dh_cls);
  d = MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
  va_end(ap);
  return d;
}

void lazylib_gnutls_free(void *p) {
  lazylib_need((const void *const *)&lazylib.gnutls_free, "gnutls_free");
  (*lazylib.gnutls_free)(p);
}
