/* jina_http: Jina's FastAPI worker app, answered as uvicorn would. See jina_http.h. */
#include "jina_http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fastapi_pages.h"
#include "xalloc.h"

#define NSTATUS (WIRE_STATUS_MAX + 1)
#define JSON_TYPE "application/json"
#define HTML_TYPE "text/html; charset=utf-8"

/* FastAPI's default pages (FastAPI(): docs_url "/docs", redoc_url
 * "/redoc", swagger_ui_oauth2_redirect_url "/docs/oauth2-redirect",
 * openapi_url "/openapi.json"). */
enum { PAGE_OPENAPI, PAGE_DOCS, PAGE_REDOC, PAGE_OAUTH2_REDIRECT, NPAGE };

static const char *const page_paths[NPAGE] = {"/openapi.json", "/docs", "/redoc",
                                              "/docs/oauth2-redirect"};

struct jina_http {
  unsigned codes[NSTATUS];            /* of GET /, by the status of "" */
  struct MHD_Response *root[NSTATUS]; /* GET / by the status of "" */
  struct MHD_Response *pages[NPAGE];
  struct MHD_Response *root_not_allowed; /* 405, Allow: GET */
  struct MHD_Response *page_not_allowed; /* 405, Allow: GET, HEAD */
  struct MHD_Response *not_found;
};

/* `json` (stolen) serialised compactly, keys in insertion order, as
 * FastAPI's JSONResponse writes (separators "," and ":"). Built from
 * constant formats, so NULL only means out of memory: abort (xalloc). */
static char *dump(json_t *json) {
  char *text = json_dumps(xnonnull(json, "a jina JSON body"), JSON_COMPACT | JSON_PRESERVE_ORDER);

  json_decref(json);
  return xnonnull(text, "a jina JSON body");
}

/* A uvicorn response over `text` (malloc'd and taken, or static when
 * `is_static`). `allow` NULL: no Allow header. Its headers are constant
 * and valid, so libmicrohttpd fails only out of memory: abort (xalloc). */
static struct MHD_Response *uvicorn_response(char *text, int is_static, const char *type,
                                             const char *allow) {
  struct MHD_Response *r =
      xnonnull(MHD_create_response_from_buffer(
                   strlen(text), text, is_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE),
               "a jina response");

  if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
      MHD_add_response_header(r, MHD_HTTP_HEADER_SERVER, "uvicorn") != MHD_YES ||
      (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES))
    xalloc_die("a jina response header");
  return r;
}

/* Starlette's HTTPException as FastAPI renders it: {"detail": "<reason>"}. */
static struct MHD_Response *detail_response(unsigned code, const char *allow) {
  const char *reason = MHD_get_reason_phrase_for(code);

  return uvicorn_response(dump(json_pack("{s:s}", "detail", reason ? reason : "")), 0, JSON_TYPE,
                          allow);
}

/* FastAPI's schema of the worker app (as FastAPI 0.92 with pydantic 1
 * writes it): one GET / whose response model is Jina's empty
 * JinaHealthModel (jina/serve/runtimes/gateway/health_model.py). */
static char *openapi_text(void) {
  json_t *get =
      json_pack("{s:s, s:s, s:{s:{s:s, s:{s:{s:{s:s}}}}}}", "summary",
                "Get the health of Jina Executor service", "operationId", "_executor_health__get",
                "responses", "200", "description", "Successful Response", "content", JSON_TYPE,
                "schema", "$ref", "#/components/schemas/JinaHealthModel");

  return dump(json_pack("{s:s, s:{s:s, s:s}, s:{s:{s:o}}, s:{s:{s:{s:s, s:s, s:{}}}}}", "openapi",
                        "3.0.2", "info", "title", "FastAPI", "version", "0.1.0", "paths", "/",
                        "get", get, "components", "schemas", "JinaHealthModel", "title",
                        "JinaHealthModel", "type", "object", "properties"));
}

static void build(jina_http *j, const unsigned *codes) {
  for (int s = 0; s < NSTATUS; s++)
    j->root[s] = s == WIRE_SERVING ? uvicorn_response(dump(json_object()), 0, JSON_TYPE, NULL)
                                   : detail_response(codes[s], NULL);
  j->pages[PAGE_OPENAPI] = uvicorn_response(openapi_text(), 0, JSON_TYPE, NULL);
  j->pages[PAGE_DOCS] = uvicorn_response((char *)fastapi_docs_html, 1, HTML_TYPE, NULL);
  j->pages[PAGE_REDOC] = uvicorn_response((char *)fastapi_redoc_html, 1, HTML_TYPE, NULL);
  j->pages[PAGE_OAUTH2_REDIRECT] =
      uvicorn_response((char *)fastapi_oauth2_redirect_html, 1, HTML_TYPE, NULL);
  j->root_not_allowed = detail_response(MHD_HTTP_METHOD_NOT_ALLOWED, "GET");
  j->page_not_allowed = detail_response(MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD");
  j->not_found = detail_response(MHD_HTTP_NOT_FOUND, NULL);
}

jina_http *jina_http_new(const unsigned codes[WIRE_STATUS_MAX + 1]) {
  jina_http *j = xcalloc(1, sizeof(*j));

  memcpy(j->codes, codes, sizeof(j->codes));
  build(j, codes);
  return j;
}

static void destroy(struct MHD_Response *r) {
  if (r)
    MHD_destroy_response(r);
}

void jina_http_free(jina_http *j) {
  if (!j)
    return;
  for (int s = 0; s < NSTATUS; s++)
    destroy(j->root[s]);
  for (int p = 0; p < NPAGE; p++)
    destroy(j->pages[p]);
  destroy(j->root_not_allowed);
  destroy(j->page_not_allowed);
  destroy(j->not_found);
  free(j);
}

enum MHD_Result jina_http_answer(const jina_http *j, struct MHD_Connection *conn,
                                 const httpd_request *rq, int status) {
  int get = strcmp(rq->method, "GET") == 0;

  if (strcmp(rq->path, "/") == 0) {
    if (!get)
      return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, j->root_not_allowed);
    if (status < 0 || status > WIRE_STATUS_MAX)
      status = WIRE_SERVICE_UNKNOWN;
    return MHD_queue_response(conn, j->codes[status], j->root[status]);
  }
  for (int p = 0; p < NPAGE; p++) {
    if (strcmp(rq->path, page_paths[p]) != 0)
      continue;
    /* Starlette's Route adds HEAD to the GET of these plain routes. */
    if (!get && strcmp(rq->method, "HEAD") != 0)
      return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, j->page_not_allowed);
    return MHD_queue_response(conn, MHD_HTTP_OK, j->pages[p]);
  }
  return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, j->not_found);
}
