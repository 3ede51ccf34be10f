// Drives Debian's chromium (headless, through playwright-core) through mOSdat's pages,
// as a person would, and checks what they see. Run by the integration tests
// (tests/integration/workbench_browser_test.cc), which start what the pages need.
//
//   node pages.mjs workbench    MOSDAT_URL, MOSDAT_TOKEN: a `mosdat live` whose VM
//                               "local" shows gtk3-widget-factory; MOSDAT_EXPORT: where
//                               to save the exported scenario
//   node pages.mjs runs         the same `mosdat live`'s runs page, while a run with a
//                               job "steady" (passes, slowly) and "broken" (fails at
//                               "the app's self-check") goes on
//   node pages.mjs held         a `mosdat functional --pause-on-failure` whose job is held
//                               at step 2 (a check button not ticked): the runs page
//                               shows it held with its live screen; the workbench takes
//                               it over, ticks the button and resumes the job
//   node pages.mjs trace FILE   a trace.html, opened from disk
//   node pages.mjs site FILE    a dashboard index.html, opened from disk
//
// MOSDAT_SHOTS (optional): a directory for screenshots of each page (the README's).
// Exit 0 when every check held; 1 with the failed check on stderr.
import { chromium } from "playwright-core";
import path from "node:path";

const shots = process.env.MOSDAT_SHOTS || "";
const deadline = 120_000;

function check(condition, message) {
  if (!condition) throw new Error("check failed: " + message);
}

async function shot(page, name) {
  if (!shots) return;
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, name) });
}

// The screen's framebuffer size and a digest of a region of it, as the page shows it.
async function regionDigest(page, region) {
  return page.evaluate((r) => {
    const img = document.getElementById("screen");
    if (!img.naturalWidth) return null;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const g = canvas.getContext("2d");
    g.drawImage(img, 0, 0);
    const data = g.getImageData(r.x, r.y, r.width, r.height).data;
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum = (sum * 31 + data[i]) >>> 0;
    return sum;
  }, region);
}

async function waitFor(what, poll) {
  const end = Date.now() + deadline;
  for (;;) {
    const value = await poll();
    if (value) return value;
    check(Date.now() < end, what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Clicks the screen image at framebuffer pixels (x, y), wherever the page scaled it.
async function clickScreen(page, x, y) {
  const img = page.locator("#screen");
  const box = await img.boundingBox();
  const natural = await img.evaluate((e) => ({ w: e.naturalWidth, h: e.naturalHeight }));
  await page.mouse.click(box.x + (x + 0.5) * box.width / natural.w,
                         box.y + (y + 0.5) * box.height / natural.h);
}

async function addRawStep(page, step) {
  const before = await page.locator("#steps li").count();
  await page.fill("#raw-step", JSON.stringify(step));
  await page.click("#add-raw");
  await waitFor("the hand-written step is in the draft",
                async () => (await page.locator("#steps li").count()) === before + 1);
}

async function workbench(browser) {
  const page = await browser.newPage({ viewport: { width: 1700, height: 1160 } });
  await page.goto(process.env.MOSDAT_URL);
  // A wrong token is refused on the page.
  await page.fill("#token", "not-the-token");
  await page.click("#login-form button");
  await waitFor("a wrong token is refused",
                async () => /wrong token/.test(await page.textContent("#login-error")));
  await login(page);

  await page.selectOption("#vm", "local");
  await page.click("#open");
  await page.waitForSelector("#screen:not([hidden])", { timeout: deadline });

  // The second check button of the widget factory (scenarios/gtk3-widget-factory-pixels.yaml).
  const check_box = { x: 17, y: 397, width: 22, height: 22 };
  const window_area = { x: 10, y: 55, width: 360, height: 300 };
  // Drawn and settled: the live screen shows the same pixels twice, a second apart.
  let settled = null;
  await waitFor("the window is drawn on the live screen", async () => {
    const now = await regionDigest(page, window_area);
    const still = now !== null && now === settled;
    settled = now;
    if (!still) await new Promise((resolve) => setTimeout(resolve, 1000));
    return still;
  });
  await addRawStep(page, { wait_for: { all: [{ screen_stable: { region: window_area, for: 0.5 } }],
                                       timeout: 30 } });

  // Without the confirm toggle, a click on the screen is refused and nothing changes.
  const before = await regionDigest(page, check_box);
  await clickScreen(page, 27, 407);
  await waitFor("an unconfirmed click is refused",
                async () => /confirm/.test(await page.textContent("#status")));
  check((await regionDigest(page, check_box)) === before, "an unconfirmed click changed the screen");

  // Confirmed: the check button changes on the live screen, and the step names it.
  await page.check("#confirm");
  await clickScreen(page, 27, 407);
  await waitFor("the live screen shows the check button ticked",
                async () => (await regionDigest(page, check_box)) !== before);
  const stepText = await waitFor("the click's step is shown", async () => {
    const text = await page.textContent("#last-step");
    return text && text !== "—" ? text : null;
  });
  const step = JSON.parse(stepText);
  check(step.atspi && step.atspi.name === "checkbutton",
        "the step names the check button (an atspi target), not coordinates: " + stepText);
  await page.click("#append");
  await waitFor("the click is in the draft", async () => (await page.locator("#steps li").count()) === 2);
  await addRawStep(page, { wait_for: { all: [{ atspi: { ...step.atspi, states: ["checked"] } }],
                                       timeout: 5 } });

  // Reorder and delete: a step moved down and back, a stray one deleted.
  await addRawStep(page, { wait: 0.1 });
  await page.locator("#steps li").nth(2).locator("button[title='move down']").click();
  await waitFor("the step moved down",
                async () => /"wait":0.1/.test(await page.locator("#steps li").nth(2).textContent()));
  await page.locator("#steps li").nth(2).locator("button[title='delete']").click();
  await waitFor("the stray step is deleted", async () => (await page.locator("#steps li").count()) === 3);
  check(/checked/.test(await page.locator("#steps li").nth(2).textContent()),
        "the steps are in their order after the move and the delete");

  // What is under the pointer.
  await page.selectOption("#mode", "describe");
  await clickScreen(page, 75, 407);
  await waitFor("describe names the check button",
                async () => /checkbutton/.test(await page.textContent("#describe")));

  await page.fill("#name", "authored");
  await page.click("#validate");
  await waitFor("the draft is valid", async () => /^valid/.test(await page.textContent("#draft-out")));
  await page.click("#export");
  await page.waitForSelector("#download", { timeout: deadline });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  await download.saveAs(process.env.MOSDAT_EXPORT);
  await shot(page, "workbench.png");

  await page.click("#close-session");
  await waitFor("the session closes", async () => /session closed/.test(await page.textContent("#status")));
  await page.close();
}

async function login(page) {
  await page.fill("#token", process.env.MOSDAT_TOKEN);
  await page.click("#login-form button");
  await page.waitForSelector("#app:not([hidden])", { timeout: deadline });
}

async function runs(browser) {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  await page.goto(new URL("runs", process.env.MOSDAT_URL).href);
  await login(page);
  // While it runs: the job's row says which step is running now.
  await waitFor("a running job shows its current step", async () =>
    (await page.locator("tr.job", { hasText: "steady" }).locator("td", { hasText: "▶" }).count()) > 0);
  check((await page.locator("tr.job", { hasText: "steady" }).locator(".v.running").count()) === 1,
        "the running job's verdict says running");
  // Then the verdicts, as they come, without reloading the page.
  await waitFor("the passing job passes", async () =>
    (await page.locator("tr.job", { hasText: "steady" }).locator(".v.pass").count()) === 1);
  await waitFor("the failing job fails", async () =>
    (await page.locator("tr.job", { hasText: "broken" }).locator(".v.fail").count()) === 1);
  await page.locator("tr.job", { hasText: "broken" }).click();
  await waitFor("the failed step and why", async () =>
    /self-check/.test((await page.locator("#job .reason").textContent().catch(() => "")) || ""));
  await waitFor("the frame at the failure shows", async () =>
    page.locator("#failure-frame").evaluate((img) => img.complete && img.naturalWidth > 0).catch(() => false));
  await shot(page, "runs.png");
  // The trace viewer, served from the results with the same login.
  const trace = await page.locator("#trace-link").getAttribute("href");
  await page.goto(new URL(trace, process.env.MOSDAT_URL).href);
  check((await page.locator("section.step").count()) >= 2, "the served trace shows the steps");
  await page.close();
}

async function held(browser) {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  await page.goto(new URL("runs", process.env.MOSDAT_URL).href);
  await login(page);
  const row = page.locator("tr.job", { hasText: "held at step 2" });
  await waitFor("the held job says so in its row", async () => (await row.count()) === 1);
  check((await row.locator(".v.paused").count()) === 1, "the held job's verdict says paused");
  await row.click();
  await waitFor("the job shows why it is held", async () =>
    /check button is ticked/.test((await page.locator("#job .held").textContent().catch(() => "")) || ""));
  // Its screen, live, from a session that only watches it.
  await waitFor("the held job's screen shows live", async () =>
    page.locator("#live-screen").evaluate((img) => img.complete && img.naturalWidth === 1280).catch(() => false));
  await shot(page, "held.png");

  // Take it over in the workbench: the job's screen, the draft as its scenario.
  await page.click("#take-over");
  await page.waitForSelector("#held:not([hidden])", { timeout: deadline });
  await waitFor("the held job's screen shows in the workbench", async () =>
    page.locator("#screen").evaluate((img) => img.complete && img.naturalWidth === 1280).catch(() => false));
  check((await page.locator("#steps li").count()) === 3, "the draft is the job's three steps");
  check((await page.locator("#steps li.failed").count()) === 1, "the failed step is marked");
  // Where the check button is, as AT-SPI says (the page's own session and login).
  const center = await page.evaluate(async () => {
    const answer = await api("POST", "/api/author/atspi/find",
                             {session_id: session, query: {role: "check box", name: "checkbutton", index: 4}});
    return answer.object && answer.object.center;
  });
  check(center && center.x > 0, "AT-SPI finds the check button");
  await page.selectOption("#mode", "click");
  await page.check("#confirm");
  const box = { x: center.x - 10, y: center.y - 10, width: 20, height: 20 };
  const before = await regionDigest(page, box);
  await clickScreen(page, center.x, center.y);
  await waitFor("the click was sent", async () => /click done/.test(await page.textContent("#status")));
  await waitFor("the tick shows on the live screen", async () => (await regionDigest(page, box)) !== before);
  await shot(page, "takeover.png");
  await page.click("#held-resume");
  await waitFor("the job goes on from the failed step", async () =>
    /goes on from step 2/.test(await page.textContent("#status")));
  check(await page.locator("#held").isHidden(), "the held panel goes with the hold");

  // The run ends now (and its page with it): its verdict is the C++ test's to check.
  await page.close();
}

async function trace(browser, file) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto("file://" + path.resolve(file));
  const steps = await page.locator("section.step").count();
  check(steps >= 3, "the trace shows the steps (" + steps + ")");
  check((await page.locator("table.candidates").count()) >= 1, "the trace lists locator candidates");
  check((await page.locator("g.pointer").count()) >= 1, "the trace draws the pointer inputs");
  // Its frames load from disk beside it.
  const loaded = await page.evaluate(async () => {
    const images = [...document.querySelectorAll("svg image")];
    const sizes = await Promise.all(images.map((image) => new Promise((resolve) => {
      const probe = new Image();
      probe.onload = () => resolve(probe.naturalWidth);
      probe.onerror = () => resolve(0);
      probe.src = image.href.baseVal;
    })));
    return { count: images.length, ok: sizes.filter((w) => w > 0).length };
  });
  check(loaded.count > 0 && loaded.ok === loaded.count,
        "every frame of the trace loads (" + loaded.ok + " of " + loaded.count + ")");
  await page.locator("section.step").nth(1).scrollIntoViewIfNeeded();
  await shot(page, "trace.png");
  await page.close();
}

async function site(browser, file) {
  const page = await browser.newPage({ viewport: { width: 1300, height: 700 } });
  await page.goto("file://" + path.resolve(file));
  check((await page.locator("table.rates tr").count()) >= 2, "the site shows pass rates");
  const link = page.locator("table.runs a").first();
  const href = await link.getAttribute("href");
  await shot(page, "dashboard.png");
  await link.click();
  await page.waitForLoadState();
  check(/trace\.html$/.test(page.url()), "a job's link opens its trace (" + href + ")");
  check((await page.locator("section.step").count()) >= 1, "the linked trace shows steps");
  await page.close();
}

const [what, file] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.MOSDAT_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Root in a container: chromium's sandbox needs user namespaces it may not have.
  args: ["--no-sandbox"],
});
try {
  if (what === "workbench") await workbench(browser);
  else if (what === "runs") await runs(browser);
  else if (what === "held") await held(browser);
  else if (what === "trace") await trace(browser, file);
  else if (what === "site") await site(browser, file);
  else throw new Error("usage: node pages.mjs workbench | runs | held | trace FILE | site FILE");
} catch (error) {
  console.error(error.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
