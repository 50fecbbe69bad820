// `wrangler dev` without the DevTools inspector, for the benchmark tools
// (WORKER_INSPECTOR=off or a worker named `<worker>+no-inspector`: tests/src/launch.rs,
// tests/src/stages.rs). The CLI always starts workerd with an inspector and connects
// wrangler's inspector proxy to it (`Runtime.enable`), so every console.log captures its
// caller's stack and is relayed as a DevTools event; production has no inspector. It
// costs ~1.1 ms of local CPU per floor /register, the Rust worker and the plain-JS
// anchor alike (docs/rust-vs-js.md, the eighth round). Only wrangler's programmatic API
// can leave it out (`dev.inspector: false`). It takes the arguments the harness gives
// the CLI, in the CLI's terms:
//
//   node tests/start-worker.mjs --config <wrangler.toml> --port <n> --persist-to <dir>
//     [--test-scheduled] [--var NAME:VALUE]...
//
// and differs from the CLI in three more ways, none of which the benchmarks use: no
// rebuild when src/ changes (`watch: false`; the harness builds once), no dev registry
// (for service bindings to other local workers) and no interactive hotkeys (given an
// inspector, it measured the same CPU per request as the CLI). It prints
// "Ready on <URL>" once the worker serves (the harness waits for that line; wrangler's
// own log says it too) and serves until it is killed. The worker's console lines go to
// stdout as the CLI's do.
import { unstable_startWorker } from "wrangler";

function parse(argv) {
  const options = { vars: {}, testScheduled: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case "--config": options.config = value(); break;
      case "--port": options.port = Number(value()); break;
      case "--persist-to": options.persist = value(); break;
      case "--test-scheduled": options.testScheduled = true; break;
      case "--var": {
        const pair = value();
        const colon = pair.indexOf(":");
        if (colon < 1) throw new Error(`--var wants NAME:VALUE, got ${pair}`);
        // As the CLI's --var: a plain-text binding over wrangler.toml's [vars], its value
        // left out of the bindings table wrangler prints.
        options.vars[pair.slice(0, colon)] = {
          type: "plain_text",
          value: pair.slice(colon + 1),
          hidden: true,
        };
        break;
      }
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  for (const required of ["config", "port", "persist"]) {
    if (options[required] === undefined) throw new Error(`--${required} is required`);
  }
  return options;
}

const options = parse(process.argv.slice(2));
const worker = await unstable_startWorker({
  config: options.config,
  bindings: options.vars,
  dev: {
    server: { hostname: "127.0.0.1", port: options.port },
    inspector: false,
    persist: options.persist,
    watch: false,
    testScheduled: options.testScheduled,
  },
});
await worker.ready;
const url = await worker.url;
console.log(`Ready on ${url.origin}`);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => worker.dispose().finally(() => process.exit(0)));
}
