/* client_tls: the runner's TLS settings. See client_tls.h. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "client_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "readfile.h"
#include "xalloc.h"

#define PEM_MAX (1024 * 1024)

/* Set once by ctls_set, read-only afterwards. */
static struct {
  int enabled, no_verify;
  char *ca, *cert, *key; /* PEM texts; NULL when not given */
  const char *ca_file, *cert_file, *key_file;
  char *server_name;             /* NULL: the target's host */
  char *port;                    /* the target's port, for URLs */
  struct curl_slist *connect_to; /* server name -> the target's address */
  grpc_arg arg;
  grpc_channel_args args;
} tls;

int ctls_check(const ctls_options *o, char *err, size_t errlen) {
  int any = o->ca_file || o->no_verify || o->server_name || o->cert_file || o->key_file;

  if (!o->enabled && any) {
    snprintf(err, errlen,
             "--tls-ca-cert, --tls-no-verify, --tls-server-name, "
             "--tls-client-cert and --tls-client-key need --tls");
    return -EINVAL;
  }
  if (o->no_verify && o->ca_file)
    return errbuf_fail(err, errlen, -EINVAL,
                       "--tls-no-verify and --tls-ca-cert exclude each other");
  if (!o->cert_file != !o->key_file)
    return errbuf_fail(err, errlen, -EINVAL,
                       "--tls-client-cert and --tls-client-key go together: give both");
  if (o->server_name && !*o->server_name)
    return errbuf_fail(err, errlen, -EINVAL, "--tls-server-name: empty name");
  return 0;
}

/* The whole file as a NUL-terminated text; it must look like PEM. */
static int read_pem(const char *flag, const char *path, char **out, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  char *text = NULL;
  int rc;

  if (fd < 0) {
    rc = -errno;
    return errbuf_fail(err, errlen, rc, "%s %s: %s", flag, path, strerror(-rc));
  }
  rc = readfile_fd(fd, PEM_MAX, &text, NULL);
  close(fd);
  if (rc == -ENOMEM) /* readfile is a pure module (docs/oom.md) */
    return errbuf_fail(err, errlen, rc, "%s %s: %s", flag, path, strerror(-rc));
  if (rc < 0 || !strstr(text, "-----BEGIN ")) {
    snprintf(err, errlen, "%s %s: %s", flag, path,
             rc == -EFBIG ? "larger than 1 MiB"
             : rc < 0     ? "read error"
                          : "not a PEM file");
    free(text);
    return -EINVAL;
  }
  *out = text;
  return 0;
}

/* "NAME:PORT:HOST:PORT" so that https://NAME:PORT reaches the target. */
static int set_target(const char *target, char *err, size_t errlen) {
  const char *colon = strrchr(target, ':');
  char entry[600];

  if (!colon || colon == target)
    return errbuf_fail(err, errlen, -EINVAL, "--target '%s' is not HOST:PORT", target);
  tls.port = xstrdup(colon + 1);
  if (!tls.server_name)
    return 0;
  snprintf(entry, sizeof(entry), "%s:%s:%.*s:%s", tls.server_name, tls.port, (int)(colon - target),
           target, tls.port);
  tls.connect_to = xnonnull(curl_slist_append(NULL, entry), "a curl --connect-to list");
  tls.arg = (grpc_arg){.type = GRPC_ARG_STRING,
                       .key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                       .value.string = tls.server_name};
  tls.args = (grpc_channel_args){.num_args = 1, .args = &tls.arg};
  return 0;
}

int ctls_set(const ctls_options *o, const char *target, char *err, size_t errlen) {
  int rc = ctls_check(o, err, errlen);

  ctls_clear();
  if (rc < 0 || !o->enabled)
    return rc;
  tls.enabled = 1;
  tls.no_verify = o->no_verify;
  tls.ca_file = o->ca_file;
  tls.cert_file = o->cert_file;
  tls.key_file = o->key_file;
  if (o->ca_file)
    rc = read_pem("--tls-ca-cert", o->ca_file, &tls.ca, err, errlen);
  if (rc == 0 && o->cert_file)
    rc = read_pem("--tls-client-cert", o->cert_file, &tls.cert, err, errlen);
  if (rc == 0 && o->key_file)
    rc = read_pem("--tls-client-key", o->key_file, &tls.key, err, errlen);
  if (rc == 0 && o->server_name)
    tls.server_name = xstrdup(o->server_name);
  if (rc == 0)
    rc = set_target(target, err, errlen);
  if (rc < 0)
    ctls_clear();
  return rc;
}

void ctls_clear(void) {
  free(tls.ca);
  free(tls.cert);
  free(tls.key);
  free(tls.server_name);
  free(tls.port);
  curl_slist_free_all(tls.connect_to);
  memset(&tls, 0, sizeof(tls));
}

int ctls_enabled(void) { return tls.enabled; }

/* --tls-no-verify: TLS without any check of the server's certificate,
 * like grpc_health_probe's InsecureSkipVerify. The SSL credentials cannot
 * do this (their verify callback only adds checks), the TLS ones can. */
static grpc_channel_credentials *no_verify_credentials(void) {
  grpc_tls_credentials_options *op = grpc_tls_credentials_options_create();
  grpc_tls_certificate_verifier *v = grpc_tls_certificate_verifier_no_op_create();

  grpc_tls_credentials_options_set_verify_server_cert(op, 0);
  grpc_tls_credentials_options_set_certificate_verifier(op, v); /* takes a ref */
  grpc_tls_certificate_verifier_release(v);
  grpc_tls_credentials_options_set_check_call_host(op, 0);
  if (tls.cert) {
    grpc_tls_identity_pairs *pairs = grpc_tls_identity_pairs_create();
    grpc_tls_certificate_provider *p;

    grpc_tls_identity_pairs_add_pair(pairs, tls.key, tls.cert);
    p = grpc_tls_certificate_provider_static_data_create(NULL, pairs); /* owns pairs */
    grpc_tls_credentials_options_set_certificate_provider(op, p);      /* takes a ref */
    grpc_tls_certificate_provider_release(p);
    grpc_tls_credentials_options_watch_identity_key_cert_pairs(op);
  }
  return grpc_tls_credentials_create(op); /* owns op */
}

grpc_channel_credentials *ctls_channel_credentials(void) {
  grpc_ssl_pem_key_cert_pair pair = {.private_key = tls.key, .cert_chain = tls.cert};

  if (!tls.enabled)
    return grpc_insecure_credentials_create();
  if (tls.no_verify)
    return no_verify_credentials();
  /* NULL roots: gRPC's default roots (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, roots.pem) */
  return grpc_ssl_credentials_create_ex(tls.ca, tls.cert ? &pair : NULL, NULL, NULL);
}

const grpc_channel_args *ctls_channel_args(void) {
  return tls.enabled && tls.server_name ? &tls.args : NULL;
}

int ctls_url(const char *target, const char *path, char *url, size_t size) {
  int n;

  if (tls.enabled && tls.server_name)
    n = snprintf(url, size, "https://%s:%s%s", tls.server_name, tls.port, path);
  else
    n = snprintf(url, size, "%s://%s%s", tls.enabled ? "https" : "http", target, path);
  return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void ctls_curl_setup(CURL *h) {
  if (!tls.enabled)
    return;
  if (tls.ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file);
  if (tls.no_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (tls.cert_file) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, tls.cert_file);
    curl_easy_setopt(h, CURLOPT_SSLKEY, tls.key_file);
  }
  if (tls.connect_to)
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, tls.connect_to);
}
