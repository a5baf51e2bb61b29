// Passkeys: the WebAuthn ceremonies behind buttons marked data-passkey="signin", "second-factor" or
// "register", and behind the browser's autofill of a username field marked data-passkey="autofill".
// Each asks data-options for the server's options, runs the browser's ceremony, posts the result to
// data-verify with the page's CSRF token, then follows the redirect it answers with, or shows the
// refusal in [data-passkey-error]. A file of its own: the CSP allows no inline script.
"use strict";

(() => {
  // The messages in the page's language, from the data-msg-* attributes of this script's tag (the
  // CSP allows no inline script); English where the tag has none. document.currentScript is only
  // set while this code first runs, hence read here, once.
  const given = (document.currentScript && document.currentScript.dataset) || {};
  const MESSAGES = {
    refused: given.msgRefused || "The server refused (%(status)s). Reload the page and try again.",
    cancelled: given.msgCancelled || "The passkey request was cancelled or timed out. Try again.",
    registered: given.msgRegistered || "This authenticator already holds a passkey for your account.",
    address: given.msgAddress || "This browser refused passkeys for this address. Open the site at its usual address.",
    failed: given.msgFailed || "Something went wrong. Try again.",
  };

  const buttons = document.querySelectorAll("button[data-passkey]");
  if (!window.PublicKeyCredential || !navigator.credentials) {
    buttons.forEach((button) => { button.hidden = true; });  // nothing to offer without WebAuthn
    return;
  }
  document.querySelectorAll("[data-passkey-box]").forEach((box) => { box.hidden = false; });

  function toBuffer(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((credential) => ({ ...credential, id: toBuffer(credential.id) }));
  }

  function creationOptions(options) {
    return {
      ...options,
      challenge: toBuffer(options.challenge),
      user: { ...options.user, id: toBuffer(options.user.id) },
      excludeCredentials: descriptors(options.excludeCredentials),
    };
  }

  function requestOptions(options) {
    return { ...options, challenge: toBuffer(options.challenge), allowCredentials: descriptors(options.allowCredentials) };
  }

  // The JSON of a credential, as PublicKeyCredential.toJSON() makes it, with the response's own fields.
  function credentialJSON(credential, response) {
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(credential.response.clientDataJSON), ...response },
    };
  }

  function registrationJSON(credential) {
    const response = credential.response;
    return credentialJSON(credential, {
      attestationObject: toBase64url(response.attestationObject),
      transports: response.getTransports ? response.getTransports() : [],
    });
  }

  function assertionJSON(credential) {
    const response = credential.response;
    return credentialJSON(credential, {
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
    });
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const input = document.querySelector('input[name="csrf_token"]');
    return (meta && meta.content) || (input && input.value) || "";
  }

  async function post(url, body, signal) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",  // a redirect here means "confirm your password first": the page itself leads there
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body),
      signal,
    });
    if (response.type === "opaqueredirect") {
      window.location.reload();
      return null;
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(answer.error || MESSAGES.refused.split("%(status)s").join(String(response.status)));
      error.unknownCredential = answer.unknown_credential === true;
      throw error;
    }
    return answer;
  }

  // Sends the browser's answer to url; a passkey the site has no record of (removed, or its account
  // deleted) is reported to the browser, whose password manager can then stop offering it.
  async function verify(url, body, options) {
    try {
      return await post(url, body);
    } catch (error) {
      if (error.unknownCredential && PublicKeyCredential.signalUnknownCredential) {
        await PublicKeyCredential.signalUnknownCredential({ rpId: options.rpId, credentialId: body.credential.id })
          .catch(() => {});  // a browser that declines changes nothing for the page
      }
      throw error;
    }
  }

  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError": return MESSAGES.cancelled;
      case "InvalidStateError": return MESSAGES.registered;
      case "SecurityError": return MESSAGES.address;
      default: return (error && error.message) || MESSAGES.failed;
    }
  }

  // Shows the refusal of error (hides the message when null) in the passkey box of element.
  function report(element, error) {
    const box = element.closest("[data-passkey-box]") || document;
    const message = box.querySelector("[data-passkey-error]") || document.querySelector("[data-passkey-error]");
    if (!message) return;
    if (error) message.textContent = explain(error);
    message.hidden = !error;
  }

  async function run(button) {
    const kind = button.dataset.passkey;
    const nameInput = document.querySelector("[data-passkey-name]");
    const body = kind === "register" ? { name: nameInput ? nameInput.value : "" } : {};
    const options = await post(button.dataset.options, body);
    if (options === null) return;
    if (kind === "register") {
      const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      body.credential = registrationJSON(credential);
    } else {
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      body.credential = assertionJSON(credential);
    }
    // The second step's "don't ask again on this browser" box counts for the passkey too.
    const trust = kind === "second-factor" && document.querySelector('input[name="trust"]');
    if (trust) body.trust = trust.checked;
    const url = button.dataset.verify;
    const answer = kind === "register" ? await post(url, body) : await verify(url, body, options);
    if (answer && answer.redirect) window.location.assign(answer.redirect);
  }

  // Autofill (WebAuthn conditional mediation): while a request of the page's is pending, the browser
  // lists the user's passkeys under the username field marked data-passkey="autofill"; choosing one
  // signs in as the button does, through the field's own data-options and data-verify (a challenge
  // of its own). WebAuthn allows one pending request: the button and the password form abort it first.
  const field = document.querySelector('input[data-passkey="autofill"]');
  let offering = false;  // this browser has conditional mediation and this page the field
  let autofill = null;  // the pending request: { controller, done }
  let busy = false;  // the button's ceremony runs

  function startAutofill() {
    if (!offering || autofill || busy) return;
    const controller = new AbortController();
    const done = offer(controller.signal).catch(() => {
      // Aborted, or ended by the browser unchosen: nothing to say; the field's next focus offers again.
      if (autofill && autofill.controller === controller) autofill = null;
    });
    autofill = { controller, done };
  }

  async function stopAutofill() {
    if (!autofill) return;
    const { controller, done } = autofill;
    autofill = null;
    controller.abort();  // its AbortError is ours: offer() ends quietly
    await done;  // settled, so its options' answer cannot overwrite the session cookie of the next request
  }

  async function offer(signal) {
    const options = await post(field.dataset.options, {}, signal);
    // The browser offers for as long as the page stays; the server's challenge lives options.timeout ms.
    const renew = setTimeout(() => {
      if (autofill && autofill.controller.signal === signal) stopAutofill().then(startAutofill);
    }, (options.timeout || 60000) * 0.9);
    let credential;
    try {
      credential = await navigator.credentials.get({ mediation: "conditional", publicKey: requestOptions(options), signal });
    } finally {
      clearTimeout(renew);
    }
    report(field, null);
    buttons.forEach((button) => { button.disabled = true; });  // chosen: no second ceremony while it is verified
    try {
      // No signal: once the user has chosen, nothing of ours aborts the sign-in.
      const answer = await verify(field.dataset.verify, { credential: assertionJSON(credential) }, options);
      if (answer && answer.redirect) window.location.assign(answer.redirect);
    } catch (error) {
      report(field, error);
      buttons.forEach((button) => { button.disabled = false; });
      autofill = null;
      startAutofill();  // its challenge is spent: a new request offers the passkeys again
    }
  }

  if (field && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      if (!available) return;  // the button alone, as before
      offering = true;
      field.addEventListener("focus", startAutofill);
      field.form.addEventListener("submit", () => { stopAutofill(); });  // the password's turn
      startAutofill();
    }, () => {});
  }

  buttons.forEach((button) => {
    button.addEventListener("click", async () => {
      report(button, null);
      button.disabled = true;
      busy = true;
      try {
        await stopAutofill();
        await run(button);
        return;  // the page moves on
      } catch (error) {
        report(button, error);
      } finally {
        button.disabled = false;
        busy = false;
      }
      startAutofill();  // the ceremony failed: the field offers the passkeys again
    });
  });
})();
