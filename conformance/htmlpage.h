/*
 * htmlpage: one self-contained HTML page (inline style and script, no
 * external asset, so that it opens from a CI artifact), built as a libxml2
 * HTML tree and written by libxml2's HTML serializer: every text and
 * attribute is escaped by the library. Used by the HTML report
 * (report_html.c) and the matrix (matrix.c).
 *
 * Filters: every <tr> given a data-result attribute (space-separated
 * result names: pass fail warn skip not-run) is shown only while one of
 * its results is ticked in the page's #filters; the page's URL fragment
 * "#only=fail,warn" ticks just those on load. Without script every row
 * shows.
 *
 * Memory: the page owns its tree; htmlpage_free releases it. The node
 * pointers returned belong to the tree. An allocation failure is recorded
 * (later calls on a NULL parent do nothing) and htmlpage_write returns
 * -ENOMEM. Thread safety: none; one page per thread.
 */
#ifndef HC_HTMLPAGE_H
#define HC_HTMLPAGE_H

#include <libxml/tree.h>
#include <stddef.h>
#include <stdio.h>

typedef struct htmlpage {
  xmlDocPtr doc;
  xmlNodePtr head, body;
  int oom;
} htmlpage;

/* A page titled `title` (also its <h1>). 0 or -ENOMEM (nothing to free). */
int htmlpage_init(htmlpage *p, const char *title);
void htmlpage_free(htmlpage *p); /* safe on a zeroed page */

/* Appends <tag>text</tag> to parent (text may be NULL); NULL if parent is. */
xmlNodePtr htmlpage_el(htmlpage *p, xmlNodePtr parent, const char *tag, const char *text);
xmlNodePtr htmlpage_elf(htmlpage *p, xmlNodePtr parent, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void htmlpage_attr(htmlpage *p, xmlNodePtr node, const char *name, const char *value);

/* <dt>term</dt><dd>value</dd> into a <dl>; an empty value shows as "-". */
void htmlpage_def(htmlpage *p, xmlNodePtr dl, const char *term, const char *value);

/* The filter bar: one ticked checkbox per result name, labelled with its
 * count, and the "N of M shown" line the script keeps. */
void htmlpage_filters(htmlpage *p, xmlNodePtr parent, const char *const names[],
                      const size_t counts[], size_t n);

/* Adds the script and writes the page to f (not closed). 0, -ENOMEM if the
 * tree is incomplete, -EIO if the write failed. */
int htmlpage_write(htmlpage *p, FILE *f);

#endif
