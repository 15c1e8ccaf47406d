// GraphQL-over-HTTP conformance: graphql-http's server audits against a live server.
//
//   SOTERIA_URL=http://127.0.0.1:8000 SOTERIA_TOKEN=... node audit.mjs
//
// Every request carries `Authorization: Bearer $SOTERIA_TOKEN` and a Soteria-Purpose
// header ($SOTERIA_PURPOSE, default performance-monitoring), added by the fetchFn wrapper:
// all of /graphql needs a token. Prints one line per audit (ok / warn / error) and exits 1
// if any MUST audit fails (graphql-http reports those as "error"; SHOULD and MAY audits
// that fail are "warn"). --json writes the full results to stdout as JSON instead.
import { serverAudits } from "graphql-http";

const base = process.env.SOTERIA_URL;
const token = process.env.SOTERIA_TOKEN;
const purpose = process.env.SOTERIA_PURPOSE ?? "performance-monitoring";
if (!base || !token) {
  console.error("usage: SOTERIA_URL=<server url> SOTERIA_TOKEN=<access token> node audit.mjs");
  process.exit(2);
}
const url = new URL("/graphql", base).toString();

function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  headers.set("soteria-purpose", purpose);
  return fetch(input, { ...init, headers });
}

const results = [];
for (const { id, name, fn } of serverAudits({ url, fetchFn })) {
  const result = await fn();
  results.push(result);
  if (!process.argv.includes("--json")) {
    const mark = { ok: "ok   ", warn: "WARN ", error: "ERROR" }[result.status];
    const reason = result.status === "ok" ? "" : `  -- ${result.reason}`;
    console.log(`${mark} ${id} ${name}${reason}`);
  }
}

const count = (status) => results.filter((r) => r.status === status).length;
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(results.map(({ id, name, status, reason }) => ({ id, name, status, reason })), null, 2));
}
console.error(
  `\ngraphql-http server audits against ${url}: ${count("ok")} ok, ${count("warn")} warnings ` +
    `(SHOULD/MAY), ${count("error")} errors (MUST)`,
);
process.exit(count("error") > 0 ? 1 : 0);
