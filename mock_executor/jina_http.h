/*
 * jina_http: the HTTP face of a Jina Executor (mock-executor --profile
 * jina): Jina's worker app, a bare FastAPI() served by uvicorn
 * (docs/protocol.md, H-HTTP-*), answered the way FastAPI and Starlette answer:
 *
 *   GET /                 200 {} (application/json), while "" is SERVING;
 *                         otherwise codes[status] (503) {"detail":"<reason>"}
 *                         (a mock extension: Jina never answers non-200)
 *   HEAD / (any non-GET)  405 {"detail":"Method Not Allowed"}, Allow: GET
 *                         (FastAPI's APIRoute adds no HEAD to a GET route)
 *   GET|HEAD /openapi.json, /docs, /redoc, /docs/oauth2-redirect
 *                         FastAPI's default pages (fastapi_pages.h)
 *   other methods there   405, Allow: GET, HEAD
 *   any other path        404 {"detail":"Not Found"}
 *
 * Every response says `server: uvicorn`; libmicrohttpd adds Date. Bodies
 * are serialised by jansson as FastAPI's JSONResponse does (no spaces).
 *
 * Memory: every response is built once by jina_http_new and owned by the
 * jina_http; jina_http_answer only queues them. Thread safety: answer may
 * run on any thread (it reads only what new built); new/free from one.
 */
#ifndef HC_JINA_HTTP_H
#define HC_JINA_HTTP_H

#include "httpd.h"
#include "wire.h"

typedef struct jina_http jina_http;

/* Builds the responses; codes[s] is the HTTP code of GET / when "" has
 * status s (100-599). Out of memory aborts (docs/oom.md). */
jina_http *jina_http_new(const unsigned codes[WIRE_STATUS_MAX + 1]);

/* Frees. Safe with NULL. */
void jina_http_free(jina_http *j);

/* Answers one request; `status` is the registry's status of "" (-1 when
 * unknown, answered as SERVICE_UNKNOWN). Returns what the queue call
 * returned. */
enum MHD_Result jina_http_answer(const jina_http *j, struct MHD_Connection *conn,
                                 const httpd_request *rq, int status);

#endif
