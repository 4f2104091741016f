/*
 * What the console's pages (app.js, timeline.js) share: building elements (every value written
 * with textContent, never as HTML) and adding the page's token to an API path. Loaded before
 * each page's own script; it defines one global, `stewardDom`.
 */
"use strict";
window.stewardDom = {
  /** An element with properties ("class", "text", "data-*", or any DOM property) and children. */
  el(tag, props, ...kids) {
    const e = document.createElement(tag);
    if (props)
      for (const [k, v] of Object.entries(props)) {
        if (k === "class") e.className = v;
        else if (k === "text") e.textContent = v;
        else if (k.startsWith("data-")) e.setAttribute(k, v);
        else e[k] = v;
      }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  },
  /** `path` with `?token=` (or `&token=`) when there is a token. */
  withToken(path, token) {
    return path + (token ? (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : "");
  },
};
