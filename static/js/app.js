/* releasemgr: the little behaviour the pages need beyond htmx and Bootstrap. Served as a
   file because the Content-Security-Policy allows no inline script or event handler. */
"use strict";

// A read-only field with a secret to copy (token, feed URL, webhook secret) selects itself.
document.addEventListener("click", (event) => {
  const field = event.target.closest("[data-select-on-click]");
  if (field) {
    field.select();
  }
});
