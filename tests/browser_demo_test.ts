/// <reference lib="dom" />
// The browser demo in a real headless Chromium (Debian's `chromium`, driven over the DevTools
// protocol by puppeteer-core; nothing downloads a browser): `deno task demo` with no flag serves
// the shipped emoji model, the page samples DDIM 10 steps with seed 0 on wasm, then
// SDE-DPM-Solver++ 20 steps (its default sampler; the screenshot), and its canvas
// must match `sample()` in Deno for the same run, seed, sampler and backend. Skips, saying why, only where Chromium cannot start.
import puppeteer, { type Browser } from "puppeteer-core";
import { Image } from "imagescript";
import {
  DDIMScheduler,
  gridPixels,
  loadEmojiModel,
  sample,
  schedulerForSampler,
  setBackend,
} from "../mod.ts";
import { assert } from "./_assert.ts";

const ROOT = new URL("..", import.meta.url);
const CHROMIUM = Deno.env.get("DDPM_CHROMIUM") ?? "/usr/bin/chromium";
/** Set to 1 to write the screenshot to docs/browser-demo.png (the README's picture). */
const UPDATE_SCREENSHOT = Deno.env.get("DDPM_UPDATE_SCREENSHOT") === "1";
const N = 4, STEPS = 10, DPM_STEPS = 20, SEED = 0, COLS = 2;
/**
 * Largest difference allowed between a canvas byte and Deno's, out of 255. Both run the same
 * XNNPACK wasm kernels and TF.js's seeded generator, so the floats agree up to summation
 * order (threaded vs single-threaded builds); one quantisation step covers a float that
 * lands on the other side of a rounding boundary.
 */
const MAX_BYTE_DIFF = 1;
/** Share of bytes that may differ at all. */
const MAX_DIFFERING = 0.01;
/** How long the server may take to load the model and bundle the page. */
const START_TIMEOUT_MS = 90_000;

/** Starts Chromium headless, or returns why it cannot start. */
async function launch(userDataDir: string): Promise<Browser | string> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    return `${CHROMIUM} is not installed (apt-get install chromium, or set DDPM_CHROMIUM)`;
  }
  try {
    return await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${userDataDir}`,
      ],
    });
  } catch (err) {
    return `${CHROMIUM} did not start: ${String((err as Error)?.message ?? err).split("\n")[0]}`;
  }
}

/** Closes Chromium, killing it if it does not close within 10 s, so that none is left behind. */
async function closeBrowser(browser: Browser): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    browser.close().then(() => true, () => false),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
  ]);
  clearTimeout(timer);
  if (!closed) browser.process()?.kill("SIGKILL");
}

/** Runs the `demo` task's own command line (its permissions included), and waits for its URL. */
async function startDemo(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const [deno, ...taskArgs] = (config.tasks.demo as string).split(/\s+/);
  assert.equal(deno, "deno");
  const child = new Deno.Command(Deno.execPath(), {
    args: [...taskArgs, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stderr = "";
  const drainErr = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (stderr += s) }),
  );
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let url: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<{ done: true; value: undefined }>((resolve) => {
    timer = setTimeout(() => resolve({ done: true, value: undefined }), START_TIMEOUT_MS);
  });
  while (!url) {
    const { value, done } = await Promise.race([lines.read(), timeout]);
    if (done) break;
    out += value;
    url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
  }
  clearTimeout(timer);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await lines.cancel().catch(() => {});
    await drainErr.catch(() => {});
  };
  if (!url) {
    await stop();
    throw new Error(
      `deno task demo printed no URL within ${START_TIMEOUT_MS / 1000} s.\n` +
        `stdout: ${out}\nstderr: ${stderr}`,
    );
  }
  return { url, stop };
}

Deno.test({
  name: "deno task demo: the page samples on wasm in Chromium as sample() does in Deno",
  // Independent of DDPM_TEST_BACKEND: run it once, in the wasm pass.
  ignore: Deno.env.get("DDPM_TEST_BACKEND") === "onednn",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t0 = performance.now();
    const tmp = await Deno.makeTempDir({ prefix: "ddpm_browser_" });
    const browser = await launch(`${tmp}/chromium-profile`);
    if (typeof browser === "string") {
      console.log(`skipped: ${browser}`);
      await Deno.remove(tmp, { recursive: true });
      return;
    }
    let demo: { url: string; stop: () => Promise<void> } | undefined;
    try {
      await setBackend("wasm");
      demo = await startDemo(["--port", "0"]);
      const tServer = performance.now();

      // Deno: the same model, seed, sampler and steps, on wasm.
      const { unet, scheduler: ddpm } = await loadEmojiModel();
      const config = { scheduler: ddpm.config };
      const images = await sample({
        unet,
        scheduler: new DDIMScheduler(config.scheduler),
        batchSize: N,
        numInferenceSteps: STEPS,
        seed: SEED,
      });
      const expected = await gridPixels(images, { cols: COLS });
      images.dispose();
      // And the shipped model's own sampler, DPM-Solver++ in its stochastic form, which the page
      // builds from the same scheduler config and draws the same noise for.
      const dpmImages = await sample({
        unet,
        scheduler: schedulerForSampler("dpm-sde", config.scheduler),
        batchSize: N,
        numInferenceSteps: DPM_STEPS,
        seed: SEED,
      });
      const expectedDpm = await gridPixels(dpmImages, { cols: COLS });
      dpmImages.dispose();
      unet.dispose();

      const page = await browser.newPage();
      const logs: string[] = [];
      page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => logs.push(`pageerror: ${(e as Error).message}`));
      await page.setViewport({ width: 900, height: 560 });
      await page.goto(
        `${demo.url}?backend=wasm&seed=${SEED}&steps=${STEPS}&sampler=ddim&n=${N}&autostart=1`,
      );
      await page.waitForFunction(
        () => ["done", "error"].includes(document.body.dataset.state ?? ""),
        { timeout: 45_000 },
      );
      const status = await page.$eval("#status", (e) => e.textContent ?? "");
      const model = await page.$eval("#model", (e) => e.textContent ?? "");
      assert.ok(status.startsWith("done"), `the page says: ${status}\n${logs.join("\n")}`);
      assert.match(model, /on wasm/);
      const tBrowser = performance.now();

      const canvas = await page.$eval("#xt", (c) => {
        const el = c as HTMLCanvasElement;
        const d = el.getContext("2d")!.getImageData(0, 0, el.width, el.height);
        return { width: d.width, height: d.height, data: Array.from(d.data) };
      });
      assert.equal(canvas.width, expected.width);
      assert.equal(canvas.height, expected.height);
      let maxDiff = 0, differing = 0;
      for (let i = 0; i < canvas.data.length; i++) {
        const d = Math.abs(canvas.data[i] - expected.data[i]);
        if (d > 0) differing++;
        maxDiff = Math.max(maxDiff, d);
      }
      // The same images must not come from a model that ignores its input: the predicted x_0
      // canvas differs from x_t's before the last step, and the picture is not flat.
      const spread = Math.max(...expected.data) - Math.min(...expected.data);
      assert.ok(spread > 100, `a flat sample (range ${spread}) would compare trivially`);
      console.log(
        `browser demo: ${model}; max |canvas - Deno| = ${maxDiff}/255, ` +
          `${differing} of ${canvas.data.length} bytes differ`,
      );
      assert.ok(maxDiff <= MAX_BYTE_DIFF, `max byte difference ${maxDiff} > ${MAX_BYTE_DIFF}`);
      assert.ok(
        differing <= MAX_DIFFERING * canvas.data.length,
        `${differing} bytes differ, more than ${MAX_DIFFERING * 100}%`,
      );

      // "Save PNG" encodes the same grid with the library's PNG encoder, in the browser.
      const png64 = await page.evaluate(() =>
        (globalThis as unknown as { ddpmDemoPng(): Promise<string> }).ddpmDemoPng()
      );
      const png = Uint8Array.from(atob(png64), (c) => c.charCodeAt(0));
      const decoded = await Image.decode(png);
      assert.deepEqual([...decoded.bitmap], canvas.data);

      // The DPM-Solver++ sampler in the page against sample() with DPMSolverMultistepScheduler.
      await page.goto(
        `${demo.url}?backend=wasm&seed=${SEED}&steps=${DPM_STEPS}&sampler=dpm-sde&n=${N}&autostart=1`,
      );
      await page.waitForFunction(
        () => ["done", "error"].includes(document.body.dataset.state ?? ""),
        { timeout: 45_000 },
      );
      const dpmStatus = await page.$eval("#status", (e) => e.textContent ?? "");
      assert.match(dpmStatus, /^done: \d+ images, \d+ SDE-DPM-Solver\+\+ steps/, logs.join("\n"));
      const dpmCanvas = await page.$eval("#xt", (c) => {
        const el = c as HTMLCanvasElement;
        return Array.from(el.getContext("2d")!.getImageData(0, 0, el.width, el.height).data);
      });
      let dpmMax = 0, dpmDiffering = 0;
      for (let i = 0; i < dpmCanvas.length; i++) {
        const d = Math.abs(dpmCanvas[i] - expectedDpm.data[i]);
        if (d > 0) dpmDiffering++;
        dpmMax = Math.max(dpmMax, d);
      }
      // The README's picture: the shipped model's default sampler.
      const shot = UPDATE_SCREENSHOT
        ? new URL("docs/browser-demo.png", ROOT).pathname
        : `${tmp}/browser-demo.png`;
      await page.screenshot({ path: shot as `${string}.png` });
      console.log(`browser demo, SDE-DPM-Solver++: max |canvas - Deno| = ${dpmMax}/255`);
      assert.ok(dpmMax <= MAX_BYTE_DIFF, `DPM: max byte difference ${dpmMax}`);
      assert.ok(dpmDiffering <= MAX_DIFFERING * dpmCanvas.length, `DPM: ${dpmDiffering} differ`);
      console.log(
        `browser demo: server up ${((tServer - t0) / 1000).toFixed(1)} s, page sampled ` +
          `${((tBrowser - tServer) / 1000).toFixed(1)} s, total ` +
          `${((performance.now() - t0) / 1000).toFixed(1)} s; screenshot ${shot}`,
      );
    } finally {
      await closeBrowser(browser);
      await demo?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
