// Render a Mermaid diagram with mermaid's own code in headless Chromium.
//
//   node tests/render/render.mjs INPUT.mmd OUTPUT.svg|OUTPUT.png [INPUT OUTPUT]…
//
// Several pairs are rendered in one browser, in order. An INPUT may be `-` to
// read the diagram from stdin. The browser is $CHROMIUM, or /usr/bin/chromium
// (Debian's `chromium` package).
//
// Exit status: 0 rendered (nothing is printed); 1 mermaid rejected a
// diagram (`render: INPUT: <mermaid's message>` on stderr); 2 anything else
// (bad usage, no browser, timeout), also with a message on stderr.

import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const TIMEOUT_MS = 60_000;
const MERMAID_JS = fileURLToPath(
  new URL('./node_modules/mermaid/dist/mermaid.min.js', import.meta.url),
);

function fail(code, message) {
  process.stderr.write(`render: ${message}\n`);
  process.exit(code);
}

// Thrown inside main() so that the browser is still closed before exiting.
class Failure extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const args = process.argv.slice(2);
const pairs = [];
for (let i = 0; i + 1 < args.length; i += 2) pairs.push([args[i], args[i + 1]]);
if (args.length === 0 || args.length % 2 !== 0 || pairs.some(([, out]) => !/\.(svg|png)$/i.test(out))) {
  fail(2, 'usage: node render.mjs INPUT.mmd|- OUTPUT.svg|OUTPUT.png [INPUT OUTPUT]...');
}

async function readInput(path) {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

let browser;
// A hung browser must not hang the test suite. The timer is unref'd so it
// never keeps the process alive; on expiry the browser is killed outright.
setTimeout(() => {
  browser?.process()?.kill('SIGKILL');
  fail(2, `timed out after ${TIMEOUT_MS / 1000} s`);
}, TIMEOUT_MS).unref();

async function main() {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', // we run as root (CI, containers)
      '--disable-gpu',
      '--disable-dev-shm-usage', // /dev/shm is small in containers
      '--no-first-run',
      '--no-default-browser-check',
    ],
  });
  for (const [input, output] of pairs) {
    await renderOne(await readInput(input), input, output);
  }
}

async function renderOne(text, input, output) {
  const asPng = /\.png$/i.test(output);
  const page = await browser.newPage();

  // No network at all: only the blank page itself may load.
  await page.setRequestInterception(true);
  page.on('request', (req) =>
    /^(about|data|blob):/.test(req.url()) ? req.continue() : req.abort(),
  );

  // A fixed viewport and time zone: gantt takes its width from the page and
  // formats its time axis in local time.
  await page.setViewport({ width: 1200, height: 800, deviceScaleFactor: 2 });
  await page.emulateTimezone('UTC');
  await page.addScriptTag({ path: MERMAID_JS });

  const result = await page.evaluate(async (text) => {
    try {
      mermaid.initialize({ startOnLoad: false });
      await mermaid.parse(text); // throws on a syntax error
      const { svg } = await mermaid.render('d', text);
      return { svg };
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
  }, text);
  if (result.error !== undefined) throw new Failure(1, `${input}: ${result.error}`);

  // Put the SVG in the page at its natural size (its viewBox, rather than
  // mermaid's `width="100%"; max-width`) on a white background.
  const { box, xml } = await page.evaluate((svg) => {
    document.body.innerHTML = svg;
    document.body.style.cssText = 'margin:0;padding:0;background:#fff';
    const el = document.querySelector('svg');
    // mermaid returns HTML markup (e.g. `<br>` in labels); re-serialising the
    // parsed element gives well-formed XML that works as a standalone .svg.
    const xml = new XMLSerializer().serializeToString(el);
    const vb = el.viewBox.baseVal;
    if (vb && vb.width > 0 && vb.height > 0) {
      el.style.maxWidth = 'none';
      el.setAttribute('width', String(vb.width));
      el.setAttribute('height', String(vb.height));
    }
    const r = el.getBoundingClientRect();
    return { box: { width: r.width, height: r.height }, xml };
  }, result.svg);

  if (!asPng) {
    await writeFile(output, xml + '\n');
    await page.close();
    return;
  }
  await page.setViewport({
    width: Math.max(1, Math.ceil(box.width)),
    height: Math.max(1, Math.ceil(box.height)),
    deviceScaleFactor: 2,
  });
  const el = await page.$('svg');
  await el.screenshot({ path: output, omitBackground: false });
  await page.close();
}

let code = 0;
let message;
try {
  await main();
} catch (e) {
  code = e instanceof Failure ? e.code : 2;
  message = String(e?.message ?? e);
} finally {
  await browser?.close().catch(() => {});
}
if (code !== 0) fail(code, message);
