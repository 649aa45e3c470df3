// ONNX Runtime (onnxruntime-node) baseline for autosched-bench: an OPTIONAL
// comparison tool. It is never part of the build, the tests or .ci/run; it is
// driven by scripts/ort-baseline.sh, which installs onnxruntime-node into a
// cache folder outside the repository (AUTOSCHED_ORT_DIR).
//
// Measure one model:
//   node scripts/ort_bench.mjs --ort-dir DIR -m model.onnx --mode latency|throughput
//        [--threads 2] [--streams 2] [-t 10] [--json out.json]
//   latency:    one session, intra-op threads = --threads, sequential requests.
//   throughput: --streams worker threads, each with its own session of
//               (--threads / --streams) intra-op threads, all running at once.
// Build the side-by-side table from the JSON files of a run folder:
//   node scripts/ort_bench.mjs --table DIR
import { createRequire } from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';

function parse_args(argv) {
  const a = { mode: 'latency', threads: 2, streams: 2, time: 10, warmup: 5 };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i], v = () => argv[++i];
    if (k === '--ort-dir') a.ort_dir = v();
    else if (k === '-m' || k === '--model') a.model = v();
    else if (k === '--mode') a.mode = v();
    else if (k === '--threads') a.threads = Number(v());
    else if (k === '--streams') a.streams = Number(v());
    else if (k === '-t' || k === '--time') a.time = Number(v());
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--json') a.json = v();
    else if (k === '--table') a.table = v();
    else throw new Error(`ort_bench: unknown argument '${k}'`);
  }
  return a;
}

function load_ort(dir) {
  if (!dir) throw new Error('ort_bench: --ort-dir (the folder holding node_modules/onnxruntime-node) is required');
  return createRequire(path.join(dir, 'package.json'))('onnxruntime-node');
}

// Deterministic pseudo-random inputs (the values do not change the work done).
function make_feeds(ort, session) {
  const feeds = {};
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
  for (const meta of session.inputMetadata) {
    const shape = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = shape.reduce((x, y) => x * y, 1);
    if (meta.type === 'float32') feeds[meta.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, next), shape);
    else if (meta.type === 'int64')
      feeds[meta.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 100)), shape);
    else throw new Error(`ort_bench: input '${meta.name}' has unsupported type ${meta.type}`);
  }
  return feeds;
}

async function open_session(ort, model, threads) {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

const now_ms = () => Number(process.hrtime.bigint()) / 1e6;

// Runs requests back to back until `deadline` (ms on now_ms' clock); returns latencies.
async function run_until(session, feeds, deadline) {
  const lat = [];
  while (now_ms() < deadline) {
    const t0 = now_ms();
    await session.run(feeds);
    lat.push(now_ms() - t0);
  }
  return lat;
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summary(latencies, duration_ms) {
  const s = [...latencies].sort((x, y) => x - y);
  return {
    count: s.length,
    duration_ms,
    throughput_fps: (s.length * 1000) / duration_ms,
    latency_ms: { median: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), min: s[0], max: s.at(-1) },
  };
}

// Worker of the throughput mode: one session, runs when told, reports its latencies.
async function worker_main() {
  const { ort_dir, model, threads, warmup } = workerData;
  const ort = load_ort(ort_dir);
  const session = await open_session(ort, model, threads);
  const feeds = make_feeds(ort, session);
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  parentPort.postMessage({ ready: true });
  parentPort.once('message', async ({ deadline }) => {
    const lat = await run_until(session, feeds, deadline);
    parentPort.postMessage({ lat, end: now_ms() });
  });
}

async function measure(a) {
  const ort = load_ort(a.ort_dir);
  const report = {
    schema: 'ort-bench/1',
    runtime: 'onnxruntime-node',
    version: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
    model: a.model,
    mode: a.mode,
    loadavg: os.loadavg(),
  };
  if (a.mode === 'latency') {
    const t0 = now_ms();
    const session = await open_session(ort, a.model, a.threads);
    report.session_create_ms = now_ms() - t0;
    const feeds = make_feeds(ort, session);
    const f0 = now_ms();
    await session.run(feeds);
    report.first_inference_ms = now_ms() - f0;
    for (let i = 1; i < a.warmup; ++i) await session.run(feeds);
    const start = now_ms();
    const lat = await run_until(session, feeds, start + a.time * 1000);
    Object.assign(report, { streams: 1, threads_per_stream: a.threads }, summary(lat, now_ms() - start));
    await session.release();
  } else if (a.mode === 'throughput') {
    const per = Math.max(1, Math.floor(a.threads / a.streams));
    const workers = [];
    const ready = [];
    for (let s = 0; s < a.streams; ++s) {
      const w = new Worker(new URL(import.meta.url), {
        workerData: { ort_dir: a.ort_dir, model: a.model, threads: per, warmup: a.warmup },
      });
      workers.push(w);
      ready.push(new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    }
    await Promise.all(ready);
    const start = now_ms();
    const done = workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    for (const w of workers) w.postMessage({ deadline: start + a.time * 1000 });
    const results = await Promise.all(done);
    const end = Math.max(...results.map((r) => r.end));
    Object.assign(report, { streams: a.streams, threads_per_stream: per }, summary(results.flatMap((r) => r.lat), end - start));
    await Promise.all(workers.map((w) => w.terminate()));
  } else {
    throw new Error(`ort_bench: --mode must be latency or throughput, not '${a.mode}'`);
  }
  report.loadavg_end = os.loadavg();
  const text = JSON.stringify(report, null, 1);
  if (a.json) writeFileSync(a.json, text + '\n');
  console.log(text);
}

// ---- table: <dir>/<round>.<runtime>.<model>.<mode>.json → markdown (runtime: ort, autosched, before) ----
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const spread = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x));
  if (s.length < 2) return '';
  const m = median(s);
  return ` ±${((100 * (Math.max(...s) - Math.min(...s))) / 2 / m).toFixed(0)}%`;
};

// ORT's inf/s is the better of its two configurations (2 sessions x 1 thread, 1 session x 2
// threads); autosched's is the THROUGHPUT hint's.
function table(dir) {
  const runs = {};  // model -> runtime -> { p50: [], fps: [], ort_best_fps: [] } per round
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const [round, runtime, model, mode] = f.replace(/\.json$/, '').split('.');
    if (!mode) continue;
    const j = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    const r = runtime === 'ort' ? j : j.results ?? {};
    const entry = ((runs[model] ??= {})[runtime] ??= { p50: {}, fps: {}, lat_fps: {} });
    if (mode === 'latency') {
      entry.p50[round] = r.latency_ms?.median;
      entry.lat_fps[round] = r.throughput_fps;
    } else {
      entry.fps[round] = r.throughput_fps;
    }
  }
  const order = ['mlp', 'bert_tiny', 'mobilenetv2', 'resnet50'];
  const rank = (m) => (order.includes(m) ? order.indexOf(m) : order.length);
  const models = Object.keys(runs).sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));
  const has_before = models.some((m) => runs[m].before);
  const cell = (e, key) => {
    const xs = Object.values(e?.[key] ?? {});
    return { m: median(xs), text: `${fmt(median(xs), key === 'p50' ? 3 : 1)}${spread(xs)}` };
  };
  const ort_fps = (e) => {
    const rounds = new Set([...Object.keys(e?.fps ?? {}), ...Object.keys(e?.lat_fps ?? {})]);
    const xs = [...rounds].map((r) => Math.max(e.fps[r] ?? NaN, e.lat_fps[r] ?? NaN)).filter(Number.isFinite);
    return { m: median(xs), text: `${fmt(median(xs), 1)}${spread(xs)}` };
  };
  const head = ['model', 'ORT p50 (ms)'];
  if (has_before) head.push('before p50 (ms)');
  head.push('autosched p50 (ms)', 'p50 autosched/ORT');
  if (has_before) head.push('p50 after/before');
  head.push('ORT inf/s');
  if (has_before) head.push('before inf/s');
  head.push('autosched inf/s', 'inf/s autosched/ORT');
  if (has_before) head.push('inf/s after/before');
  const lines = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`];
  for (const m of models) {
    const r = runs[m];
    const op = cell(r.ort, 'p50'), bp = cell(r.before, 'p50'), ap = cell(r.autosched, 'p50');
    const of = ort_fps(r.ort), bf = cell(r.before, 'fps'), af = cell(r.autosched, 'fps');
    const row = [m, op.text];
    if (has_before) row.push(bp.text);
    row.push(ap.text, fmt(ap.m / op.m));
    if (has_before) row.push(fmt(ap.m / bp.m));
    row.push(of.text);
    if (has_before) row.push(bf.text);
    row.push(af.text, fmt(af.m / of.m));
    if (has_before) row.push(fmt(af.m / bf.m));
    lines.push(`| ${row.join(' | ')} |`);
  }
  const rounds = Math.max(...models.map((m) => Object.keys(runs[m].ort?.p50 ?? {}).length));
  lines.push('', `Medians over ${rounds} interleaved round(s); ±: half the min-max spread over the rounds. ` +
    'p50: LATENCY hint (ORT: 1 session, all threads, sequential requests); inf/s: THROUGHPUT hint ' +
    '(ORT: the better of 2 sessions x 1 thread and 1 session x 2 threads). ' +
    'p50 ratio < 1 and inf/s ratio > 1: autosched ahead.');
  console.log(lines.join('\n'));
}

if (!isMainThread) {
  await worker_main();
} else {
  const a = parse_args(process.argv.slice(2));
  if (a.table) table(a.table);
  else await measure(a);
}
