/*
 * fastapi_pages: the HTML FastAPI serves at /docs, /redoc and
 * /docs/oauth2-redirect for a bare FastAPI() (fastapi_pages.c), for
 * jina_http. Static, immutable: thread-safe.
 */
#ifndef HC_FASTAPI_PAGES_H
#define HC_FASTAPI_PAGES_H

extern const char fastapi_docs_html[];
extern const char fastapi_redoc_html[];
extern const char fastapi_oauth2_redirect_html[];

#endif
