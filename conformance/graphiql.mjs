// GraphiQL in a real browser, with no network but the server: load /graphql, paste the
// token, run a query, see the result.
//
//   SOTERIA_URL=http://127.0.0.1:8000 SOTERIA_TOKEN=... node graphiql.mjs [--screenshot]
//
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), started headless through
// playwright-core with a fresh profile. Every request the page makes to another origin is
// blocked and makes the check fail, as does any Content-Security-Policy violation or page
// error: the page must work from the server's own files alone. SOTERIA_QUERY and
// SOTERIA_EXPECT choose the query and a text its result must contain (default: an
// introspection of the query type's name). --screenshot writes ../docs/graphiql.png.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const base = process.env.SOTERIA_URL;
const token = process.env.SOTERIA_TOKEN;
if (!base || !token) {
  console.error("usage: SOTERIA_URL=<server url> SOTERIA_TOKEN=<access token> node graphiql.mjs");
  process.exit(2);
}
const query = process.env.SOTERIA_QUERY ?? "query SchemaName {\n  __schema {\n    queryType {\n      name\n    }\n  }\n}\n";
const expected = process.env.SOTERIA_EXPECT ?? '"queryType"';
const origin = new URL(base).origin;
const page_url = new URL("/graphql", base).toString();
const screenshot = process.argv.includes("--screenshot")
  ? join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "graphiql.png")
  : null;

const profile = mkdtempSync(join(tmpdir(), "soteria-graphiql-"));
const problems = [];
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 800 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  await context.route("**/*", (route) => {
    const target = route.request().url();
    if (target.startsWith("data:") || new URL(target).origin === origin) {
      return route.continue();
    }
    problems.push(`blocked a request to another origin: ${target}`);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    const text = message.text();
    if (message.type() === "error" || /Content.Security.Policy/i.test(text)) {
      // The page's first introspection runs before a token is given: its 401 is expected.
      if (!/status of 401/.test(text)) problems.push(`console ${message.type()}: ${text}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

  const response = await page.goto(page_url, { waitUntil: "load" });
  if (response?.status() !== 200) throw new Error(`GET ${page_url}: HTTP ${response?.status()}`);
  const csp = response.headers()["content-security-policy"] ?? "";
  if (!csp.includes("default-src 'none'")) throw new Error(`weak or missing CSP: ${csp}`);

  await page.fill("#soteria-token", token);
  await page.click("#soteria-use");
  await page.waitForSelector(".graphiql-query-editor .CodeMirror");
  await page.evaluate((text) => {
    document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(text);
  }, query);
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    (needle) => {
      const pane = document.querySelector(".graphiql-response .CodeMirror");
      return pane !== null && pane.CodeMirror.getValue().includes(needle);
    },
    expected,
    { timeout: 60000 },
  );
  const result = await page.evaluate(
    () => document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue(),
  );
  const inSession = await page.evaluate(() => sessionStorage.getItem("soteria:token") !== null);
  if (!inSession) problems.push("the token is not in sessionStorage");
  const leaked = await page.evaluate(
    (secret) => Object.keys(localStorage).some((key) => localStorage.getItem(key)?.includes(secret)),
    token,
  );
  if (leaked) problems.push("the token was written to localStorage");
  console.log(`GraphiQL ran the query; the response pane shows:\n${result}`);
  if (screenshot) {
    await page.screenshot({ path: screenshot });
    console.log(`screenshot: ${screenshot}`);
  }
} catch (error) {
  problems.push(`check failed: ${error.message}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(problems.map((problem) => `FAIL ${problem}`).join("\n"));
  process.exit(1);
}
console.log("GraphiQL check passed: served locally, no other origin contacted, no CSP violation.");
