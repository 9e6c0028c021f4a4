// The commands of `ddpm`: one entry each, its one-line summary and its module, loaded only when
// it runs (so `ddpm --help` loads no command, and each loads only what it uses). A new command
// is one entry here and a file that exports `main(args)`.

/** What a command's module exports: its entry point, given the arguments after its name. */
export interface CommandModule {
  main(args: string[]): Promise<number>;
}

/** One command: what `ddpm --help` says about it, and how to load it. */
export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

/** The commands, in the order `ddpm --help` lists them. */
export const COMMANDS: Record<string, CommandEntry> = {
  train: {
    summary: "train a model on a folder of images, CIFAR-10 or the built-in emoji",
    load: () => import("./train.ts"),
  },
  sample: {
    summary: "draw images from the shipped emoji model, a run, a diffusers model or a preset",
    load: () => import("./sample.ts"),
  },
  eval: {
    summary: "the variational bound on the NLL in bits/dim (the paper's Table 1)",
    load: () => import("./eval.ts"),
  },
  interpolate: {
    summary: "mix two images through the diffusion's latent space (Figure 8)",
    load: () => import("./interpolate.ts"),
  },
  inpaint: {
    summary: "fill the masked part of an image with the reverse process",
    load: () => import("./inpaint.ts"),
  },
  demo: {
    summary: "serve a web page, on 127.0.0.1, that samples in the browser",
    load: () => import("./demo/demo.ts"),
  },
  fid: {
    summary: "FID and Inception Score of a folder of samples, as pytorch-fid computes them",
    load: () => import("./fid.ts"),
  },
  export: {
    summary: "write a run's EMA weights as a diffusers model folder (float32 or float16)",
    load: () => import("./export.ts"),
  },
};
