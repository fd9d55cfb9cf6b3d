// Real-browser test of the tinforge web UI (Chromium driven by playwright-core).
//
// Run by tests/web_browser.rs, which starts a server and seeds it; by hand:
//   TINFORGE_URL=http://127.0.0.1:PORT TINFORGE_USER=alice TINFORGE_PASSWORD=password123 \
//   TINFORGE_ADMIN_TOKEN=... TINFORGE_SCREENSHOTS=target/screenshots node tests/browser/web_ui.mjs
//
// Inputs (environment):
//   TINFORGE_URL          server base URL (required)
//   TINFORGE_USER         user to sign in as (required); owns the private project USER/anvil
//                         with at least one issue titled TINFORGE_ISSUE_TITLE
//   TINFORGE_PASSWORD     that user's password (required)
//   TINFORGE_ADMIN_TOKEN  an admin token with the api and admin_mode scopes (required): counts
//                         every token over REST
//   TINFORGE_ISSUE_TITLE  title of the seeded issue (default "Anvil is too heavy")
//   TINFORGE_SCREENSHOTS  directory for PNG screenshots (optional; none when unset)
//   TINFORGE_CHROMIUM     browser executable (default /usr/bin/chromium)
//   TINFORGE_HEADED=1     show the browser window
//
// Exits 0 when every step passes, 1 with the failing step and its reason otherwise.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// ---------------------------------------------------------------------------------------------
// Inputs and small helpers

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`web_ui.mjs: the environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

const BASE = need('TINFORGE_URL').replace(/\/+$/, '');
const USER = need('TINFORGE_USER');
const PASSWORD = need('TINFORGE_PASSWORD');
const ADMIN_TOKEN = need('TINFORGE_ADMIN_TOKEN');
const ISSUE_TITLE = process.env.TINFORGE_ISSUE_TITLE || 'Anvil is too heavy';
const SHOTS = process.env.TINFORGE_SCREENSHOTS || '';
const CHROMIUM = process.env.TINFORGE_CHROMIUM || '/usr/bin/chromium';
const PROJECT = `${USER}/anvil`;
const PROJECT_ENC = encodeURIComponent(PROJECT);
const TOKENS_PATH = '/-/user_settings/personal_access_tokens';
const TOKEN_NAME = 'ci <b>bot</b>';
const TOKEN_RE = /^tfpat-[0-9A-Za-z]{38}$/;
const TIMEOUT = 15_000;

let currentStep = '(setup)';
/** Wrong server behaviour found by a check that lets the flow go on; reported (and failed) at the end. */
const defects = [];
function defect(ok, message) {
  if (!ok) {
    console.log(`  DEFECT: ${message}`);
    defects.push(`in step "${currentStep}": ${message}`);
  }
}
/** Console errors a step causes on purpose: { step, text } (text: a substring of the message). */
const expectedConsoleErrors = [];
const started = Date.now();
function step(name) {
  currentStep = name;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`[${secs}s] step: ${name}`);
}

/** Full-page screenshot into TINFORGE_SCREENSHOTS (when set). */
async function shot(page, name) {
  if (!SHOTS) return;
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/** A REST call from Node (outside the browser). */
async function api(method, path, token, body) {
  const headers = {};
  if (token) headers['PRIVATE-TOKEN'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

async function expectStatus(method, path, token, status, what) {
  const r = await api(method, path, token);
  assert.equal(r.status, status, `${what}: ${method} ${path} answered ${r.status}, expected ${status}: ${r.text.slice(0, 300)}`);
  return r;
}

/** Waits for a heading (h1 by default) with this exact text. */
async function heading(page, name, level = 1) {
  await page.getByRole('heading', { name, exact: true, level }).waitFor({ timeout: TIMEOUT });
}

function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** The text of every element a locator matches, trimmed and with whitespace collapsed. */
async function texts(locator) {
  return (await locator.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
}

// ---------------------------------------------------------------------------------------------
// Token table helpers

const activeTable = (page) => page.locator('table.tokens').filter({ has: page.getByText('Active tokens', { exact: true }) });
const inactiveTable = (page) => page.locator('table.tokens').filter({ has: page.getByText('Inactive tokens', { exact: true }) });

/** The rows (direct children of the outer table's tbody) whose name cell equals `name`. */
function rowsNamed(table, name) {
  return table.locator(':scope > tbody > tr').filter({
    has: table.page().locator(':scope > th[scope="row"]', { hasText: name }),
  });
}

async function tokensPage(page) {
  await page.goto(BASE + TOKENS_PATH);
  await heading(page, 'Personal access tokens');
}

/** Accessible label of one grid cell ("issue delete: not granted"), from its visually-hidden text. */
async function gridCellLabel(row, resource, action) {
  const labels = await texts(row.locator('table.crud td .visually-hidden'));
  const hit = labels.find((l) => l.startsWith(`${resource} ${action}:`));
  return hit ?? null;
}

// ---------------------------------------------------------------------------------------------
// The steps

async function signInRedirect(page) {
  step('visiting / redirects to the sign-in page');
  await page.goto(BASE + '/');
  assert.equal(pathOf(page), '/users/sign_in', `expected a redirect to /users/sign_in, at ${page.url()}`);
  await heading(page, 'Sign in');
  await shot(page, 'sign_in');
}

async function signInWrong(page) {
  step('a wrong password shows "Invalid login or password." and stays on sign-in');
  await page.getByLabel('Username or email', { exact: true }).fill(USER);
  await page.getByLabel('Password', { exact: true }).fill('not-the-password');
  // The refusal is the sign-in form again, answered 401 Unauthorized; Chromium logs a "Failed to
  // load resource" console error for that status, which the final check allows in this step only.
  expectedConsoleErrors.push({ step: currentStep, text: 'the server responded with a status of 401' });
  const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
  assert.equal(response.status(), 401, `a wrong password answered ${response.status()}`);
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: TIMEOUT });
  assert.equal((await alert.textContent()).trim(), 'Invalid login or password.');
  assert.equal(pathOf(page), '/users/sign_in', `a failed sign-in left the sign-in page: ${page.url()}`);
  await heading(page, 'Sign in');
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'signed in with a wrong password');
}

async function signIn(page) {
  step('signing in lands on "Your projects" listing the project');
  await page.getByLabel('Username or email', { exact: true }).fill(USER);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
  await heading(page, 'Your projects');
  assert.equal(pathOf(page), '/', `expected to land on /, at ${page.url()}`);
  const paths = await texts(page.locator('table code'));
  assert.ok(paths.includes(PROJECT), `"Your projects" does not list ${PROJECT}: ${JSON.stringify(paths)}`);
  await page.getByRole('link', { name: 'anvil', exact: true }).waitFor({ timeout: TIMEOUT });
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'projects');
}

/** Creates the fine-grained token through the form; returns its value. */
async function createToken(page) {
  step('creating a fine-grained token with the form and the target picker');
  await tokensPage(page);
  await page.getByLabel('Token name', { exact: true }).fill(TOKEN_NAME);
  await page.getByRole('radio', { name: 'Fine-grained', exact: true }).check();
  await page.getByRole('radio', { name: 'Selected projects and groups', exact: true }).check();

  // The picker: typing fetches /targets?search= and offers buttons that add to "Projects".
  const targets = page.waitForResponse((r) => r.url().startsWith(BASE + TOKENS_PATH + '/targets?'));
  await page.getByRole('searchbox', { name: 'Search projects and groups' }).fill('anvil');
  const targetsResponse = await targets;
  assert.equal(targetsResponse.status(), 200, `the picker's search answered ${targetsResponse.status()}`);
  const add = page.locator('#target-results').getByRole('button', { name: PROJECT });
  await add.first().waitFor({ timeout: TIMEOUT });
  await add.first().click();
  const projects = await page.getByLabel('Projects', { exact: true }).inputValue();
  assert.ok(projects.split(',').map((s) => s.trim()).includes(PROJECT), `the picker did not add ${PROJECT} to Projects: ${JSON.stringify(projects)}`);
  assert.ok(await page.getByRole('radio', { name: 'Selected projects and groups', exact: true }).isChecked());

  for (const name of ['project read', 'issue read', 'issue create', 'issue delete']) {
    const box = page.getByRole('checkbox', { name, exact: true });
    await box.check();
    assert.ok(await box.isChecked(), `checkbox "${name}" did not check`);
  }
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create token', exact: true }).click()]);
  await heading(page, 'Your new personal access token');
  const value = (await page.locator('code#token-value').textContent()).trim();
  assert.match(value, TOKEN_RE, 'the new token value has the wrong shape');
  await shot(page, 'new_token');

  step('the Copy button copies the value');
  await page.getByRole('button', { name: 'Copy', exact: true }).click();
  await page.getByRole('button', { name: 'Copied', exact: true }).waitFor({ timeout: TIMEOUT });
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(clip, value, 'the clipboard does not hold the token value');
  return value;
}

async function useTokenOverApi(value) {
  step('the new token works over the REST API');
  await expectStatus('GET', `/api/v4/projects/${PROJECT_ENC}/issues`, value, 200, 'listing issues with the new token');
  const r = await expectStatus('GET', `/api/v4/projects/${PROJECT_ENC}`, value, 200, 'reading the project with the new token');
  assert.equal(r.json?.path_with_namespace, PROJECT);
}

async function checkFlags(page) {
  step('the tokens page shows the new token as fine-grained, over-privileged, issue read used');
  await tokensPage(page);
  const rows = rowsNamed(activeTable(page), TOKEN_NAME);
  assert.equal(await rows.count(), 1, `expected one active token named ${TOKEN_NAME}`);
  const row = rows.first();
  const nameCell = row.locator(':scope > th[scope="row"]');
  const nameText = await nameCell.textContent();
  assert.ok(nameText.includes('<b>bot</b>'), `the token name is not shown literally: ${JSON.stringify(nameText)}`);
  assert.equal(await nameCell.locator('b').count(), 0, 'the token name was rendered as markup');

  const cells = row.locator(':scope > td');
  assert.equal((await cells.nth(0).textContent()).trim(), 'Fine-grained');
  const targetCodes = await texts(cells.nth(1).locator('code'));
  assert.deepEqual(targetCodes, [PROJECT], 'the boundary column does not list exactly the picked project');
  const flagsCell = cells.nth(6);
  await flagsCell.getByText('Over-privileged', { exact: true }).waitFor({ timeout: TIMEOUT });
  const flags = (await texts(flagsCell.locator('ul.flag-list li'))).join(' | ');
  assert.match(flags, /issue:delete/, `flags do not mention issue:delete: ${flags}`);
  assert.match(flags, /issue:create/, `flags do not mention issue:create: ${flags}`);
  assert.doesNotMatch(flags, /issue:read/, `flags mention issue:read, which was used: ${flags}`);
  assert.doesNotMatch(flags, /project:read/, `flags mention project:read, which was used: ${flags}`);

  const issueRead = await gridCellLabel(row, 'issue', 'read');
  assert.ok(issueRead, 'no grid cell for issue read');
  assert.match(issueRead, /used in the last 30 days/, `issue read cell: ${issueRead}`);
  assert.doesNotMatch(issueRead, /not used/, `issue read is shown unused: ${issueRead}`);
  const issueReadCell = row.locator('table.crud td').filter({ hasText: 'issue read:' });
  assert.match(await issueReadCell.getAttribute('title'), /^issue read: granted, used/);
  const issueDelete = await gridCellLabel(row, 'issue', 'delete');
  assert.match(issueDelete ?? '', /granted, not used in the last 30 days/, `issue delete cell: ${issueDelete}`);
  await shot(page, 'tokens');
}

/** Trims the token; returns the new value. */
async function trimToken(page, oldValue) {
  step('"Trim to used" shows what is kept and removed');
  const row = rowsNamed(activeTable(page), TOKEN_NAME).first();
  await Promise.all([page.waitForNavigation(), row.getByRole('link', { name: 'Trim to used', exact: true }).click()]);
  await page.getByRole('heading', { level: 1, name: /^Trim token/ }).waitFor({ timeout: TIMEOUT });
  assert.ok((await page.locator('h1').textContent()).includes(TOKEN_NAME), 'the trim heading does not name the token literally');
  await heading(page, 'Keeps', 2);
  await heading(page, 'Removes', 2);
  const kept = (await texts(page.locator('ul.keeps li'))).join(' | ');
  const removed = (await texts(page.locator('ul.removes li'))).join(' | ');
  for (const k of ['issue:read', 'project:read', PROJECT]) assert.ok(kept.includes(k), `Keeps lacks ${k}: ${kept}`);
  for (const r of ['issue:create', 'issue:delete']) assert.ok(removed.includes(r), `Removes lacks ${r}: ${removed}`);
  for (const k of ['issue:read', 'project:read']) assert.ok(!removed.includes(k), `Removes lists ${k}: ${removed}`);
  for (const r of ['issue:create', 'issue:delete']) assert.ok(!kept.includes(r), `Keeps lists ${r}: ${kept}`);
  await shot(page, 'trim');

  step('"Trim token" rotates into a trimmed token, shown once');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Trim token', exact: true }).click()]);
  await heading(page, 'Your trimmed personal access token');
  const value = (await page.locator('code#token-value').textContent()).trim();
  assert.match(value, TOKEN_RE, 'the trimmed token value has the wrong shape');
  assert.notEqual(value, oldValue, 'trimming kept the old value');

  step('after trimming: no issue:delete, not flagged for it, old token revoked');
  await tokensPage(page);
  const rows = rowsNamed(activeTable(page), TOKEN_NAME);
  assert.equal(await rows.count(), 1, 'expected one active token of that name after trimming');
  const active = rows.first();
  assert.equal(await gridCellLabel(active, 'issue', 'delete'), 'issue delete: not granted');
  assert.equal(await gridCellLabel(active, 'issue', 'create'), 'issue create: not granted');
  assert.match((await gridCellLabel(active, 'issue', 'read')) ?? '', /^issue read: granted/);
  const flags = (await texts(active.locator('ul.flag-list li'))).join(' | ');
  assert.doesNotMatch(flags, /issue:delete/, `the trimmed token is still flagged for issue:delete: ${flags}`);
  const old = rowsNamed(inactiveTable(page), TOKEN_NAME);
  assert.equal(await old.count(), 1, 'the old token is not listed among inactive tokens');
  assert.equal((await old.first().locator(':scope > td').nth(1).textContent()).trim(), 'Revoked');

  // Only the new value is presented here: trimming is a rotation, and presenting a rotated-away
  // value is reuse detection, which revokes the whole family (the new value too; GitLab does the
  // same). The old value is checked after the revocation step.
  step('over the API: the trimmed value works, with issue:read only');
  await expectStatus('GET', `/api/v4/projects/${PROJECT_ENC}/issues`, value, 200, 'the trimmed value');
  const create = await api('POST', `/api/v4/projects/${PROJECT_ENC}/issues`, value, { title: 'must not be created' });
  assert.equal(create.status, 403, `creating an issue with the trimmed token answered ${create.status}: ${create.text.slice(0, 300)}`);
  return value;
}

async function revokeToken(page, value, oldValue) {
  step('revoking the trimmed token through its confirmation page');
  await tokensPage(page);
  const row = rowsNamed(activeTable(page), TOKEN_NAME).first();
  await Promise.all([page.waitForNavigation(), row.getByRole('link', { name: 'Revoke', exact: true }).click()]);
  await page.getByRole('heading', { level: 1, name: /^Revoke token/ }).waitFor({ timeout: TIMEOUT });
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Revoke token', exact: true }).click()]);
  await heading(page, 'Personal access tokens');
  assert.equal(pathOf(page), TOKENS_PATH);
  const notice = page.getByRole('status');
  await notice.waitFor({ timeout: TIMEOUT });
  assert.equal((await notice.textContent()).trim(), 'The token was revoked.');
  assert.equal(await rowsNamed(activeTable(page), TOKEN_NAME).count(), 0, 'the revoked token is still active');
  const inactive = rowsNamed(inactiveTable(page), TOKEN_NAME);
  assert.equal(await inactive.count(), 2, 'expected both generations of the token among inactive tokens');
  const statuses = await texts(inactive.locator(':scope > td:nth-of-type(2)'));
  assert.deepEqual(statuses, ['Revoked', 'Revoked']);
  await expectStatus('GET', `/api/v4/projects/${PROJECT_ENC}/issues`, value, 401, 'the revoked value');
  await expectStatus('GET', `/api/v4/projects/${PROJECT_ENC}/issues`, oldValue, 401, 'the pre-trim value');
}

async function coverage(page) {
  step('the coverage page lists resources per surface, with endpoints behind each number');
  await page.goto(BASE + '/-/token_coverage');
  await heading(page, 'Token coverage');
  const table = page.locator('table.coverage-table');
  const columns = await texts(table.locator('thead th'));
  for (const c of ['rest', 'web']) assert.ok(columns.includes(c), `no "${c}" column: ${JSON.stringify(columns)}`);
  const issueRow = table.locator('tbody > tr').filter({ has: page.locator(':scope > th', { hasText: /^issue$/ }) });
  assert.equal(await issueRow.count(), 1, 'no row for issue');
  const restIndex = columns.indexOf('rest');
  const restCell = issueRow.locator(':scope > td').nth(restIndex - 1);
  const details = restCell.locator('details');
  assert.equal(await details.count(), 1, 'the issue/rest cell has no details');
  const endpoints = details.locator('ul.endpoint-list');
  assert.equal(await endpoints.isVisible(), false, 'the endpoint list is open before clicking');
  await details.locator('summary').click();
  await endpoints.waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.ok(await details.evaluate((d) => d.open), 'the details did not open');
  const list = (await texts(endpoints.locator('li code'))).join('\n');
  assert.match(list, /\/api\/v4\/projects\/\{id\}\/issues/, `no issues endpoint listed:\n${list}`);
  await shot(page, 'coverage');
}

async function explain(page) {
  step('the explain page explains a decision for a token');
  await page.goto(BASE + '/-/explain');
  await heading(page, 'Explain a decision');
  const tokenSelect = page.getByLabel('Token', { exact: true });
  const options = await tokenSelect.locator('option').evaluateAll((os) => os.map((o) => ({ value: o.value, label: o.textContent.trim() })));
  assert.ok(options.length > 0, 'the Token select offers no token');
  const pick = options.find((o) => o.label.includes('explain-me')) ?? options[0];
  await tokenSelect.selectOption(pick.value);
  await page.getByLabel('Method', { exact: true }).selectOption('GET');
  await page.getByLabel('Path or GraphQL field', { exact: true }).fill(`/api/v4/projects/${PROJECT_ENC}/issues`);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Explain', exact: true }).click()]);
  const verdict = page.locator('#verdict');
  await verdict.waitFor({ timeout: TIMEOUT });
  const v = (await verdict.textContent()).trim();
  assert.ok(v === 'Allowed' || v === 'Denied', `unexpected verdict ${JSON.stringify(v)}`);
  assert.equal(v, 'Allowed', `the explain-me token (issue:read on ${PROJECT}) should be allowed to list issues`);
  const steps = page.locator('ol.steps > li');
  assert.ok((await steps.count()) > 0, 'the verdict shows no steps');
  assert.equal(await page.locator('ol.steps > li.step-failed').count(), 0, 'an allowed decision has a failed step');
  assert.equal(await tokenSelect.inputValue(), pick.value, 'the form forgot the picked token');
  await shot(page, 'explain');
}

async function createExplainToken(page) {
  step('creating a second token (for the explain page) with the form');
  await tokensPage(page);
  await page.getByLabel('Token name', { exact: true }).fill('explain-me');
  await page.getByRole('radio', { name: 'Fine-grained', exact: true }).check();
  await page.getByRole('radio', { name: 'Selected projects and groups', exact: true }).check();
  await page.getByLabel('Projects', { exact: true }).fill(PROJECT);
  await page.getByRole('checkbox', { name: 'issue read', exact: true }).check();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create token', exact: true }).click()]);
  await heading(page, 'Your new personal access token');
  assert.match((await page.locator('code#token-value').textContent()).trim(), TOKEN_RE);
}

async function projectPages(page) {
  step('the project overview shows its tabs');
  await page.goto(BASE + `/${PROJECT}`);
  await heading(page, 'anvil private');
  const tabs = page.getByRole('navigation', { name: 'Project' });
  for (const t of ['Issues', 'Merge requests', 'Pipelines', 'Container registry']) {
    await tabs.getByRole('link', { name: t, exact: true }).waitFor({ timeout: TIMEOUT });
  }
  await shot(page, 'project');
  // The summary's counts: the seeded open issue is counted, and no label carries a made-up number.
  const facts = await page.locator('dl.counts > div').evaluateAll((ds) => ds.map((d) => ({
    label: d.querySelector('dt').textContent.trim(), count: d.querySelector('dd').textContent.trim(),
  })));
  const issues = facts.find((f) => /issues/i.test(f.label));
  defect(issues && issues.count === '1',
    `GET /${PROJECT}: the Summary should count the 1 open issue (e.g. "Open issues 1"); it shows ${JSON.stringify(facts)}`);
  defect(!facts.some((f) => /default branch/i.test(f.label)),
    `GET /${PROJECT}: the Summary shows the default branch as a count with a fixed value: ${JSON.stringify(facts)}`);

  step('the issues tab lists the seeded issue with a link');
  await Promise.all([page.waitForNavigation(), tabs.getByRole('link', { name: 'Issues', exact: true }).click()]);
  assert.equal(pathOf(page), `/${PROJECT}/-/issues`);
  await heading(page, 'Issues', 2);
  const current = tabs.locator('[aria-current="page"]');
  assert.equal((await current.textContent()).trim(), 'Issues', 'the Issues tab is not marked current');
  const link = page.getByRole('link', { name: ISSUE_TITLE, exact: true });
  await link.waitFor({ timeout: TIMEOUT });
  const href = await link.getAttribute('href');
  assert.match(href, new RegExp(`^/${PROJECT}/-/issues/\\d+$`), `issue link: ${href}`);
  await shot(page, 'issues');
  const res = await page.context().request.get(BASE + href);
  assert.equal(res.status(), 200, `the issue page ${href} answered ${res.status()}`);
}

/** Counts alice's tokens over REST with the admin token. */
async function tokenCount() {
  const r = await expectStatus('GET', '/api/v4/personal_access_tokens?per_page=100', ADMIN_TOKEN, 200, 'listing tokens as admin');
  assert.ok(Array.isArray(r.json), 'the token list is not an array');
  return r.json.length;
}

async function csrf(page) {
  step('a form POST with the session cookie but a wrong authenticity_token is refused (403)');
  const cookies = await page.context().cookies(BASE);
  assert.ok(cookies.length > 0, 'no session cookie');
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  // The cookie alone is a working session: the tokens page answers 200 to Node.
  const ok = await fetch(BASE + TOKENS_PATH, { headers: { cookie }, redirect: 'manual' });
  assert.equal(ok.status, 200, `the session cookie does not work from Node (${ok.status})`);
  await tokensPage(page);
  const rowsBefore = await page.locator('table.tokens > tbody > tr').count();
  const countBefore = await tokenCount();
  const body = new URLSearchParams({
    authenticity_token: 'wrong-' + 'x'.repeat(32),
    name: 'csrf-attack',
    token_type: 'legacy',
    scopes: 'api',
  });
  const res = await fetch(BASE + TOKENS_PATH, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
  });
  const text = await res.text();
  assert.equal(res.status, 403, `a wrong authenticity_token answered ${res.status}: ${text.slice(0, 300)}`);
  assert.ok(!text.includes('tfpat-'), 'the refusal contains a token value');
  // Without any authenticity_token, too.
  body.delete('authenticity_token');
  const res2 = await fetch(BASE + TOKENS_PATH, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
  });
  assert.equal(res2.status, 403, `a missing authenticity_token answered ${res2.status}`);
  assert.equal(await tokenCount(), countBefore, 'the token list changed (REST)');
  await tokensPage(page);
  assert.equal(await page.locator('table.tokens > tbody > tr').count(), rowsBefore, 'the token list changed (page)');
  assert.equal(await page.getByRole('rowheader', { name: 'csrf-attack' }).count(), 0, 'the forged token was created');
  return cookie;
}

async function signOut(page, cookie) {
  step('signing out returns to sign-in; the tokens page then needs a sign-in again');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
  await heading(page, 'Sign in');
  assert.equal(pathOf(page), '/users/sign_in', `after signing out, at ${page.url()}`);
  await page.goto(BASE + TOKENS_PATH);
  assert.equal(pathOf(page), '/users/sign_in', `the tokens page did not redirect to sign-in: ${page.url()}`);
  await heading(page, 'Sign in');
  // The old session cookie is dead too.
  const res = await fetch(BASE + TOKENS_PATH, { headers: { cookie }, redirect: 'manual' });
  assert.ok(res.status === 302 || res.status === 303, `the signed-out session still works from Node (${res.status})`);
  assert.match(res.headers.get('location') ?? '', /\/users\/sign_in/);
}

/** Proves the origin guard works: a request to another origin is aborted and recorded. */
async function selfCheck(context, foreign) {
  step('self-check: a request to another origin is blocked and recorded');
  // In a page of its own: the aborted navigation leaves it on Chromium's error page.
  const page = await context.newPage();
  // (A fetch from a tinforge page would not do: its Content-Security-Policy, connect-src 'self',
  // stops that in the page before any request is made.)
  const outcome = await page.goto('http://192.0.2.1/probe').then(() => 'loaded', (e) => String(e.message));
  assert.match(outcome, /ERR_BLOCKED_BY_CLIENT/, `a navigation to another origin was not blocked: ${outcome}`);
  assert.deepEqual(foreign, ['http://192.0.2.1/probe'], 'the origin guard did not record the probe');
  foreign.length = 0;
  await page.close();
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  const foreign = [];
  const consoleErrors = [];

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: process.env.TINFORGE_HEADED !== '1',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    context.setDefaultTimeout(TIMEOUT);
    context.setDefaultNavigationTimeout(TIMEOUT);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === BASE || url.startsWith(BASE + '/')) return route.continue();
      foreign.push(url);
      return route.abort('blockedbyclient');
    });
    await selfCheck(context, foreign);
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      const planned = expectedConsoleErrors.find((e) => e.step === currentStep && text.includes(e.text));
      if (!planned) consoleErrors.push(`console.error in step "${currentStep}" at ${page.url()}: ${text}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`page error in step "${currentStep}" at ${page.url()}: ${err.message}`));

    await signInRedirect(page);
    await signInWrong(page);
    await signIn(page);
    const value = await createToken(page);
    await useTokenOverApi(value);
    await checkFlags(page);
    const trimmed = await trimToken(page, value);
    await revokeToken(page, trimmed, value);
    await coverage(page);
    await createExplainToken(page);
    await explain(page);
    await projectPages(page);
    const cookie = await csrf(page);
    await signOut(page, cookie);

    step('no request left the server\'s origin, no console errors');
    assert.deepEqual(foreign, [], `requests to other origins: ${foreign.join(', ')}`);
    assert.deepEqual(consoleErrors, [], `console errors:\n${consoleErrors.join('\n')}`);
    step('no server defects were found along the way');
    assert.deepEqual(defects, [], `server defects:\n${defects.join('\n')}`);
    await context.close();
  } finally {
    await browser.close();
  }
}

try {
  await main();
  console.log(`web_ui.mjs: all steps passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
} catch (err) {
  console.error(`\nFAILED at step: ${currentStep}\n${err && err.stack ? err.stack : err}`);
  process.exit(1);
}
