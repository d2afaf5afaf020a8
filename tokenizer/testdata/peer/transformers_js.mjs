// Peer for BenchmarkEncode: tokenizes the same corpus (distinct JSQuAD
// v1.3 validation paragraphs) with @huggingface/transformers' tokenizer
// and prints one JSON line per tokenizer and thread count with MB/s of
// UTF-8 input and cpu-MB/s (MB per second of process CPU time, steadier
// on a busy machine), each the best of -rounds passes. Run it in the same sitting as the
// Go benchmark; see README "Performance" for the commands.
//
//	mkdir /tmp/tokpeer && cd /tmp/tokpeer && npm install --ignore-scripts @huggingface/transformers@4.3.1 tokenizers@0.23.2
//	NODE_PATH=/tmp/tokpeer/node_modules node tokenizer/testdata/peer/transformers_js.mjs [threads] [rounds]
//
// With tokenizers (the Rust crate's Node binding) installed too, it also
// measures that, single-threaded and with encodeBatch (Rust threads).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..', '..');
const modules = process.env.NODE_PATH || '/tmp/tokpeer/node_modules';
const require = createRequire(path.join(modules, 'x.js'));

function corpus() {
  const d = JSON.parse(fs.readFileSync(path.join(root, 'datasets', 'jglue', 'jsquad-v1.3', 'valid-v1.3.json'), 'utf8'));
  const seen = new Set();
  for (const a of d.data) for (const p of a.paragraphs) seen.add(p.context);
  // Go's sort.Strings order (bytewise), so both sides see the same sequence.
  return [...seen].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

async function loadTJS(dir) {
  const tjs = await import(path.join(modules, '@huggingface', 'transformers', 'dist', 'transformers.node.mjs'));
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = path.dirname(dir) + '/';
  return tjs.AutoTokenizer.from_pretrained(path.basename(dir));
}

function encodeAll(tok, texts) {
  let n = 0;
  for (const t of texts) n += tok.encode(t).length;
  return n;
}

if (!isMainThread) {
  const tok = await loadTJS(workerData.dir);
  const texts = workerData.texts;
  parentPort.on('message', () => {
    const t0 = performance.now();
    encodeAll(tok, texts);
    parentPort.postMessage(performance.now() - t0);
  });
  parentPort.postMessage('ready');
} else {
  const threads = Number(process.argv[2] || os.availableParallelism());
  const rounds = Number(process.argv[3] || 5);
  const texts = corpus();
  const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
  const dirs = fs.readdirSync(path.join(root, 'testdata', 'golden', 'tokenizers'))
    .map((d) => path.join(root, 'testdata', 'golden', 'tokenizers', d))
    .filter((d) => fs.existsSync(path.join(d, 'tokenizer.json')));
  const out = (o) => console.log(JSON.stringify(o));
  // timed runs fn rounds times and returns the best wall and CPU seconds.
  async function timed(fn) {
    let wall = Infinity, cpu = Infinity;
    for (let r = 0; r < rounds; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      wall = Math.min(wall, (performance.now() - t0) / 1e3);
      const c = process.cpuUsage(c0);
      cpu = Math.min(cpu, (c.user + c.system) / 1e6);
    }
    return { mb_per_s: bytes / 1e6 / wall, cpu_mb_per_s: bytes / 1e6 / cpu };
  }
  for (const dir of dirs) {
    const name = path.basename(dir);
    // transformers.js, one thread.
    const tok = await loadTJS(dir);
    encodeAll(tok, texts.slice(0, 50)); // warm up
    out({ peer: 'transformers.js-4.3.1', tokenizer: name, threads: 1, ...await timed(() => encodeAll(tok, texts)) });
    // transformers.js, worker threads each taking a share of the texts.
    if (threads > 1) {
      const workers = [];
      for (let w = 0; w < threads; w++) {
        const share = texts.filter((_, i) => i % threads === w);
        const wk = new Worker(fileURLToPath(import.meta.url), { workerData: { dir, texts: share } });
        await new Promise((res) => wk.once('message', res));
        workers.push(wk);
      }
      const res = await timed(() => Promise.all(workers.map((wk) => new Promise((res) => { wk.once('message', res); wk.postMessage('go'); }))));
      for (const wk of workers) await wk.terminate();
      out({ peer: 'transformers.js-4.3.1', tokenizer: name, threads, ...res });
    }
    // The Rust crate through its Node binding, if installed.
    let rust;
    try { rust = require('tokenizers'); } catch { rust = null; }
    if (rust) {
      const rt = rust.Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
      out({ peer: 'hf-tokenizers-rust-0.23.2', tokenizer: name, threads: 1,
        ...await timed(async () => { for (const t of texts) await rt.encode(t); }) });
      out({ peer: 'hf-tokenizers-rust-0.23.2', tokenizer: name, threads: 'rayon', ...await timed(() => rt.encodeBatch(texts)) });
    }
  }
}
