// Smart Upload pages: the few behaviours that need a script. Every page works as plain
// forms and links; this adds polling, selection, dialogs and the product search.
"use strict";

// A fragment's text; a fragment answered by the login page means the session ended, and
// reloading the page lets the server send the person to log in.
function fetchFragment(url) {
  return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(
    (response) => {
      if (response.redirected) {
        window.location.reload();
        return Promise.reject(new Error("the session ended"));
      }
      return response.ok ? response.text() : Promise.reject(new Error(String(response.status)));
    },
  );
}

// An upload's progress: refresh the status fragment until it says it is final.
// The region is a live region: it is only rewritten when something changed, so a screen
// reader announces progress, not the same text every second.
function pollStatus(region) {
  const url = region.dataset.poll;
  let shown = null;
  const next = () => {
    fetchFragment(url)
      .then((html) => {
        if (html !== shown) {
          region.innerHTML = html;
          shown = html;
        }
        const body = region.querySelector("[data-final]");
        if (body && body.dataset.final === "true") {
          delete region.dataset.poll;
        } else {
          window.setTimeout(next, 1000);
        }
      })
      .catch(() => window.setTimeout(next, 3000));
  };
  window.setTimeout(next, 700);
}

// Options of a <select> loaded when first needed (the user's products, product types).
function loadOptions(select) {
  if (!select || select.dataset.loaded) {
    return Promise.resolve();
  }
  select.dataset.loaded = "loading";
  return fetchFragment(select.dataset.optionsUrl)
    .then((html) => {
      select.innerHTML = html;
      select.dataset.loaded = "done";
      select.dispatchEvent(new Event("change"));
    })
    .catch(() => {
      delete select.dataset.loaded;
      select.innerHTML = '<option value="" disabled>Could not load the list; close and try again</option>';
    });
}

// A search box that narrows a <select> to the options containing the typed text.
function filterOptions(input) {
  const select = document.getElementById(input.dataset.filterOptions);
  const text = input.value.trim().toLowerCase();
  let first = null;
  for (const option of select.options) {
    const shown = !text || option.textContent.toLowerCase().includes(text);
    option.hidden = !shown;
    if (shown && !option.disabled && first === null) {
      first = option;
    }
  }
  if (select.selectedOptions.length && select.selectedOptions[0].hidden) {
    select.selectedIndex = -1;
  }
  if (first && select.selectedIndex === -1 && text) {
    first.selected = true;
  }
}

// The unassigned list: ticked rows, the whole page, or everything matching the filter.
function setUpSelection(root) {
  const total = Number(root.dataset.count);
  const rows = () => Array.from(root.querySelectorAll("[data-row-select]"));
  const pageBox = root.querySelector("[data-select-page]");
  const banner = root.querySelector("[data-select-all-banner]");
  let allMatching = false;

  const describe = () => {
    const ticked = rows().filter((box) => box.checked).length;
    const count = allMatching ? total : ticked;
    let text = "No finding selected";
    if (allMatching) {
      text = `All ${total} finding(s) matching the filter are selected`;
    } else if (ticked) {
      text = `${ticked} finding(s) selected`;
    }
    document.querySelectorAll("[data-selection-text]").forEach((el) => (el.textContent = text));
    document.querySelectorAll("[data-needs-selection]").forEach((button) => (button.disabled = count === 0));
    if (pageBox) {
      pageBox.checked = ticked > 0 && ticked === rows().length;
      pageBox.indeterminate = ticked > 0 && ticked < rows().length;
    }
    if (banner) {
      banner.hidden = !(pageBox && pageBox.checked);
      const bannerText = banner.querySelector("[data-banner-text]");
      const more = banner.querySelector("[data-select-all-matching]");
      bannerText.textContent = allMatching
        ? `All ${total} findings matching the filter are selected.`
        : `All ${rows().length} findings on this page are selected.`;
      if (more) {
        more.hidden = allMatching;
      }
    }
  };

  root.addEventListener("change", (event) => {
    if (event.target.matches("[data-select-page]")) {
      rows().forEach((box) => (box.checked = event.target.checked));
    }
    if (event.target.matches("[data-select-page], [data-row-select]")) {
      allMatching = false;
      describe();
    }
  });
  root.addEventListener("click", (event) => {
    if (event.target.matches("[data-select-all-matching]")) {
      allMatching = true;
      describe();
    } else if (event.target.matches("[data-clear-selection]")) {
      allMatching = false;
      rows().forEach((box) => (box.checked = false));
      describe();
      if (pageBox) {
        pageBox.focus();
      }
    }
  });

  document.querySelectorAll("form[data-selection-form]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("input[data-copied-id]").forEach((el) => el.remove());
      form.querySelector("[data-scope-field]").value = allMatching ? "all" : "ids";
      if (!allMatching) {
        rows()
          .filter((box) => box.checked)
          .forEach((box) => {
            const hidden = document.createElement("input");
            hidden.type = "hidden";
            hidden.name = "ids";
            hidden.value = box.value;
            hidden.dataset.copiedId = "";
            form.append(hidden);
          });
      }
    });
  });
  describe();
}

function setUpDialogs() {
  document.querySelectorAll("[data-open-dialog]").forEach((button) => {
    button.addEventListener("click", () => {
      const dialog = document.getElementById(button.dataset.openDialog);
      dialog.querySelectorAll("select[data-options-url]").forEach(loadOptions);
      dialog.showModal();
    });
  });
  document.querySelectorAll("[data-close-dialog]").forEach((button) => {
    button.addEventListener("click", () => button.closest("dialog").close());
  });
  // A product type picked from the list needs no new name; "new" shows the name box.
  document.querySelectorAll("select[data-new-type-toggle]").forEach((select) => {
    const field = document.getElementById(select.dataset.newTypeToggle);
    const sync = () => {
      const isNew = select.value === "";
      field.hidden = !isNew;
      field.querySelector("input").required = isNew;
    };
    select.addEventListener("change", sync);
    sync();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(pollStatus);
  document.querySelectorAll("[data-filter-options]").forEach((input) => {
    input.addEventListener("input", () => filterOptions(input));
  });
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
  const selection = document.getElementById("selection");
  if (selection) {
    setUpSelection(selection);
  }
  setUpDialogs();
});
