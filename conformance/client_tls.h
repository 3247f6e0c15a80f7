/*
 * client_tls: the runner's TLS settings (--tls, --tls-ca-cert,
 * --tls-no-verify, --tls-server-name, --tls-client-cert, --tls-client-key,
 * grpc_health_probe's names and meanings), applied to every connection to
 * the target: gRPC channels (grpc_client), raw HTTP/2 (wire_client, h2 by
 * ALPN instead of prior knowledge) and HTTP (http_client, https://).
 * The control API (--control URL) is not affected: its URL says.
 *
 * One process checks one target, so the settings are process-wide: set
 * once by main before any connection or thread, read-only afterwards
 * (every getter is then thread-safe). Off until ctls_set.
 */
#ifndef HC_CLIENT_TLS_H
#define HC_CLIENT_TLS_H

#include <stddef.h>

#include <curl/curl.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

typedef struct ctls_options {
  int enabled;             /* --tls */
  const char *ca_file;     /* --tls-ca-cert; NULL: the system's roots */
  int no_verify;           /* --tls-no-verify: accept any server certificate */
  const char *server_name; /* --tls-server-name: SNI and the name checked; NULL: the host */
  const char *cert_file;   /* --tls-client-cert, with key_file; NULL: none */
  const char *key_file;    /* --tls-client-key */
} ctls_options;

/* Checks the combination (grpc_health_probe's rules: --tls-no-verify and
 * --tls-ca-cert exclude each other, every --tls-* needs --tls, a client
 * certificate needs its key and the key its certificate), reads the PEM
 * files and keeps the settings for `target` ("host:port", the one the
 * server name stands for). Returns 0, or -EINVAL / -ENOENT / -ENOMEM with
 * a one-line reason naming the flag in err; nothing is kept then. */
int ctls_set(const ctls_options *o, const char *target, char *err, size_t errlen);

/* Checks the combination only (no file is read). 0 or -EINVAL with err. */
int ctls_check(const ctls_options *o, char *err, size_t errlen);

/* Forgets the settings and frees the texts read. */
void ctls_clear(void);

/* 1 when --tls is on. */
int ctls_enabled(void);

/* New channel credentials for the target: insecure, SSL with the CA and
 * client pair, or (--tls-no-verify) TLS that checks nothing. The caller
 * releases them. */
grpc_channel_credentials *ctls_channel_credentials(void);

/* Channel args for the target (the server-name override), or NULL. */
const grpc_channel_args *ctls_channel_args(void);

/* "http://target{path}", or with TLS "https://target{path}" (the server
 * name in place of the host when given). -ENAMETOOLONG if it does not fit. */
int ctls_url(const char *target, const char *path, char *url, size_t size);

/* Sets the handle's TLS options when TLS is on (CA, verification, client
 * pair, the connection to the target's address under the server name). */
void ctls_curl_setup(CURL *h);

#endif
