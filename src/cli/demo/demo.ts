// `deno task demo`: serves a web page that samples from a model in the browser, live.
import { setBackend } from "../../backends/set_backend.ts";
import { modelRoutes, pageRoutes } from "./_demo_assets.ts";
import { startDemoServer } from "./_demo_server.ts";
import { loadModel } from "../_load_model.ts";
import { CliError, intFlag, runCli } from "../_cli.ts";
import { flag, MODEL_FLAGS, parseCommand } from "../_flags.ts";

const COMMAND = {
  usage: "ddpm demo [flags]",
  intro: `Serves, on 127.0.0.1 only, a web page that loads the model's weights and samples in the
browser on WebGPU, WebGL or WebAssembly (the best one that starts; ?backend=wasm in the page's
address chooses), drawing x_t and the predicted x_0 as the reverse process runs.`,
  flags: {
    ...MODEL_FLAGS,
    port: flag("N", "port on 127.0.0.1 (default 8000; 0 picks a free one)", "Server:"),
  },
  outro: `The page's address takes ?backend=auto|webgpu|webgl|wasm|cpu, &seed=N, &steps=N,
&sampler=ddim|ddpm|dpm|dpm-sde, &n=N (images) and &autostart=1.`,
  noBackend: true,
};

/** Runs `ddpm demo` with the arguments after its name; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  const port = intFlag("port", flags.port, 8000, 0);
  if (port > 65535) throw new CliError(`--port must be at most 65535: got ${port}`);
  // The server only holds the weights; the browser computes.
  await setBackend("cpu");
  // The demo writes nothing, so a hub id must already be in the cache.
  const model = await loadModel(flags, {
    hub: {
      offline: true,
      offlineHint: `deno task demo does not download: fetch it first with \`deno task sample ` +
        `--pretrained ${flags.pretrained} --n 1\``,
    },
  });
  const routes = await modelRoutes(model);
  model.unet.dispose();
  const server = startDemoServer(routes, port);
  console.error(`ddpm demo: model ${model.what}; bundling the page…`);
  for (const [path, asset] of await pageRoutes()) routes.set(path, asset);
  console.log(`ddpm demo: open ${server.url} (Ctrl-C stops)`);
  await server.finished;
  return 0;
}

if (import.meta.main) runCli(() => main(Deno.args));
