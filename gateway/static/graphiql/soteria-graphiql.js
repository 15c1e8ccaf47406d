/*
 * Soteria Exchange GraphiQL page.
 *
 * The bearer token and the declared purpose live in this tab's sessionStorage only (gone
 * when the tab closes); every request GraphiQL makes goes through `fetcher` below, which
 * sends them as the Authorization and Soteria-Purpose headers. GraphiQL's own state
 * (tabs, history) is kept in sessionStorage too, and its headers editor is off, so a
 * token is never written to localStorage.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "soteria:token";
  var PURPOSE_KEY = "soteria:purpose";
  var DEFAULT_QUERY = "# Paste an access token above, press \"Use token\", then run a query.\n{\n  __typename\n}\n";

  var container = document.getElementById("graphiql");
  var endpoint = container.getAttribute("data-endpoint");
  var form = document.getElementById("soteria-bar");
  var tokenInput = document.getElementById("soteria-token");
  var purposeInput = document.getElementById("soteria-purpose");
  var forgetButton = document.getElementById("soteria-forget");
  var status = document.getElementById("soteria-status");

  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || "";
  purposeInput.value = sessionStorage.getItem(PURPOSE_KEY) || purposeInput.value;

  function showStatus() {
    status.textContent = sessionStorage.getItem(TOKEN_KEY)
      ? "Token in use (this tab only)."
      : "No token: requests will be refused (401).";
  }

  function fetcher(params) {
    var headers = {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json;q=0.9",
    };
    var token = sessionStorage.getItem(TOKEN_KEY);
    var purpose = sessionStorage.getItem(PURPOSE_KEY) || purposeInput.value;
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    if (purpose) {
      headers["Soteria-Purpose"] = purpose;
    }
    return fetch(endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(params),
      credentials: "omit",
      cache: "no-store",
    }).then(function (response) {
      return response.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (error) {
          return { errors: [{ message: "HTTP " + response.status + ": " + text.slice(0, 500) }] };
        }
      });
    });
  }

  var root = ReactDOM.createRoot(container);
  var generation = 0;

  function render() {
    generation += 1;
    root.render(
      React.createElement(GraphiQL, {
        key: generation, // a new GraphiQL re-fetches the schema with the new token
        fetcher: fetcher,
        storage: window.sessionStorage,
        defaultQuery: DEFAULT_QUERY,
        isHeadersEditorEnabled: false,
        shouldPersistHeaders: false,
      })
    );
    showStatus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var token = tokenInput.value.trim().replace(/^Bearer\s+/i, "");
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
    } else {
      sessionStorage.removeItem(TOKEN_KEY);
    }
    sessionStorage.setItem(PURPOSE_KEY, purposeInput.value.trim());
    render();
  });

  forgetButton.addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    tokenInput.value = "";
    render();
  });

  render();
})();
