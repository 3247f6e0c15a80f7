/* htmlpage: a self-contained HTML page through libxml2. See htmlpage.h. */
#include "htmlpage.h"

#include <errno.h>
#include <libxml/HTMLtree.h>
#include <stdarg.h>

/* Inline, so that the page needs nothing but itself. */
static const char page_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25em .5em;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}"
    "dl.meta dt{font-weight:bold}dl.meta dd{margin:0}"
    "details dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.3em 0}"
    "details dt{font-weight:bold}details dd{margin:0;white-space:pre-wrap}"
    ".pass{background:#dff3df}.fail{background:#f8d7d7;font-weight:bold}"
    ".warn{background:#fbefc9}.skip{background:#e4eef8}.not-run{background:#eee;color:#666}"
    ".verdict{font-size:1.2em;font-weight:bold}#filters{margin:1em 0}"
    "#filters label{margin-right:1em}.note{color:#666}";

/* The filters (htmlpage.h). Rows are hidden with the `hidden` attribute,
 * so the rendered DOM says which are shown. */
static const char page_script[] =
    "(function () {\n"
    "  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input'));\n"
    "  var rows = Array.prototype.slice.call(document.querySelectorAll('tr[data-result]'));\n"
    "  var shown = document.getElementById('shown');\n"
    "  function ticked() {\n"
    "    return boxes.filter(function (b) { return b.checked; })\n"
    "        .map(function (b) { return b.value; });\n"
    "  }\n"
    "  function apply() {\n"
    "    var on = ticked(), count = 0;\n"
    "    boxes.forEach(function (b) { b.defaultChecked = b.checked; }); /* into the DOM */\n"
    "    rows.forEach(function (r) {\n"
    "      var show = r.dataset.result.split(' ').some(function (v) {\n"
    "        return on.indexOf(v) !== -1;\n"
    "      });\n"
    "      r.hidden = !show;\n"
    "      count += show ? 1 : 0;\n"
    "    });\n"
    "    shown.textContent = count + ' of ' + rows.length + ' shown';\n"
    "    shown.dataset.shown = count;\n"
    "  }\n"
    "  var m = /only=([a-z,-]*)/.exec(location.hash);\n"
    "  if (m) {\n"
    "    var want = m[1].split(',');\n"
    "    boxes.forEach(function (b) { b.checked = want.indexOf(b.value) !== -1; });\n"
    "  }\n"
    "  boxes.forEach(function (b) {\n"
    "    b.addEventListener('change', function () {\n"
    "      apply();\n"
    "      history.replaceState(null, '', '#only=' + ticked().join(','));\n"
    "    });\n"
    "  });\n"
    "  apply();\n"
    "})();\n";

static xmlNodePtr checked(htmlpage *p, xmlNodePtr node) {
  if (!node)
    p->oom = 1;
  return node;
}

xmlNodePtr htmlpage_el(htmlpage *p, xmlNodePtr parent, const char *tag, const char *text) {
  if (!parent)
    return NULL;
  /* xmlNewTextChild escapes text on output; xmlNewChild would not. */
  return checked(p, xmlNewTextChild(parent, NULL, BAD_CAST tag, BAD_CAST text));
}

xmlNodePtr htmlpage_elf(htmlpage *p, xmlNodePtr parent, const char *tag, const char *fmt, ...) {
  char text[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  return htmlpage_el(p, parent, tag, text);
}

void htmlpage_attr(htmlpage *p, xmlNodePtr node, const char *name, const char *value) {
  if (node && !xmlSetProp(node, BAD_CAST name, BAD_CAST value))
    p->oom = 1;
}

void htmlpage_def(htmlpage *p, xmlNodePtr dl, const char *term, const char *value) {
  htmlpage_el(p, dl, "dt", term);
  htmlpage_el(p, dl, "dd", value && value[0] ? value : "-");
}

int htmlpage_init(htmlpage *p, const char *title) {
  xmlNodePtr html, meta;

  *p = (htmlpage){0};
  p->doc = htmlNewDocNoDtD(NULL, NULL);
  if (!p->doc)
    return -ENOMEM;
  if (!xmlCreateIntSubset(p->doc, BAD_CAST "html", NULL, NULL)) /* <!DOCTYPE html> */
    goto fail;
  html = xmlNewDocNode(p->doc, NULL, BAD_CAST "html", NULL);
  if (!html)
    goto fail;
  xmlDocSetRootElement(p->doc, html);
  htmlpage_attr(p, html, "lang", "en");
  p->head = htmlpage_el(p, html, "head", NULL);
  meta = htmlpage_el(p, p->head, "meta", NULL);
  htmlpage_attr(p, meta, "charset", "utf-8");
  htmlpage_el(p, p->head, "title", title);
  htmlpage_el(p, p->head, "style", page_style);
  p->body = htmlpage_el(p, html, "body", NULL);
  htmlpage_el(p, p->body, "h1", title);
  if (p->oom)
    goto fail;
  return 0;
fail:
  htmlpage_free(p);
  return -ENOMEM;
}

void htmlpage_free(htmlpage *p) {
  if (p->doc)
    xmlFreeDoc(p->doc);
  *p = (htmlpage){0};
}

void htmlpage_filters(htmlpage *p, xmlNodePtr parent, const char *const names[],
                      const size_t counts[], size_t n) {
  xmlNodePtr bar = htmlpage_el(p, parent, "div", NULL), shown;

  htmlpage_attr(p, bar, "id", "filters");
  htmlpage_el(p, bar, "strong", "Show: ");
  for (size_t i = 0; i < n; i++) {
    xmlNodePtr label = htmlpage_el(p, bar, "label", NULL);
    xmlNodePtr box = htmlpage_el(p, label, "input", NULL);
    htmlpage_attr(p, box, "type", "checkbox");
    htmlpage_attr(p, box, "value", names[i]);
    htmlpage_attr(p, box, "checked", "checked");
    htmlpage_attr(p, label, "class", names[i]);
    htmlpage_elf(p, label, "span", "%s (%zu)", names[i], counts[i]);
  }
  shown = htmlpage_el(p, bar, "span", NULL);
  htmlpage_attr(p, shown, "id", "shown");
  htmlpage_attr(p, shown, "class", "note");
}

int htmlpage_write(htmlpage *p, FILE *f) {
  xmlOutputBufferPtr out;
  int rc;

  htmlpage_el(p, p->body, "script", page_script); /* last: the rows exist when it runs */
  if (p->oom)
    return -ENOMEM;
  out = xmlOutputBufferCreateFile(f, NULL);
  if (!out)
    return -ENOMEM;
  htmlDocContentDumpFormatOutput(out, p->doc, "UTF-8", 1);
  rc = xmlOutputBufferClose(out); /* flushes; f stays open */
  return rc < 0 ? -EIO : 0;
}
