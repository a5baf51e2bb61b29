// The recovery codes page: a button that copies the codes, one per line, shown only where the
// Clipboard API is (it needs a secure context: https, or localhost).
"use strict";

(function () {
  const button = document.querySelector("[data-copy-codes]");
  if (!button || !navigator.clipboard) {
    return;
  }
  const label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const codes = [...document.querySelectorAll("[data-recovery-codes] code")].map((code) => code.textContent);
    await navigator.clipboard.writeText(codes.join("\n") + "\n");
    button.textContent = button.dataset.copied;
    setTimeout(() => { button.textContent = label; }, 2000);
  });
})();
