/* tls: reading and checking the --ssl-* PEM files. See tls.h. */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "errbuf.h"
#include "lazylib.h"
#include "readfile.h"
#include "xalloc.h"

/* Reads the whole file into a malloc'd NUL-terminated text. */
static int read_file(const char *flag, const char *path, char **out, char *err, size_t errlen) {
  struct stat st;
  int fd, rc;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    return errbuf_fail(err, errlen, rc, "%s %s: %s", flag, path, strerror(-rc));
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
    rc = errbuf_fail(err, errlen, -EINVAL, "%s %s: not a regular file", flag, path);
  else if ((rc = readfile_fd(fd, TLS_FILE_MAX, out, NULL)) == -EFBIG)
    errbuf_fail(err, errlen, rc, "%s %s: larger than %d bytes", flag, path, TLS_FILE_MAX);
  else if (rc < 0)
    errbuf_fail(err, errlen, rc, "%s %s: %s", flag, path, strerror(-rc));
  close(fd);
  return rc;
}

static gnutls_datum_t datum(const char *text) {
  return (gnutls_datum_t){(unsigned char *)text, (unsigned)strlen(text)};
}

/* At least one PEM certificate, every one parseable. */
static int check_certs(const char *flag, const char *path, const char *text, char *err,
                       size_t errlen) {
  gnutls_datum_t d = datum(text);
  gnutls_x509_crt_t *crts = NULL;
  unsigned n = 0;
  int rv = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);

  if (rv < 0 || n == 0)
    return errbuf_fail(err, errlen, -EINVAL, "%s %s: no PEM certificate (%s)", flag, path,
                       rv < 0 ? gnutls_strerror(rv) : "empty");
  for (unsigned i = 0; i < n; i++)
    gnutls_x509_crt_deinit(crts[i]);
  lazylib_gnutls_free(crts);
  return 0;
}

/* A PEM private key that matches the first certificate of the chain. */
static int check_key(const tls_pem *p, const char *certfile, const char *keyfile, char *err,
                     size_t errlen) {
  gnutls_datum_t c = datum(p->cert), k = datum(p->key);
  gnutls_certificate_credentials_t cred;
  gnutls_x509_privkey_t key;
  int rv;

  if (gnutls_x509_privkey_init(&key) < 0) /* fails only out of memory */
    xalloc_die("a gnutls private key");
  rv = gnutls_x509_privkey_import2(key, &k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
  gnutls_x509_privkey_deinit(key);
  if (rv < 0)
    return errbuf_fail(err, errlen, -EINVAL,
                       "--ssl-keyfile %s: not an unencrypted PEM private key (%s)", keyfile,
                       gnutls_strerror(rv));
  if (gnutls_certificate_allocate_credentials(&cred) < 0)
    xalloc_die("gnutls credentials");
  rv = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
  gnutls_certificate_free_credentials(cred);
  if (rv < 0)
    return errbuf_fail(err, errlen, -EINVAL,
                       "--ssl-keyfile %s does not go with --ssl-certfile %s: %s", keyfile, certfile,
                       gnutls_strerror(rv));
  return 0;
}

int tls_pem_load(const char *certfile, const char *keyfile, const char *cafile, tls_pem *out,
                 char *err, size_t errlen) {
  tls_pem p = {0};
  int rc;

  rc = lazylib_load(err, errlen); /* GnuTLS checks the PEM files */
  if (rc == 0)
    rc = read_file("--ssl-certfile", certfile, &p.cert, err, errlen);
  if (rc == 0)
    rc = check_certs("--ssl-certfile", certfile, p.cert, err, errlen);
  if (rc == 0)
    rc = read_file("--ssl-keyfile", keyfile, &p.key, err, errlen);
  if (rc == 0)
    rc = check_key(&p, certfile, keyfile, err, errlen);
  if (rc == 0 && cafile)
    rc = read_file("--ssl-ca", cafile, &p.ca, err, errlen);
  if (rc == 0 && cafile)
    rc = check_certs("--ssl-ca", cafile, p.ca, err, errlen);
  if (rc < 0) {
    tls_pem_free(&p);
    return rc;
  }
  *out = p;
  return 0;
}

void tls_pem_free(tls_pem *p) {
  free(p->cert);
  free(p->key);
  free(p->ca);
  *p = (tls_pem){0};
}
