// Passkeys: the WebAuthn ceremonies behind buttons marked data-passkey="signin", "second-factor" or
// "register". Each asks data-options for the server's options, runs the browser's ceremony, posts
// the result to data-verify with the page's CSRF token, then follows the redirect it answers with,
// or shows the refusal in [data-passkey-error]. A file of its own: the CSP allows no inline script.
"use strict";

(() => {
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

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",  // a redirect here means "confirm your password first": the page itself leads there
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body),
    });
    if (response.type === "opaqueredirect") {
      window.location.reload();
      return null;
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error || `The server refused (${response.status}). Reload the page and try again.`);
    return answer;
  }

  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError": return "The passkey request was cancelled or timed out. Try again.";
      case "InvalidStateError": return "This authenticator already holds a passkey for your account.";
      case "SecurityError": return "This browser refused passkeys for this address. Open the site at its usual address.";
      default: return (error && error.message) || "Something went wrong. Try again.";
    }
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
    const answer = await post(button.dataset.verify, body);
    if (answer && answer.redirect) window.location.assign(answer.redirect);
  }

  buttons.forEach((button) => {
    button.addEventListener("click", async () => {
      const box = button.closest("[data-passkey-box]") || document;
      const message = box.querySelector("[data-passkey-error]") || document.querySelector("[data-passkey-error]");
      if (message) message.hidden = true;
      button.disabled = true;
      try {
        await run(button);
      } catch (error) {
        if (message) {
          message.textContent = explain(error);
          message.hidden = false;
        }
      } finally {
        button.disabled = false;
      }
    });
  });
})();
