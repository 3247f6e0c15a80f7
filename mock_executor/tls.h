/*
 * tls: the PEM files of --ssl-certfile, --ssl-keyfile and --ssl-ca, read
 * once at start and checked with GnuTLS (the library libmicrohttpd serves
 * TLS with), so a bad file is named before any listener starts: missing,
 * unreadable, not PEM, a key that does not match the certificate.
 *
 * Every health listener (gRPC and HTTP) serves TLS from the same files;
 * with a CA, every one requires a client certificate signed by it.
 *
 * Memory: tls_pem_load fills a caller-owned struct with malloc'd,
 * NUL-terminated texts; tls_pem_free frees them. Listeners borrow the
 * struct, which must outlive them. Read-only after load: thread-safe.
 */
#ifndef HC_TLS_H
#define HC_TLS_H

#include <stddef.h>

typedef struct tls_pem {
  char *cert; /* the certificate chain, leaf first */
  char *key;  /* its private key */
  char *ca;   /* CA certificates clients must be signed by; NULL: none asked */
} tls_pem;

#define TLS_FILE_MAX (1024 * 1024) /* a PEM file larger than this is refused */

/* Reads and checks the files (cafile may be NULL). On failure returns
 * -EINVAL, -ENOENT, -EACCES, -EFBIG or -ENOMEM with a one-line reason
 * naming the flag and the file in err, and leaves nothing to free. */
int tls_pem_load(const char *certfile, const char *keyfile, const char *cafile, tls_pem *out,
                 char *err, size_t errlen);

/* Frees the texts. Safe on a zeroed struct. */
void tls_pem_free(tls_pem *p);

#endif
