// The runs page: the column chooser's search and closing, and the "compare selected" button.
// Everything else (filter, sort, columns, pages) is htmx attributes in the page, whose state
// lives in the URL. Listeners sit on the document, so they outlive every table htmx swaps in.
"use strict";

document.addEventListener("input", (event) => {
  if (event.target.id !== "column-search") return;
  const words = event.target.value.trim().toLowerCase();
  for (const label of document.querySelectorAll("#columns label")) {
    label.classList.toggle("unmatched", !label.textContent.toLowerCase().includes(words));
  }
});

// An open column chooser closes at a click anywhere else, as a menu would.
document.addEventListener("click", (event) => {
  const chooser = document.querySelector(".chooser[open]");
  if (chooser && !chooser.contains(event.target)) chooser.open = false;
});

function countPicked() {
  const button = document.getElementById("compare-button");
  if (!button) return;
  const picked = document.querySelectorAll(".picked input[name=run]:checked").length;
  button.disabled = picked < 2 || picked > 100;
  button.textContent = picked ? `Compare selected (${picked})` : "Compare selected";
}

document.addEventListener("change", (event) => {
  if (event.target.matches(".picked input[name=run]")) countPicked();
});
document.addEventListener("htmx:afterSettle", countPicked);
document.addEventListener("DOMContentLoaded", countPicked);
